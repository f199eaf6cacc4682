"""The invoice of a store for a month, composed from the ledger and the resolutions, and closing
it.

Lines: every protected order created that month (its premium; a cancelled order or refunded
protection shows as less), adjustments to orders of closed months, the primary reorders and
refunds resolved that month (deducted) and the alternative reorders (listed, not deducted).
Amount due = premiums - deductions, never below zero; the rest is covered by the protection
service. A closed month is read from its frozen copy and never changes; whatever would have
landed in it later lands in the first open month after it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from portal.billing import summaries
from portal.billing.ledger import ZERO, closed_months, lock_store
from portal.billing.models import ClosedInvoice, Premium, PremiumAdjustment, PremiumMonth
from portal.billing.months import (
    month_bounds,
    month_label,
    month_of,
    next_month,
    previous_month,
)
from portal.errors import InvoiceError
from portal.reorders.models import ReorderRequest
from portal.stores.models import Store
from portal.support.models import Resolution, ResolutionKind, ResolutionStatus


class Section(StrEnum):
    PREMIUM = "premium"
    ADJUSTMENT = "adjustment"
    DEDUCTION = "deduction"
    ALTERNATIVE = "alternative"


@dataclass(frozen=True)
class InvoiceLine:
    section: Section
    day: date
    order_name: str
    reference: str
    description: str
    amount: Decimal
    resolution_id: int | None = None

    def as_json(self) -> dict[str, Any]:
        return {
            "section": self.section.value,
            "day": self.day.isoformat(),
            "order_name": self.order_name,
            "reference": self.reference,
            "description": self.description,
            "amount": str(self.amount),
            "resolution_id": self.resolution_id,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> InvoiceLine:
        return cls(
            section=Section(data["section"]),
            day=date.fromisoformat(data["day"]),
            order_name=data["order_name"],
            reference=data["reference"],
            description=data["description"],
            amount=Decimal(data["amount"]),
            resolution_id=data.get("resolution_id"),
        )


@dataclass(frozen=True)
class Invoice:
    store_id: int
    store_slug: str
    store_name: str
    month: str
    currency: str
    lines: tuple[InvoiceLine, ...]
    closed_at: datetime | None = None
    closed_by: str | None = None

    @property
    def label(self) -> str:
        return month_label(self.month)

    @property
    def is_closed(self) -> bool:
        return self.closed_at is not None

    def section(self, section: Section) -> list[InvoiceLine]:
        return [line for line in self.lines if line.section is section]

    def total_of(self, section: Section) -> Decimal:
        return sum((line.amount for line in self.section(section)), ZERO)

    @property
    def premiums_total(self) -> Decimal:
        return self.total_of(Section.PREMIUM) + self.total_of(Section.ADJUSTMENT)

    @property
    def deductions_total(self) -> Decimal:
        return self.total_of(Section.DEDUCTION)

    @property
    def amount_due(self) -> Decimal:
        return max(ZERO, self.premiums_total - self.deductions_total)

    @property
    def covered(self) -> Decimal:
        """Deductions beyond the premiums: paid by the protection service."""
        return max(ZERO, self.deductions_total - self.premiums_total)


# --- composing -------------------------------------------------------------------------------


async def invoice_for(session: AsyncSession, store: Store, month: str) -> Invoice:
    """The invoice of ``store`` for ``month``: frozen if closed, composed now otherwise."""
    frozen = await _closed_invoice(session, store.id, month)
    if frozen is not None:
        return _thawed(store, frozen)
    return await compose_invoice(session, store, month)


async def compose_invoice(
    session: AsyncSession, store: Store, month: str, *, closed: set[str] | None = None
) -> Invoice:
    """The invoice as the ledger and resolutions have it now; ``closed`` (the store's closed
    months) may be passed by a caller composing several months."""
    if closed is None:
        closed = await closed_months(session, store.id)
    lines = [
        *await _premium_lines(session, store, month),
        *await _adjustment_lines(session, store, month),
        *await _resolution_lines(session, store, month, closed),
    ]
    return Invoice(
        store_id=store.id,
        store_slug=store.slug,
        store_name=store.name,
        month=month,
        currency=store.currency,
        lines=tuple(lines),
    )


async def _premium_lines(session: AsyncSession, store: Store, month: str) -> list[InvoiceLine]:
    query = (
        select(Premium)
        .where(Premium.store_id == store.id, Premium.month == month)
        .order_by(Premium.ordered_at, Premium.id)
    )
    rows = (await session.scalars(query)).all()
    return [
        InvoiceLine(
            section=Section.PREMIUM,
            day=_local_day(row.ordered_at, store),
            order_name=row.order_name,
            reference="",
            description=_premium_description(row),
            amount=row.amount,
        )
        for row in rows
    ]


def _premium_description(row: Premium) -> str:
    if row.cancelled:
        return f"Order cancelled (protection {row.charged} not charged)"
    if row.refunded_quantity:
        return f"Shipping protection {row.charged}, {row.refunded_quantity} refunded"
    return "Shipping protection"


async def _adjustment_lines(session: AsyncSession, store: Store, month: str) -> list[InvoiceLine]:
    query = (
        select(PremiumAdjustment)
        .where(PremiumAdjustment.store_id == store.id, PremiumAdjustment.month == month)
        .order_by(PremiumAdjustment.recorded_at, PremiumAdjustment.id)
    )
    return [
        InvoiceLine(
            section=Section.ADJUSTMENT,
            day=_local_day(row.recorded_at, store),
            order_name=row.order_name,
            reference="",
            description=f"Change to a premium of {month_label(row.order_month)} (closed)",
            amount=row.amount,
        )
        for row in (await session.scalars(query)).all()
    ]


async def _resolution_lines(
    session: AsyncSession, store: Store, month: str, closed: set[str]
) -> list[InvoiceLine]:
    start, end = month_bounds(month, store.time_zone)
    late_from, billed = await _carried_over(session, store, month, closed)
    rows = await _resolutions(session, store.id, late_from or start, end)
    return [
        _resolution_line(resolution, request, store)
        for resolution, request in rows
        if resolution.id not in billed
    ]


async def _carried_over(
    session: AsyncSession, store: Store, month: str, closed: set[str]
) -> tuple[datetime | None, set[int]]:
    """Where the closed months just before ``month`` begin, and the resolutions their frozen
    invoices already hold: the others resolved in them land here."""
    run: list[str] = []
    earlier = previous_month(month)
    while earlier in closed:
        run.append(earlier)
        earlier = previous_month(earlier)
    if not run:
        return None, set()
    frozen = await session.scalars(
        select(ClosedInvoice).where(
            ClosedInvoice.store_id == store.id, ClosedInvoice.month.in_(run)
        )
    )
    billed = {line.resolution_id for f in frozen for line in _frozen_lines(f) if line.resolution_id}
    return month_bounds(run[-1], store.time_zone)[0], billed


async def _resolutions(
    session: AsyncSession, store_id: int, start: datetime, end: datetime
) -> Sequence[Any]:
    query = (
        select(Resolution, ReorderRequest)
        .join(ReorderRequest, ReorderRequest.id == Resolution.request_id)
        .where(
            Resolution.store_id == store_id,
            Resolution.status == ResolutionStatus.SUCCEEDED,
            Resolution.resolved_at >= start,
            Resolution.resolved_at < end,
        )
        .order_by(Resolution.resolved_at, Resolution.id)
    )
    return (await session.execute(query)).all()


def _resolution_line(resolution: Resolution, request: ReorderRequest, store: Store) -> InvoiceLine:
    kind = ResolutionKind(resolution.kind)
    assert resolution.resolved_at is not None
    return InvoiceLine(
        section=Section.DEDUCTION if kind.deducted else Section.ALTERNATIVE,
        day=_local_day(resolution.resolved_at, store),
        order_name=request.order_name,
        reference=request.reference,
        description=_resolution_description(resolution, kind),
        amount=resolution.amount or ZERO,
        resolution_id=resolution.id,
    )


def _resolution_description(resolution: Resolution, kind: ResolutionKind) -> str:
    if kind is ResolutionKind.PRIMARY_REORDER:
        return f"Primary reorder {resolution.shopify_order_name or ''}".strip()
    if kind is ResolutionKind.REFUND:
        return "Refund"
    return "Alternative reorder (not deducted)"


def _local_day(moment: datetime, store: Store) -> date:
    return moment.astimezone(ZoneInfo(store.time_zone)).date()


# --- closing ---------------------------------------------------------------------------------


async def close_invoice(
    session: AsyncSession, store: Store, month: str, *, closed_by: str, now: datetime
) -> Invoice:
    """Freeze the invoice of ``month`` (in the caller's transaction). Closing a month that is
    already closed answers its frozen invoice; a month that has not begun cannot be closed."""
    if month > month_of(now, store.time_zone):
        raise InvoiceError(f"{month_label(month)} has not begun; it cannot be closed yet")
    await lock_store(session, store.id)
    existing = await _closed_invoice(session, store.id, month)
    if existing is not None:
        return _thawed(store, existing)
    invoice = await compose_invoice(session, store, month)
    frozen = _frozen(invoice, closed_by=closed_by, now=now)
    session.add(frozen)
    await session.flush()
    return _thawed(store, frozen)


def _frozen(invoice: Invoice, *, closed_by: str, now: datetime) -> ClosedInvoice:
    return ClosedInvoice(
        store_id=invoice.store_id,
        month=invoice.month,
        currency=invoice.currency,
        premiums_total=invoice.premiums_total,
        deductions_total=invoice.deductions_total,
        amount_due=invoice.amount_due,
        lines={"lines": [line.as_json() for line in invoice.lines]},
        closed_by=closed_by,
        closed_at=now,
    )


def _thawed(store: Store, frozen: ClosedInvoice) -> Invoice:
    return Invoice(
        store_id=store.id,
        store_slug=store.slug,
        store_name=store.name,
        month=frozen.month,
        currency=frozen.currency,
        lines=tuple(_frozen_lines(frozen)),
        closed_at=frozen.closed_at,
        closed_by=frozen.closed_by,
    )


def _frozen_lines(frozen: ClosedInvoice) -> list[InvoiceLine]:
    return [InvoiceLine.from_json(line) for line in frozen.lines["lines"]]


async def _closed_invoice(session: AsyncSession, store_id: int, month: str) -> ClosedInvoice | None:
    query = select(ClosedInvoice).where(
        ClosedInvoice.store_id == store_id, ClosedInvoice.month == month
    )
    found: ClosedInvoice | None = await session.scalar(query)
    return found


# --- the totals of many months ----------------------------------------------------------------


@dataclass(frozen=True)
class MonthSummary:
    month: str
    label: str
    premiums_total: Decimal
    deductions_total: Decimal
    amount_due: Decimal
    closed: bool


async def invoice_months(
    session: AsyncSession, store: Store, *, now: datetime
) -> list[MonthSummary]:
    """Every month from the store's first premium or resolution to now, newest first."""
    current = month_of(now, store.time_zone)
    month = await _first_month(session, store) or current
    months: list[str] = []
    while month <= current:
        months.append(month)
        month = next_month(month)
    return list(reversed(await month_summaries(session, store, months)))


async def month_summaries(
    session: AsyncSession, store: Store, months: Sequence[str]
) -> list[MonthSummary]:
    """The totals of the invoice of each of ``months`` (in that order), summed by the database
    instead of read line by line: a closed month's frozen totals; for an open month, its
    premiums and adjustments, and the deductions of the lines ``compose_invoice`` would list.

    Those lines are the resolutions of the month and of the closed months just before it that
    their frozen invoices do not hold. A succeeded resolution never changes, and every one a
    frozen invoice holds was resolved within that run of closed months, so what the run carries
    over is what was resolved in it minus the deductions its invoices froze."""
    frozen = await _frozen_totals(session, store.id)
    open_months = [m for m in months if m not in frozen]
    premiums = await _premium_sums(session, store.id, open_months)
    deductions = await _deduction_sums(session, store, open_months, frozen)
    summaries = []
    for month in months:
        if month in frozen:
            summaries.append(frozen[month])
            continue
        premiums_total = premiums.get(month, ZERO)
        deductions_total = deductions.get(month, ZERO)
        summaries.append(
            MonthSummary(
                month=month,
                label=month_label(month),
                premiums_total=premiums_total,
                deductions_total=deductions_total,
                amount_due=max(ZERO, premiums_total - deductions_total),
                closed=False,
            )
        )
    return summaries


async def _frozen_totals(session: AsyncSession, store_id: int) -> dict[str, MonthSummary]:
    """The closed months from the totals frozen with them (their lines are not read)."""
    query = select(
        ClosedInvoice.month,
        ClosedInvoice.premiums_total,
        ClosedInvoice.deductions_total,
        ClosedInvoice.amount_due,
    ).where(ClosedInvoice.store_id == store_id)
    return {
        row.month: MonthSummary(
            month=row.month,
            label=month_label(row.month),
            premiums_total=row.premiums_total,
            deductions_total=row.deductions_total,
            amount_due=row.amount_due,
            closed=True,
        )
        for row in (await session.execute(query)).all()
    }


async def _premium_sums(
    session: AsyncSession, store_id: int, months: Sequence[str]
) -> dict[str, Decimal]:
    """Premiums plus adjustments booked in each of ``months``, as the ledger keeps them."""
    if not months:
        return {}
    query = select(PremiumMonth.month, PremiumMonth.amount).where(
        PremiumMonth.store_id == store_id, PremiumMonth.month.in_(months)
    )
    return {month: amount for month, amount in (await session.execute(query)).all()}


async def _deduction_sums(
    session: AsyncSession, store: Store, months: Sequence[str], frozen: dict[str, MonthSummary]
) -> dict[str, Decimal]:
    """The deductions each open month of ``months`` lists: what was resolved in its window (its
    own days and the closed run just before it) less what the run's invoices froze. Summed
    from the deductions the database keeps by month (``summaries.deductions``)."""
    windows = {month: [*_run_before(month, frozen), month] for month in months}
    resolved = await summaries.deductions(
        session, store, {m for window in windows.values() for m in window}
    )
    return {
        month: sum((resolved[m] for m in window), ZERO)
        - sum((frozen[m].deductions_total for m in window[:-1]), ZERO)
        for month, window in windows.items()
    }


def _run_before(month: str, frozen: dict[str, MonthSummary]) -> list[str]:
    """The closed months just before ``month`` whose late resolutions its invoice takes in."""
    run: list[str] = []
    earlier = previous_month(month)
    while earlier in frozen:
        run.append(earlier)
        earlier = previous_month(earlier)
    return run


async def _first_month(session: AsyncSession, store: Store) -> str | None:
    months = [
        await session.scalar(
            select(Premium.month)
            .where(Premium.store_id == store.id)
            .order_by(Premium.month)
            .limit(1)
        ),
        await session.scalar(
            select(ClosedInvoice.month)
            .where(ClosedInvoice.store_id == store.id)
            .order_by(ClosedInvoice.month)
            .limit(1)
        ),
    ]
    first_resolved = await session.scalar(
        select(Resolution.resolved_at)
        .where(Resolution.store_id == store.id, Resolution.status == ResolutionStatus.SUCCEEDED)
        .order_by(Resolution.resolved_at)
        .limit(1)
    )
    if first_resolved is not None:
        months.append(month_of(first_resolved, store.time_zone))
    found = [m for m in months if m]
    return min(found) if found else None
