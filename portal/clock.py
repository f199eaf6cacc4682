"""The one clock: every "now" the portal reads is ``utcnow()``, an aware UTC datetime."""

from __future__ import annotations

from datetime import UTC, datetime


def utcnow() -> datetime:
    return datetime.now(UTC)
