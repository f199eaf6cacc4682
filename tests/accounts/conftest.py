"""Staff accounts end to end: a running portal on the database under test, users made through
the create-user command's code, and a browser that signs in the way a person would."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import pytest
from sqlalchemy import create_engine
from sqlalchemy.orm import Session

from portal.accounts import commands
from portal.db import sync_url
from portal.stores.models import Store
from portal.stores.service import upsert_store
from tests.helpers.factories import store_spec
from tests.helpers.portal import portal_settings, running_portal
from tests.helpers.staff import PASSWORD, StaffBrowser

AGENT = "agent@example.com"


@dataclass
class Portal:
    base_url: str
    database_url: str

    def create_user(
        self, email: str, role: str = "agent", store: str | None = None, password: str = PASSWORD
    ) -> str:
        new_user = commands.NewUser(email=email, role=role, store_slug=store)
        return asyncio.run(commands.create_user(self.database_url, new_user, password))

    def create_store(self, name: str, slug: str) -> None:
        asyncio.run(_create_store(self.database_url, name, slug))

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


async def _create_store(database_url: str, name: str, slug: str) -> Store:
    from portal.db import create_engine as create_async_engine
    from portal.db import session_factory

    engine = create_async_engine(database_url)
    try:
        async with session_factory(engine)() as db:
            store = await upsert_store(db, store_spec(name, slug))
            await db.commit()
            return store
    finally:
        await engine.dispose()


@pytest.fixture
def portal(database_url: str) -> Iterator[Portal]:
    with running_portal(portal_settings(database_url)) as base_url:
        yield Portal(base_url=base_url, database_url=database_url)


@pytest.fixture
def browser(portal: Portal) -> Iterator[StaffBrowser]:
    staff = portal.browser()
    yield staff
    staff.close()


@pytest.fixture
def other_browser(portal: Portal) -> Iterator[StaffBrowser]:
    staff = portal.browser()
    yield staff
    staff.close()
