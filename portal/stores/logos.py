"""A store's logo, shown on its shopper pages: checked, re-encoded, stored.

Like the shoppers' photos (``portal.shopper.photos``), an upload is identified from its bytes
(PNG, JPEG or WebP only), size-checked from its header before any pixel is decoded, then decoded
and re-encoded from its pixels alone: nothing of the original file survives (no metadata, no
appended data). Logos are kept as PNG (transparency matters for a logo), at most
``MAX_SIDE`` pixels on the longer side, under a random id, in the upload storage
(``portal.storage``) as ``logos/<id>.png``.
"""

from __future__ import annotations

import io
import re
import secrets
from typing import TypeGuard

from PIL import Image, ImageOps

from portal.errors import StoreRefused
from portal.storage import Storage

MAX_BYTES = 2 * 1024 * 1024
MAX_PIXELS = 25_000_000
MAX_SIDE = 512
CONTENT_TYPE = "image/png"
SUFFIX = ".png"
FOLDER = "logos"
_FORMATS = ("PNG", "JPEG", "WEBP")
_ID = re.compile(r"[A-Za-z0-9_-]{22}\.png")
_KINDS = "Upload the logo as a PNG, JPEG or WebP image."


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


async def store_logo(storage: Storage, png: bytes) -> str:
    """Store the logo under a new id; return it (the value of ``Store.logo_path``)."""
    logo_id = secrets.token_urlsafe(16) + SUFFIX
    await storage.put(_key(logo_id), png, content_type=CONTENT_TYPE)
    return logo_id


async def load_logo(storage: Storage, logo_id: str | None) -> bytes | None:
    """The stored logo's bytes, or None (no logo, an id the portal did not make, or gone)."""
    if not _is_logo_id(logo_id):
        return None
    return await storage.get(_key(logo_id))


async def delete_logo(storage: Storage, logo_id: str | None) -> None:
    if _is_logo_id(logo_id):
        await storage.delete(_key(logo_id))


def _is_logo_id(logo_id: str | None) -> TypeGuard[str]:
    return bool(logo_id) and _ID.fullmatch(logo_id or "") is not None


def _key(logo_id: str) -> str:
    """Logos are kept apart from photos, under ``logos/``."""
    return f"{FOLDER}/{logo_id}"
