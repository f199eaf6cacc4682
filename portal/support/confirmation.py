"""What a primary reorder or a refund will do, shown to the agent before they confirm it: the
lines and quantities, the amount Shopify suggests refunding (``suggestedRefund`` on the order)
or the replacement order's value and each line's stock, and where a reorder ships."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

from portal.integrations.shopify.models import (
    RefundLine,
    SuggestedRefund,
    SuggestedRefundLine,
    Variant,
)
from portal.reorders.models import ReorderRequest, RequestItem
from portal.runtime import Runtime
from portal.stores.models import Store
from portal.support.detail import stock_of


class Path(StrEnum):
    """The resolutions that move money, by the name of their action."""

    REORDER = "reorder"
    REFUND = "refund"


@dataclass(frozen=True)
class Line:
    item: RequestItem
    amount: Decimal  # what this line adds to the refund or to the replacement order
    stock: Variant | None = None  # a reorder's: the variant and what it can supply
    refunded: int | None = None  # a refund's: how many Shopify would refund (it caps to refundable)

    @property
    def short(self) -> bool:
        """Shopify would refund fewer than requested (some were refunded already)."""
        return self.refunded is not None and self.refunded < self.item.quantity

    @property
    def in_stock(self) -> bool:
        return self.stock is not None and self.stock.can_supply(self.item.quantity)


@dataclass(frozen=True)
class Preview:
    path: Path
    lines: list[Line]
    amount: Decimal
    currency: str
    suggestion: SuggestedRefund | None = None

    @property
    def all_in_stock(self) -> bool:
        return all(line.in_stock for line in self.lines)


async def preview(runtime: Runtime, store: Store, request: ReorderRequest, path: Path) -> Preview:
    """Ask Shopify what ``path`` would do now (raises IntegrationError when it cannot say)."""
    if path is Path.REFUND:
        return await _refund_preview(runtime, store, request)
    stock = await stock_of(runtime, store, request)
    lines = [Line(i, i.total, stock.get(i.variant_id or "")) for i in request.items]
    return Preview(path, lines, sum((x.amount for x in lines), Decimal("0.00")), request.currency)


def _refund_line(item: RequestItem, suggested: SuggestedRefundLine | None) -> Line:
    if suggested is None:
        return Line(item, Decimal("0.00"), refunded=0)
    return Line(item, suggested.subtotal.amount, refunded=suggested.quantity)


async def _refund_preview(runtime: Runtime, store: Store, request: ReorderRequest) -> Preview:
    suggestion = await runtime.shopify(store).suggest_refund(
        order_id=request.shopify_order_id,
        lines=[RefundLine(i.line_item_id, i.quantity) for i in request.items],
    )
    suggested = {s.line_item_id: s for s in suggestion.line_items}
    lines = [_refund_line(i, suggested.get(i.line_item_id)) for i in request.items]
    return Preview(
        Path.REFUND, lines, suggestion.amount.amount, suggestion.amount.currency, suggestion
    )
