"""Password hashing with argon2id (argon2-cffi's ``PasswordHasher``), and the dummy check that
keeps sign-in about as slow for an unknown email as for a known one."""

from __future__ import annotations

from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

MIN_LENGTH = 12
MAX_LENGTH = 1024

_hasher = PasswordHasher()


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    """Whether ``password`` matches. An account without a password (invited, not yet joined)
    matches nothing and takes as long to say so as any other, so timing does not tell."""
    if not password_hash:
        verify_nothing(password)
        return False
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    """True when the hash was made with other parameters than the current ones."""
    return _hasher.check_needs_rehash(password_hash)


@cache
def _dummy_hash() -> str:
    return _hasher.hash("no such user: this hash only costs time")


def verify_nothing(password: str) -> None:
    """Spend the time a real check would, for an email that has no account."""
    verify_password(_dummy_hash(), password)
