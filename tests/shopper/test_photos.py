from __future__ import annotations

import hashlib
import io
import os
import re
import stat
import struct
import threading
import warnings
import zlib
from pathlib import Path
from typing import Any

import pytest
from PIL import ExifTags, Image, ImageCms, PngImagePlugin

from portal.errors import PhotoRejected, PortalError, StorageUnavailable
from portal.shopper import photos
from portal.shopper.photos import (
    PhotoRules,
    ProcessedPhoto,
    delete_photo,
    keep_photos,
    load_photo,
    process_photo,
    process_photos,
    store_photo,
)
from portal.storage import DirectoryStorage

RULES = PhotoRules()
RED = (220, 20, 20)
BLUE = (20, 20, 220)


# --- making real files -----------------------------------------------------------------------


def _encode(image: Image.Image, fmt: str, **params: Any) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **params)
    return buffer.getvalue()


def _two_halves(width: int, height: int, mode: str = "RGB") -> Image.Image:
    """Left half red, right half blue: which way up it is can be read back."""
    image = Image.new(mode, (width, height), BLUE)
    image.paste(Image.new(mode, (width // 2, height), RED), (0, 0))
    return image


def _private_exif(orientation: int | None = None) -> Image.Exif:
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = "Acme"
    exif[ExifTags.Base.Model] = "TestCam 9000"
    if orientation is not None:
        exif[ExifTags.Base.Orientation] = orientation
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    gps[ExifTags.GPS.GPSLatitudeRef] = "N"
    gps[ExifTags.GPS.GPSLatitude] = (52.0, 22.0, 12.5)
    gps[ExifTags.GPS.GPSLongitudeRef] = "E"
    gps[ExifTags.GPS.GPSLongitude] = (4.0, 53.0, 41.0)
    return exif


def _png_declaring(width: int, height: int) -> bytes:
    """A tiny 1-bit PNG whose header claims ``width`` x ``height``; only 4 rows of data."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return (
            struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
        )

    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    rows = zlib.compress(b"\x00" * ((1 + (width + 7) // 8) * 4))
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", rows) + chunk(b"IEND", b"")
    )


def _decoded(photo: ProcessedPhoto) -> Image.Image:
    image = Image.open(io.BytesIO(photo.data))
    image.load()
    return image


def _near(pixel: Any, expected: tuple[int, int, int], tolerance: int = 40) -> bool:
    return all(abs(int(a) - b) <= tolerance for a, b in zip(pixel, expected, strict=True))


def _assert_clean_jpeg(photo: ProcessedPhoto) -> Image.Image:
    image = _decoded(photo)
    assert image.format == "JPEG" and photo.content_type == "image/jpeg"
    assert image.mode == "RGB"
    assert (photo.width, photo.height) == image.size
    assert photo.sha256 == hashlib.sha256(photo.data).hexdigest()
    assert not image.getexif()
    assert not {"exif", "icc_profile", "xmp", "comment"} & image.info.keys()
    return image


# --- accepted formats ------------------------------------------------------------------------


def test_a_jpeg_is_reencoded_without_exif_gps_camera_profile_or_comment() -> None:
    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    original = _encode(
        _two_halves(64, 48),
        "JPEG",
        exif=_private_exif(),
        icc_profile=icc,
        comment=b"shot at 12 Private Lane",
    )
    opened = Image.open(io.BytesIO(original))
    assert opened.getexif()[ExifTags.Base.Model] == "TestCam 9000"
    assert opened.getexif().get_ifd(ExifTags.IFD.GPSInfo)
    assert "icc_profile" in opened.info and b"Private Lane" in original

    photo = process_photo(original, filename="IMG_0001.JPG", rules=RULES)

    image = _assert_clean_jpeg(photo)
    assert photo.source_format == "JPEG"
    assert (photo.width, photo.height) == (64, 48)
    for secret in (b"TestCam", b"Acme", b"Private Lane", b"Exif\x00\x00", b"ICC_PROFILE"):
        assert secret not in photo.data
    assert _near(image.getpixel((8, 24)), RED) and _near(image.getpixel((56, 24)), BLUE)


def test_the_exif_orientation_is_applied_before_it_is_dropped() -> None:
    # Orientation 6: the camera was turned; the picture must be turned 90° clockwise to show.
    original = _encode(_two_halves(80, 40), "JPEG", exif=_private_exif(orientation=6))

    photo = process_photo(original, filename="turned.jpg", rules=RULES)

    image = _assert_clean_jpeg(photo)
    assert image.size == (40, 80)
    assert _near(image.getpixel((20, 10)), RED)  # what was the left is now the top
    assert _near(image.getpixel((20, 70)), BLUE)


def test_a_png_with_transparency_is_flattened_onto_white() -> None:
    image = Image.new("RGBA", (40, 20), (0, 0, 0, 0))  # transparent black
    image.paste(Image.new("RGBA", (20, 20), (*RED, 255)), (20, 0))
    text = PngImagePlugin.PngInfo()
    text.add_text("Author", "Jane Shopper, 12 Private Lane")
    original = _encode(image, "PNG", pnginfo=text)
    assert b"Private Lane" in original

    photo = process_photo(original, filename="screenshot.png", rules=RULES)

    out = _assert_clean_jpeg(photo)
    assert photo.source_format == "PNG"
    assert _near(out.getpixel((5, 10)), (255, 255, 255), tolerance=8)  # not black
    assert _near(out.getpixel((35, 10)), RED)
    assert b"Private Lane" not in photo.data


def test_a_webp_is_accepted_and_becomes_a_jpeg() -> None:
    original = _encode(_two_halves(60, 30), "WEBP", quality=90, exif=_private_exif())
    assert original[8:12] == b"WEBP" and b"TestCam" in original

    photo = process_photo(original, filename="photo.webp", rules=RULES)

    out = _assert_clean_jpeg(photo)
    assert photo.source_format == "WEBP"
    assert out.size == (60, 30)
    assert _near(out.getpixel((5, 15)), RED) and _near(out.getpixel((55, 15)), BLUE)
    assert b"TestCam" not in photo.data


def test_a_heic_is_accepted_and_becomes_a_jpeg_without_its_exif() -> None:
    original = _encode(_two_halves(64, 32), "HEIF", quality=90, exif=_private_exif())
    assert original[4:12] in (b"ftypheic", b"ftypmif1") and b"TestCam" in original

    photo = process_photo(original, filename="IMG_4242.HEIC", rules=RULES)

    out = _assert_clean_jpeg(photo)
    assert photo.source_format == "HEIF"
    assert out.size == (64, 32)
    assert _near(out.getpixel((8, 16)), RED) and _near(out.getpixel((56, 16)), BLUE)
    assert b"TestCam" not in photo.data


def test_data_appended_to_a_real_image_does_not_survive() -> None:
    polyglot = _encode(_two_halves(32, 32), "JPEG") + b"<script>alert(document.cookie)</script>"

    photo = process_photo(polyglot, filename="innocent.jpg", rules=RULES)

    assert b"<script>" not in photo.data
    _assert_clean_jpeg(photo)


# --- rejected files --------------------------------------------------------------------------


def test_a_text_file_named_jpg_is_not_a_photo() -> None:
    with pytest.raises(PhotoRejected) as caught:
        process_photo(b"just some words, not a picture\n", filename="IMG_1.jpg", rules=RULES)
    assert caught.value.message == "“IMG_1.jpg” is not a JPEG, PNG, WebP or HEIC photo."
    assert isinstance(caught.value, PortalError)


def test_a_gif_is_refused_and_its_name_is_shown_without_folders() -> None:
    gif = _encode(_two_halves(16, 16, mode="P"), "GIF")
    assert gif.startswith(b"GIF8")

    with pytest.raises(PhotoRejected) as caught:
        process_photo(gif, filename="C:\\fakepath\\IMG_1.gif", rules=RULES)
    assert caught.value.message == "“IMG_1.gif” is not a JPEG, PNG, WebP or HEIC photo."


def test_a_truncated_jpeg_is_refused() -> None:
    noise = Image.frombytes("RGB", (128, 128), os.urandom(128 * 128 * 3))
    whole = _encode(noise, "JPEG", quality=90)
    process_photo(whole, filename="whole.jpg", rules=RULES)  # the untruncated file is fine

    with pytest.raises(PhotoRejected) as caught:
        process_photo(whole[: len(whole) // 2], filename="cut.jpg", rules=RULES)
    assert caught.value.message.startswith("“cut.jpg” could not be read as a photo")


def test_a_png_with_a_corrupt_chunk_checksum_is_refused() -> None:
    # Pillow would decode these pixels without complaint; verification catches the damage.
    data = bytearray(_encode(_two_halves(16, 16), "PNG"))
    at = data.index(b"IDAT")
    length = int.from_bytes(data[at - 4 : at], "big")
    data[at + 4 + length + 3] ^= 0xFF  # last byte of the IDAT checksum

    with pytest.raises(PhotoRejected) as caught:
        process_photo(bytes(data), filename="broken.png", rules=RULES)
    assert caught.value.message.startswith("“broken.png” could not be read as a photo")


def test_a_file_over_the_byte_limit_is_refused_before_it_is_decoded() -> None:
    too_big = b"\xff" * (10 * 1024 * 1024 + 1)  # not an image: decoding would say so instead

    with pytest.raises(PhotoRejected) as caught:
        process_photo(too_big, filename="x.jpg", rules=RULES)
    assert caught.value.message == "“x.jpg” is larger than 10 MB."

    small = _encode(_two_halves(32, 32), "PNG")
    with pytest.raises(PhotoRejected, match="larger than"):
        process_photo(small, filename="x.png", rules=PhotoRules(max_bytes=len(small) - 1))
    process_photo(small, filename="x.png", rules=PhotoRules(max_bytes=len(small)))


@pytest.mark.parametrize(
    ("width", "height"),
    [
        pytest.param(30_000, 30_000, id="pillow-error-range"),
        pytest.param(10_000, 10_000, id="pillow-warning-range"),
        pytest.param(8_000, 8_000, id="only-our-limit"),
    ],
)
def test_a_decompression_bomb_is_refused_from_its_header(width: int, height: int) -> None:
    bomb = _png_declaring(width, height)
    assert len(bomb) < 20_000
    # Only 4 rows of pixels exist: had the decoder been run, the complaint would be a
    # truncated file, not the pixel count.
    with pytest.raises(PhotoRejected) as caught:
        process_photo(bomb, filename="bomb.png", rules=RULES)
    assert caught.value.message == (
        "“bomb.png” has too many pixels: photos may have at most 40 megapixels."
    )


def test_the_pixel_limit_does_not_depend_on_pillow_or_warning_settings(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", None)
    with pytest.raises(PhotoRejected, match="too many pixels"):
        process_photo(_png_declaring(30_000, 30_000), filename="b.png", rules=RULES)

    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 89_478_485)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        with pytest.raises(PhotoRejected, match="too many pixels"):
            process_photo(
                _png_declaring(10_000, 10_000),
                filename="b.png",
                rules=PhotoRules(max_pixels=200_000_000),
            )

    tiny_rules = PhotoRules(max_pixels=100 * 100)
    fine = _encode(_two_halves(100, 100), "PNG")
    process_photo(fine, filename="ok.png", rules=tiny_rules)
    with pytest.raises(PhotoRejected, match="too many pixels"):
        process_photo(_encode(_two_halves(101, 100), "PNG"), filename="n.png", rules=tiny_rules)


# --- size ------------------------------------------------------------------------------------


def test_large_images_are_scaled_down_keeping_their_shape() -> None:
    rules = PhotoRules(max_side=100)
    wide = process_photo(_encode(_two_halves(400, 200), "JPEG"), filename="w.jpg", rules=rules)
    tall = process_photo(_encode(_two_halves(120, 480), "PNG"), filename="t.png", rules=rules)
    small = process_photo(_encode(_two_halves(60, 40), "JPEG"), filename="s.jpg", rules=rules)

    assert (wide.width, wide.height) == (100, 50)
    assert (tall.width, tall.height) == (25, 100)
    assert (small.width, small.height) == (60, 40)  # never enlarged
    assert _decoded(wide).size == (100, 50)


def test_the_default_longest_side_is_2560() -> None:
    big = _encode(Image.new("RGB", (3000, 1500), RED), "JPEG")
    photo = process_photo(big, filename="big.jpg", rules=RULES)
    assert (photo.width, photo.height) == (2560, 1280)


# --- several photos, off the event loop ------------------------------------------------------


@pytest.mark.anyio
async def test_photos_are_processed_in_a_worker_thread_in_order(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    loop_thread = threading.get_ident()
    threads: list[int] = []
    real = photos.process_photo

    def spy(data: bytes, *, filename: str, rules: PhotoRules) -> ProcessedPhoto:
        threads.append(threading.get_ident())
        return real(data, filename=filename, rules=rules)

    monkeypatch.setattr(photos, "process_photo", spy)
    files = [
        ("a.jpg", _encode(_two_halves(30, 20), "JPEG")),
        ("", b""),  # an empty file input, as browsers send it
        ("b.png", _encode(_two_halves(10, 40), "PNG")),
    ]

    result = await process_photos(files, rules=RULES)

    assert [(p.width, p.height, p.source_format) for p in result] == [
        (30, 20, "JPEG"),
        (10, 40, "PNG"),
    ]
    assert len(threads) == 2 and loop_thread not in threads


@pytest.mark.anyio
async def test_too_many_or_no_photos_are_refused_before_any_is_decoded() -> None:
    junk = [(f"{n}.jpg", b"not an image") for n in range(6)]
    with pytest.raises(PhotoRejected) as caught:
        await process_photos(junk, rules=RULES)
    assert caught.value.message == "Attach at most 5 photos."

    with pytest.raises(PhotoRejected) as caught:
        await process_photos([("", b"")], rules=RULES)
    assert caught.value.message == "Attach at least one photo."
    assert await process_photos([], rules=RULES, required=False) == []

    with pytest.raises(PhotoRejected, match=re.escape("“2.jpg” is not a JPEG")):
        await process_photos(junk[2:3], rules=RULES)


@pytest.mark.anyio
async def test_the_photos_of_one_request_are_bounded_together_before_any_is_decoded(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    decoded: list[str] = []
    monkeypatch.setattr(photos, "process_photo", lambda data, **kw: decoded.append(kw["filename"]))
    # Five 39-megapixel PNGs: each under the per-file limit, together far over the request's.
    files = [(f"{n}.png", _png_declaring(6_500, 6_000)) for n in range(5)]
    with pytest.raises(PhotoRejected) as caught:
        await process_photos(files, rules=RULES)
    assert "60 megapixels in all" in caught.value.message
    assert decoded == []


# --- storage ---------------------------------------------------------------------------------


@pytest.fixture
def photo() -> ProcessedPhoto:
    return process_photo(_encode(_two_halves(20, 20), "PNG"), filename="mine.png", rules=RULES)


@pytest.mark.anyio
async def test_a_stored_photo_round_trips_under_a_private_random_name(
    tmp_path: Path, photo: ProcessedPhoto
) -> None:
    directory = tmp_path / "uploads" / "photos"
    storage = DirectoryStorage(directory)

    first = await store_photo(storage, photo)
    second = await store_photo(storage, photo)

    assert first != second
    assert len(first) == 22 and set(first) <= set(
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    )
    assert await load_photo(storage, first) == photo.data
    path = directory / f"{first}.jpg"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(directory.stat().st_mode) == 0o700
    assert sorted(p.name for p in directory.iterdir()) == sorted(
        [f"{first}.jpg", f"{second}.jpg"]
    )  # no temporary files left, and never the shopper's file name


@pytest.mark.anyio
async def test_deleting_a_photo_removes_it(tmp_path: Path, photo: ProcessedPhoto) -> None:
    storage = DirectoryStorage(tmp_path)
    photo_id = await store_photo(storage, photo)
    await delete_photo(storage, photo_id)
    assert await load_photo(storage, photo_id) is None
    await delete_photo(storage, photo_id)  # already gone: fine
    assert os.listdir(tmp_path) == []


@pytest.mark.anyio
@pytest.mark.parametrize(
    "photo_id",
    [
        "../etc/passwd",
        "..",
        "",
        "/etc/passwd",
        "../../../../../../etc/pw",  # 22 characters
        "abcdefghijklmnopqrstu/",
        "abcdefghijklmnopqrstuv\n",
        "abcdefghijklmnopqrstu.",
        "abcdefghijklmnopqrstu\x00",
        "abcdefghijklmnopqrstuvw",
        "%2e%2e%2fetc%2fpasswd%",
    ],
)
async def test_malformed_ids_are_refused_before_touching_the_disk(
    tmp_path: Path, photo_id: str
) -> None:
    storage = DirectoryStorage(tmp_path / "inside")
    with pytest.raises(PhotoRejected):
        await load_photo(storage, photo_id)
    with pytest.raises(PhotoRejected):
        await delete_photo(storage, photo_id)
    assert os.listdir(tmp_path) == []


@pytest.mark.anyio
async def test_unknown_ids_and_planted_links_are_not_found(tmp_path: Path) -> None:
    storage = DirectoryStorage(tmp_path)
    assert await load_photo(storage, "A" * 22) is None
    secret = tmp_path / "secret.txt"
    secret.write_text("not a photo")
    (tmp_path / f"{'B' * 22}.jpg").symlink_to(secret)
    assert await load_photo(storage, "B" * 22) is None


class _File:
    def __init__(self, name: str, data: bytes) -> None:
        self.filename = name
        self.data = data

    async def read(self, size: int = -1) -> bytes:
        return self.data


class _FailingOnSecondPut(DirectoryStorage):
    puts = 0

    async def put(self, key: str, data: bytes, *, content_type: str) -> None:
        self.puts += 1
        if self.puts == 2:
            raise StorageUnavailable("object storage could not be reached")
        await super().put(key, data, content_type=content_type)


@pytest.mark.anyio
async def test_photos_of_a_request_are_kept_all_or_none(tmp_path: Path) -> None:
    storage = _FailingOnSecondPut(tmp_path)
    png = _encode(_two_halves(20, 20), "PNG")
    uploads = [_File("a.png", png), _File("b.png", png)]
    with pytest.raises(StorageUnavailable):
        await keep_photos(uploads, rules=RULES, storage=storage)
    assert storage.puts == 2
    assert os.listdir(tmp_path) == []  # the first photo went again
