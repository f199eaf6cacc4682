"""The rules of staff accounts, with no HTTP in sight: creating users, checking a password with
backoff and lockout, and server-side sessions (start, look up with idle and absolute expiry,
revoke).

Functions change rows in the given ``AsyncSession`` and leave the commit to the caller, on a
refusal too (a refused sign-in still has to record the failure).

    AccountError
    ├── AccountRefused          create-user or new-password input refused
    ├── WrongCurrentPassword    a password change gave the wrong current password
    └── LoginRefused            email or password is not right (the same for an unknown email)
        └── AccountLocked       too many failures: wait until the lock ends
"""

from __future__ import annotations

import asyncio
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import NoReturn

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from portal.accounts import passwords
from portal.accounts.models import Role, SignInFailure, StaffSession, User
from portal.errors import (
    AccountLocked,
    AccountRefused,
    LoginRefused,
    WrongCurrentPassword,
)
from portal.signing import digest

MAX_FAILURES = 5
FIRST_LOCK = timedelta(minutes=1)
LONGEST_LOCK = timedelta(hours=1)
SESSION_LIFETIME = timedelta(hours=12)
IDLE_TIMEOUT = timedelta(hours=2)
MAX_TOKEN_LENGTH = 128
# How long an unknown email's failures count: longer than the longest lock they can earn.
UNKNOWN_EMAIL_MEMORY = timedelta(days=1)


def normalise_email(email: str) -> str:
    return email.strip().casefold()


def lock_duration(failures: int) -> timedelta | None:
    """How long an account locks after ``failures`` in a row: none below the limit, then one
    minute, doubling with every further failure, at most an hour."""
    if failures < MAX_FAILURES:
        return None
    return min(FIRST_LOCK * (1 << min(failures - MAX_FAILURES, 10)), LONGEST_LOCK)


def check_new_password(password: str) -> None:
    if len(password) < passwords.MIN_LENGTH:
        raise AccountRefused(f"The password must be at least {passwords.MIN_LENGTH} characters.")
    if len(password) > passwords.MAX_LENGTH:
        raise AccountRefused(f"The password must be at most {passwords.MAX_LENGTH} characters.")


# --- users ------------------------------------------------------------------------------------


async def find_user(db: AsyncSession, email: str) -> User | None:
    user: User | None = await db.scalar(select(User).where(User.email == normalise_email(email)))
    return user


async def create_user(
    db: AsyncSession, *, email: str, role: str, password: str, store_id: int | None, now: datetime
) -> User:
    """A new staff user; a merchant user must name a store, agents and admins must not."""
    checked_role = _role(role, store_id)
    check_new_password(password)
    if "@" not in email or await find_user(db, email) is not None:
        raise AccountRefused("That email is not valid or already has an account.")
    user = User(
        email=normalise_email(email),
        password_hash=await asyncio.to_thread(passwords.hash_password, password),
        role=checked_role.value,
        store_id=store_id,
        password_changed_at=now,
        disabled=False,
        failed_logins=0,
    )
    db.add(user)
    await db.flush()
    return user


def _role(role: str, store_id: int | None) -> Role:
    try:
        checked = Role(role)
    except ValueError:
        raise AccountRefused(f"The role must be one of: {', '.join(Role)}.") from None
    if checked is Role.MERCHANT and store_id is None:
        raise AccountRefused("A merchant user needs a store.")
    if checked is not Role.MERCHANT and store_id is not None:
        raise AccountRefused("Only merchant users belong to a store.")
    return checked


async def set_password(db: AsyncSession, user: User, password: str, *, now: datetime) -> None:
    """Give ``user`` a new password, clear any lock and end every session they have."""
    check_new_password(password)
    user.password_hash = await asyncio.to_thread(passwords.hash_password, password)
    user.password_changed_at = now
    user.failed_logins = 0
    user.locked_until = None
    await revoke_all_sessions(db, user.id, now=now)


async def reset_password(db: AsyncSession, *, email: str, password: str, now: datetime) -> User:
    user = await find_user(db, email)
    if user is None:
        raise AccountRefused("No user has that email.")
    await set_password(db, user, password, now=now)
    return user


async def change_password(
    db: AsyncSession, *, user_id: int, current: str, new: str, now: datetime
) -> str:
    """Change a signed-in user's password: every session ends, and the token of a fresh one
    for the browser that made the change is returned. A wrong current password counts
    towards the lock like a failed sign-in, so a stolen session cannot guess it."""
    user = await db.get(User, user_id)
    if user is None:
        raise WrongCurrentPassword()
    if _is_locked(user, now):
        raise WrongCurrentPassword(AccountLocked.message)
    if not await asyncio.to_thread(passwords.verify_password, user.password_hash, current):
        _count_failure(user, now)
        raise WrongCurrentPassword()
    await set_password(db, user, new, now=now)
    return await start_session(db, user, now=now)


# --- signing in -------------------------------------------------------------------------------


async def authenticate(
    db: AsyncSession, *, email: str, password: str, now: datetime, brake: SignInBrake
) -> User:
    """The user whose email and password these are, or ``LoginRefused`` / ``AccountLocked``.

    An unknown email costs the same password check and locks the same way (its failures are
    rows of ``sign_in_failures``), so neither the answer nor its timing tells whether an
    account exists."""
    user = await find_user(db, email)
    if user is None:
        return await _refuse_unknown_email(db, normalise_email(email), password, now, brake)
    if _is_locked(user, now):
        raise AccountLocked()
    correct = await asyncio.to_thread(passwords.verify_password, user.password_hash, password)
    if not correct or user.disabled:
        _refuse(user, now)
    await _signed_in(user, password)
    return user


