"""A store's month at a glance: is protection paying for itself?

For a period of the last 3, 6, 12 or 24 months (the current month included) and the same number
of months before it: premiums against deductions month by month (the loss ratio, from the same
totals as the invoices), requests filed by reason and by how they ended, the median time from
filing to resolution, and the most claimed products. The figures are read from the summaries
the database keeps by month (``billing.summaries``) and are exact, but for the median time to
resolution: it is read from a histogram of whole hours, so within half an hour of the exact one.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from portal.billing import summaries
from portal.billing.invoices import MonthSummary, month_summaries
from portal.billing.ledger import ZERO
from portal.billing.months import month_bounds, month_of, previous_month
from portal.errors import InvalidInput
from portal.reorders.models import IssueType, RequestStatus
from portal.stores.models import Store

PERIODS = (3, 6, 12, 24)
DEFAULT_PERIOD = 12
_PERIOD_TEXTS = frozenset(str(p) for p in PERIODS)
TOP_PRODUCTS = 10


class BadPeriod(InvalidInput, ValueError):
    pass


def parse_period(text: str | None) -> int:
    """The number of months in ``?months=``: one of PERIODS, the default when absent."""
    if text is None or text == "":
        return DEFAULT_PERIOD
    if text in _PERIOD_TEXTS:
        return int(text)
    choices = ", ".join(str(p) for p in PERIODS)
    raise BadPeriod(f"Choose a period of {choices} months.")


class Outcome(StrEnum):
    """How a request ended, or that it has not."""

    PRIMARY_REORDER = "primary_reorder"
    ALTERNATIVE_REORDER = "alternative_reorder"
    REFUND = "refund"
    DENIED = "denied"
    OPEN = "open"

    @classmethod
    def of(cls, status: str) -> Outcome:
        return _OUTCOME_OF.get(status, cls.OPEN)


_OUTCOME_OF: dict[str, Outcome] = {
    RequestStatus.REORDERED: Outcome.PRIMARY_REORDER,
    RequestStatus.RESOLVED: Outcome.ALTERNATIVE_REORDER,
    RequestStatus.REFUNDED: Outcome.REFUND,
    RequestStatus.DENIED: Outcome.DENIED,
}


# --- what the page shows ---------------------------------------------------------------------


@dataclass(frozen=True)
class Period:
    months: tuple[str, ...]  # oldest first
    start: datetime  # UTC, the first month's first moment on the store's calendar
    end: datetime  # UTC, the moment after the last month

    @property
    def first(self) -> str:
        return self.months[0]

    @property
    def last(self) -> str:
        return self.months[-1]


@dataclass(frozen=True)
class MonthFigures:
    summary: MonthSummary
    requests: int  # filed that month

    @property
    def month(self) -> str:
        return self.summary.month

    @property
    def loss_ratio(self) -> Decimal | None:
        return loss_ratio(self.summary.premiums_total, self.summary.deductions_total)


@dataclass(frozen=True)
class Totals:
    """One period's headline figures."""

    requests: int
    premiums: Decimal
    deductions: Decimal
    median_days: Decimal | None  # filing to resolution; None when nothing was resolved
    resolved: int

    @property
    def net(self) -> Decimal:
        return self.premiums - self.deductions

    @property
    def loss_ratio(self) -> Decimal | None:
        return loss_ratio(self.premiums, self.deductions)


@dataclass(frozen=True)
class Count:
    key: str
    current: int
    previous: int


@dataclass(frozen=True)
class Product:
    title: str
    quantity: int
    previous_quantity: int


@dataclass(frozen=True)
class Overview:
    store_id: int
    store_slug: str
    store_name: str
    currency: str
    time_zone: str
    period: Period
    previous: Period
    months: tuple[MonthFigures, ...]  # the period's, oldest first
    totals: Totals
    previous_totals: Totals
    reasons: tuple[Count, ...]
    outcomes: tuple[Count, ...]
    products: tuple[Product, ...]

    @property
    def length(self) -> int:
        return len(self.period.months)


def loss_ratio(premiums: Decimal, deductions: Decimal) -> Decimal | None:
    """Deductions per unit of premium (0.62 is 62%); None without premiums."""
    if premiums <= 0:
        return None
    return (deductions / premiums).quantize(Decimal("0.0001"))


def change(current: Decimal | int | None, previous: Decimal | int | None) -> Decimal | None:
    """The relative change from ``previous`` (0.25 is +25%); None when it cannot be said."""
    if current is None or previous is None or previous == 0:
        return None
    return ((Decimal(current) - Decimal(previous)) / abs(Decimal(previous))).quantize(
        Decimal("0.0001")
    )


# --- composing -------------------------------------------------------------------------------


def periods(store: Store, length: int, now: datetime) -> tuple[Period, Period]:
    """The ``length`` months ending with the current one, and the ``length`` months before."""
    months = [month_of(now, store.time_zone)]
    while len(months) < 2 * length:
        months.append(previous_month(months[-1]))
    months.reverse()
    return _period(months[length:], store.time_zone), _period(months[:length], store.time_zone)


