"""Shopify's calculated query cost, seen from the client.

Shopify keeps a leaky bucket of points per app and store: a query runs only when its requested
cost is available, and every answer reports ``extensions.cost.throttleStatus``
(https://shopify.dev/docs/api/usage/limits). The client keeps a ``CostLedger`` per shop that
remembers the bucket and what each document really cost, so it can wait for points before
sending instead of being throttled, and size pages to stay under the per-query limit.

Callers queue for points: each takes a turn (``CostLedger.take_turn``), which promises the
query's expected cost at once, so the next caller waits behind it instead of all sending when
the bucket looks full and all being answered THROTTLED. The answer settles the turn: unspent
points come back, and the level is never above what Shopify reported.

Ledgers live as long as the shared ``httpx.AsyncClient`` they belong to, so the many cheap
``ShopifyClient`` objects built for one store share what they learned. The bucket itself is
kept by a ``BucketKeeper``: this process's memory (``LocalBucket``). The processes of one
deployment need not share it: each answer says how full Shopify's bucket is, and a process's
level is never above that, so a process learns from every answer what the others spent (a
bucket kept in the database was tried and measured: no fewer THROTTLED answers, two more
statements per Shopify call).

Work nobody is watching (jobs: billing, risk signals, resolutions) goes last: it takes points
only while ``BACKGROUND_RESERVE`` of the bucket would be left, and never holds a place in the
queue, so a shopper or an agent opening a page finds points even while a month's orders are
being read; the bucket's restore rate is still spent in full.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Protocol
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

MIN_SHARE = 1 / 16
SHARE_STEP = 0.1

BACKGROUND_RESERVE = 0.25
"""The share of the bucket background work leaves for people looking at a page."""
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


@dataclass(frozen=True)
class BucketState:
    """The shop's bucket as last known: ``level`` points at ``at`` (seconds of the keeper's
    clock). Below zero, the level counts points promised to callers still waiting their turn."""

    maximum: float
    level: float
    restore_rate: float
    at: float
    share: float = 1.0
    """The part of the restore rate this process counts on regaining: halved each time Shopify
    answers THROTTLED (other processes spent what it counted on), won back a tenth with each
    query admitted. Alone, a process never meets THROTTLED and keeps all of it."""

    @property
    def regain_rate(self) -> float:
        return self.restore_rate * self.share

    def level_at(self, now: float) -> float:
        regained = max(0.0, now - self.at) * self.regain_rate
        return min(self.maximum, self.level + regained)

    def turn(self, requested: float, actual: float, now: float) -> tuple[float, BucketState]:
        """The wait until ``requested`` points are there for a caller behind every earlier
        one (Shopify admits a query only while its requested cost is available), and the
        bucket once the query's ``actual`` cost is promised to it."""
        level = self.level_at(now)
        wait = max(0.0, (min(requested, self.maximum) - level) / self.regain_rate)
        return wait, replace(self, level=level - actual, at=now)

    def short_of(self, requested: float, keep: float, now: float) -> float:
        """Seconds until ``requested`` points are there with ``keep`` of the bucket (a share)
        left over for others; 0 when they are there now."""
        needed = min(requested + keep * self.maximum, self.maximum)
        wait = (needed - self.level_at(now)) / self.regain_rate
        return wait if wait > 1e-6 else 0.0  # a rounding error's wait is none

    def settled(self, give_back: float, reported: QueryCost | None, now: float) -> BucketState:
        """After an answer: points promised but not spent come back, and the level is never
        above what Shopify reported (other processes spend from the same bucket)."""
        level = self.level_at(now) + give_back
        if reported is not None and reported.available is not None:
            level = min(level, reported.available)
        share = self.share
        if reported is not None and reported.requested is not None:
            throttled = reported.actual is None  # refused: nothing was spent
            share = max(MIN_SHARE, share / 2) if throttled else min(1.0, share + SHARE_STEP)
        return replace(self, level=min(level, self.maximum), at=now, share=share)

    @classmethod
    def reported(cls, cost: QueryCost, now: float) -> BucketState | None:
        if cost.maximum is None or cost.available is None or not cost.restore_rate:
            return None
        return cls(cost.maximum, cost.available, cost.restore_rate, now)


@dataclass(frozen=True)
class Turn:
    """A caller's place in the queue for a shop's points: send after ``wait`` seconds; its
    expected ``actual`` cost is promised to it meanwhile. A background caller that found too
    few points gets ``promised=False``: nothing is held for it, it asks again after ``wait``."""

    wait: float
    requested: float
    actual: float
    promised: bool = True


