"""The overview's figures by store month, read from the summaries the database keeps.

The triggers of migration 0018 keep each store's requests, resolution times and claimed products
per UTC month (``billing.models``): SQLite has no time zones to find a store's month in. A store
month and the UTC month of the same name differ only in the hours between the two midnights at
each month boundary (``months.zone_fringes``: 4 or 5 hours in New York, none in London in
winter, at most 14). So each figure is the kept one of the same UTC month, corrected by the rows
of those hours themselves, read from the requests (a few hundred to a few thousand rows even for
a store with 100,000 requests), which leave the UTC month's figure for the store month's. Every
figure is exact.
"""

from __future__ import annotations

from bisect import bisect_right
from collections import Counter
from collections.abc import Collection, Iterable, Sequence
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy import ColumnElement, and_, case, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import QueryableAttribute
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.expression import FunctionElement
from sqlalchemy.types import Integer

from portal.billing.models import DeductionMonth, FiledCount, ProductCount, ResolutionHours
from portal.billing.months import Fringe, zone_fringes
from portal.reorders.models import ReorderRequest, RequestItem, RequestStatus
from portal.stores.models import Store
from portal.support.models import Resolution, ResolutionKind, ResolutionStatus

RESOLVED = (RequestStatus.REORDERED, RequestStatus.REFUNDED, RequestStatus.RESOLVED)
DEDUCTED_KINDS = tuple(kind.value for kind in ResolutionKind if kind.deducted)
_IDS_AT_ONCE = 500  # request ids per query: well under any database's limit on parameters

Counts = Counter[tuple[Any, ...]]  # (month, *key) -> requests or quantity


class resolution_hours(FunctionElement[int]):
    """Whole hours from ``created`` to ``closed``, in the expression the triggers of migration
    0018 keep them by, so a request falls in the same hour whether read or kept."""

    type = Integer()
    inherit_cache = True


@compiles(resolution_hours, "postgresql")
def _hours_postgresql(element: resolution_hours, compiler: SQLCompiler, **kw: Any) -> str:
    closed, created = (compiler.process(c, **kw) for c in element.clauses)
    return (
        f"(CAST(floor(EXTRACT(EPOCH FROM {closed})) - floor(EXTRACT(EPOCH FROM {created}))"
        " AS bigint) / 3600)"
    )


@compiles(resolution_hours, "sqlite")
def _hours_sqlite(element: resolution_hours, compiler: SQLCompiler, **kw: Any) -> str:
    closed, created = (compiler.process(c, **kw) for c in element.clauses)
    return (
        f"((CAST(strftime('%s', {closed}) AS INTEGER)"
        f" - CAST(strftime('%s', {created}) AS INTEGER)) / 3600)"
    )


async def filed(session: AsyncSession, store: Store, months: Sequence[str]) -> Counts:
    """Requests filed in each of ``months``: (month, issue type, status) -> requests."""
    f, r = FiledCount, ReorderRequest
    kept = select(f.month, f.issue_type, f.status, f.requests).where(
        f.store_id == store.id, f.month.in_(months)
    )
    counts: Counts = Counter({tuple(row[:3]): row[3] for row in await session.execute(kept)})
    fringes = zone_fringes(months, store.time_zone)
    if fringes:
        edge = select(r.created_at, r.issue_type, r.status).where(
            r.store_id == store.id, _within(r.created_at, fringes)
        )
        rows = (await session.execute(edge)).all()
        _move(counts, fringes, ((at, (issue, status), 1) for at, issue, status in rows))
    return _only(counts, months)


async def resolution_times(session: AsyncSession, store: Store, months: Sequence[str]) -> Counts:
    """Requests resolved (reordered, refunded, an alternative recorded) in each of ``months``,
    by whole hours from filing: (month, hours) -> requests."""
    h, r = ResolutionHours, ReorderRequest
    kept = select(h.month, h.hours, h.requests).where(h.store_id == store.id, h.month.in_(months))
    counts: Counts = Counter({(m, hours): n for m, hours, n in await session.execute(kept)})
    fringes = zone_fringes(months, store.time_zone)
    if fringes:
        edge = select(r.closed_at, resolution_hours(r.closed_at, r.created_at)).where(
            r.store_id == store.id,
            _within(r.closed_at, fringes),
            r.status.in_([s.value for s in RESOLVED]),
        )
        rows = (await session.execute(edge)).all()
        _move(counts, fringes, ((at, (hours,), 1) for at, hours in rows if at is not None))
    return _only(counts, months)


