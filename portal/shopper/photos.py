"""Photos of the damage that shoppers attach to a request: checked, cleaned, stored.

Every accepted upload is decoded and re-encoded from its pixels, so nothing of the original
file survives but the picture: no EXIF (GPS position, camera, dates), no ICC profile, no XMP,
no comments, and nothing appended to or hidden inside the file (polyglots). The output is
always a baseline JPEG (quality 85): every browser, mail client, carrier's claim portal and
PDF tool opens it, which matters more here than WebP's smaller files.

The real format comes from the bytes, never from the file name or the declared content type.
Image size is checked from the header, before any pixel is decoded, against
``PhotoRules.max_pixels`` (and against Pillow's own ``Image.MAX_IMAGE_PIXELS`` when that is
stricter); Pillow's ``DecompressionBombWarning`` and ``DecompressionBombError`` are rejections
too. Nothing here changes Pillow's global settings or the warning filters.

Decoding is CPU work that blocks: async code calls ``process_photos``, which runs it in a
worker thread; ``keep_photos`` checks, cleans and stores the uploads of one request at once.

Stored photos get a random opaque id (the user's file name is never used as a name) and are
kept in the upload storage (``portal.storage``) as ``<id>.jpg``: in the upload directory, written
atomically with mode 0o600, or as private objects in a bucket. Serving them is for a view that
checks authorisation first and then calls ``load_photo``, whose strict id check rules out any
other name.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import re
import secrets
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import anyio.to_thread
from PIL import Image, ImageOps, UnidentifiedImageError
from pillow_heif import register_heif_opener

from portal.errors import PhotoRejected
from portal.i18n import gettext as _
from portal.i18n import ngettext
from portal.reorders.service import PhotoRecord
from portal.storage import Storage

# Thumbnails, depth maps and auxiliary images inside HEIF files are never used: not parsing
# them is less work and less to go wrong.
register_heif_opener(thumbnails=False, depth_images=False, aux_images=False)

__all__ = [
    "CONTENT_TYPE",
    "PhotoRejected",
    "PhotoRules",
    "ProcessedPhoto",
    "Upload",
    "delete_photo",
    "keep_photos",
    "load_photo",
    "process_photo",
    "process_photos",
    "store_photo",
]

MIB = 1024 * 1024
CONTENT_TYPE = "image/jpeg"
JPEG_QUALITY = 85
SUFFIX = ".jpg"

# The only Pillow decoders ever tried. Pillow's JPEG decoder names the JPEGs with extra frames
# that many phones and cameras write "MPO": they are accepted too (and read as JPEG).
_FORMATS = ("JPEG", "PNG", "WEBP", "HEIF")
_ACCEPTED = {"JPEG": "JPEG", "MPO": "JPEG", "PNG": "PNG", "WEBP": "WEBP", "HEIF": "HEIF"}

# What secrets.token_urlsafe(16) returns: 16 random bytes, base64url without padding.
_ID_BYTES = 16
_ID_PATTERN = re.compile(r"[A-Za-z0-9_-]{22}")

_WHITE = (255, 255, 255)
_MAX_NAME_CHARS = 60


@dataclass(frozen=True, kw_only=True)
class PhotoRules:
    """Limits for the photos attached to one request."""

    max_bytes: int = 10 * MIB  # per file, as uploaded
    max_count: int = 5
    max_pixels: int = 40_000_000  # width * height, as declared in the file's header
    # All the photos of one request together: decoding costs time by pixels, so five photos
    # at the per-file limit would hold a decoder for seconds.
    max_total_pixels: int = 60_000_000
    max_side: int = 2560  # longer images are scaled down to this, keeping the aspect ratio

    def __post_init__(self) -> None:
        for name in ("max_bytes", "max_count", "max_pixels", "max_total_pixels", "max_side"):
            if getattr(self, name) < 1:
                raise ValueError(f"PhotoRules.{name} must be at least 1")


@dataclass(frozen=True, kw_only=True)
class ProcessedPhoto:
    """A cleaned photo, ready to store: JPEG bytes and what a view needs to show them."""

    data: bytes
    width: int
    height: int
    sha256: str  # hex digest of ``data``
    phash: str = ""  # perceptual hash of the picture (``portal.reorders.fingerprints``)
    content_type: str = CONTENT_TYPE
    source_format: str  # what the upload really was: "JPEG", "PNG", "WEBP" or "HEIF"


# --- checking and cleaning -------------------------------------------------------------------


def process_photo(data: bytes, *, filename: str, rules: PhotoRules) -> ProcessedPhoto:
    """Check one upload and re-encode it; raise ``PhotoRejected`` if it cannot be accepted.

    ``filename`` is only used to name the file in messages. Blocks: from async code, use
    ``process_photos``.
    """
    subject = _subject(filename)
    if not data:
        raise PhotoRejected(_("%(file)s is empty.", file=subject), filename=filename)
    if len(data) > rules.max_bytes:
        raise PhotoRejected(
            _(
                "%(file)s is larger than %(size)s.",
                file=subject,
                size=_size_in_words(rules.max_bytes),
            ),
            filename=filename,
        )
    try:
        image, source_format = _decode(data, filename=filename, subject=subject, rules=rules)
        output = _clean(image, max_side=rules.max_side)
    except PhotoRejected:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise _too_many_pixels(filename, subject, rules) from exc
    except UnidentifiedImageError as exc:
        raise _not_a_photo(subject, filename) from exc
    except Exception as exc:  # a decoder's complaint about untrusted bytes, whatever its type
        raise PhotoRejected(
            _(
                "%(file)s could not be read as a photo: it may be damaged or incomplete.",
                file=subject,
            ),
            filename=filename,
        ) from exc
    encoded = _encode_jpeg(output)
    return ProcessedPhoto(
        data=encoded,
        width=output.width,
        height=output.height,
        sha256=hashlib.sha256(encoded).hexdigest(),
        phash=str(_imagehash().phash(output)),
        source_format=source_format,
    )


async def process_photos(
    files: Sequence[tuple[str, bytes]],
    *,
    rules: PhotoRules,
    required: bool = True,
    limiter: anyio.CapacityLimiter | None = None,
) -> list[ProcessedPhoto]:
    """Check and re-encode the photos of one request, in a worker thread, in order.

    ``files`` are ``(filename, data)`` pairs. A pair with no name and no data is what a browser
    sends for a file input left empty, and is skipped. The count is checked before any file is
    decoded; files are decoded one at a time so one request holds one decoded image at most.
    ``limiter`` caps how many threads decode at once across requests (anyio's default thread
    limiter when ``None``).
    """
    chosen = [(name, data) for name, data in files if name or data]
    if len(chosen) > rules.max_count:
        raise PhotoRejected(
            ngettext(
                "Attach at most %(num)s photo.", "Attach at most %(num)s photos.", rules.max_count
            )
        )
    if required and not chosen:
        raise PhotoRejected(_("Attach at least one photo."))
    if sum(_declared_pixels(data) for _, data in chosen) > rules.max_total_pixels:
        megapixels = rules.max_total_pixels // 1_000_000
        raise PhotoRejected(
            _(
                "Together these photos are too large: at most %(megapixels)s megapixels in all.",
                megapixels=megapixels,
            )
        )
    processed: list[ProcessedPhoto] = []
    for name, data in chosen:
        photo = await anyio.to_thread.run_sync(_process_one, data, name, rules, limiter=limiter)
        processed.append(photo)
    return processed


def _imagehash() -> Any:
    """imagehash, imported with the first photo: it brings numpy (16 MB), which a process that
    never takes a photo does without."""
    import imagehash

    return imagehash


def _declared_pixels(data: bytes) -> int:
    """Width times height as the file's header declares them (nothing is decoded); 0 when the
    header cannot be read, which ``process_photo`` then reports for that file."""
    try:
        with Image.open(io.BytesIO(data), formats=_FORMATS) as probe:
            width, height = probe.size
    except Exception:  # untrusted bytes: any complaint means "not readable"
        return 0
    return max(width, 0) * max(height, 0)


def _process_one(data: bytes, filename: str, rules: PhotoRules) -> ProcessedPhoto:
    return process_photo(data, filename=filename, rules=rules)


def _decode(
    data: bytes, *, filename: str, subject: str, rules: PhotoRules
) -> tuple[Image.Image, str]:
    """Identify, size-check, verify, then decode: pixels are only read once all checks pass."""
    with Image.open(io.BytesIO(data), formats=_FORMATS) as probe:
        source_format = _ACCEPTED.get(probe.format or "")
        if source_format is None:
            raise _not_a_photo(subject, filename)
        width, height = probe.size
        if width < 1 or height < 1:
            raise _not_a_photo(subject, filename)
        if width * height > _pixel_limit(rules):
            raise _too_many_pixels(filename, subject, rules)
        probe.verify()  # structural checks (PNG chunk checksums, for one); spends the object

    image = Image.open(io.BytesIO(data), formats=(source_format,))
    if image.size != (width, height):
        raise _not_a_photo(subject, filename)
    if source_format == "JPEG":
        # Let libjpeg decode at 1/2, 1/4 or 1/8 scale when the result is scaled down anyway.
        image.draft("RGB", (rules.max_side, rules.max_side))
    image.load()
    return image, source_format


def _clean(image: Image.Image, *, max_side: int) -> Image.Image:
    """Upright, RGB, at most ``max_side`` on its longer side, on a fresh canvas with no info."""
    ImageOps.exif_transpose(image, in_place=True)
    mode = "RGBA" if image.has_transparency_data else "RGB"
    pixels = image.convert(mode)
    image.close()
    pixels.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)
    # A new image starts with empty ``info``, so no EXIF, ICC profile, XMP or comment that
    # Pillow would otherwise carry over can reach the encoder.
    canvas = Image.new("RGB", pixels.size, _WHITE)
    canvas.paste(pixels, (0, 0), pixels if mode == "RGBA" else None)
    return canvas


def _encode_jpeg(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=JPEG_QUALITY, optimize=True)
    return buffer.getvalue()


def _pixel_limit(rules: PhotoRules) -> int:
    pillow_limit = Image.MAX_IMAGE_PIXELS
    if pillow_limit is None:
        return rules.max_pixels
    return min(rules.max_pixels, pillow_limit)


def _too_many_pixels(filename: str, subject: str, rules: PhotoRules) -> PhotoRejected:
    megapixels = _pixel_limit(rules) / 1_000_000
    limit = f"{megapixels:.0f}" if megapixels >= 1 else f"{megapixels:.2g}"
    return PhotoRejected(
        _(
            "%(file)s has too many pixels: photos may have at most %(megapixels)s megapixels.",
            file=subject,
            megapixels=limit,
        ),
        filename=filename,
    )


def _subject(filename: str) -> str:
    """The file's name as the shopper knows it, safe to show: no folders, no control marks."""
    name = re.split(r"[\\/]", filename)[-1]
    name = "".join(ch for ch in name if not unicodedata.category(ch).startswith("C")).strip()
    if not name:
        return _("One of the files")
    if len(name) > _MAX_NAME_CHARS:
        name = name[: _MAX_NAME_CHARS - 1] + "…"
    return f"“{name}”"