async def _refuse_unknown_email(
    db: AsyncSession, email: str, password: str, now: datetime, brake: SignInBrake
) -> User:
    key = brake.key("email", email)
    failures, last = await _failures_since(db, key, now - UNKNOWN_EMAIL_MEMORY)
    lock = lock_duration(failures)
    if lock is not None and last is not None and last + lock > now:
        raise AccountLocked()
    await asyncio.to_thread(passwords.verify_nothing, password)
    db.add(SignInFailure(key=key, failed_at=now))
    if lock_duration(failures + 1) is not None:
        raise AccountLocked()
    raise LoginRefused()


def _is_locked(user: User, now: datetime) -> bool:
    return user.locked_until is not None and user.locked_until > now


def _count_failure(user: User, now: datetime) -> bool:
    """Count a wrong password; True when it locks the account."""
    user.failed_logins += 1
    lock = lock_duration(user.failed_logins)
    if lock is not None:
        user.locked_until = now + lock
    return lock is not None


def _refuse(user: User, now: datetime) -> NoReturn:
    if _count_failure(user, now):
        raise AccountLocked()
    raise LoginRefused()


async def _signed_in(user: User, password: str) -> None:
    user.failed_logins = 0
    user.locked_until = None
    if passwords.needs_rehash(user.password_hash):
        user.password_hash = await asyncio.to_thread(passwords.hash_password, password)


@dataclass(frozen=True)
class SignInBrake:
    """Failed sign-ins counted in the database, so every web process brakes the same.

    Per client address: at most ``client_limit`` failures in ``window``, whichever emails were
    tried, which slows one client guessing across many accounts. Per unknown email: the same
    lock schedule as a real account. Keys are keyed hashes: no address or email is stored."""

    secret: str
    client_limit: int = 20
    window: timedelta = timedelta(minutes=15)

    def key(self, kind: str, value: str) -> str:
        digest = hmac.new(self.secret.encode(), f"{kind}:{value}".encode(), "sha256")
        return f"{kind}:{digest.hexdigest()}"


async def reserve_client_attempt(
    sessions: async_sessionmaker[AsyncSession], brake: SignInBrake, client: str, now: datetime
) -> int | None:
    """Count this attempt against the client before the password is checked, committed at
    once, so attempts sent together cannot all pass: the id of the reservation (release it on
    success), or None when the client has failed too often."""
    key = brake.key("client", client)
    async with sessions() as db:
        reservation = SignInFailure(key=key, failed_at=now)
        db.add(reservation)
        await db.commit()
        failures, _ = await _failures_since(db, key, now - brake.window)
    return reservation.id if failures <= brake.client_limit else None


async def release_client_attempt(db: AsyncSession, reservation: int) -> None:
    """The attempt succeeded: it no longer counts against the client."""
    await db.execute(delete(SignInFailure).where(SignInFailure.id == reservation))


async def _failures_since(
    db: AsyncSession, key: str, since: datetime
) -> tuple[int, datetime | None]:
    row = (
        await db.execute(
            select(func.count(), func.max(SignInFailure.failed_at)).where(
                SignInFailure.key == key, SignInFailure.failed_at > since
            )
        )
    ).one()
    return int(row[0]), row[1]


async def purge_sign_in_failures(db: AsyncSession, *, before: datetime) -> int:
    """Forget failures older than anything the brakes still look at."""
    result = await db.execute(delete(SignInFailure).where(SignInFailure.failed_at < before))
    return int(result.rowcount)  # type: ignore[attr-defined]


# --- sessions ---------------------------------------------------------------------------------


def session_id_of(token: str) -> str:
    """What the database keeps of a session token: its SHA-256, never the token itself."""
    return digest(token)


async def start_session(db: AsyncSession, user: User, *, now: datetime) -> str:
    """A new session for ``user``; returns the token for the cookie."""
    token = secrets.token_urlsafe(32)
    db.add(
        StaffSession(
            id=session_id_of(token),
            user_id=user.id,
            created_at=now,
            last_seen_at=now,
            expires_at=now + SESSION_LIFETIME,
        )
    )
    await db.flush()
    return token


async def current_session(
    db: AsyncSession, token: str, *, now: datetime
) -> tuple[StaffSession, User] | None:
    """The live session this token opens, and its user; marks it seen now."""
    if not token or len(token) > MAX_TOKEN_LENGTH:
        return None
    found = await db.get(StaffSession, session_id_of(token))
    if found is None or not _is_live(found, now):
        return None
    user = await db.get(User, found.user_id)
    if user is None or user.disabled:
        return None
    if now - found.last_seen_at > SEEN_RESOLUTION:  # not a write on every page and poll
        found.last_seen_at = now
    return found, user


SEEN_RESOLUTION = timedelta(minutes=1)


def _is_live(found: StaffSession, now: datetime) -> bool:
    return (
        found.revoked_at is None
        and found.expires_at > now
        and found.last_seen_at + IDLE_TIMEOUT > now
    )


async def end_session(db: AsyncSession, token: str, *, now: datetime) -> None:
    if not token or len(token) > MAX_TOKEN_LENGTH:
        return
    found = await db.get(StaffSession, session_id_of(token))
    if found is not None and found.revoked_at is None:
        found.revoked_at = now


async def revoke_all_sessions(db: AsyncSession, user_id: int, *, now: datetime) -> None:
    await db.execute(
        update(StaffSession)
        .where(StaffSession.user_id == user_id, StaffSession.revoked_at.is_(None))
        .values(revoked_at=now)
        .execution_options(synchronize_session=False)
    )
