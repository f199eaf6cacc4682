"""List claims as Corso documents it: filters, ordering, and cursor pages in both directions.

A cursor is the opaque, base64url-encoded position of one claim in the order (createdOn, claimId);
``after`` and ``before`` select the claims strictly after or before that position, in whichever
direction ``orderBy`` asks for.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

DOCUMENTED_PARAMS = frozenset(
    {"customerEmail", "externalId", "after", "before", "first", "last", "orderBy"}
)
DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 100
_WHOLE_NUMBER = re.compile(r"[0-9]{1,4}")
_UNDATED = datetime.min.replace(tzinfo=UTC)

Claim = dict[str, Any]
Position = tuple[datetime, int]


class BadQuery(ValueError):
    """A query parameter, or a combination of them, the API answers with 400."""


@dataclass(frozen=True)
class ClaimsQuery:
    customer_email: str | None = None
    external_id: str | None = None
    descending: bool = True
    page_size: int = DEFAULT_PAGE_SIZE
    after: Position | None = None
    before: Position | None = None
    backward: bool = False  # last/before: the page ending where the cursor (or the list) ends


def parse_claims_query(params: Mapping[str, str]) -> ClaimsQuery:
    """The List claims query string, refused with ``BadQuery`` where Corso would refuse it, and
    where it names a parameter the contract does not document (how Corso treats one is unknown;
    refusing it keeps a client from depending on one unnoticed)."""
    _refuse_undocumented(params)
    _refuse_mixed_directions(params)
    return ClaimsQuery(
        customer_email=params.get("customerEmail"),
        external_id=params.get("externalId"),
        descending=_descending(params.get("orderBy", "desc")),
        page_size=_page_size(params, "last" if "last" in params else "first"),
        after=_cursor(params, "after"),
        before=_cursor(params, "before"),
        backward="last" in params or "before" in params,
    )


def _refuse_undocumented(params: Mapping[str, str]) -> None:
    unknown = sorted(set(params) - DOCUMENTED_PARAMS)
    if unknown:
        raise BadQuery(f"unknown query parameter {', '.join(unknown)}")


def _refuse_mixed_directions(params: Mapping[str, str]) -> None:
    for one, other in (
        ("first", "last"),
        ("after", "before"),
        ("first", "before"),
        ("last", "after"),
    ):
        if one in params and other in params:
            raise BadQuery(f"{one} cannot be combined with {other}")


def _descending(order_by: str) -> bool:
    if order_by not in ("asc", "desc"):
        raise BadQuery("orderBy must be asc or desc")
    return order_by == "desc"


def _page_size(params: Mapping[str, str], name: str) -> int:
    raw = params.get(name)
    if raw is None:
        return DEFAULT_PAGE_SIZE
    if not _WHOLE_NUMBER.fullmatch(raw) or not 1 <= int(raw) <= MAX_PAGE_SIZE:
        raise BadQuery(f"{name} must be a whole number from 1 to {MAX_PAGE_SIZE}")
    return int(raw)


def _cursor(params: Mapping[str, str], name: str) -> Position | None:
    raw = params.get(name)
    if raw is None:
        return None
    try:
        return decode_cursor(raw)
    except (ValueError, TypeError, KeyError, binascii.Error):
        raise BadQuery(f"{name} is not a cursor this API issued") from None


def position(claim: Claim) -> Position:
    created = claim.get("createdOn")
    return (datetime.fromisoformat(created) if created else _UNDATED), int(claim["claimId"])


def encode_cursor(at: Position) -> str:
    created, claim_id = at
    raw = json.dumps({"createdOn": created.isoformat(), "claimId": claim_id}).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def decode_cursor(cursor: str) -> Position:
    raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
    data = json.loads(raw)
    created, claim_id = datetime.fromisoformat(data["createdOn"]), data["claimId"]
    if created.tzinfo is None or type(claim_id) is not int:
        raise ValueError("not a position")
    return created, claim_id


def matches(claim: Claim, query: ClaimsQuery) -> bool:
    email = query.customer_email
    if email is not None and str(claim.get("customerEmail", "")).casefold() != email.casefold():
        return False
    return query.external_id is None or claim.get("externalId") == query.external_id


def claims_page(claims: Iterable[Claim], query: ClaimsQuery) -> dict[str, Any]:
    """The response body: one page of the matching claims and where it sits in the list."""
    ordered = sorted(
        (c for c in claims if matches(c, query)), key=position, reverse=query.descending
    )
    start, stop = _page_bounds([position(c) for c in ordered], query)
    page = ordered[start:stop]
    return {
        "claims": page,
        "pageInfo": {
            "hasNextPage": stop < len(ordered),
            "hasPreviousPage": start > 0,
            "startCursor": encode_cursor(position(page[0])) if page else None,
            "endCursor": encode_cursor(position(page[-1])) if page else None,
        },
    }


def _page_bounds(positions: list[Position], query: ClaimsQuery) -> tuple[int, int]:
    size, descending = query.page_size, query.descending
    if query.backward:
        stop = len(positions)
        if query.before is not None:
            stop = sum(1 for p in positions if _precedes(p, query.before, descending))
        return max(0, stop - size), stop
    start = 0
    if query.after is not None:
        start = sum(1 for p in positions if not _precedes(query.after, p, descending))
    return start, min(len(positions), start + size)


def _precedes(a: Position, b: Position, descending: bool) -> bool:
    return a > b if descending else a < b
