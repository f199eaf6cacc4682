"""Photo files, forgotten: a file already gone, or an id that names no file of ours, is not an
error when erasing."""

from __future__ import annotations

import contextlib
from pathlib import Path

from portal.errors import PhotoRejected
from portal.shopper.photos import delete_photo


def forget_photo(upload_dir: Path, photo_id: object) -> None:
    if isinstance(photo_id, str):
        with contextlib.suppress(PhotoRejected):
            delete_photo(upload_dir, photo_id)
