"""Shopify's calculated query cost, seen from the client.

Shopify keeps a leaky bucket of points per app and store: a query runs only when its requested
cost is available, and every answer reports ``extensions.cost.throttleStatus``
(https://shopify.dev/docs/api/usage/limits). The client keeps a ``CostLedger`` per shop that
remembers the last bucket state and what each document really cost, so it can wait for points
before sending instead of being throttled, and size pages to stay under the per-query limit.

Ledgers live as long as the shared ``httpx.AsyncClient`` they belong to, so the many cheap
``ShopifyClient`` objects built for one store share what they learned.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from weakref import WeakKeyDictionary

import httpx
from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    InlineFragmentNode,
    IntValueNode,
    ListValueNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    ValueNode,
    VariableNode,
)

MAX_QUERY_COST = 1000
"""Shopify refuses any single query whose requested cost is above this."""

MUTATION_COST = 10
_CONNECTION_COST = 2
_CONNECTION_PARTS = frozenset({"edges", "nodes", "pageInfo"})
_SIZING_LISTS = ("ids", "names")


@dataclass(frozen=True)
class QueryCost:
    """``extensions.cost`` of one answer."""

    requested: float | None
    actual: float | None
    maximum: float | None
    available: float | None
    restore_rate: float | None

    @classmethod
    def from_extensions(cls, extensions: Any) -> QueryCost | None:
        cost = extensions.get("cost") if isinstance(extensions, dict) else None
        if not isinstance(cost, dict):
            return None
        status = cost.get("throttleStatus")
        status = status if isinstance(status, dict) else {}
        return cls(
            requested=_number(cost.get("requestedQueryCost")),
            actual=_number(cost.get("actualQueryCost")),
            maximum=_number(status.get("maximumAvailable")),
            available=_number(status.get("currentlyAvailable")),
            restore_rate=_number(status.get("restoreRate")),
        )

    def throttle_wait(self) -> float | None:
        """Seconds until the requested points are back: (requested - available) / restore rate."""
        if self.requested is None or self.available is None or not self.restore_rate:
            return None
        return max(0.0, (self.requested - self.available) / self.restore_rate)

    @property
    def can_ever_run(self) -> bool:
        return self.requested is None or self.maximum is None or self.requested <= self.maximum


@dataclass
class BucketState:
    maximum: float
    available: float
    restore_rate: float
    observed_at: float

    def available_at(self, now: float) -> float:
        regained = max(0.0, now - self.observed_at) * self.restore_rate
        return min(self.maximum, self.available + regained)


@dataclass
class CostLedger:
    """What the client knows about one shop's bucket and the cost of its documents."""

    bucket: BucketState | None = None
    _ratios: dict[str, float] = field(default_factory=dict)

    def expected(self, name: str, estimate: float) -> float:
        """A static estimate, scaled by how far off it was for this operation last time."""
        return estimate * self._ratios.get(name, 1.0)

    def wait_before(self, cost: float, now: float) -> float:
        """Seconds to wait until ``cost`` points should be available (0 when unknown)."""
        if self.bucket is None or self.bucket.restore_rate <= 0:
            return 0.0
        needed = min(cost, self.bucket.maximum) - self.bucket.available_at(now)
        return max(0.0, needed / self.bucket.restore_rate)

    def spend(self, cost: float, now: float) -> None:
        """Count points as taken at send time, so concurrent callers see them gone."""
        if self.bucket is not None:
            available = self.bucket.available_at(now) - cost
            self.bucket = BucketState(
                self.bucket.maximum, max(0.0, available), self.bucket.restore_rate, now
            )

    def observe(self, cost: QueryCost, now: float, *, name: str, estimate: float) -> None:
        """Remember the bucket as the shop reported it, and how the estimate compared."""
        if cost.maximum is not None and cost.available is not None:
            self.bucket = BucketState(
                maximum=cost.maximum,
                available=cost.available,
                restore_rate=cost.restore_rate or 0.0,
                observed_at=now,
            )
        if cost.requested and estimate > 0:
            self._ratios[name] = cost.requested / estimate

    def budget(self) -> float:
        """The most one query may request: Shopify's limit, or a smaller bucket."""
        if self.bucket is None:
            return MAX_QUERY_COST
        return min(MAX_QUERY_COST, self.bucket.maximum)

    def largest_size(
        self,
        name: str,
        document: DocumentNode,
        variables_for: Callable[[int], Mapping[str, Any]],
        *,
        wanted: int,
    ) -> int:
        """The largest page size up to ``wanted`` whose expected cost fits the budget."""
        one = self.expected(name, estimate_cost(document, variables_for(1)))
        two = self.expected(name, estimate_cost(document, variables_for(2)))
        per_item = two - one
        if per_item <= 0:
            return wanted
        fits = int((self.budget() - (one - per_item)) // per_item)
        return max(1, min(wanted, fits))


_LEDGERS: WeakKeyDictionary[httpx.AsyncClient, dict[str, CostLedger]] = WeakKeyDictionary()


def ledger_for(http: httpx.AsyncClient, shop_domain: str) -> CostLedger:
    return _LEDGERS.setdefault(http, {}).setdefault(shop_domain, CostLedger())


# --- static estimate -------------------------------------------------------------------------


def estimate_cost(document: DocumentNode, variables: Mapping[str, Any]) -> int:
    """Shopify's published rules: objects 1, scalars 0, connections 2 + size x node, mutations
    10 plus their payload. Only an estimate; what the shop answers is the truth."""
    fragments = {
        d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
    }
    operation = next(d for d in document.definitions if isinstance(d, OperationDefinitionNode))
    estimator = _Estimator(fragments, variables)
    base = MUTATION_COST if operation.operation is OperationType.MUTATION else 0
    return base + estimator.selections(operation.selection_set)


@dataclass(frozen=True)
class _Estimator:
    fragments: Mapping[str, FragmentDefinitionNode]
    variables: Mapping[str, Any]

    def selections(self, selection_set: SelectionSetNode | None) -> int:
        if selection_set is None:
            return 0
        total = 0
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                total += self.field(selection)
            elif isinstance(selection, FragmentSpreadNode):
                fragment = self.fragments.get(selection.name.value)
                total += self.selections(fragment.selection_set if fragment else None)
            elif isinstance(selection, InlineFragmentNode):
                total += self.selections(selection.selection_set)
        return total

    def field(self, node: FieldNode) -> int:
        if node.selection_set is None:
            return 0
        size = self.size(node)
        if size is None:
            return 1 + self.selections(node.selection_set)
        if self.is_connection(node.selection_set):
            return _CONNECTION_COST + size * self.connection_node(node.selection_set)
        return size * (1 + self.selections(node.selection_set))

    def connection_node(self, selection_set: SelectionSetNode) -> int:
        per_node = 0
        for part in self.fields(selection_set):
            if part.name.value == "nodes":
                per_node = max(per_node, 1 + self.selections(part.selection_set))
            elif part.name.value == "edges" and part.selection_set is not None:
                edge = [f for f in self.fields(part.selection_set) if f.name.value == "node"]
                per_node = max(per_node, sum(self.field(f) for f in edge))
        return per_node

    def is_connection(self, selection_set: SelectionSetNode) -> bool:
        return any(f.name.value in _CONNECTION_PARTS for f in self.fields(selection_set))

    def fields(self, selection_set: SelectionSetNode) -> list[FieldNode]:
        found: list[FieldNode] = []
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                found.append(selection)
            elif isinstance(selection, FragmentSpreadNode):
                fragment = self.fragments.get(selection.name.value)
                if fragment is not None:
                    found.extend(self.fields(fragment.selection_set))
            elif isinstance(selection, InlineFragmentNode):
                found.extend(self.fields(selection.selection_set))
        return found

    def size(self, node: FieldNode) -> int | None:
        arguments = {a.name.value: a.value for a in node.arguments or ()}
        for name in ("first", "last"):
            if name in arguments:
                value = self.value(arguments[name])
                return value if isinstance(value, int) else 1
        for name in _SIZING_LISTS:
            if name in arguments:
                value = self.value(arguments[name])
                return len(value) if isinstance(value, list) else 1
        return None

    def value(self, node: ValueNode) -> Any:
        if isinstance(node, VariableNode):
            return self.variables.get(node.name.value)
        if isinstance(node, IntValueNode):
            return int(node.value)
        if isinstance(node, ListValueNode):
            return list(node.values)
        return None


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)
