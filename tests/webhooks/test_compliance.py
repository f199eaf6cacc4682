"""The mandatory compliance webhooks, over HTTP against the running portal and its worker:
customers/data_request gathers one customer's data for the admin and nothing of anyone else's;
customers/redact leaves none of the customer's personal data in any column of any table nor in
any file, other customers untouched and the month's invoice unchanged; shop/redact leaves no row
of the store; each is done once however often it is delivered."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from starlette.datastructures import Secret

from portal.accounts.models import StaffAuditEvent
from portal.billing.invoices import invoice_for
from portal.billing.models import ShopifyWebhook
from portal.billing.months import month_of
from portal.clock import utcnow
from portal.compliance.models import ComplianceRequest
from portal.db import create_engine, session_factory
from portal.jobs.models import Job
from portal.models import import_all_models
from portal.reorders.models import ReorderRequest
from portal.stores.models import Store
from tests.billing.portal_helpers import WEBHOOK_SECRET, eventually
from tests.helpers.environment import SHOP, PortalEnvironment
from tests.helpers.staff import StaffBrowser, create_user
from tests.webhooks.helpers import all_rows, deliver, found_anywhere, read
from tests.webhooks.seeds import (
    OTTO,
    PIA,
    ZELDA,
    ZELDA_OTHER_EMAIL,
    ZELDA_OTHER_ORDER,
    Seeded,
    seed,
)

pytestmark = pytest.mark.settings(shopify_client_secret=Secret(WEBHOOK_SECRET))

ZELDA_NEEDLES = [*ZELDA.needles, ZELDA_OTHER_EMAIL]


def _customer(**extra: Any) -> dict[str, Any]:
    return {
        "shop_id": 954889,
        "shop_domain": SHOP,
        "customer": {"id": 191167, "email": ZELDA.email.lower(), "phone": ZELDA.phone},
        **extra,
    }


def _done(env: PortalEnvironment, topic: str) -> ComplianceRequest:
    def finished() -> ComplianceRequest | None:
        rows = all_rows(
            env.settings.database_url, ComplianceRequest, ComplianceRequest.topic == topic
        )
        return rows[0] if rows and rows[0].completed_at is not None else None

    return eventually(finished)


def _invoice(env: PortalEnvironment, store_id: int) -> tuple[Any, ...]:
    async def compose() -> tuple[Any, ...]:
        engine = create_engine(env.settings.database_url)
        try:
            async with session_factory(engine)() as db:
                store = await db.get(Store, store_id)
                assert store is not None
                invoice = await invoice_for(db, store, month_of(utcnow(), store.time_zone))
                lines = [(line.section, line.reference, line.amount) for line in invoice.lines]
                totals = (invoice.premiums_total, invoice.deductions_total, invoice.amount_due)
                return (totals, sorted(lines))
        finally:
            await engine.dispose()

    return asyncio.run(compose())


def _files_naming(upload_dir: Path, needles: list[str]) -> list[str]:
    lowered = [n.casefold() for n in needles]
    return [
        path.name
        for path in upload_dir.rglob("*")
        if path.is_file()
        and any(n in path.read_bytes().decode("latin-1").casefold() for n in lowered)
    ]


def _request_of(env: PortalEnvironment, reference: str) -> ReorderRequest:
    [found] = all_rows(
        env.settings.database_url, ReorderRequest, ReorderRequest.reference == reference
    )
    return found


def test_a_data_request_gathers_the_customers_data_for_the_admin(env: PortalEnvironment) -> None:
    seeded = seed(env)
    payload = _customer(orders_requested=[ZELDA.order], data_request={"id": 9999})
    answer = deliver(env.base_url, "customers/data_request", payload, webhook_id="dr-1")
    assert answer.status_code == 200, answer.text
    request = _done(env, "customers/data_request")
    report = request.report or {}
    text = json.dumps(report)
    [zelda_reference, _] = seeded.references[ZELDA.email]
    [listed] = report["reorder_requests"]
    assert listed["reference"] == zelda_reference
    assert listed["shipping_address"]["address1"] == ZELDA.street
    assert ZELDA.words in listed["description"]
    assert {line["kind"] for line in listed["timeline"]} >= {"note", "shopper_answered"}
    assert [p["photo_id"] for p in listed["photos"]] == seeded.photos[ZELDA.email][:1]
    assert listed["items"][0]["quantity"] == 2
    assert len(report["order_verifications"]) == 1 and len(report["drafts"]) == 1
    assert len(report["emails"]) == 3
    assert report["shopify_data_request_id"] == "9999"
    for needle in [*OTTO.needles, *PIA.needles]:
        assert needle.casefold() not in text.casefold(), needle
    _the_admin_reads_it(env, request.id, report)


def _the_admin_reads_it(env: PortalEnvironment, request_id: int, report: dict[str, Any]) -> None:
    create_user(env.settings.database_url, "admin@example.com", "admin")
    create_user(env.settings.database_url, "agent@example.com", "agent")
    admin, agent = StaffBrowser(env.base_url), StaffBrowser(env.base_url)
    try:
        assert admin.sign_in("admin@example.com").status_code == 303
        assert agent.sign_in("agent@example.com").status_code == 303
        listing = admin.get("/support/compliance/")
        assert listing.status_code == 200 and "customers/data_request" in listing.text
        page = admin.get(f"/support/compliance/{request_id}")
        assert page.status_code == 200 and ZELDA.street in page.text
        download = admin.get(f"/support/compliance/{request_id}/report.json")
        assert download.status_code == 200 and download.json() == report
        assert "attachment" in download.headers["content-disposition"]
        for path in ("/support/compliance/", f"/support/compliance/{request_id}/report.json"):
            assert agent.get(path).status_code == 403
            assert httpx.get(env.base_url + path).status_code == 303  # to the sign-in page
        assert admin.get("/support/compliance/999999").status_code == 404
    finally:
        admin.close()
        agent.close()


def test_a_customer_redact_leaves_nothing_of_the_customer_and_the_invoice_unchanged(
    env: PortalEnvironment,
) -> None:
    seeded = seed(env)
    data_request = _customer(orders_requested=[ZELDA.order], data_request={"id": 1})
    deliver(env.base_url, "customers/data_request", data_request, webhook_id="dr-2")
    _done(env, "customers/data_request")
    invoice_before = _invoice(env, seeded.store_id)
    otto_before = _request_of(env, seeded.references[OTTO.email][0])
    upload_dir = env.settings.upload_dir
    assert found_anywhere(env.settings.database_url, ZELDA_NEEDLES)  # there to be erased
    assert _files_naming(upload_dir, [ZELDA.name])

    payload = _customer(orders_to_redact=[ZELDA.order, ZELDA_OTHER_ORDER])
    for _ in range(2):
        answer = deliver(env.base_url, "customers/redact", payload, webhook_id="cr-1")
        assert answer.status_code == 200
    redact = _done(env, "customers/redact")

    assert found_anywhere(env.settings.database_url, ZELDA_NEEDLES) == []
    assert _files_naming(upload_dir, ZELDA_NEEDLES) == []
    assert _invoice(env, seeded.store_id) == invoice_before
    report = redact.report or {}
    assert report["erased"]["reorder_requests"] == 2 and report["erased"]["photos"] == 2
    assert report["erased"]["emails"] == 3 and report["erased"]["order_verifications"] == 1
    for reference in seeded.references[ZELDA.email]:
        erased = _request_of(env, reference)
        assert erased.items_total == 48 and erased.status == "refunded"
        assert erased.closed_at is not None and erased.created_at is not None
    _others_are_untouched(env, seeded, otto_before)
    assert len(all_rows(env.settings.database_url, ComplianceRequest)) == 2


def _others_are_untouched(
    env: PortalEnvironment, seeded: Seeded, otto_before: ReorderRequest
) -> None:
    otto = _request_of(env, seeded.references[OTTO.email][0])
    for column in ("email", "customer_name", "description", "alternative_wish"):
        assert getattr(otto, column) == getattr(otto_before, column)
    assert otto.shipping_address == otto_before.shipping_address
    for person in (OTTO, PIA):
        assert {n for _, _, n in found_anywhere(env.settings.database_url, person.needles)} == {
            n.casefold() for n in person.needles
        }
        assert len(_files_naming(env.settings.upload_dir, [person.name])) == 2


def test_a_shop_redact_removes_every_row_of_the_store(env: PortalEnvironment) -> None:
    seeded = seed(env)
    create_user(env.settings.database_url, "owner@test-goods.example", "merchant", env.slug)
    create_user(env.settings.database_url, "owner@other-shop.example", "merchant", "other-shop")
    _invite_colleague(env, seeded.store_id)
    deliver(env.base_url, "app/uninstalled", {"id": 1}, webhook_id="un-1")
    deliver(env.base_url, "customers/data_request", _customer(), webhook_id="dr-3")
    _done(env, "customers/data_request")
    other_before = _rows_of_store(env, seeded.other_store_id, "other-shop.myshopify.com")

    answer = deliver(
        env.base_url,
        "shop/redact",
        {"shop_id": 954889, "shop_domain": SHOP},
        webhook_id="sr-1",
    )
    assert answer.status_code == 200
    request = _done(env, "shop/redact")

    assert _rows_of_store(env, seeded.store_id, SHOP) == {}
    assert all_rows(env.settings.database_url, StaffAuditEvent) == []
    assert all_rows(env.settings.database_url, Store, Store.shop_domain == SHOP) == []
    assert _rows_of_store(env, seeded.other_store_id, "other-shop.myshopify.com") == other_before
    kept = all_rows(env.settings.database_url, ComplianceRequest)
    assert len(kept) == 2 and all(r.store_id is None for r in kept)
    assert (request.report or {})["erased"]["reorder_requests"] == 3
    assert found_anywhere(env.settings.database_url, [*ZELDA_NEEDLES, *OTTO.needles]) == []
    assert _files_naming(env.settings.upload_dir, [ZELDA.name, OTTO.name]) == []
    assert len(_files_naming(env.settings.upload_dir, [PIA.name])) == 2
    again = deliver(
        env.base_url, "shop/redact", {"shop_id": 954889, "shop_domain": SHOP}, webhook_id="sr-1"
    )
    assert again.status_code == 200
    assert len(all_rows(env.settings.database_url, ComplianceRequest)) == 2


def _invite_colleague(env: PortalEnvironment, store_id: int) -> None:
    """An admin invites a merchant user of the store: an invitation, its email and an audit
    row that the shop's erasure must take with the store's users."""
    create_user(env.settings.database_url, "lead@example.com", "admin")
    lead = StaffBrowser(env.base_url)
    try:
        assert lead.sign_in(email="lead@example.com").status_code == 303
        invited = lead.invite("colleague@test-goods.example", "merchant", str(store_id))
        assert invited.status_code == 303, invited.text
    finally:
        lead.close()


def _rows_of_store(env: PortalEnvironment, store_id: int, shop_domain: str) -> dict[str, int]:
    """Rows that belong to the store, by table: every table with a store_id, every table
    whose rows hang off the store's requests or users, its webhooks and jobs naming it."""
    metadata = import_all_models()

    def count(db: Any) -> dict[str, int]:
        found: dict[str, int] = {}
        tables = {t.name: t for t in metadata.sorted_tables}
        requests = select(tables["reorder_requests"].c.id).where(
            tables["reorder_requests"].c.store_id == store_id
        )
        users = select(tables["users"].c.id).where(tables["users"].c.store_id == store_id)
        for table in metadata.sorted_tables:
            columns = table.c
            if table.name == "compliance_requests":
                continue  # kept, without their store, as the record
            if "store_id" in columns:
                where = columns.store_id == store_id
            elif "request_id" in columns:
                where = columns.request_id.in_(requests)
            elif "user_id" in columns:
                where = columns.user_id.in_(users)
            elif "shop_domain" in columns:
                where = columns.shop_domain == shop_domain
            else:
                continue
            rows = len(db.execute(select(table).where(where)).all())
            if rows:
                found[table.name] = rows
        jobs = [j for j in db.scalars(select(Job)) if j.payload.get("store_id") == store_id]
        if jobs:
            found["jobs"] = len(jobs)
        return found

    return read(env.settings.database_url, count)


def test_a_data_request_is_worked_once_however_often_it_is_delivered(
    env: PortalEnvironment,
) -> None:
    seed(env)
    for _ in range(3):
        answer = deliver(env.base_url, "customers/data_request", _customer(), webhook_id="dr-4")
        assert answer.status_code == 200
    _done(env, "customers/data_request")
    assert len(all_rows(env.settings.database_url, ComplianceRequest)) == 1
    assert len(all_rows(env.settings.database_url, ShopifyWebhook)) == 1
    jobs = all_rows(env.settings.database_url, Job, Job.kind == "compliance.data_request")
    assert len(jobs) == 1
