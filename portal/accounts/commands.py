"""``portal create-user``: add a staff user, or give an existing one a new password."""

from __future__ import annotations

import getpass
import sys
from dataclasses import dataclass
from typing import TextIO

from sqlalchemy.ext.asyncio import AsyncSession

from portal.accounts import service as accounts
from portal.clock import utcnow
from portal.db import create_engine, session_factory
from portal.errors import AccountRefused
from portal.stores import service as stores


@dataclass(frozen=True)
class NewUser:
    email: str
    role: str
    store_slug: str | None


def read_password(*, from_stdin: bool, stdin: TextIO | None = None) -> str:
    """The password from one line of stdin, or asked twice at the terminal."""
    if from_stdin:
        return (stdin or sys.stdin).readline().rstrip("\r\n")
    first = getpass.getpass("Password: ")
    if getpass.getpass("Password again: ") != first:
        raise AccountRefused("The two passwords are not the same.")
    return first


async def create_user(database_url: str, new_user: NewUser, password: str) -> str:
    """Create the user; returns the confirmation line."""
    engine = create_engine(database_url)
    try:
        async with session_factory(engine)() as db:
            store_id = await _store_id(db, new_user.store_slug)
            user = await accounts.create_user(
                db,
                email=new_user.email,
                role=new_user.role,
                password=password,
                store_id=store_id,
                now=utcnow(),
            )
            await db.commit()
    finally:
        await engine.dispose()
    where = f" of store {new_user.store_slug}" if new_user.store_slug else ""
    return f"portal: created {user.role} {user.email}{where}"


async def reset_password(database_url: str, email: str, password: str) -> str:
    engine = create_engine(database_url)
    try:
        async with session_factory(engine)() as db:
            user = await accounts.reset_password(db, email=email, password=password, now=utcnow())
            await db.commit()
    finally:
        await engine.dispose()
    return f"portal: new password set for {user.email}; their sessions have ended"


async def _store_id(db: AsyncSession, slug: str | None) -> int | None:
    if slug is None:
        return None
    store = await stores.get_by_slug(db, slug)
    if store is None:
        raise AccountRefused(f"No store has the slug {slug!r}.")
    return store.id
