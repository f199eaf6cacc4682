"""What every resolver of one request can see: the world, the shop, the API version served and
the token (its app and scopes)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from sandbox.shopify.grants import AccessToken
from sandbox.shopify.state import LineItem, Order, Shop, ShopifyWorld, Transaction

ALL_ORDERS_SCOPE = "read_all_orders"
RECENT_ORDERS = timedelta(days=60)


@dataclass
class RequestContext:
    world: ShopifyWorld
    shop: Shop
    version: str
    token: AccessToken | None = None
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

    @property
    def client_id(self) -> str | None:
        return self.token.client_id if self.token else None

    def allows(self, scope: str) -> bool:
        return self.token is None or self.token.allows(scope)

    def visible(self, order: Order) -> bool:
        """Without ``read_all_orders`` an app sees only orders created in the last 60 days."""
        if self.allows(ALL_ORDERS_SCOPE):
            return True
        return order.created_at >= self.world.now() - RECENT_ORDERS

    def visible_order(self, order_id: int | None) -> Order | None:
        found = self.shop.orders.get(order_id) if order_id is not None else None
        return found if found is not None and self.visible(found) else None
