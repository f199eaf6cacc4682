"""One contract, every storage: the directory (always) and S3-compatible object storage
(against moto's server on loopback, so those cases are e2e). Both keep what they are given
under a key, answer None or False for what is not there, replace on overwrite, delete without
complaint, and refuse any key the portal could not have made before touching anything."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.datastructures import Secret

from portal.errors import StorageKeyRefused, StorageUnavailable
from portal.settings import Mode, Settings
from portal.storage import DirectoryStorage, S3Storage, Storage, open_storage, s3_client
from tests.helpers.s3 import S3Server, s3_server

pytestmark = pytest.mark.anyio

JPEG = "image/jpeg"
BAD_KEYS = [
    "",
    "..",
    "../x.jpg",
    "logos/../../x.jpg",
    "/etc/passwd",
    ".hidden",
    "logos/.incoming-x.tmp",
    "a//b",
    "a/",
    "a\\b",
    "a b",
    "a\x00b",
    "é.jpg",
    "x" * 513,
]


@pytest.fixture(scope="session")
def s3() -> Iterator[S3Server]:
    """One local S3 server per test process; each test gets a bucket of its own."""
    with s3_server() as server:
        yield server


@pytest.fixture(params=["directory", pytest.param("s3", marks=pytest.mark.e2e)])
def storage(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Storage]:
    if request.param == "directory":
        yield DirectoryStorage(tmp_path / "uploads")
        return
    server: S3Server = request.getfixturevalue("s3")
    yield S3Storage(server.client, bucket=server.new_bucket(), prefix="portal/")


async def test_what_is_put_is_got_back_and_exists(storage: Storage) -> None:
    await storage.put("abc.jpg", b"\xff\xd8photo", content_type=JPEG)
    await storage.put("logos/def.png", b"\x89PNGlogo", content_type="image/png")
    assert await storage.get("abc.jpg") == b"\xff\xd8photo"
    assert await storage.get("logos/def.png") == b"\x89PNGlogo"
    assert await storage.exists("abc.jpg") and await storage.exists("logos/def.png")


async def test_a_missing_key_is_none_and_does_not_exist(storage: Storage) -> None:
    assert await storage.get("nothing.jpg") is None
    assert await storage.get("logos/nothing.png") is None
    assert not await storage.exists("nothing.jpg")
    await storage.delete("nothing.jpg")  # deleting what is not there is fine
    await storage.delete("logos/nothing.png")


async def test_put_again_replaces(storage: Storage) -> None:
    await storage.put("abc.jpg", b"first", content_type=JPEG)
    await storage.put("abc.jpg", b"second", content_type=JPEG)
    assert await storage.get("abc.jpg") == b"second"


async def test_deleted_is_gone_and_others_stay(storage: Storage) -> None:
    await storage.put("abc.jpg", b"one", content_type=JPEG)
    await storage.put("abd.jpg", b"two", content_type=JPEG)
    await storage.delete("abc.jpg")
    assert await storage.get("abc.jpg") is None and not await storage.exists("abc.jpg")
    assert await storage.get("abd.jpg") == b"two"
    await storage.delete("abc.jpg")


async def test_an_empty_object_is_kept(storage: Storage) -> None:
    await storage.put("empty.jpg", b"", content_type=JPEG)
    assert await storage.get("empty.jpg") == b"" and await storage.exists("empty.jpg")


async def test_a_large_object_round_trips(storage: Storage) -> None:
    data = os.urandom(1024) * (12 * 1024)  # 12 MiB, beyond any photo the portal keeps
    await storage.put("large.jpg", data, content_type=JPEG)
    assert await storage.get("large.jpg") == data


@pytest.mark.parametrize("key", BAD_KEYS)
async def test_bad_keys_are_refused_before_anything_is_touched(
    storage: Storage, key: str, tmp_path: Path
) -> None:
    with pytest.raises(StorageKeyRefused):
        await storage.put(key, b"x", content_type=JPEG)
    with pytest.raises(StorageKeyRefused):
        await storage.get(key)
    with pytest.raises(StorageKeyRefused):
        await storage.exists(key)
    with pytest.raises(StorageKeyRefused):
        await storage.delete(key)
    assert os.listdir(tmp_path) == []  # nothing was written, not even the directory


# --- the directory ---------------------------------------------------------------------------


async def test_directory_files_are_private_and_laid_out_by_key(tmp_path: Path) -> None:
    root = tmp_path / "uploads"
    storage = DirectoryStorage(root)
    await storage.put("abc.jpg", b"photo", content_type=JPEG)
    await storage.put("logos/def.png", b"logo", content_type="image/png")
    for path, data in ((root / "abc.jpg", b"photo"), (root / "logos" / "def.png", b"logo")):
        assert path.read_bytes() == data
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(root.stat().st_mode) == 0o700
    assert stat.S_IMODE((root / "logos").stat().st_mode) == 0o700
    assert sorted(os.listdir(root)) == ["abc.jpg", "logos"]  # no temporary files left


async def test_a_planted_symlink_is_not_followed(tmp_path: Path) -> None:
    root = tmp_path / "uploads"
    root.mkdir()
    (tmp_path / "secret.txt").write_text("not ours")
    (root / "abc.jpg").symlink_to(tmp_path / "secret.txt")
    storage = DirectoryStorage(root)
    assert await storage.get("abc.jpg") is None and not await storage.exists("abc.jpg")


async def test_a_failed_write_leaves_the_old_file_and_no_temporary(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = tmp_path / "uploads"
    storage = DirectoryStorage(root)
    await storage.put("abc.jpg", b"old", content_type=JPEG)

    def broken_replace(*_: Any) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(OSError, match="disk full"):
        await storage.put("abc.jpg", b"new", content_type=JPEG)
    monkeypatch.undo()
    assert await storage.get("abc.jpg") == b"old"
    assert os.listdir(root) == ["abc.jpg"]


# --- object storage --------------------------------------------------------------------------


@pytest.mark.e2e
async def test_objects_are_private_and_named_with_the_prefix(s3: S3Server) -> None:
    bucket = s3.new_bucket()
    settings = Settings(**s3.settings(bucket, prefix="portal/"))
    with open_storage(settings) as storage:
        await storage.put("logos/def.png", b"logo", content_type="image/png")
    client = s3.client
    names = [o["Key"] for o in client.list_objects_v2(Bucket=bucket)["Contents"]]
    assert names == ["portal/logos/def.png"]
    head = client.head_object(Bucket=bucket, Key="portal/logos/def.png")
    assert head["ContentType"] == "image/png"
    grants = client.get_object_acl(Bucket=bucket, Key="portal/logos/def.png")["Grants"]
    assert [g["Grantee"].get("URI") for g in grants] == [None]  # the owner alone


@pytest.mark.e2e
async def test_a_missing_bucket_is_unavailable_not_missing(
    s3: S3Server,
) -> None:
    settings = Settings(**s3.settings("no-such-bucket"))
    with open_storage(settings) as storage:
        with pytest.raises(StorageUnavailable):
            await storage.put("abc.jpg", b"x", content_type=JPEG)
        with pytest.raises(StorageUnavailable):
            await storage.get("abc.jpg")


async def test_an_unreachable_service_is_unavailable() -> None:
    settings = Settings(
        upload_storage="s3",
        s3_endpoint_url="http://127.0.0.1:9",  # discard: nothing listens
        s3_bucket="b",
        s3_region="us-east-1",
        s3_access_key_id="k",
        s3_secret_access_key=Secret("s"),
    )
    client = s3_client(settings)
    try:
        storage = S3Storage(client, bucket="b")
        with pytest.raises(StorageUnavailable):
            await storage.get("abc.jpg")
    finally:
        client.close()


# --- settings --------------------------------------------------------------------------------


def test_the_directory_is_the_default() -> None:
    with open_storage(Settings()) as storage:
        assert isinstance(storage, DirectoryStorage)
        assert storage.root == Settings().upload_dir


def test_production_refuses_s3_without_bucket_or_credentials() -> None:
    settings = Settings(mode=Mode.PRODUCTION, upload_storage="s3")
    problems = [p.split(" ")[0] for p in settings.problems() if "PORTAL_S3" in p]
    assert problems == [
        "PORTAL_S3_BUCKET",
        "PORTAL_S3_ACCESS_KEY_ID",
        "PORTAL_S3_SECRET_ACCESS_KEY",
    ]


def test_an_unknown_storage_is_refused_by_name() -> None:
    problems = Settings(upload_storage="nfs").problems()
    assert any(p.startswith("PORTAL_UPLOAD_STORAGE='nfs'") for p in problems)


def test_storage_settings_are_read_from_the_environment() -> None:
    settings = Settings.from_env(
        {
            "PORTAL_UPLOAD_STORAGE": "s3",
            "PORTAL_S3_BUCKET": "uploads",
            "PORTAL_S3_SECRET_ACCESS_KEY": "very-secret",
            "PORTAL_S3_PREFIX": "portal/",
        },
        env_file="/nonexistent",
    )
    assert (settings.upload_storage, settings.s3_bucket, settings.s3_prefix) == (
        "s3",
        "uploads",
        "portal/",
    )
    assert str(settings.s3_secret_access_key) == "very-secret"
    assert "very-secret" not in repr(settings)
