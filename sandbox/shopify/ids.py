"""Shopify global ids: ``gid://shopify/Order/5001``."""

from __future__ import annotations

GID_PREFIX = "gid://shopify/"


def gid(kind: str, number: int) -> str:
    return f"{GID_PREFIX}{kind}/{number}"


def parse_gid(value: str) -> tuple[str, int] | None:
    """``("Order", 5001)`` for a well-formed gid, else ``None``."""
    if not value.startswith(GID_PREFIX):
        return None
    kind, _, rest = value.removeprefix(GID_PREFIX).partition("/")
    number = rest.split("?", 1)[0]
    if not kind or not number.isdigit():
        return None
    return kind, int(number)


def number_of(value: str, kind: str) -> int | None:
    """The numeric id of a gid of ``kind``, or ``None`` when it is another kind or malformed."""
    parsed = parse_gid(value)
    if parsed is None or parsed[0] != kind:
        return None
    return parsed[1]
