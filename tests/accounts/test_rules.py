"""The account rules on their own: the lock schedule, the per-client brake, safe ``next``
targets and password hashes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from portal.accounts import passwords
from portal.accounts.guard import safe_next
from portal.accounts.models import SignInFailure
from portal.accounts.service import (
    SignInBrake,
    lock_duration,
    release_client_attempt,
    reserve_client_attempt,
)
from portal.db import session_factory

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)


def test_the_lock_starts_at_a_minute_after_five_failures_and_doubles_up_to_an_hour() -> None:
    assert [lock_duration(n) for n in range(5)] == [None] * 5
    minutes = [lock_duration(n) for n in (5, 6, 7, 11, 12, 100)]
    assert minutes == [timedelta(minutes=m) for m in (1, 2, 4, 60, 60, 60)]


@pytest.mark.anyio
async def test_the_client_brake_counts_failures_within_its_window(engine: AsyncEngine) -> None:
    sessions = session_factory(engine)
    brake = SignInBrake(secret="s" * 40, client_limit=3, window=timedelta(minutes=15))
    reservations = [
        await reserve_client_attempt(sessions, brake, "10.0.0.1", NOW) for _ in range(4)
    ]
    assert [r is not None for r in reservations] == [True, True, True, False]
    assert await reserve_client_attempt(sessions, brake, "10.0.0.2", NOW) is not None
    later = NOW + timedelta(minutes=15, seconds=1)
    assert await reserve_client_attempt(sessions, brake, "10.0.0.1", later) is not None


@pytest.mark.anyio
async def test_a_released_attempt_does_not_count(engine: AsyncEngine) -> None:
    sessions = session_factory(engine)
    brake = SignInBrake(secret="s" * 40, client_limit=2)
    for _ in range(5):
        reservation = await reserve_client_attempt(sessions, brake, "10.0.0.1", NOW)
        assert reservation is not None
        async with sessions() as db:
            await release_client_attempt(db, reservation)
            await db.commit()


@pytest.mark.anyio
async def test_the_brake_stores_no_address(engine: AsyncEngine) -> None:
    sessions = session_factory(engine)
    await reserve_client_attempt(sessions, SignInBrake(secret="s" * 40), "203.0.113.9", NOW)
    async with sessions() as db:
        keys = (await db.scalars(select(SignInFailure.key))).all()
    assert keys and all("203.0.113.9" not in key for key in keys)


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ("/support/password?x=1", "/support/password?x=1"),
        ("/support", "/support"),
        (None, "/support/"),
        ("", "/support/"),
        ("https://evil.example/support/", "/support/"),
        ("//evil.example/support/", "/support/"),
        ("/\\evil.example", "/support/"),
        ("/supportive", "/support/"),
        ("/support/login?next=/support/", "/support/"),
        ("/support/\r\nSet-Cookie: x", "/support/"),
        ("javascript:alert(1)", "/support/"),
    ],
)
def test_only_support_pages_are_safe_targets_after_login(target: str | None, expected: str) -> None:
    assert safe_next(target) == expected


@pytest.mark.usefixtures("product_password_hashing")
def test_passwords_are_hashed_with_argon2id_and_checked() -> None:
    stored = passwords.hash_password("correct horse battery")
    assert stored.startswith("$argon2id$")
    assert passwords.verify_password(stored, "correct horse battery")
    assert not passwords.verify_password(stored, "wrong")
    assert not passwords.verify_password("not a hash", "anything")
    assert not passwords.needs_rehash(stored)
