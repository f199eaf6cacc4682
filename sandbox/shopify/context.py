"""What every resolver of one request can see: the world, the shop, the API version."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sandbox.shopify.state import LineItem, Order, Shop, ShopifyWorld, Transaction


@dataclass
class RequestContext:
    world: ShopifyWorld
    shop: Shop
    version: str
    search_reports: list[dict[str, Any]] = field(default_factory=list)
    _line_owners: dict[int, Order] | None = None
    _transaction_owners: dict[int, Order] | None = None

    def order_of_line(self, line_item_id: int) -> Order:
        if self._line_owners is None or line_item_id not in self._line_owners:
            self._line_owners = {
                li.id: order for order in self.shop.orders.values() for li in order.line_items
            }
        return self._line_owners[line_item_id]

    def line_item(self, line_item_id: int) -> LineItem:
        line = self.order_of_line(line_item_id).line_item(line_item_id)
        assert line is not None
        return line

    def order_of_transaction(self, transaction_id: int) -> Order:
        if self._transaction_owners is None or transaction_id not in self._transaction_owners:
            self._transaction_owners = {
                t.id: order
                for order in self.shop.orders.values()
                for t in [*order.transactions, *(t for r in order.refunds for t in r.transactions)]
            }
        return self._transaction_owners[transaction_id]

    def transaction(self, transaction_id: int) -> Transaction | None:
        return self.order_of_transaction(transaction_id).transaction(transaction_id)

    def api_at_least(self, version: str) -> bool:
        return self.version >= version