def _period(months: Sequence[str], time_zone: str) -> Period:
    return Period(
        months=tuple(months),
        start=month_bounds(months[0], time_zone)[0],
        end=month_bounds(months[-1], time_zone)[1],
    )


async def store_overview(
    session: AsyncSession, store: Store, *, length: int, now: datetime
) -> Overview:
    period, previous = periods(store, length, now)
    totals = await month_summaries(session, store, previous.months + period.months)
    filed = await _requests_by_month(session, store, previous.months + period.months)
    current_filed = {k: v for k, v in filed.items() if k[0] in period.months}
    previous_filed = {k: v for k, v in filed.items() if k[0] in previous.months}
    medians = await _median_days_to_resolution(session, store, period, previous)
    months = tuple(
        MonthFigures(s, sum(n for (m, _i, _s), n in filed.items() if m == s.month))
        for s in totals[length:]
    )
    return Overview(
        store_id=store.id,
        store_slug=store.slug,
        store_name=store.name,
        currency=store.currency,
        time_zone=store.time_zone,
        period=period,
        previous=previous,
        months=months,
        totals=_totals(totals[length:], current_filed, medians[0]),
        previous_totals=_totals(totals[:length], previous_filed, medians[1]),
        reasons=_counts([i.value for i in IssueType], 1, current_filed, previous_filed),
        outcomes=_outcome_counts(current_filed, previous_filed),
        products=await _products(session, store, period, previous),
    )


FiledCounts = dict[tuple[str, str, str], int]  # (month, issue type, status) -> requests


async def _requests_by_month(
    session: AsyncSession, store: Store, months: Sequence[str]
) -> FiledCounts:
    """Requests filed in each of the consecutive ``months``, by issue type and status."""
    return {
        (m, i, s): n for (m, i, s), n in (await summaries.filed(session, store, months)).items()
    }


def _totals(
    months: Sequence[MonthSummary], filed: FiledCounts, median: tuple[Decimal | None, int]
) -> Totals:
    return Totals(
        requests=sum(filed.values()),
        premiums=sum((s.premiums_total for s in months), ZERO),
        deductions=sum((s.deductions_total for s in months), ZERO),
        median_days=median[0],
        resolved=median[1],
    )


def _counts(
    keys: Sequence[str], part: int, current: FiledCounts, previous: FiledCounts
) -> tuple[Count, ...]:
    """Requests by one part of the key (1: issue type), every key listed, most first."""

    def by_key(filed: FiledCounts) -> dict[str, int]:
        found: dict[str, int] = {}
        for key, n in filed.items():
            found[key[part]] = found.get(key[part], 0) + n
        return found

    now, before = by_key(current), by_key(previous)
    counts = [Count(k, now.get(k, 0), before.get(k, 0)) for k in keys]
    return tuple(sorted(counts, key=lambda c: -c.current))


def _outcome_counts(current: FiledCounts, previous: FiledCounts) -> tuple[Count, ...]:
    def as_outcome(filed: FiledCounts) -> FiledCounts:
        found: FiledCounts = {}
        for (m, i, status), n in filed.items():
            key = (m, i, Outcome.of(status).value)
            found[key] = found.get(key, 0) + n
        return found

    keys = [o.value for o in Outcome]
    counts = _counts(keys, 2, as_outcome(current), as_outcome(previous))
    return tuple(sorted(counts, key=lambda c: keys.index(c.key)))


Median = tuple[Decimal | None, int]


async def _median_days_to_resolution(
    session: AsyncSession, store: Store, period: Period, previous: Period
) -> tuple[Median, Median]:
    """The median time from filing to resolution (a reorder, a refund or an alternative
    recorded) of the requests resolved in ``period`` and in ``previous``, in days, and how many
    there were. Read from the histogram the database keeps by whole hours, each request taken at
    the middle of its hour: within half an hour of the median of the exact times."""
    times = await summaries.resolution_times(session, store, previous.months + period.months)
    return _median_days(times, period.months), _median_days(times, previous.months)


def _median_days(times: Counter[tuple[Any, ...]], months: Sequence[str]) -> Median:
    histogram: Counter[int] = Counter()
    for (month, hours), n in times.items():
        if month in months:
            histogram[hours] += n
    count = sum(histogram.values())
    if not count:
        return None, 0
    middle = _nth_hour(histogram, (count - 1) // 2) + _nth_hour(histogram, count // 2)
    median = (Decimal(middle) / 2 + Decimal("0.5")) / 24
    return median.quantize(Decimal("0.01")), count


def _nth_hour(histogram: Counter[int], index: int) -> int:
    """The hour of the ``index``-th shortest time (from 0)."""
    seen = 0
    for hours in sorted(histogram):
        seen += histogram[hours]
        if index < seen:
            return hours
    raise IndexError(index)


async def _products(
    session: AsyncSession, store: Store, period: Period, previous: Period
) -> tuple[Product, ...]:
    """The products claimed most (by quantity) on requests filed in ``period``."""
    current, before = await summaries.claimed(session, store, [period.months, previous.months])
    ranked = sorted((t for t in current if current[t] > 0), key=lambda t: (-current[t], t))
    return tuple(Product(t, current[t], before[t]) for t in ranked[:TOP_PRODUCTS])
