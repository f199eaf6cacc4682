"""Running the portal itself on loopback for tests that use it over HTTP."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from sqlalchemy import create_engine
from sqlalchemy.orm import Session
from starlette.datastructures import Secret

from portal.app import create_app
from portal.db import sync_url
from portal.settings import Mode, Settings
from tests.helpers import factories
from tests.helpers.servers import serve
from tests.helpers.staff import PASSWORD, StaffBrowser, create_user

TEST_SECRET = "test-secret-" + "s" * 40
LOOKUP_FLOOR = Settings.lookup_min_seconds
"""The product's minimum answer time for an order lookup; tests run without it (see below),
except the one that checks the floor."""


def portal_settings(database_url: str, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "mode": Mode.DEVELOPMENT,
        "secret_key": TEST_SECRET,
        "database_url": database_url,
        "lookup_min_seconds": 0.0,
        "encryption_keys": factories.TEST_ENCRYPTION_KEY,
    }
    values.update(overrides)
    values["secret_key"] = Secret(str(values["secret_key"]))
    values["encryption_keys"] = Secret(str(values["encryption_keys"]))
    return Settings(**values)


@contextmanager
def running_portal(
    settings: Settings,
    *,
    port: int | None = None,
    sock: socket.socket | None = None,
    **app_kwargs: Any,
) -> Iterator[str]:
    with serve(create_app(settings, **app_kwargs), port=port, sock=sock) as base_url:
        yield base_url


@dataclass
class Portal:
    """The portal alone on loopback (no sandbox services, no worker) and its database."""

    base_url: str
    database_url: str

    def create_user(
        self, email: str, role: str = "agent", store: str | None = None, password: str = PASSWORD
    ) -> str:
        return create_user(self.database_url, email, role, store, password)

    def create_store(self, name: str, slug: str) -> None:
        asyncio.run(factories.create_store(self.database_url, name, slug))

    @contextmanager
    def database(self) -> Iterator[Session]:
        engine = create_engine(sync_url(self.database_url))
        try:
            with Session(engine) as db:
                yield db
        finally:
            engine.dispose()

    def browser(self) -> StaffBrowser:
        return StaffBrowser(self.base_url)
