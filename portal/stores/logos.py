"""A store's logo, shown on its shopper pages: checked, re-encoded, stored.

Like the shoppers' photos (``portal.shopper.photos``), an upload is identified from its bytes
(PNG, JPEG or WebP only), size-checked from its header before any pixel is decoded, then decoded
and re-encoded from its pixels alone: nothing of the original file survives (no metadata, no
appended data). Logos are kept as PNG (transparency matters for a logo), at most
``MAX_SIDE`` pixels on the longer side, under a random id, written atomically with mode 0o600.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import secrets
import tempfile
from pathlib import Path

from PIL import Image, ImageOps

from portal.errors import StoreRefused

MAX_BYTES = 2 * 1024 * 1024
MAX_PIXELS = 25_000_000
MAX_SIDE = 512
CONTENT_TYPE = "image/png"
SUFFIX = ".png"
_FORMATS = ("PNG", "JPEG", "WEBP")
_ID = re.compile(r"[A-Za-z0-9_-]{22}\.png")
_KINDS = "Upload the logo as a PNG, JPEG or WebP image."


def directory(upload_dir: Path) -> Path:
    return upload_dir / "logos"


def process_logo(data: bytes) -> bytes:
    """The logo's PNG bytes; ``StoreRefused`` (field ``logo``) when it cannot be accepted.
    Blocks: from async code run it in a thread."""
    if not data:
        raise StoreRefused("logo", "The file is empty.")
    if len(data) > MAX_BYTES:
        raise StoreRefused("logo", "The logo file may be at most 2 MB.")
    try:
        image = _decode(data)
        ImageOps.exif_transpose(image, in_place=True)
        pixels = image.convert("RGBA")
        pixels.thumbnail((MAX_SIDE, MAX_SIDE), Image.Resampling.LANCZOS)
        canvas = Image.new("RGBA", pixels.size)  # fresh: no info carried over
        canvas.paste(pixels, (0, 0))
        buffer = io.BytesIO()
        canvas.save(buffer, format="PNG", optimize=True)
    except StoreRefused:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise StoreRefused("logo", "The logo has too many pixels.") from exc
    except Exception as exc:  # a decoder's complaint about untrusted bytes, whatever its type
        raise StoreRefused("logo", _KINDS) from exc
    return buffer.getvalue()


def _decode(data: bytes) -> Image.Image:
    with Image.open(io.BytesIO(data), formats=_FORMATS) as probe:
        kind = probe.format
        width, height = probe.size
        if kind not in _FORMATS or width < 1 or height < 1:
            raise StoreRefused("logo", _KINDS)
        if width * height > MAX_PIXELS:
            raise StoreRefused("logo", "The logo has too many pixels.")
        probe.verify()
    image = Image.open(io.BytesIO(data), formats=(kind,))
    if image.size != (width, height):
        raise StoreRefused("logo", _KINDS)
    image.load()
    return image


def store_logo(upload_dir: Path, png: bytes) -> str:
    """Write the logo atomically; return its new id (the value of ``Store.logo_path``)."""
    folder = directory(upload_dir)
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    logo_id = secrets.token_urlsafe(16) + SUFFIX
    fd, temporary = tempfile.mkstemp(dir=folder, prefix=".incoming-", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as file:
            os.fchmod(file.fileno(), 0o600)
            file.write(png)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, folder / logo_id)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise
    return logo_id


def logo_file(upload_dir: Path, logo_id: str | None) -> Path | None:
    """The stored logo's path, or None (no logo, an id the portal did not make, or gone)."""
    if not logo_id or not _ID.fullmatch(logo_id):
        return None
    path = directory(upload_dir) / logo_id
    return path if path.is_file() else None


def delete_logo(upload_dir: Path, logo_id: str | None) -> None:
    path = logo_file(upload_dir, logo_id)
    if path is not None:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
