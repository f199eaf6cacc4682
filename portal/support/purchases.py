"""The store order an alternative reorder names: it must have been bought for the request.

An agent buys the replacement on the store with the company card and records that order. It
counts only if it belongs to the request's customer (the same email or customer account) or
carries the request's reference in its note or tags, was placed after the request was filed,
and is not recorded for any request already (checked when it is recorded, in
``actions.record_alternative_reorder``). Every refusal names the order number field.
"""

from __future__ import annotations

from dataclasses import dataclass

from portal.errors import ActionRefused
from portal.i18n import gettext as _
from portal.integrations.shopify import ShopifyClient
from portal.integrations.shopify.models import Order
from portal.reorders.models import ReorderRequest
from portal.stores.models import Store

FIELD = "order_name"


@dataclass(frozen=True)
class Purchase:
    """The order, and whether it is the shopper's own (only then is it named to them)."""

    order: Order
    shoppers_own: bool


async def bought_for(
    shopify: ShopifyClient, request: ReorderRequest, store: Store, *, order_name: str
) -> Purchase:
    """The store's order ``order_name`` if it was bought for ``request``; otherwise
    ActionRefused, saying why, for the order number field."""
    order = await shopify.find_order(name=order_name)
    if order is None:
        raise ActionRefused(
            _("There is no order %(name)s at %(store)s.", name=order_name, store=store.name),
            field=FIELD,
        )
    if order.created_at <= request.created_at:
        raise ActionRefused(
            _(
                "Order %(name)s was placed on %(day)s, before this request was filed: "
                "name the order bought for it.",
                name=order.name,
                day=order.created_at.strftime("%Y-%m-%d %H:%M"),
            ),
            field=FIELD,
        )
    original = await shopify.get_order(order_id=request.shopify_order_id)
    own = same_customer(order, request, original)
    if not own and not carries_reference(order, request.reference):
        raise ActionRefused(
            _(
                "Order %(name)s belongs to another customer and does not carry the reference "
                "%(reference)s in its note or tags.",
                name=order.name,
                reference=request.reference,
            ),
            field=FIELD,
        )
    return Purchase(order, own)


def same_customer(order: Order, request: ReorderRequest, original: Order | None) -> bool:
    """Whether ``order`` was placed under the request's email or its order's customer."""
    if request.email and (order.email or "").casefold() == request.email.casefold():
        return True
    ours = original.customer.id if original and original.customer else None
    return ours is not None and order.customer is not None and order.customer.id == ours


def carries_reference(order: Order, reference: str) -> bool:
    """Whether the request's reference is in the order's note or among its tags."""
    wanted = reference.casefold()
    tags = {tag.strip().casefold() for tag in order.tags}
    return wanted in (order.note or "").casefold() or wanted in tags