def _not_a_photo(subject: str, filename: str) -> PhotoRejected:
    return PhotoRejected(
        _("%(file)s is not a JPEG, PNG, WebP or HEIC photo.", file=subject), filename=filename
    )


def _size_in_words(size: int) -> str:
    if size >= MIB:
        megabytes = f"{size / MIB:.0f}" if size % MIB == 0 else f"{size / MIB:.1f}"
        return _("%(n)s MB", n=megabytes)
    if size >= 1024:
        return _("%(n)s KB", n=f"{size / 1024:.0f}")
    return ngettext("%(num)s byte", "%(num)s bytes", size)


# --- storage ---------------------------------------------------------------------------------


class Upload(Protocol):
    """A file as the form delivered it (Starlette's ``UploadFile`` is one)."""

    filename: str | None

    async def read(self, size: int = -1) -> bytes: ...


async def keep_photos(
    uploads: Sequence[Upload],
    *,
    rules: PhotoRules,
    storage: Storage,
    limiter: anyio.CapacityLimiter | None = None,
) -> list[PhotoRecord]:
    """Check, clean and store the photos of one request; ``PhotoRejected`` says which one could
    not be accepted. Too many files are refused before any is read."""
    if len(uploads) > rules.max_count:
        raise PhotoRejected(
            ngettext(
                "Attach at most %(num)s photo.", "Attach at most %(num)s photos.", rules.max_count
            )
        )
    files = [(u.filename or "", await u.read(rules.max_bytes + 1)) for u in uploads]
    processed = await process_photos(files, rules=rules, required=False, limiter=limiter)
    records: list[PhotoRecord] = []
    try:
        for photo in processed:
            records.append(_record(await store_photo(storage, photo), photo))
    except BaseException:
        await _forget(storage, records)
        raise
    return records


