"""Invoice pages: every line listed, the CSV holds exactly those lines with the same totals, the
list of months, closing by an admin, and a merchant user who sees only its own store."""

from __future__ import annotations

import asyncio
import csv
import io
import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import httpx
import pytest

from portal.billing.commands import sync_orders_command
from portal.billing.months import month_of
from sandbox.shopify.state import LineItemSeed
from tests.billing.portal_helpers import add_store, signed_in
from tests.helpers.environment import SHOP, PortalEnvironment
from tests.helpers.shopper_flow import csrf_of

LINE = re.compile(r'class="invoice-line" data-section="(\w+)" data-amount="([-\d.]+)"')
TOTAL = re.compile(r'data-total="([\w-]+)">(?:<strong>)?([-\d,.]+) USD')


@pytest.fixture
def month(env: PortalEnvironment) -> str:
    """This month, with three protected orders in the ledger: one discounted, one cancelled,
    one whose protection was refunded, and one without protection."""
    shop, world = env.shop, env.shop.world
    now = datetime.now(UTC)
    created = now - timedelta(minutes=5)
    world.add_order(
        SHOP,
        created_at=created,
        line_items=[
            LineItemSeed(variant=shop.mug, quantity=1),
            LineItemSeed(variant=shop.protection, quantity=1, discount="0.30"),
        ],
    )
    cancelled = shop.order(created_days_ago=0, shipped_days_ago=None)
    world.cancel_order(SHOP, cancelled.id)
    refunded = shop.order(created_days_ago=0)
    world.add_refund(SHOP, refunded.id, line_items=[(refunded.line_items[-1].id, 1)])
    shop.order(created_days_ago=0, protected=False)
    this_month = month_of(now, "UTC")
    asyncio.run(sync_orders_command(env.settings, store_slug=env.slug, month=this_month))
    return this_month


def invoice_url(env: PortalEnvironment, month: str, slug: str | None = None) -> str:
    return f"/support/invoices/{slug or env.slug}/{month}"


def test_the_csv_holds_exactly_the_lines_and_totals_of_the_page(
    env: PortalEnvironment, month: str
) -> None:
    with signed_in(env, "admin@example.com", "admin", None) as admin:
        page = admin.get(invoice_url(env, month))
        export = admin.get(invoice_url(env, month) + "/invoice.csv")
    assert page.status_code == 200 and export.status_code == 200
    assert export.headers["content-type"].startswith("text/csv")
    page_lines = [(s, Decimal(a)) for s, a in LINE.findall(page.text)]
    rows = list(csv.DictReader(io.StringIO(export.text)))
    csv_lines = [(r["section"], Decimal(r["amount"])) for r in rows if r["section"] != "total"]
    assert page_lines == csv_lines
    assert sorted(a for s, a in page_lines if s == "premium") == [
        Decimal("0.00"),
        Decimal("0.00"),
        Decimal("2.65"),
    ]
    page_totals = {name: Decimal(v.replace(",", "")) for name, v in TOTAL.findall(page.text)}
    csv_totals = {r["description"]: Decimal(r["amount"]) for r in rows if r["section"] == "total"}
    assert page_totals["premiums"] == csv_totals["premiums"] == Decimal("2.65")
    assert page_totals["amount-due"] == csv_totals["amount due"] == Decimal("2.65")


def test_the_htmx_request_gets_only_the_invoice_partial(env: PortalEnvironment, month: str) -> None:
    with signed_in(env, "agent@example.com", "agent", None) as agent:
        partial = agent.get(invoice_url(env, month), headers={"HX-Request": "true"})
        months = agent.get(f"/support/invoices/{env.slug}/")
    assert partial.status_code == 200
    assert partial.text.lstrip().startswith('<div id="invoice"') and "<html" not in partial.text
    assert "Close" not in partial.text  # agents do not close months
    assert f'data-month="{month}" data-amount-due="2.65"' in months.text


def test_an_admin_closes_a_month_with_the_button(env: PortalEnvironment, month: str) -> None:
    with signed_in(env, "admin@example.com", "admin", None) as admin:
        page = admin.get(invoice_url(env, month))
        closed = admin.post(
            invoice_url(env, month) + "/close",
            data={"csrf_token": csrf_of(page)},
            follow_redirects=True,
        )
        no_token = admin.post(invoice_url(env, month) + "/close", data={})
    assert closed.status_code == 200
    assert 'data-status="closed"' in closed.text and "admin@example.com" in closed.text
    assert no_token.status_code == 400


def test_a_merchant_user_sees_only_its_own_store(env: PortalEnvironment, month: str) -> None:
    add_store(env, "other-shop")
    with (
        signed_in(env, "owner@test-goods.example", "merchant", env.slug) as own,
        signed_in(env, "owner@other.example", "merchant", "other-shop") as other,
    ):
        assert own.get(invoice_url(env, month)).status_code == 200
        index = own.get("/support/invoices/")
        assert index.status_code == 303
        assert index.headers["location"].endswith(f"/support/invoices/{env.slug}/")
        page = own.get(invoice_url(env, month))
        refused = own.post(invoice_url(env, month) + "/close", data={"csrf_token": "not-a-token"})
        assert refused.status_code == 403 and "Close" not in page.text
        for path in ("", "/invoice.csv"):
            assert other.get(invoice_url(env, month) + path).status_code == 404
        assert other.get(f"/support/invoices/{env.slug}/").status_code == 404
        assert other.post(invoice_url(env, month) + "/close", data={}).status_code == 404
        assert other.get(invoice_url(env, month, "other-shop")).status_code == 200


def test_signed_out_visitors_are_sent_to_sign_in(env: PortalEnvironment, month: str) -> None:
    answer = httpx.get(env.base_url + invoice_url(env, month))
    assert answer.status_code == 303 and "/support/login" in answer.headers["location"]