async def claimed(
    session: AsyncSession, store: Store, periods: Sequence[Sequence[str]]
) -> list[Counter[str]]:
    """The quantity of each product claimed on requests filed in each of ``periods`` (each a
    list of months): title -> quantity, one Counter per period."""
    months = [m for p in periods for m in p]
    p, r = ProductCount, ReorderRequest
    index = case(*((p.month.in_(run), n) for n, run in enumerate(periods)))
    kept = (
        select(index, p.title, func.sum(p.quantity))
        .where(p.store_id == store.id, p.month.in_(months))
        .group_by(index, p.title)
    )
    found = [Counter[str]() for _ in periods]
    for n, title, quantity in await session.execute(kept):
        found[n][title] += int(quantity)
    fringes = zone_fringes(months, store.time_zone)
    if fringes:
        edge = select(r.id, r.created_at).where(
            r.store_id == store.id, _within(r.created_at, fringes)
        )
        filed_at = dict((await session.execute(edge)).all())
        moved: Counts = Counter()
        _move(moved, fringes, await _items(session, filed_at))
        for (month, title), quantity in moved.items():
            for n, run in enumerate(periods):
                if month in run:
                    found[n][title] += quantity
    return found


async def deductions(
    session: AsyncSession, store: Store, months: Collection[str]
) -> dict[str, Decimal]:
    """What the invoices deduct (succeeded primary reorders and refunds) resolved in each of
    ``months``, on the store's calendar."""
    d, s = DeductionMonth, Resolution
    months = sorted(months)
    kept = select(d.month, d.cents).where(d.store_id == store.id, d.month.in_(months))
    cents: Counts = Counter({(m,): n for m, n in await session.execute(kept)})
    fringes = zone_fringes(months, store.time_zone)
    if fringes:
        edge = select(s.resolved_at, s.amount).where(
            s.store_id == store.id,
            s.status == ResolutionStatus.SUCCEEDED,
            s.kind.in_(DEDUCTED_KINDS),
            _within(s.resolved_at, fringes),
        )
        rows = (await session.execute(edge)).all()
        _move(cents, fringes, ((at, (), _cents(amount)) for at, amount in rows if at is not None))
    return {m: Decimal(cents[(m,)]).scaleb(-2) for m in months}


def _cents(amount: Decimal | None) -> int:
    """As the triggers count it: to the nearest cent."""
    return int((Decimal(str(amount or 0)) * 100).quantize(Decimal(1), ROUND_HALF_UP))


async def _items(
    session: AsyncSession, filed_at: dict[int, datetime]
) -> list[tuple[datetime, tuple[str], int]]:
    """The items of the requests in ``filed_at``: (when filed, (title,), quantity)."""
    items = []
    ids = sorted(filed_at)
    for first in range(0, len(ids), _IDS_AT_ONCE):
        query = select(RequestItem.request_id, RequestItem.title, RequestItem.quantity).where(
            RequestItem.request_id.in_(ids[first : first + _IDS_AT_ONCE])
        )
        for request_id, title, quantity in await session.execute(query):
            items.append((filed_at[request_id], (title,), quantity))
    return items


def _within(
    column: QueryableAttribute[datetime | None], fringes: Sequence[Fringe]
) -> ColumnElement[bool]:
    return or_(*(and_(column >= f.start, column < f.end) for f in fringes))


def _move(
    counts: Counts, fringes: Sequence[Fringe], rows: Iterable[tuple[datetime, tuple[Any, ...], int]]
) -> None:
    """``rows``: (moment, rest of the key, amount), each in a fringe: the amount leaves the UTC
    month's figure and joins the store month's."""
    starts = [f.start for f in fringes]
    for moment, key, amount in rows:
        fringe = fringes[bisect_right(starts, moment) - 1]
        counts[(fringe.utc_month, *key)] -= amount
        counts[(fringe.store_month, *key)] += amount


def _only(counts: Counts, months: Sequence[str]) -> Counts:
    return Counter({key: n for key, n in counts.items() if n and key[0] in months})