async def _forget(storage: Storage, records: list[PhotoRecord]) -> None:
    """Photos of a request that could not all be stored: none is kept (best effort, since the
    storage just failed; anything left behind is named by no draft or request)."""
    with anyio.CancelScope(shield=True):
        for record in records:
            with contextlib.suppress(Exception):
                await delete_photo(storage, record.photo_id)


def _record(photo_id: str, photo: ProcessedPhoto) -> PhotoRecord:
    return PhotoRecord(
        photo_id, photo.content_type, photo.width, photo.height, photo.sha256, photo.phash or None
    )


async def store_photo(storage: Storage, photo: ProcessedPhoto) -> str:
    """Store ``photo`` under a new random id and return the id."""
    photo_id = secrets.token_urlsafe(_ID_BYTES)
    await storage.put(photo_key(photo_id), photo.data, content_type=photo.content_type)
    return photo_id


async def load_photo(storage: Storage, photo_id: str) -> bytes | None:
    """The stored photo's bytes, None if no such photo is stored; ``PhotoRejected`` if the id
    is malformed. Check authorisation before calling."""
    return await storage.get(photo_key(photo_id))


async def delete_photo(storage: Storage, photo_id: str) -> None:
    """Remove a stored photo; removing one that is already gone is not an error."""
    await storage.delete(photo_key(photo_id))


def photo_key(photo_id: str) -> str:
    """The photo's storage key (``<id>.jpg``, at the top of the upload directory)."""
    if not isinstance(photo_id, str) or not _ID_PATTERN.fullmatch(photo_id):
        raise PhotoRejected(_("That photo could not be found."))
    return f"{photo_id}{SUFFIX}"
