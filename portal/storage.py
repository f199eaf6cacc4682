"""Where uploaded files live: shoppers' photos (``<id>.jpg``) and store logos
(``logos/<id>.png``), behind one small interface, ``Storage``, with two implementations:

- ``DirectoryStorage`` (``PORTAL_UPLOAD_STORAGE=dir``, the default): files under
  ``PORTAL_UPLOAD_DIR``, mode 0o600 in directories of mode 0o700, written atomically (a temporary
  file, fsync, rename), blocking calls in a worker thread. One host, or a volume every host mounts.
- ``S3Storage`` (``PORTAL_UPLOAD_STORAGE=s3``): private objects in one bucket of an
  S3-compatible service (AWS S3, MinIO, Ceph, R2...), for several hosts without a shared volume.
  boto3 is synchronous and its clients are thread-safe: one client per process, each call in a
  worker thread. No ACL is ever set, so objects stay as private as the bucket; they reach staff
  only through the portal's own views.

Keys are the portal's own names, never a user's: slash-separated segments of letters, digits,
``_``, ``-`` and ``.``, none starting with a dot (no ``..``, no hidden files, no absolute
paths). Any other key is refused with ``StorageKeyRefused`` before anything is touched.
A service that fails is ``StorageUnavailable``.
"""

from __future__ import annotations

import contextlib
import os
import re
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Protocol

import anyio.to_thread

from portal.errors import StorageKeyRefused, StorageUnavailable
from portal.settings import Settings

DIRECTORY = "dir"
S3 = "s3"
MAX_KEY_LENGTH = 512
_SEGMENT = re.compile(r"[A-Za-z0-9_-][A-Za-z0-9._-]*")
# S3 calls: a few retries for throttling and 5xx, and no call hangs for long.
_S3_TIMEOUT = 10
_S3_ATTEMPTS = 3
_MISSING = ("NoSuchKey", "404", "NotFound")


class Storage(Protocol):
    """Uploaded files by key. Every method refuses a malformed key (``StorageKeyRefused``)."""

    async def put(self, key: str, data: bytes, *, content_type: str) -> None:
        """Store ``data`` under ``key``, replacing what was there; all of it or nothing."""

    async def get(self, key: str) -> bytes | None:
        """The bytes stored under ``key``; None when nothing is."""

    async def delete(self, key: str) -> None:
        """Remove ``key``; removing what is not there is not an error."""

    async def exists(self, key: str) -> bool:
        """Whether something is stored under ``key``."""


def checked_key(key: object) -> str:
    """``key`` if it is one the portal could have made; ``StorageKeyRefused`` otherwise."""
    if not isinstance(key, str) or not 0 < len(key) <= MAX_KEY_LENGTH:
        raise StorageKeyRefused(repr(key)[:80])
    if not all(_SEGMENT.fullmatch(segment) for segment in key.split("/")):
        raise StorageKeyRefused(repr(key)[:80])
    return key


# --- a directory -----------------------------------------------------------------------------


