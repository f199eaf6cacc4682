"""app/uninstalled: the store is marked, nothing is deleted; every shopper page of the store
answers that it is no longer here; staff see a banner on its requests; its queued jobs stop
before they call Shopify or email its shoppers; a re-install opens it again."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import httpx
import pytest
from starlette.datastructures import Secret

from portal import links
from portal.billing.sync import REFRESH_ORDER
from portal.clock import utcnow
from portal.db import create_engine, session_factory
from portal.jobs import queue
from portal.jobs.email import SEND_EMAIL
from portal.jobs.models import Job, JobStatus
from portal.reorders.models import ReorderRequest
from portal.signing import Signer
from sandbox.shopify.payloads import order_payload
from tests.billing.portal_helpers import WEBHOOK_SECRET, eventually, premiums
from tests.helpers.environment import PortalEnvironment
from tests.helpers.factories import reorder_request
from tests.helpers.staff import StaffBrowser, create_user
from tests.webhooks.helpers import all_rows, change_store, deliver, store_row

pytestmark = pytest.mark.settings(shopify_client_secret=Secret(WEBHOOK_SECRET))

GONE = "no longer offers reorder requests here"


def _uninstall(env: PortalEnvironment, webhook_id: str = "un-1") -> httpx.Response:
    payload = {"id": 548380009, "name": "Test Goods", "domain": "test-goods.example"}
    return deliver(env.base_url, "app/uninstalled", payload, webhook_id=webhook_id)


def _a_request(env: PortalEnvironment) -> ReorderRequest:
    store = store_row(env.settings.database_url, env.slug)
    assert store is not None

    async def add() -> ReorderRequest:
        engine = create_engine(env.settings.database_url)
        try:
            async with session_factory(engine)() as db:
                row = reorder_request(store.id, email="kim@example.com")
                db.add(row)
                await db.commit()
                return row
        finally:
            await engine.dispose()

    return asyncio.run(add())


def _shopper_paths(env: PortalEnvironment, request: ReorderRequest) -> list[str]:
    signer = Signer(str(env.settings.secret_key))
    order_token = links.order_link_token(
        signer, store_id=request.store_id, order_id=request.shopify_order_id
    )
    status_token = links.status_token(signer, request_id=request.id)
    return [
        "/",
        "/verify?v=abc",
        f"/r/{order_token}",
        "/request",
        "/review/some-draft",
        f"/requests/{request.reference}",
        f"/s/{status_token}",
    ]


def test_an_uninstalled_store_answers_every_shopper_page_with_no_longer_here(
    env: PortalEnvironment,
) -> None:
    request = _a_request(env)
    paths = _shopper_paths(env, request)
    with httpx.Client(base_url=env.base_url, timeout=30) as browser:
        assert browser.get(env.url("/")).status_code == 200
        assert _uninstall(env).status_code == 200
        for path in paths:
            page = browser.get(env.url(path), headers={"Accept": "text/html"})
            assert page.status_code == 410, (path, page.status_code)
            assert GONE in page.text and "help@test-goods.example" in page.text
        assert browser.get(env.url("/theme.css")).status_code == 200
    store = store_row(env.settings.database_url, env.slug)
    assert store is not None and store.uninstalled_at is not None
    assert all_rows(env.settings.database_url, ReorderRequest)  # nothing deleted


def test_staff_see_a_banner_on_the_stores_requests(env: PortalEnvironment) -> None:
    request = _a_request(env)
    create_user(env.settings.database_url, "agent@example.com")
    browser = StaffBrowser(env.base_url)
    try:
        assert browser.sign_in().status_code == 303
        before = browser.get(f"/support/requests/{request.reference}")
        assert before.status_code == 200 and "uninstalled the app" not in before.text
        _uninstall(env)
        after = browser.get(f"/support/requests/{request.reference}")
        assert after.status_code == 200
        assert "uninstalled the app" in after.text
    finally:
        browser.close()


def test_queued_jobs_of_an_uninstalled_store_stop_before_calling_shopify(
    env: PortalEnvironment,
) -> None:
    order = env.shop.order()
    store = store_row(env.settings.database_url, env.slug)
    assert store is not None

    async def queue_jobs() -> None:
        engine = create_engine(env.settings.database_url)
        later = utcnow() + timedelta(seconds=2)
        email = {"to": "kim@example.com", "subject": "s", "text": "t", "html": None, "kind": "k"}
        try:
            async with session_factory(engine)() as db:
                order_job = {"store_id": store.id, "order_id": order.gid}
                await queue.enqueue(db, REFRESH_ORDER, order_job, run_after=later)
                await queue.enqueue(
                    db, SEND_EMAIL, {**email, "store_id": store.id}, run_after=later
                )
                await db.commit()
        finally:
            await engine.dispose()

    asyncio.run(queue_jobs())
    assert _uninstall(env).status_code == 200

    def parked() -> list[Job]:
        jobs = all_rows(env.settings.database_url, Job, Job.kind.in_([REFRESH_ORDER, SEND_EMAIL]))
        return jobs if all(j.status == JobStatus.FAILED for j in jobs) else []

    for job in eventually(parked):
        assert job.last_error and job.last_error.startswith("StoreInactive: Test Goods")
        assert job.attempts == 1  # parked at once, not retried
    assert premiums(env) == {}  # the order was never read from Shopify
    assert env.mailbox.to("kim@example.com") == []


def test_a_repeated_uninstall_keeps_the_first_moment(env: PortalEnvironment) -> None:
    _uninstall(env, "un-1")
    first = store_row(env.settings.database_url, env.slug)
    assert _uninstall(env, "un-2").status_code == 200
    again = store_row(env.settings.database_url, env.slug)
    assert first is not None and again is not None
    assert again.uninstalled_at == first.uninstalled_at


def test_orders_of_an_uninstalled_store_queue_nothing(env: PortalEnvironment) -> None:
    _uninstall(env)
    order = env.shop.order()
    answer = deliver(env.base_url, "orders/create", order_payload(order), webhook_id="late")
    assert answer.status_code == 200
    assert all_rows(env.settings.database_url, Job, Job.kind == REFRESH_ORDER) == []


def test_a_reinstall_opens_the_pages_again(env: PortalEnvironment) -> None:
    _uninstall(env)
    assert httpx.get(env.url("/")).status_code == 410
    change_store(env.settings.database_url, env.slug, uninstalled_at=None)  # as OAuth does
    assert httpx.get(env.url("/")).status_code == 200


def test_an_uninstall_from_before_the_latest_install_is_ignored(env: PortalEnvironment) -> None:
    installed = utcnow()
    change_store(env.settings.database_url, env.slug, installed_at=installed)
    earlier = (installed - timedelta(hours=1)).isoformat()
    answer = deliver(
        env.base_url,
        "app/uninstalled",
        {"id": 1},
        webhook_id="un-old",
        headers={"X-Shopify-Triggered-At": earlier},
    )
    assert answer.status_code == 200
    store = store_row(env.settings.database_url, env.slug)
    assert store is not None and store.is_active
    assert httpx.get(env.url("/")).status_code == 200
