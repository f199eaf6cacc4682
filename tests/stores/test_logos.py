"""Store logos: identified from their bytes, size-checked before decoding, re-encoded as PNG
with nothing of the original file kept, stored under a random id."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from PIL import Image
from PIL.PngImagePlugin import PngInfo

from portal.errors import StoreRefused
from portal.storage import DirectoryStorage
from portal.stores import logos


def _image(kind: str, size: tuple[int, int] = (1200, 300), **save: object) -> bytes:
    buffer = io.BytesIO()
    mode = "RGBA" if kind in ("PNG", "WEBP") else "RGB"
    Image.new(mode, size, (10, 120, 90)).save(buffer, kind, **save)
    return buffer.getvalue()


@pytest.mark.parametrize("kind", ["PNG", "JPEG", "WEBP"])
def test_a_logo_is_re_encoded_as_a_png_at_most_512_wide(kind: str) -> None:
    png = logos.process_logo(_image(kind))
    with Image.open(io.BytesIO(png)) as image:
        assert image.format == "PNG" and image.size == (512, 128)


def test_nothing_of_the_original_file_survives() -> None:
    info = PngInfo()
    info.add_text("Comment", "taken at 1 Main St")
    original = _image("PNG", (20, 20), pnginfo=info) + b"appended payload"
    png = logos.process_logo(original)
    assert b"Main St" not in png and b"appended" not in png


@pytest.mark.parametrize(
    ("data", "words"),
    [
        (b"", "empty"),
        (b"GIF89a" + b"\x00" * 40, "PNG, JPEG or WebP"),
        (_image("GIF", (10, 10)), "PNG, JPEG or WebP"),
        (_image("PNG", (20, 20))[:60], "PNG, JPEG or WebP"),
        (b"\x89PNG" + b"\x00" * (logos.MAX_BYTES + 1), "at most 2 MB"),
        (_image("PNG", (6000, 5000)), "too many pixels"),
    ],
)
def test_what_cannot_be_a_logo_is_refused(data: bytes, words: str) -> None:
    with pytest.raises(StoreRefused) as refused:
        logos.process_logo(data)
    assert refused.value.field == "logo" and words in refused.value.message


@pytest.mark.anyio
async def test_stored_logos_are_found_by_their_id_only(tmp_path: Path) -> None:
    storage = DirectoryStorage(tmp_path)
    png = logos.process_logo(_image("PNG", (8, 8)))
    logo_id = await logos.store_logo(storage, png)
    path = tmp_path / "logos" / logo_id
    assert path.stat().st_mode & 0o777 == 0o600
    assert await logos.load_logo(storage, logo_id) == png
    assert await logos.load_logo(storage, "../../etc/passwd") is None
    assert await logos.load_logo(storage, None) is None
    await logos.delete_logo(storage, logo_id)
    assert await logos.load_logo(storage, logo_id) is None
    assert not path.exists()
