"""The parts of a Corso claim the portal reads, declared once and decoded by msgspec.

List claims documents some 130 fields per claim; the portal reads those declared here and ignores
the rest, so a field it never reads cannot break the agent's page by being absent, new or odd. A
claim missing a field declared without a default is set aside as an ``UnreadableClaim``; the rest
of its page still reads. Money is ``Decimal``, exact from the JSON number; date-times carry an
offset; statuses, types and methods stay strings, so a value Corso adds later reads as itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Annotated, TypeVar

import msgspec

from portal.errors import CorsoResponseError

Moment = Annotated[datetime, msgspec.Meta(tz=True)]
T = TypeVar("T")


class _Model(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    """Read-only (subclasses repeat frozen=True for mypy); camelCase on the wire; unknown fields
    are ignored."""


class SourceLineItem(_Model, frozen=True):
    """The Shopify line item a claim line item is about."""

    source_line_item_id: str
    name: str
    variant_id: str | None = None


class ClaimLineItem(_Model, frozen=True):
    source_line_item: SourceLineItem
    quantity: int
    status: str
    status_detail: str
    resolution_method: str | None = None
    denied_on: Moment | None = None
    canceled_on: Moment | None = None


class ClaimOrder(_Model, frozen=True):
    """The order a claim was filed against."""

    source_order_id: str
    order_name: str | None = None


class Issued(_Model, frozen=True):
    """A refund or gift card a finalized claim issued."""

    amount: Decimal


class ReplacementLineItem(_Model, frozen=True):
    variant_id: str | None = None


class ReplacementOrder(_Model, frozen=True):
    source_order_id: str
    order_name: str | None = None
    line_items: tuple[ReplacementLineItem, ...] = ()


class ResolutionSummary(_Model, frozen=True):
    """What was actually issued when the claim was finalized."""

    refunds: tuple[Issued, ...] = ()
    gift_cards: tuple[Issued, ...] = ()
    replacement_orders: tuple[ReplacementOrder, ...] = ()


class Claim(_Model, frozen=True):
    """A return, exchange or warranty claim filed with Corso."""

    external_id: str
    status: str
    claim_type: str
    order: ClaimOrder
    claim_line_items: tuple[ClaimLineItem, ...]
    created_on: Moment | None = None
    resolution_summary: ResolutionSummary | None = None


class PageInfo(_Model, frozen=True):
    has_next_page: bool
    has_previous_page: bool = False
    start_cursor: str | None = None
    end_cursor: str | None = None


@dataclass(frozen=True, slots=True)
class UnreadableClaim:
    """A claim Corso sent without a field the portal needs, or with one it cannot read."""

    problem: str
    external_id: str | None = None
    claim_id: int | None = None

    @property
    def label(self) -> str:
        return self.external_id or (f"#{self.claim_id}" if self.claim_id else "(no id)")


@dataclass(frozen=True, slots=True)
class ClaimPage:
    claims: tuple[Claim, ...]
    page_info: PageInfo
    unreadable: tuple[UnreadableClaim, ...] = ()


class _Answer(_Model, frozen=True):
    claims: list[msgspec.Raw]
    page_info: PageInfo


class _Identity(_Model, frozen=True):
    external_id: str | None = None
    claim_id: int | None = None


class AccessToken(msgspec.Struct, frozen=True):
    access_token: str
    expires_in: float


def decode_page(content: bytes) -> ClaimPage:
    """A List claims answer; a claim that does not read is set aside, not fatal."""
    answer = decode(_Answer, content, "claims answer")
    claims: list[Claim] = []
    unreadable: list[UnreadableClaim] = []
    for raw in answer.claims:
        try:
            claims.append(msgspec.json.decode(raw, type=Claim))
        except msgspec.ValidationError as exc:
            unreadable.append(_set_aside(raw, str(exc)))
    return ClaimPage(tuple(claims), answer.page_info, tuple(unreadable))


def decode(kind: type[T], content: bytes, what: str) -> T:
    """``content`` read as ``kind``; what does not fit is a ``CorsoResponseError``."""
    try:
        return msgspec.json.decode(content, type=kind)
    except msgspec.ValidationError as exc:
        raise CorsoResponseError(f"Corso's {what} does not fit its contract: {exc}") from None
    except msgspec.DecodeError as exc:
        raise CorsoResponseError(f"Corso answered with something that is not JSON: {exc}") from None


def _set_aside(raw: msgspec.Raw, problem: str) -> UnreadableClaim:
    try:
        identity = msgspec.json.decode(raw, type=_Identity)
    except msgspec.ValidationError:
        identity = _Identity()
    return UnreadableClaim(problem, identity.external_id, identity.claim_id)
