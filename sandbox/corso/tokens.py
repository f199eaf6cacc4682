"""Signed, expiring access tokens shaped like the JWTs Corso's auth server issues (HS256)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import Any

_HEADER = {"alg": "HS256", "typ": "JWT"}


def sign_token(claims: dict[str, Any], key: bytes) -> str:
    signing_input = f"{_encode(_HEADER)}.{_encode(claims)}"
    return f"{signing_input}.{_signature(signing_input, key)}"


def read_token(token: str, key: bytes) -> dict[str, Any] | None:
    """The token's claims if this key signed it, else None (expiry is the caller's check)."""
    signing_input, _, signature = token.rpartition(".")
    if not hmac.compare_digest(signature.encode(), _signature(signing_input, key).encode()):
        return None
    try:
        claims = json.loads(_decode(signing_input.split(".")[1]))
    except (ValueError, IndexError):
        return None
    return claims if isinstance(claims, dict) else None


def _signature(signing_input: str, key: bytes) -> str:
    digest = hmac.new(key, signing_input.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def _encode(part: dict[str, Any]) -> str:
    raw = json.dumps(part, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _decode(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))