class DirectoryStorage:
    """Files under ``root`` (``PORTAL_UPLOAD_DIR``); a key is a path relative to it."""

    def __init__(self, root: Path) -> None:
        self.root = root

    async def put(self, key: str, data: bytes, *, content_type: str) -> None:
        await anyio.to_thread.run_sync(self._write, self._path(key), data)

    async def get(self, key: str) -> bytes | None:
        return await anyio.to_thread.run_sync(self._read, self._path(key))

    async def delete(self, key: str) -> None:
        await anyio.to_thread.run_sync(self._unlink, self._path(key))

    async def exists(self, key: str) -> bool:
        return await anyio.to_thread.run_sync(self._is_file, self._path(key))

    def _path(self, key: str) -> Path:
        return self.root / checked_key(key)

    def _write(self, path: Path, data: bytes) -> None:
        folder = path.parent
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd, temporary = tempfile.mkstemp(dir=folder, prefix=".incoming-", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as file:
                os.fchmod(file.fileno(), 0o600)
                file.write(data)
                file.flush()
                os.fsync(file.fileno())
            os.replace(temporary, path)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(temporary)
            raise
        _sync_directory(folder)

    def _read(self, path: Path) -> bytes | None:
        if not self._is_file(path):
            return None
        try:
            return path.read_bytes()
        except FileNotFoundError:  # deleted between the check and the read
            return None

    @staticmethod
    def _is_file(path: Path) -> bool:
        """A regular file, not followed through a symlink (nothing the portal wrote)."""
        try:
            return path.lstat().st_mode & 0o170000 == 0o100000
        except (FileNotFoundError, NotADirectoryError):
            return False

    @staticmethod
    def _unlink(path: Path) -> None:
        with contextlib.suppress(FileNotFoundError, NotADirectoryError):
            path.unlink()


def _sync_directory(directory: Path) -> None:
    """Make the rename itself durable, where the platform allows opening a directory."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        with contextlib.suppress(OSError):
            os.fsync(fd)
    finally:
        os.close(fd)


# --- S3-compatible object storage ------------------------------------------------------------


class S3Storage:
    """Private objects in ``bucket``, named ``prefix + key``. ``client`` is a boto3 S3 client."""

    def __init__(self, client: Any, *, bucket: str, prefix: str = "") -> None:
        self.client = client
        self.bucket = bucket
        self.prefix = prefix

    async def put(self, key: str, data: bytes, *, content_type: str) -> None:
        name = self._name(key)
        await anyio.to_thread.run_sync(self._put, name, data, content_type)

    async def get(self, key: str) -> bytes | None:
        return await anyio.to_thread.run_sync(self._get, self._name(key))

    async def delete(self, key: str) -> None:
        await anyio.to_thread.run_sync(self._delete, self._name(key))

    async def exists(self, key: str) -> bool:
        return await anyio.to_thread.run_sync(self._head, self._name(key))

    def _name(self, key: str) -> str:
        return self.prefix + checked_key(key)

    def _put(self, name: str, data: bytes, content_type: str) -> None:
        try:
            self.client.put_object(
                Bucket=self.bucket, Key=name, Body=data, ContentType=content_type
            )
        except _service_errors() as exc:
            raise _unavailable(exc) from exc

    def _get(self, name: str) -> bytes | None:
        try:
            answer = self.client.get_object(Bucket=self.bucket, Key=name)
            return bytes(answer["Body"].read())
        except _service_errors() as exc:
            if _is_missing(exc):
                return None
            raise _unavailable(exc) from exc

    def _delete(self, name: str) -> None:
        try:
            self.client.delete_object(Bucket=self.bucket, Key=name)
        except _service_errors() as exc:
            if not _is_missing(exc):
                raise _unavailable(exc) from exc

    def _head(self, name: str) -> bool:
        try:
            self.client.head_object(Bucket=self.bucket, Key=name)
        except _service_errors() as exc:
            if _is_missing(exc):
                return False
            raise _unavailable(exc) from exc
        return True


def _service_errors() -> tuple[type[Exception], ...]:
    """What botocore raises when the service refuses or cannot be reached. botocore and boto3
    are imported only when S3 storage is used: they cost a directory-only process 0.15 s."""
    from botocore.exceptions import BotoCoreError, ClientError

    return (BotoCoreError, ClientError)


def _is_missing(exc: Exception) -> bool:
    """S3 says "no such key" as NoSuchKey (GET) or a bare 404 (HEAD, which has no body: a
    missing bucket looks the same there, and ``get`` and ``put`` tell it apart)."""
    response = getattr(exc, "response", None)
    if not isinstance(response, dict):
        return False
    return str(response.get("Error", {}).get("Code", "")) in _MISSING


def _unavailable(exc: Exception) -> StorageUnavailable:
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        code = response.get("Error", {}).get("Code", "")
        return StorageUnavailable(f"object storage refused the request ({code})")
    return StorageUnavailable(f"object storage could not be reached ({type(exc).__name__})")


def s3_client(settings: Settings) -> Any:
    """A boto3 S3 client from the ``PORTAL_S3_*`` settings. With an endpoint URL (MinIO, Ceph,
    R2, a local server) objects are addressed by path, which every S3-compatible service
    accepts; without one, it is AWS and boto3 chooses."""
    import boto3
    from botocore.config import Config

    endpoint = settings.s3_endpoint_url or None
    config = Config(
        region_name=settings.s3_region or None,
        connect_timeout=_S3_TIMEOUT,
        read_timeout=_S3_TIMEOUT,
        retries={"mode": "standard", "max_attempts": _S3_ATTEMPTS},
        s3={"addressing_style": "path" if endpoint else "auto"},
    )
    return boto3.session.Session().client(
        "s3",
        endpoint_url=endpoint,
        aws_access_key_id=settings.s3_access_key_id or None,
        aws_secret_access_key=str(settings.s3_secret_access_key) or None,
        config=config,
    )


@contextmanager
def open_storage(settings: Settings) -> Iterator[Storage]:
    """The storage the settings choose, closed (its connections) when the block ends."""
    if settings.upload_storage != S3:
        yield DirectoryStorage(settings.upload_dir)
        return
    client = s3_client(settings)
    try:
        yield S3Storage(client, bucket=settings.s3_bucket, prefix=settings.s3_prefix)
    finally:
        client.close()
