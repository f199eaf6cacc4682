"""The account rules on their own: the lock schedule, the per-client brake, safe ``next``
targets and password hashes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from portal.accounts import passwords
from portal.accounts.guard import safe_next
from portal.accounts.service import LoginThrottle, lock_duration

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)


def test_the_lock_starts_at_a_minute_after_five_failures_and_doubles_up_to_an_hour() -> None:
    assert [lock_duration(n) for n in range(5)] == [None] * 5
    minutes = [lock_duration(n) for n in (5, 6, 7, 11, 12, 100)]
    assert minutes == [timedelta(minutes=m) for m in (1, 2, 4, 60, 60, 60)]


def test_the_client_brake_counts_failures_within_its_window() -> None:
    throttle = LoginThrottle(client_limit=3, window=timedelta(minutes=15))
    for _ in range(3):
        assert not throttle.client_blocked("10.0.0.1", NOW)
        throttle.record_client_failure("10.0.0.1", NOW)
    assert throttle.client_blocked("10.0.0.1", NOW)
    assert not throttle.client_blocked("10.0.0.2", NOW)
    assert not throttle.client_blocked("10.0.0.1", NOW + timedelta(minutes=15))


def test_an_unknown_email_locks_on_the_same_schedule() -> None:
    throttle = LoginThrottle()
    locks = [throttle.record_unknown_email_failure("ghost@example.com", NOW) for _ in range(5)]
    assert locks == [False, False, False, False, True]
    assert throttle.unknown_email_locked("ghost@example.com", NOW)
    assert not throttle.unknown_email_locked("ghost@example.com", NOW + timedelta(minutes=1))


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
