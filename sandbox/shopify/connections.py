"""Relay-style cursor pagination with opaque cursors, as Shopify's connections do it."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from graphql import GraphQLError

T = TypeVar("T")
SortKey = tuple[Any, ...]
MAX_PAGE = 250


def encode_cursor(key: SortKey) -> str:
    payload = {"last_id": key[-1], "last_value": list(key[:-1])}
    raw = json.dumps(payload, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> SortKey:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        payload = json.loads(base64.urlsafe_b64decode(padded.encode()))
        return (*payload["last_value"], payload["last_id"])
    except (ValueError, KeyError, TypeError, binascii.Error) as error:
        raise GraphQLError(f"Invalid cursor for current pagination sort: {cursor!r}") from error


@dataclass(frozen=True)
class Page(Generic[T]):
    edges: list[tuple[str, T]]
    has_next_page: bool
    has_previous_page: bool

    def as_connection(self, view: Callable[[T], Any] = lambda node: node) -> dict[str, Any]:
        """The connection object: edges, nodes and pageInfo, each node shown through ``view``."""
        cursors = [cursor for cursor, _ in self.edges]
        nodes = [view(node) for _, node in self.edges]
        return {
            "edges": [{"cursor": c, "node": n} for c, n in zip(cursors, nodes, strict=True)],
            "nodes": nodes,
            "pageInfo": {
                "hasNextPage": self.has_next_page,
                "hasPreviousPage": self.has_previous_page,
                "startCursor": cursors[0] if cursors else None,
                "endCursor": cursors[-1] if cursors else None,
            },
        }


def check_page_size(first: int | None, last: int | None) -> None:
    if first is None and last is None:
        raise GraphQLError("you must provide one of first or last")
    for name, size in (("first", first), ("last", last)):
        if size is not None and not 0 <= size <= MAX_PAGE:
            raise GraphQLError(f"The '{name}' argument must be between 0 and {MAX_PAGE}.")


def paginate(
    items: Sequence[T],
    key: Callable[[T], SortKey],
    *,
    first: int | None = None,
    after: str | None = None,
    last: int | None = None,
    before: str | None = None,
    reverse: bool = False,
) -> Page[T]:
    """One page of ``items`` ordered by ``key`` (whose last element is the unique id)."""
    check_page_size(first, last)
    ordered = sorted(items, key=key, reverse=reverse)
    keys = [key(item) for item in ordered]
    start = _position(keys, decode_cursor(after), reverse, inclusive=False) if after else 0
    end = _position(keys, decode_cursor(before), reverse, inclusive=True) if before else len(keys)
    end = max(start, end)
    if first is not None:
        end = min(end, start + first)
    if last is not None:
        start = max(start, end - last)
    edges = [(encode_cursor(keys[i]), ordered[i]) for i in range(start, end)]
    return Page(edges, has_next_page=end < len(keys), has_previous_page=start > 0)


def _position(keys: list[SortKey], cursor: SortKey, reverse: bool, *, inclusive: bool) -> int:
    """Index of the first key that comes after ``cursor`` (or at it, when ``inclusive``)."""
    for index, candidate in enumerate(keys):
        if _comes_after(candidate, cursor, reverse) or (inclusive and candidate == cursor):
            return index
    return len(keys)


def _comes_after(candidate: SortKey, cursor: SortKey, reverse: bool) -> bool:
    try:
        return candidate < cursor if reverse else candidate > cursor
    except TypeError as error:
        raise GraphQLError("Invalid cursor for current pagination sort.") from error


def first_n(items: Sequence[T], first: int | None) -> list[T]:
    """Plain lists with a ``first`` argument (``Order.fulfillments(first:)`` and the like)."""
    if first is None:
        return list(items)
    if first < 0:
        raise GraphQLError("The 'first' argument must not be negative.")
    return list(items[:first])
