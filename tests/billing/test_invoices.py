"""Premiums and invoices against hand-computed figures: discounts on the protection item,
cancelled orders, refunded protection, a month boundary in the store's time zone, deductions,
closing a month and what lands after it."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from portal.billing.export import invoice_csv
from portal.billing.invoices import Section, close_invoice, invoice_for, invoice_months
from portal.billing.ledger import book_order, premium_of
from portal.billing.models import Premium
from portal.support.models import ResolutionKind, ResolutionStatus
from tests.billing.conftest import MUG, PROTECTION, at, line, make_store, order, resolve

pytestmark = pytest.mark.anyio


def test_premium_is_the_protection_line_after_discounts() -> None:
    # 2.95 protection discounted to 2.66 by an order discount; the mug does not count.
    found = premium_of(order(line(MUG, "21.60", 2), line(PROTECTION, "2.66")), {PROTECTION})
    assert found is not None
    assert found.amount == Decimal("2.66")


def test_the_premium_is_what_the_line_was_charged_not_a_rounded_unit_price() -> None:
    # Three protection units, 0.10 off the line: charged 8.75, although the (approximate)
    # discounted unit price 2.92 times three would say 8.76. One refunded unit returns a third.
    found = premium_of(order(line(PROTECTION, "2.92", 3, charged="8.75")), {PROTECTION})
    assert found is not None and found.amount == Decimal("8.75")
    refunded = premium_of(
        order(line(PROTECTION, "2.92", 3, charged="8.75", refunded=1)), {PROTECTION}
    )
    assert refunded is not None
    assert (refunded.refunded, refunded.amount) == (Decimal("2.92"), Decimal("5.83"))


def test_two_protection_units_with_one_refunded_leave_one() -> None:
    found = premium_of(order(line(PROTECTION, "3.45", 2, refunded=1)), {PROTECTION})
    assert found is not None
    assert (found.charged, found.refunded, found.amount) == (
        Decimal("6.90"),
        Decimal("3.45"),
        Decimal("3.45"),
    )


def test_a_cancelled_order_earns_nothing_and_an_unprotected_one_is_not_in_the_ledger() -> None:
    cancelled = premium_of(
        order(line(PROTECTION, "2.95"), cancelled="2026-10-11T00:00"), {PROTECTION}
    )
    assert cancelled is not None and cancelled.amount == Decimal("0.00")
    assert premium_of(order(line(MUG, "24.00")), {PROTECTION}) is None


async def test_month_boundary_follows_the_store_time_zone(db: AsyncSession) -> None:
    store = await make_store(db)  # America/New_York: UTC-4 on 1 November 03:30 UTC
    late_october = order(line(PROTECTION, "2.95"), created="2026-11-01T03:30")
    november = order(line(PROTECTION, "4.15"), created="2026-11-01T04:30")
    for placed in (late_october, november):
        await book_order(db, store, placed, now=at("2026-11-02T00:00"))
    await db.commit()
    assert (await invoice_for(db, store, "2026-10")).premiums_total == Decimal("2.95")
    assert (await invoice_for(db, store, "2026-11")).premiums_total == Decimal("4.15")


async def test_invoice_totals_match_a_hand_computed_month(db: AsyncSession) -> None:
    store = await make_store(db)
    now = at("2026-11-05T00:00")
    orders = [
        order(line(MUG, "24.00"), line(PROTECTION, "2.95")),  # 2.95
        order(line(PROTECTION, "2.66")),  # discounted: 2.66
        order(line(PROTECTION, "3.45"), cancelled="2026-10-12T00:00"),  # cancelled: 0
        order(line(PROTECTION, "4.15", refunded=1)),  # protection refunded: 0
        order(line(PROTECTION, "3.45", 2, refunded=1)),  # 6.90 - 3.45 = 3.45
        order(line(MUG, "24.00")),  # not protected: not listed
    ]
    for placed in orders:
        await book_order(db, store, placed, now=now)
    await db.commit()
    await resolve(
        db, store, kind=ResolutionKind.PRIMARY_REORDER, amount="5.00", resolved="2026-10-20T15:00"
    )
    await resolve(db, store, kind=ResolutionKind.REFUND, amount="1.50", resolved="2026-10-21T15:00")
    await resolve(
        db,
        store,
        kind=ResolutionKind.ALTERNATIVE_REORDER,
        amount="40.00",
        resolved="2026-10-22T15:00",
    )
    await resolve(
        db,
        store,
        kind=ResolutionKind.REFUND,
        amount="9.99",
        resolved="2026-10-23T15:00",
        status=ResolutionStatus.FAILED,
    )
    invoice = await invoice_for(db, store, "2026-10")
    assert len(invoice.section(Section.PREMIUM)) == 5
    assert invoice.premiums_total == Decimal("9.06")  # 2.95 + 2.66 + 0 + 0 + 3.45
    assert invoice.deductions_total == Decimal("6.50")
    assert [line.amount for line in invoice.section(Section.ALTERNATIVE)] == [Decimal("40.00")]
    assert invoice.amount_due == Decimal("2.56")
    assert invoice.covered == Decimal("0.00")
    assert all(line.reference.startswith("R-") for line in invoice.section(Section.DEDUCTION))


async def test_amount_due_never_goes_below_zero(db: AsyncSession) -> None:
    store = await make_store(db)
    await book_order(db, store, order(line(PROTECTION, "2.95")), now=at("2026-10-11T00:00"))
    await db.commit()
    await resolve(
        db, store, kind=ResolutionKind.REFUND, amount="30.00", resolved="2026-10-20T15:00"
    )
    invoice = await invoice_for(db, store, "2026-10")
    assert (invoice.amount_due, invoice.covered) == (Decimal("0.00"), Decimal("27.05"))


async def test_booking_the_same_order_again_counts_it_once(db: AsyncSession) -> None:
    store = await make_store(db)
    placed = order(line(PROTECTION, "2.95"))
    for _ in range(3):
        await book_order(db, store, placed, now=at("2026-10-11T00:00"))
        await db.commit()
    assert await db.scalar(select(func.count()).select_from(Premium)) == 1
    assert (await invoice_for(db, store, "2026-10")).premiums_total == Decimal("2.95")


async def test_an_older_reading_of_an_order_never_overwrites_a_newer_one(db: AsyncSession) -> None:
    store = await make_store(db)
    number = 777001
    refunded = order(
        line(PROTECTION, "2.95", refunded=1), updated="2026-10-12T00:00", number=number
    )
    stale = order(line(PROTECTION, "2.95"), updated="2026-10-10T12:00", number=number)
    await book_order(db, store, refunded, now=at("2026-10-12T00:00"))
    await book_order(db, store, stale, now=at("2026-10-12T00:01"))
    await db.commit()
    assert (await invoice_for(db, store, "2026-10")).premiums_total == Decimal("0.00")


async def test_a_closed_month_is_frozen_and_later_changes_land_in_the_next_open_month(
    db: AsyncSession,
) -> None:
    store = await make_store(db)
    number = 777002
    await book_order(
        db, store, order(line(PROTECTION, "2.95"), number=number), now=at("2026-10-11T00:00")
    )
    await db.commit()
    await resolve(db, store, kind=ResolutionKind.REFUND, amount="1.00", resolved="2026-10-20T15:00")
    closed = await close_invoice(
        db, store, "2026-10", closed_by="admin@example.com", now=at("2026-11-01T12:00")
    )
    await db.commit()
    assert (closed.premiums_total, closed.amount_due) == (Decimal("2.95"), Decimal("1.95"))

    # After the close: a refund resolved late on 31 October (store time), a protection refund on
    # the October order, and a new late-found October order.
    await resolve(db, store, kind=ResolutionKind.REFUND, amount="0.50", resolved="2026-11-01T02:00")
    refunded = order(
        line(PROTECTION, "2.95", refunded=1), number=number, updated="2026-11-02T00:00"
    )
    await book_order(db, store, refunded, now=at("2026-11-02T00:00"))
    await book_order(db, store, order(line(PROTECTION, "4.15")), now=at("2026-11-02T00:00"))
    await db.commit()

    october = await invoice_for(db, store, "2026-10")
    assert october.is_closed
    assert (october.premiums_total, october.deductions_total) == (Decimal("2.95"), Decimal("1.00"))
    november = await invoice_for(db, store, "2026-11")
    assert [a.amount for a in november.section(Section.ADJUSTMENT)] == [
        Decimal("-2.95"),
        Decimal("4.15"),
    ]
    assert november.premiums_total == Decimal("1.20")
    assert november.deductions_total == Decimal("0.50")
    again = await close_invoice(
        db, store, "2026-10", closed_by="someone", now=at("2026-11-03T00:00")
    )
    assert again.closed_by == "admin@example.com"


async def test_months_list_and_csv_totals(db: AsyncSession) -> None:
    store = await make_store(db)
    await book_order(
        db,
        store,
        order(line(PROTECTION, "2.95"), created="2026-09-15T12:00"),
        now=at("2026-09-16T00:00"),
    )
    await book_order(
        db,
        store,
        order(line(PROTECTION, "3.45")),
        now=at("2026-10-16T00:00"),
    )
    await db.commit()
    months = await invoice_months(db, store, now=at("2026-11-05T00:00"))
    assert [(m.month, m.amount_due) for m in months] == [
        ("2026-11", Decimal("0.00")),
        ("2026-10", Decimal("3.45")),
        ("2026-09", Decimal("2.95")),
    ]
    text = invoice_csv(await invoice_for(db, store, "2026-10"))
    assert text.splitlines()[1].startswith("premium,2026-10-10,")
    assert "total,,,,amount due,3.45,USD" in text
