"""Refunds as Shopify computes and checks them: suggested amounts, validation, and applying one.

Refunds never exceed what was paid: every line is limited to its refundable quantity, shipping to
what is left of it, and each money transaction to what is left of its parent payment.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from sandbox.shopify.state import (
    ZERO,
    LineItem,
    Order,
    Refund,
    RefundLineItem,
    Shop,
    Transaction,
    money_str,
    order_payload,
    refund_payload,
)

if TYPE_CHECKING:
    from sandbox.shopify.state import ShopifyWorld

RESTOCKING = ("RETURN", "CANCEL", "LEGACY_RESTOCK")


@dataclass(frozen=True)
class UserError:
    field: tuple[str, ...] | None
    message: str
    code: str | None = None

    def as_json(self) -> dict[str, Any]:
        return {
            "field": list(self.field) if self.field is not None else None,
            "message": self.message,
            "code": self.code,
        }


@dataclass(frozen=True)
class RefundLineRequest:
    line_item_id: int | None  # None when the id was not a LineItem gid
    quantity: int
    restock_type: str = "NO_RESTOCK"


@dataclass(frozen=True)
class RefundTransactionRequest:
    amount: Decimal
    gateway: str
    kind: str = "REFUND"
    parent_id: int | None = None
    order_id: int | None = None


@dataclass(frozen=True)
class RefundRequest:
    order_id: int
    line_items: tuple[RefundLineRequest, ...] = ()
    transactions: tuple[RefundTransactionRequest, ...] = ()
    shipping: Decimal = ZERO
    note: str | None = None
    notify: bool = False


@dataclass(frozen=True)
class SuggestedLine:
    line_item: LineItem
    quantity: int
    restock_type: str
    price: Decimal
    subtotal: Decimal


@dataclass(frozen=True)
class SuggestedTransaction:
    parent: Transaction
    amount: Decimal
    maximum_refundable: Decimal

    @property
    def gateway(self) -> str:
        return self.parent.gateway


@dataclass(frozen=True)
class Suggestion:
    lines: list[SuggestedLine]
    subtotal: Decimal
    shipping: Decimal
    shipping_maximum: Decimal
    amount: Decimal
    maximum_refundable: Decimal
    transactions: list[SuggestedTransaction]

    @property
    def total_tax(self) -> Decimal:
        return ZERO


# --- amounts -----------------------------------------------------------------------------------


def refunded_subtotal(order: Order, line_item_id: int) -> Decimal:
    return sum(
        (
            rli.subtotal
            for r in order.refunds
            for rli in r.line_items
            if rli.line_item_id == line_item_id
        ),
        ZERO,
    )


def line_refund_amount(order: Order, line: LineItem, quantity: int) -> Decimal:
    """The discounted price of ``quantity`` units; the last units carry any rounding remainder."""
    if quantity >= line.refundable_quantity:
        return line.discounted_total - refunded_subtotal(order, line.id)
    return line.discounted_unit_price * quantity


def remaining_shipping(order: Order) -> Decimal:
    return max(ZERO, order.shipping_price - order.refunded_shipping)


def refunded_from(order: Order, parent: Transaction) -> Decimal:
    return sum(
        (
            t.amount
            for r in order.refunds
            for t in r.transactions
            if t.parent_id == parent.id and t.status == "SUCCESS"
        ),
        ZERO,
    )


def refundable_from(order: Order, parent: Transaction) -> Decimal:
    return max(ZERO, parent.amount - refunded_from(order, parent))


def payments(order: Order) -> list[Transaction]:
    return [t for t in order.transactions if t.is_payment]


def maximum_refundable(order: Order) -> Decimal:
    return max(ZERO, order.net_payment)


# --- suggestions -------------------------------------------------------------------------------


def suggest(
    order: Order,
    lines: Sequence[tuple[int, int, str]],
    *,
    shipping: Decimal | None = None,
    refund_shipping: bool = False,
    full: bool = False,
) -> Suggestion:
    """What Shopify would refund for ``(line item id, quantity, restock type)`` and shipping.
    Quantities are limited to what is refundable; unknown line items raise ``LookupError``."""
    if full:
        lines = [(li.id, li.refundable_quantity, "NO_RESTOCK") for li in order.line_items]
        refund_shipping = True
    suggested = [_suggested_line(order, *line) for line in lines]
    suggested = [line for line in suggested if line.quantity > 0]
    shipping_maximum = remaining_shipping(order)
    shipping_amount = min(shipping or ZERO, shipping_maximum)
    if refund_shipping:
        shipping_amount = shipping_maximum
    subtotal = sum((line.subtotal for line in suggested), ZERO)
    ceiling = maximum_refundable(order)
    amount = min(subtotal + shipping_amount, ceiling)
    return Suggestion(
        lines=suggested,
        subtotal=subtotal,
        shipping=shipping_amount,
        shipping_maximum=shipping_maximum,
        amount=amount,
        maximum_refundable=ceiling,
        transactions=_spread(order, amount),
    )


def _suggested_line(order: Order, line_item_id: int, quantity: int, restock: str) -> SuggestedLine:
    line = order.line_item(line_item_id)
    if line is None:
        raise LookupError(f"Line item {line_item_id} does not belong to order {order.id}")
    quantity = max(0, min(quantity, line.refundable_quantity))
    return SuggestedLine(
        line_item=line,
        quantity=quantity,
        restock_type=restock,
        price=line.discounted_unit_price,
        subtotal=line_refund_amount(order, line, quantity) if quantity else ZERO,
    )


def _spread(order: Order, amount: Decimal) -> list[SuggestedTransaction]:
    """Share ``amount`` among the original payments, oldest first."""
    spread = []
    for parent in payments(order):
        available = refundable_from(order, parent)
        share = min(amount, available)
        if share > ZERO:
            spread.append(SuggestedTransaction(parent, share, available))
            amount -= share
    return spread


def suggested_request(
    order: Order, lines: Sequence[tuple[int, int, str]], *, shipping: Decimal
) -> RefundRequest:
    """A complete refund request for these lines and shipping, paid back to the original
    payments."""
    suggestion = suggest(order, lines, shipping=shipping)
    return RefundRequest(
        order_id=order.id,
        line_items=tuple(RefundLineRequest(*line) for line in lines),
        transactions=tuple(
            RefundTransactionRequest(t.amount, t.gateway, "REFUND", t.parent.id, order.id)
            for t in suggestion.transactions
        ),
        shipping=suggestion.shipping,
    )


# --- validation --------------------------------------------------------------------------------


def check_refund(order: Order, request: RefundRequest) -> list[UserError]:
    errors = _check_lines(order, request.line_items)
    errors += _check_shipping(order, request.shipping)
    errors += _check_transactions(order, request.transactions)
    if not errors and not (request.line_items or request.transactions or request.shipping):
        errors.append(UserError(None, "A refund needs line items, shipping or transactions."))
    return errors


def _check_lines(order: Order, lines: Sequence[RefundLineRequest]) -> list[UserError]:
    errors: list[UserError] = []
    asked: Counter[int] = Counter()
    for index, request in enumerate(lines):
        where = ("refundLineItems", str(index))
        line = order.line_item(request.line_item_id) if request.line_item_id else None
        if line is None:
            errors.append(UserError((*where, "lineItemId"), "Line item does not exist."))
        elif request.quantity <= 0:
            errors.append(UserError((*where, "quantity"), "Quantity must be greater than 0."))
        else:
            asked[line.id] += request.quantity
            if asked[line.id] > line.refundable_quantity:
                errors.append(
                    UserError(
                        (*where, "quantity"),
                        "Quantity cannot refund more items than were purchased "
                        f"({line.refundable_quantity} refundable).",
                    )
                )
    return errors


def _check_shipping(order: Order, shipping: Decimal) -> list[UserError]:
    if shipping < ZERO:
        return [UserError(("shipping", "amount"), "Shipping amount must not be negative.")]
    if shipping > remaining_shipping(order):
        return [
            UserError(
                ("shipping", "amount"),
                f"Shipping refund amount exceeds the refundable shipping of "
                f"{money_str(remaining_shipping(order))}.",
            )
        ]
    return []


def _check_transactions(
    order: Order, transactions: Sequence[RefundTransactionRequest]
) -> list[UserError]:
    errors: list[UserError] = []
    taken: dict[int, Decimal] = {}
    for index, request in enumerate(transactions):
        error = _check_transaction(order, request, ("transactions", str(index)), taken)
        if error is not None:
            errors.append(error)
    total = sum((t.amount for t in transactions), ZERO)
    if not errors and total > maximum_refundable(order):
        errors.append(
            UserError(
                ("transactions",),
                f"Refund amount {money_str(total)} exceeds the amount that can be refunded "
                f"({money_str(maximum_refundable(order))}).",
            )
        )
    return errors


def _check_transaction(
    order: Order,
    request: RefundTransactionRequest,
    where: tuple[str, ...],
    taken: dict[int, Decimal],
) -> UserError | None:
    if request.order_id is not None and request.order_id != order.id:
        return UserError((*where, "orderId"), "Transaction belongs to another order.")
    if request.kind != "REFUND":
        return UserError((*where, "kind"), "Only REFUND transactions can be part of a refund.")
    if request.amount <= ZERO:
        return UserError((*where, "amount"), "Amount must be greater than 0.")
    parent = _parent(order, request)
    if parent is None:
        return UserError((*where, "parentId"), "Parent transaction does not exist.")
    taken[parent.id] = taken.get(parent.id, ZERO) + request.amount
    available = refundable_from(order, parent)
    if taken[parent.id] > available:
        return UserError(
            (*where, "amount"),
            f"Amount exceeds the refundable amount of {money_str(available)} "
            "for the parent transaction.",
        )
    return None


def _parent(order: Order, request: RefundTransactionRequest) -> Transaction | None:
    if request.parent_id is None:
        return next((t for t in payments(order) if t.gateway == request.gateway), None)
    parent = order.transaction(request.parent_id)
    return parent if parent is not None and parent.is_payment else None


# --- applying ----------------------------------------------------------------------------------


def create_refund(
    world: ShopifyWorld,
    shop: Shop,
    order: Order,
    request: RefundRequest,
    created_at: datetime | None = None,
) -> Refund | list[UserError]:
    """Check and apply a refund; call inside ``world.changing()``."""
    errors = check_refund(order, request)
    if errors:
        return errors
    at = created_at or world.now()
    refund = Refund(
        id=world.new_id("Refund"),
        order_id=order.id,
        created_at=at,
        note=request.note,
        shipping=request.shipping,
    )
    refund.line_items = [_refund_line(world, shop, order, line) for line in request.line_items]
    refund.transactions = [_refund_transaction(world, order, t, at) for t in request.transactions]
    order.refunds.append(refund)
    order.financial_status = _financial_status(order)
    order.touch(at)
    if request.notify:
        _notify(world, shop, order, refund)
    world.publish(shop.domain, "refunds/create", refund_payload(refund, order))
    world.publish(shop.domain, "orders/updated", order_payload(order))
    return refund


def _refund_line(
    world: ShopifyWorld, shop: Shop, order: Order, request: RefundLineRequest
) -> RefundLineItem:
    line = order.line_item(request.line_item_id or 0)
    assert line is not None
    subtotal = line_refund_amount(order, line, request.quantity)
    line.refunded_quantity += request.quantity
    if request.restock_type in RESTOCKING:
        world.take_stock(shop, line.variant_id, -request.quantity)
    return RefundLineItem(
        id=world.new_id("RefundLineItem"),
        line_item_id=line.id,
        quantity=request.quantity,
        restock_type=request.restock_type,
        price=line.discounted_unit_price,
        subtotal=subtotal,
    )


def _refund_transaction(
    world: ShopifyWorld, order: Order, request: RefundTransactionRequest, at: datetime
) -> Transaction:
    parent = _parent(order, request)
    return Transaction(
        id=world.new_id("OrderTransaction"),
        kind="REFUND",
        status="SUCCESS",
        gateway=request.gateway,
        amount=request.amount,
        created_at=at,
        processed_at=at,
        test=order.test,
        parent_id=parent.id if parent else None,
    )


def _financial_status(order: Order) -> str:
    refunded, received = order.total_refunded, order.total_received
    if refunded <= ZERO:
        return order.financial_status
    return "REFUNDED" if refunded >= received else "PARTIALLY_REFUNDED"


def _notify(world: ShopifyWorld, shop: Shop, order: Order, refund: Refund) -> None:
    if not order.email:
        return
    lines = [f"{rli.quantity} x {_line_name(order, rli.line_item_id)}" for rli in refund.line_items]
    world.mailbox.record(
        sender=f"shopify:{shop.domain}",
        to=order.email,
        subject=f"Refund notification for order {order.name}",
        text="\n".join(
            [
                f"{shop.name} has refunded {money_str(refund.total_refunded)} {order.currency} "
                f"for order {order.name}.",
                *lines,
                *([refund.note] if refund.note else []),
            ]
        ),
        kind="refund_notification",
        sent_at=world.now(),
        meta={
            "shop": shop.domain,
            "order_id": order.gid,
            "order_name": order.name,
            "refund_id": refund.gid,
            "amount": money_str(refund.total_refunded),
        },
    )


def _line_name(order: Order, line_item_id: int) -> str:
    line = order.line_item(line_item_id)
    return line.name if line else "item"
