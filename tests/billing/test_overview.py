"""The store overview: month totals equal each month's invoice (closed runs and late resolutions
too); the page over real HTTP shows figures an independent reading of the rows agrees with, its
CSV tables say the same, the period is chosen by a bounded parameter, and a merchant user sees
only its own store."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from portal.billing.invoices import close_invoice, invoice_for, month_summaries
from portal.billing.ledger import book_order
from portal.billing.overview import parse_period, periods
from portal.stores.models import Store
from portal.support.models import ResolutionKind, ResolutionStatus
from tests.billing.conftest import PROTECTION, at, line, make_store, order, resolve
from tests.billing.overview_rows import (
    by_key,
    csv_rows,
    expected_figures,
    median_agrees,
    seed_claims,
)
from tests.billing.portal_helpers import add_store, query, signed_in
from tests.helpers.environment import PortalEnvironment

MONTHS = ["2026-07", "2026-08", "2026-09", "2026-10", "2026-11", "2026-12"]


async def _book(db: AsyncSession, store: Store, price: str, created: str) -> None:
    await book_order(
        db, store, order(line(PROTECTION, price), created=created), now=at("2026-12-20T00:00")
    )
    await db.commit()


@pytest.mark.anyio
async def test_month_totals_equal_every_months_invoice(db: AsyncSession) -> None:
    store = await make_store(db)
    for created, price in [
        ("2026-07-10T12:00", "2.95"),
        ("2026-08-03T12:00", "3.45"),
        ("2026-09-01T03:00", "2.65"),  # 31 August in New York
        ("2026-09-20T12:00", "4.15"),
        ("2026-10-05T12:00", "2.95"),
        ("2026-11-11T12:00", "3.95"),
    ]:
        await _book(db, store, price, created)
    refund, reorder = ResolutionKind.REFUND, ResolutionKind.PRIMARY_REORDER
    await resolve(db, store, kind=refund, amount="1.00", resolved="2026-08-09T12:00")
    await resolve(db, store, kind=reorder, amount="5.40", resolved="2026-09-02T12:00")
    await resolve(
        db,
        store,
        kind=ResolutionKind.ALTERNATIVE_REORDER,
        amount="9.00",
        resolved="2026-09-03T12:00",
    )
    await resolve(
        db,
        store,
        kind=refund,
        amount="7.00",
        resolved="2026-09-04T12:00",
        status=ResolutionStatus.FAILED,
    )
    for month in ("2026-08", "2026-09"):
        await close_invoice(
            db, store, month, closed_by="admin@example.com", now=at("2026-10-01T12:00")
        )
    await db.commit()
    # Resolved in closed September after it was closed: lands in October, the first open month.
    await resolve(db, store, kind=refund, amount="2.20", resolved="2026-09-29T12:00")
    await resolve(db, store, kind=reorder, amount="3.30", resolved="2026-10-15T12:00")
    await resolve(db, store, kind=refund, amount="0.75", resolved="2026-12-01T04:00")  # 30 Nov, NY
    await close_invoice(
        db, store, "2026-11", closed_by="admin@example.com", now=at("2026-11-20T12:00")
    )
    await db.commit()
    await resolve(
        db, store, kind=refund, amount="0.40", resolved="2026-11-25T12:00"
    )  # after closing

    summaries = await month_summaries(db, store, MONTHS)
    invoices = [await invoice_for(db, store, month) for month in MONTHS]
    assert [
        (s.month, s.premiums_total, s.deductions_total, s.amount_due, s.closed) for s in summaries
    ] == [
        (i.month, i.premiums_total, i.deductions_total, i.amount_due, i.is_closed) for i in invoices
    ]
    by_month = {s.month: s.deductions_total for s in summaries}
    assert by_month["2026-10"] == Decimal("5.50")  # 3.30 of its own, 2.20 carried from September
    assert by_month["2026-11"] == Decimal("0.75")  # 30 November in New York, closed with it
    assert by_month["2026-12"] == Decimal("0.40")  # resolved in November after it was closed


def test_the_period_is_one_of_the_offered_lengths() -> None:
    assert parse_period(None) == parse_period("") == 12
    assert [parse_period(p) for p in ("3", "6", "12", "24")] == [3, 6, 12, 24]
    for bad in ("5", "0", "-3", "12.0", "\uff11\uff12", "999999999999", "all", " 12"):
        with pytest.raises(ValueError, match="3, 6, 12, 24"):
            parse_period(bad)


def test_periods_follow_the_store_calendar() -> None:
    store = Store(time_zone="America/New_York")
    current, previous = periods(store, 3, at("2027-01-01T03:00"))  # still 31 December there
    assert current.months == ("2026-10", "2026-11", "2026-12")
    assert previous.months == ("2026-07", "2026-08", "2026-09")
    assert current.start == at("2026-10-01T04:00") and previous.end == current.start


# --- over HTTP --------------------------------------------------------------------------------


def _seed(env: PortalEnvironment, now: datetime) -> Store:
    def write(db: Session) -> Store:
        store = db.query(Store).filter(Store.slug == env.slug).one()
        seed_claims(db, store.id, now=now)
        return Store(id=store.id, slug=store.slug, time_zone=store.time_zone)

    return query(env, write)


def _csv(
    client: httpx.Client, env: PortalEnvironment, table: str, months: int
) -> list[dict[str, str]]:
    answer = client.get(f"/support/overview/{env.slug}/{table}.csv", params={"months": months})
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/csv")
    return csv_rows(answer.text)


@pytest.mark.parametrize("length", [6, 24])
def test_the_page_and_its_tables_agree_with_the_rows(env: PortalEnvironment, length: int) -> None:
    now = datetime.now(UTC)
    store = _seed(env, now)
    with signed_in(env, "owner@test-goods.example", "merchant", env.slug) as owner:
        page = owner.get(f"/support/overview/{env.slug}/", params={"months": length})
        months = _csv(owner, env, "months", length)
        reasons = by_key(_csv(owner, env, "reasons", length), "reason")
        outcomes = by_key(_csv(owner, env, "resolutions", length), "resolution")
        products = _csv(owner, env, "products", length)
        trend = by_key(_csv(owner, env, "trend", length), "figure")
    assert page.status_code == 200
    assert [m["month"] for m in months] == list(periods(store, length, now)[0].months)
    expected = query(env, lambda db: expected_figures(db, store.id, [m["month"] for m in months]))
    for row in months:
        want = expected.months[row["month"]]
        assert Decimal(row["premiums"]) == want["premiums"]
        assert Decimal(row["deductions"]) == want["deductions"]
        assert int(row["requests"]) == want["requests"]
    assert sum(int(r["requests"]) for r in reasons.values()) == sum(expected.reasons.values()) > 0
    assert {k: int(r["requests"]) for k, r in reasons.items() if int(r["requests"])} == dict(
        expected.reasons
    )
    assert {k: int(r["requests"]) for k, r in outcomes.items() if int(r["requests"])} == dict(
        expected.outcomes
    )
    assert {p["product"]: int(p["quantity"]) for p in products} == dict(expected.products)
    median = trend["median_days_to_resolution"]["period"]
    assert median_agrees(median, expected.median_days)
    premiums = sum((m["premiums"] for m in expected.months.values()), Decimal(0))
    assert Decimal(trend["premiums"]["period"]) == premiums
    # The page shows the same numbers, a chart with a text alternative, and each table.
    assert 'data-figure="median_days"><th scope="row">' in page.text
    assert f'data-value="{median}"' in page.text
    assert page.text.count('<svg class="chart') == 4 and page.text.count("<desc id=") == 4
    for table in ("trend", "months", "reasons", "resolutions", "products"):
        assert f'data-table="{table}"' in page.text
    assert 'style="' not in page.text and "<script>" not in page.text


def test_bad_periods_get_the_page_with_a_message(env: PortalEnvironment) -> None:
    with signed_in(env, "agent@example.com", "agent", None) as agent:
        bad = agent.get(f"/support/overview/{env.slug}/", params={"months": "1000"})
        bad_csv = agent.get(f"/support/overview/{env.slug}/months.csv", params={"months": "x"})
        unknown_table = agent.get(f"/support/overview/{env.slug}/secrets.csv")
        partial = agent.get(
            f"/support/overview/{env.slug}/", params={"months": 3}, headers={"HX-Request": "true"}
        )
    assert bad.status_code == 400 and "Choose a period of 3, 6, 12, 24 months." in bad.text
    assert 'aria-invalid="true"' in bad.text
    assert bad_csv.status_code == 400 and unknown_table.status_code == 404
    assert partial.status_code == 200 and partial.text.lstrip().startswith('<div id="overview"')
    assert "<html" not in partial.text and partial.text.count('<tr data-month="') == 3


def test_a_merchant_user_sees_only_its_own_store(env: PortalEnvironment) -> None:
    add_store(env, "other-shop")
    with (
        signed_in(env, "owner@test-goods.example", "merchant", env.slug) as own,
        signed_in(env, "admin@example.com", "admin", None) as admin,
    ):
        landing = own.get("/support/overview/")
        assert landing.status_code == 303
        assert landing.headers["location"].endswith(f"/support/overview/{env.slug}/")
        assert own.get(f"/support/overview/{env.slug}/").status_code == 200
        assert own.get("/support/overview/other-shop/").status_code == 404
        assert own.get("/support/overview/other-shop/months.csv").status_code == 404
        assert 'data-nav="overview"' in own.get("/support/").text
        stores = admin.get("/support/overview/")
        assert stores.status_code == 200 and "/support/overview/other-shop/" in stores.text
        assert admin.get("/support/overview/other-shop/").status_code == 200
    signed_out = httpx.get(env.base_url + f"/support/overview/{env.slug}/")
    assert signed_out.status_code == 303 and "/support/login" in signed_out.headers["location"]


@pytest.mark.anyio
async def test_months_asked_for_out_of_order_or_with_gaps_get_their_own_totals(
    db: AsyncSession,
) -> None:
    store = await make_store(db)
    for created, price in [("2026-07-10T12:00", "2.95"), ("2026-09-10T12:00", "3.45")]:
        await _book(db, store, price, created)
    refund = ResolutionKind.REFUND
    await resolve(db, store, kind=refund, amount="1.00", resolved="2026-07-09T12:00")
    await resolve(db, store, kind=refund, amount="2.00", resolved="2026-08-09T12:00")
    await resolve(db, store, kind=refund, amount="4.00", resolved="2026-09-09T12:00")
    found = await month_summaries(db, store, ["2026-09", "2026-07"])
    assert [(s.month, s.premiums_total, s.deductions_total) for s in found] == [
        ("2026-09", Decimal("3.45"), Decimal("4.00")),
        ("2026-07", Decimal("2.95"), Decimal("1.00")),
    ]


@pytest.mark.anyio
async def test_premium_months_follow_an_order_when_the_store_changes_time_zone(
    db: AsyncSession,
) -> None:
    store = await make_store(db, time_zone="UTC")
    number = 777301
    first = order(line(PROTECTION, "2.95"), created="2026-10-01T02:00", number=number)
    await book_order(db, store, first, now=at("2026-10-02T00:00"))
    await db.commit()
    store.time_zone = "America/New_York"  # 1 October 02:00 UTC is 30 September there
    again = order(
        line(PROTECTION, "2.95", refunded=1),
        created="2026-10-01T02:00",
        number=number,
        updated="2026-10-03T00:00",
    )
    await book_order(db, store, again, now=at("2026-10-03T00:00"))
    await book_order(
        db,
        store,
        order(line(PROTECTION, "3.45"), created="2026-10-05T12:00"),
        now=at("2026-10-05T13:00"),
    )
    await db.commit()
    months = ["2026-09", "2026-10"]
    summaries = await month_summaries(db, store, months)
    invoices = [await invoice_for(db, store, month) for month in months]
    assert [s.premiums_total for s in summaries] == [i.premiums_total for i in invoices]
    assert [s.premiums_total for s in summaries] == [Decimal("0.00"), Decimal("3.45")]
