"""Staff accounts end to end: a running portal on the database under test, users made through
the create-user command's code, and a browser that signs in the way a person would."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import httpx
import pytest
from sqlalchemy import create_engine
from sqlalchemy.orm import Session

from portal.accounts import commands
from portal.db import sync_url
from portal.stores.models import Store
from portal.stores.service import upsert_store
from tests.support.factories import store_spec
from tests.support.portal import portal_settings, running_portal
from tests.support.shopper_flow import csrf_of

PASSWORD = "correct horse battery"
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


class StaffBrowser:
    """One browser: its own cookies, redirects not followed so each answer can be read."""

    def __init__(self, base_url: str) -> None:
        self.client = httpx.Client(base_url=base_url, follow_redirects=False, timeout=30)
        self._csrf: str | None = None

    def close(self) -> None:
        self.client.close()

    def get(self, path: str) -> httpx.Response:
        return self.client.get(path)

    def sign_in(
        self, email: str = AGENT, password: str = PASSWORD, next: str | None = None
    ) -> httpx.Response:
        page = self.client.get("/support/login", params={"next": next} if next else None)
        self._csrf = csrf_of(page)
        data = {"csrf_token": self._csrf, "email": email, "password": password}
        if next is not None:
            data["next"] = next
        return self.client.post("/support/login", data=data)

    def csrf(self) -> str:
        """This browser's CSRF token (the same on every page for one browser)."""
        if self._csrf is None:
            self._csrf = csrf_of(self.client.get("/support/login"))
        return self._csrf

    def post_form(self, path: str, data: dict[str, str]) -> httpx.Response:
        return self.client.post(path, data={"csrf_token": self.csrf(), **data})

    def sign_out(self) -> httpx.Response:
        return self.post_form("/support/logout", {})

    def change_password(self, current: str, new: str, confirm: str | None = None) -> httpx.Response:
        return self.post_form(
            "/support/password",
            {
                "current_password": current,
                "new_password": new,
                "confirm_password": new if confirm is None else confirm,
            },
        )

    @property
    def session_token(self) -> str | None:
        return self.client.cookies.get("portal_staff")


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
