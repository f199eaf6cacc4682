"""What Corso's claims tell an agent about a reorder request: the customer's earlier claims, the
ones Corso sent that the portal could not read, and for each requested line item whether an
earlier claim already refunded or replaced it, so the agent does not issue it twice."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from portal.integrations.corso.client import MAX_PAGE_SIZE, CorsoClient
from portal.integrations.corso.models import Claim, ClaimLineItem, UnreadableClaim

MAX_CLAIMS = 500
REFUND_METHODS = frozenset({"Refund"})
REFUND_DETAILS = frozenset({"Refunded", "Refunded_Partial"})
REPLACEMENT_METHODS = frozenset({"Replacement_Order", "Variant_Exchange"})
ISSUED_STATUSES = frozenset({"Approved", "Closed"})


@dataclass(frozen=True)
class CustomerClaims:
    """A customer's claims at one store, as far as the portal could read them."""

    claims: tuple[Claim, ...] = ()
    unreadable: tuple[UnreadableClaim, ...] = ()
    connected: bool = True  # False: the store has no Corso credentials

    @property
    def empty(self) -> bool:
        return not (self.claims or self.unreadable)


NOT_CONNECTED = CustomerClaims(connected=False)


@dataclass(frozen=True)
class LineItemHistory:
    """What earlier claims already issued for one Shopify line item (claim external ids)."""

    refunded_in: tuple[str, ...] = ()
    replaced_in: tuple[str, ...] = ()

    @property
    def already_issued(self) -> bool:
        return bool(self.refunded_in or self.replaced_in)


async def customer_claims(corso: CorsoClient | None, email: str) -> CustomerClaims:
    """Up to ``MAX_CLAIMS`` of the customer's claims, newest first."""
    if corso is None:
        return NOT_CONNECTED
    claims: list[Claim] = []
    unreadable: list[UnreadableClaim] = []
    async for found in corso.iter_claims(customer_email=email, page_size=MAX_PAGE_SIZE):
        if isinstance(found, Claim):
            claims.append(found)
        else:
            unreadable.append(found)
        if len(claims) + len(unreadable) >= MAX_CLAIMS:
            break
    return CustomerClaims(tuple(claims), tuple(unreadable))


def issued_for_line_item(claims: Iterable[Claim], source_line_item_id: str) -> LineItemHistory:
    """Whether any claim already refunded or replaced this Shopify line item, and which."""
    refunded: list[str] = []
    replaced: list[str] = []
    for claim in claims:
        items = line_items_for(claim, source_line_item_id)
        if any(was_refunded(item) for item in items):
            refunded.append(claim.external_id)
        if any(was_replaced(item) for item in items) or _sent_again(claim, items):
            replaced.append(claim.external_id)
    return LineItemHistory(tuple(refunded), tuple(replaced))


def line_items_for(claim: Claim, source_line_item_id: str) -> tuple[ClaimLineItem, ...]:
    """The claim's line items for one Shopify line item."""
    return tuple(
        item
        for item in claim.claim_line_items
        if item.source_line_item.source_line_item_id == source_line_item_id
    )


def was_refunded(item: ClaimLineItem) -> bool:
    return item.status_detail in REFUND_DETAILS or _issued_as(item, REFUND_METHODS)


def was_replaced(item: ClaimLineItem) -> bool:
    return item.status_detail in REPLACEMENT_METHODS or _issued_as(item, REPLACEMENT_METHODS)


def replacement_variant_ids(claim: Claim) -> frozenset[str]:
    """Variants the claim's replacement orders sent."""
    orders = claim.resolution_summary.replacement_orders if claim.resolution_summary else ()
    return frozenset(
        item.variant_id for order in orders for item in order.line_items if item.variant_id
    )


def _issued_as(item: ClaimLineItem, methods: frozenset[str]) -> bool:
    withdrawn = item.denied_on is not None or item.canceled_on is not None
    issued = item.status in ISSUED_STATUSES and not withdrawn
    return issued and item.resolution_method in methods


def _sent_again(claim: Claim, items: Iterable[ClaimLineItem]) -> bool:
    """A replacement order of the claim carries the claimed variant again."""
    sent = replacement_variant_ids(claim)
    return any(item.source_line_item.variant_id in sent for item in items)