class BucketKeeper(Protocol):
    """Where one shop's ``BucketState`` lives (``LocalBucket``: this process)."""

    async def take_turn(self, requested: float, actual: float, *, longest: float) -> float | None:
        """Seconds to wait before sending, with the points promised; None (nothing promised)
        when the wait would be longer than ``longest``."""
        ...

    async def take_spare(self, requested: float, actual: float, *, keep: float) -> float:
        """For background work: 0 with the points promised when they are there now with
        ``keep`` of the bucket left over; else the seconds until they may be (nothing held)."""
        ...

    async def settle(self, give_back: float, reported: QueryCost | None) -> None: ...

    async def state(self) -> BucketState | None: ...


@dataclass
class LocalBucket:
    """The bucket as this process alone knows it."""

    clock: Callable[[], float]
    known: BucketState | None = None

    async def take_turn(self, requested: float, actual: float, *, longest: float) -> float | None:
        if self.known is None:
            return 0.0
        wait, after = self.known.turn(requested, actual, self.clock())
        if wait > longest:
            return None
        self.known = after
        return wait

    async def take_spare(self, requested: float, actual: float, *, keep: float) -> float:
        if self.known is None:
            return 0.0
        now = self.clock()
        short = self.known.short_of(requested, keep, now)
        if short == 0:
            _, self.known = self.known.turn(requested, actual, now)
        return short

    async def settle(self, give_back: float, reported: QueryCost | None) -> None:
        self.known = settle(self.known, give_back, reported, self.clock())

    async def state(self) -> BucketState | None:
        return self.known


def settle(
    known: BucketState | None, give_back: float, reported: QueryCost | None, now: float
) -> BucketState | None:
    """The bucket after an answer (see ``BucketState.settled``); a bucket of another size or
    rate than the one known (the first answer, a changed plan) is taken as reported."""
    fresh = BucketState.reported(reported, now) if reported is not None else None
    if known is None or (
        fresh is not None
        and (fresh.maximum, fresh.restore_rate) != (known.maximum, known.restore_rate)
    ):
        return fresh or known
    return known.settled(give_back, reported, now)


@dataclass
class CostLedger:
    """What the client knows about one shop's bucket and the cost of its documents."""

    bucket: BucketKeeper
    _ratios: dict[str, float] = field(default_factory=dict)  # requested / static estimate
    _spent: dict[str, float] = field(default_factory=dict)  # actual / requested

    def expected(self, name: str, estimate: float) -> float:
        """A static estimate, scaled by how far off it was for this operation last time."""
        return estimate * self._ratios.get(name, 1.0)

    async def take_turn(
        self, name: str, estimate: float, *, longest: float, background: bool = False
    ) -> Turn | None:
        """A place in the queue for this document's points; None when the wait would be
        longer than ``longest`` seconds (the caller then does not send). ``background``: the
        points only if ``BACKGROUND_RESERVE`` is left after them, else an unpromised turn
        saying when to ask again."""
        requested = self.expected(name, estimate)
        actual = requested * self._spent.get(name, 1.0)
        if background:
            short = await self.bucket.take_spare(requested, actual, keep=BACKGROUND_RESERVE)
            if short > longest:
                return None
            return Turn(short, requested, actual, promised=short == 0)
        wait = await self.bucket.take_turn(requested, actual, longest=longest)
        return None if wait is None else Turn(wait, requested, actual)

    async def settle(
        self, turn: Turn, cost: QueryCost | None, *, name: str, estimate: float
    ) -> None:
        """Remember the answer: what the query really cost (nothing, when Shopify refused it
        THROTTLED), the bucket as Shopify reported it, and how the estimate compared."""
        spent = 0.0
        if cost is not None and cost.actual is not None:
            spent = cost.actual
        elif cost is None:  # no word on the cost: assume what was expected
            spent = turn.actual
        await self.bucket.settle(turn.actual - spent, cost)
        if cost is not None and cost.requested and estimate > 0:
            self._ratios[name] = cost.requested / estimate
            if cost.actual is not None:
                self._spent[name] = min(1.0, cost.actual / cost.requested)

    async def budget(self) -> float:
        """The most one query may request: Shopify's limit, or a smaller bucket."""
        known = await self.bucket.state()
        if known is None:
            return MAX_QUERY_COST
        return min(MAX_QUERY_COST, known.maximum)

    async def largest_size(
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
        fits = int((await self.budget() - (one - per_item)) // per_item)
        return max(1, min(wanted, fits))


_LEDGERS: WeakKeyDictionary[httpx.AsyncClient, dict[str, CostLedger]] = WeakKeyDictionary()

Keeper = Callable[[str], BucketKeeper]
"""Makes the keeper of one shop's bucket, given the shop's domain."""


def ledger_for(http: httpx.AsyncClient, shop_domain: str, keeper: Keeper) -> CostLedger:
    """The one ledger of a shop for everything sharing ``http`` (a process's clients)."""
    ledgers = _LEDGERS.setdefault(http, {})
    if shop_domain not in ledgers:
        ledgers[shop_domain] = CostLedger(keeper(shop_domain))
    return ledgers[shop_domain]


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
