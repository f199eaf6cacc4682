"""Photo files, forgotten: a file already gone, or an id that names no file of ours, is not an
error when erasing."""

from __future__ import annotations

import contextlib

from portal.errors import PhotoRejected
from portal.shopper.photos import delete_photo
from portal.storage import Storage


async def forget_photo(storage: Storage, photo_id: object) -> None:
    if isinstance(photo_id, str):
        with contextlib.suppress(PhotoRejected):
            await delete_photo(storage, photo_id)
