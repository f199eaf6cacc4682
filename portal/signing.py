"""The one signing helper: one secret, a salt per purpose, a maximum age always.

Tokens carry opaque ids only (never an email or a name). itsdangerous' errors become
``InvalidToken`` / ``ExpiredToken`` so callers speak the portal's language.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from enum import StrEnum
from typing import Any

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from portal.errors import ExpiredToken, InvalidToken


class Purpose(StrEnum):
    """Each purpose is its own salt: a token minted for one is worthless for another."""

    ORDER_LINK = "order-link"
    STATUS_LINK = "status-link"
    SHOPPER_SESSION = "shopper-session"
    CSRF = "csrf"
    FLASH = "flash"


MAX_AGE_SECONDS: dict[Purpose, int] = {
    Purpose.ORDER_LINK: 60 * 60 * 24 * 60,  # unless the link names its own end (links.py)
    Purpose.STATUS_LINK: 60 * 60 * 24 * 180,
    Purpose.SHOPPER_SESSION: 30 * 60,  # idle: the cookie is signed again on each page
    Purpose.CSRF: 60 * 60 * 12,
    Purpose.FLASH: 60 * 5,
}


class Signer:
    def __init__(self, secret: str) -> None:
        self._secret = secret

    def _serializer(self, purpose: Purpose) -> URLSafeTimedSerializer:
        return URLSafeTimedSerializer(self._secret, salt=f"portal:{purpose.value}")

    def sign(self, purpose: Purpose, payload: Any) -> str:
        return self._serializer(purpose).dumps(payload)

    def unsign(self, purpose: Purpose, token: str, *, max_age: int | None = None) -> Any:
        return self.unsign_timed(purpose, token, max_age=max_age)[0]

    def unsign_timed(
        self, purpose: Purpose, token: str, *, max_age: int | None = None
    ) -> tuple[Any, datetime]:
        """The payload and when it was signed (aware, UTC)."""
        age = MAX_AGE_SECONDS[purpose] if max_age is None else max_age
        try:
            payload, signed_at = self._serializer(purpose).loads(
                token, max_age=age, return_timestamp=True
            )
        except SignatureExpired as exc:
            raise ExpiredToken(f"{purpose.value} token expired") from exc
        except BadSignature as exc:
            raise InvalidToken(f"invalid {purpose.value} token") from exc
        return payload, signed_at


def digest(value: str) -> str:
    """What the database keeps of a secret it only needs to recognise (a session, invitation
    or install-state token): its SHA-256 in hex, never the value itself."""
    return hashlib.sha256(value.encode()).hexdigest()
