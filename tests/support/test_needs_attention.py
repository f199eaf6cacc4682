"""Every failure has a way out: a resolution Shopify parks or refuses marks the request "Needs
attention", and the agent corrects the address and retries, takes another path, asks the
shopper or denies, over HTTP against the sandbox shop. A switch of path never leaves two
orders, or an order and a refund, for the same items."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import set_committed_value

from portal import links
from portal.errors import ActionRefused
from portal.jobs import queue
from portal.reorders.models import ReorderRequest, RequestStatus
from portal.signing import Signer
from portal.stores.models import Store
from portal.support import detail, parked
from portal.support.actions import Agent
from sandbox.shopify.state import LineItemSeed
from tests.helpers.environment import SHOP, PortalEnvironment
from tests.helpers.factories import address_form
from tests.helpers.requests import file_request, in_database, load_request, resolutions_of
from tests.helpers.shopper_flow import csrf_of
from tests.helpers.staff import StaffBrowser, create_user

REFUSED_ADDRESS = address_form(country_code="XA", province_code="ZZ", zip="not a zip")


@pytest.fixture
def agent(env: PortalEnvironment, database_url: str) -> Iterator[StaffBrowser]:
    create_user(database_url, "agent@example.com", "agent")
    browser = StaffBrowser(env.base_url)
    assert browser.sign_in(email="agent@example.com").status_code == 303
    yield browser
    browser.close()


def act(browser: StaffBrowser, reference: str, action: str, **data: str) -> httpx.Response:
    return browser.post_form(f"/support/requests/{reference}/{action}", data)


def wait_for_status(env: PortalEnvironment, request_id: int, status: str) -> ReorderRequest:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        found = load_request(env, request_id)
        if found.status == status:
            return found
        time.sleep(0.1)
    raise AssertionError(f"request {request_id} never became {status}: {found.status}")


def replacement_orders(env: PortalEnvironment) -> list[object]:
    return [o for o in env.shop.world.orders(SHOP) if o.source_identifier]


def stuck(env: PortalEnvironment, agent: StaffBrowser) -> ReorderRequest:
    """A request whose address Shopify refuses, its primary reorder started and parked."""
    request = file_request(env, env.shop.order(), address=REFUSED_ADDRESS)
    assert agent.confirm(request.reference, "reorder").status_code == 303
    return wait_for_status(env, request.id, RequestStatus.NEEDS_ATTENTION)


def test_a_refused_address_parks_the_reorder_and_the_request_needs_attention(
    env: PortalEnvironment, agent: StaffBrowser
) -> None:
    request = stuck(env, agent)
    assert ("resolution_parked", "system") in [(e.kind, e.actor) for e in request.events]
    page = agent.get(f"/support/requests/{request.reference}")
    assert "Needs attention" in page.text
    assert "Stopped after 1 attempt:" in page.text and "countryCode" in page.text
    assert "<dt>Preferred resolution</dt><dd>Replacement</dd>" in page.text
    assert "<dt>What happened</dt><dd>Lost</dd>" in page.text
    for offered in (
        "Retry",
        "Correct the shipping address",
        "Email the shopper to correct the address",
        "Refund these items on the original order",
        "Record an alternative reorder",
        "Ask the shopper for more information",
        "Deny the request",
    ):
        assert offered in page.text, offered
    assert "Primary reorder: create" not in page.text  # Retry is that path
    listed = agent.client.get("/support/queue", params={"status": "needs_attention"})
    assert request.reference in listed.text
    count = re.search(r'data-status="needs_attention" data-count="(\d+)"', listed.text)
    assert count is not None and count.group(1) == "1"
    assert replacement_orders(env) == []
    with httpx.Client(follow_redirects=True, timeout=30) as shopper:  # to them: in review
        status_page = shopper.get(status_link(env, request))
    assert '<strong class="status-needs_attention">In review</strong>' in status_page.text


def test_a_page_read_while_the_worker_parks_shows_the_parked_status(
    env: PortalEnvironment, agent: StaffBrowser
) -> None:
    """The request row read just before the worker marked it, its job read just after the job
    was parked: the page must not pair the parked job with the old status (it would show
    "Submitted" and stop polling)."""
    request = stuck(env, agent)
    parked_events = len(request.events)

    async def read_with_a_stale_row(db: AsyncSession) -> tuple[str, bool, int]:
        found = await detail.load_request(db, request.reference)
        assert found is not None
        set_committed_value(found, "status", RequestStatus.SUBMITTED)  # as read before the mark
        set_committed_value(found, "events", list(found.events)[:-1])
        store = await db.get(Store, found.store_id)
        assert store is not None
        read = await detail.read(db, found, store, store_scope=None)
        return read.request.status, read.settling, len(read.request.events)

    status, settling, events = in_database(env, read_with_a_stale_row)
    assert status == RequestStatus.NEEDS_ATTENTION
    assert not settling
    assert events == parked_events


def status_link(env: PortalEnvironment, request: ReorderRequest) -> str:
    return links.status_link(
        Signer(str(env.settings.secret_key)),
        base_url=env.base_url,
        store_slug=env.slug,
        request_id=request.id,
    )


def test_the_agent_corrects_the_address_and_retry_places_one_order(
    env: PortalEnvironment, agent: StaffBrowser
) -> None:
    request = stuck(env, agent)
    bad = act(agent, request.reference, "address", **address_form(country_code="United"))
    assert bad.status_code == 400 and "Choose a country from the list." in bad.text
    assert load_request(env, request.id).shipping_address == REFUSED_ADDRESS  # nothing written
    fixed = act(agent, request.reference, "address", **address_form())
    assert fixed.status_code == 303
    page = agent.get(f"/support/requests/{request.reference}")
    job_id = re.search(r"/jobs/(\d+)/retry", page.text)
    assert job_id is not None
    assert act(agent, request.reference, f"jobs/{job_id.group(1)}/retry").status_code == 303
    done = wait_for_status(env, request.id, RequestStatus.REORDERED)
    [order] = replacement_orders(env)
    assert order.shipping_address.country_code == "US"  # type: ignore[attr-defined]
    kinds = [e.kind for e in done.events]
    assert kinds.index("address_changed") < kinds.index("job_retried")
    assert [r.status for r in resolutions_of(env, request.id)] == ["succeeded"]


def test_switching_to_a_refund_sets_the_parked_reorder_aside_and_refunds_once(
    env: PortalEnvironment, agent: StaffBrowser
) -> None:
    request = stuck(env, agent)
    assert agent.confirm(request.reference, "refund").status_code == 303
    done = wait_for_status(env, request.id, RequestStatus.REFUNDED)
    first, second = resolutions_of(env, request.id)
    assert (first.kind, first.status) == ("primary_reorder", "failed")
    assert "Set aside by agent@example.com" in (first.error or "")
    assert (second.kind, second.status) == ("refund", "succeeded")
    assert replacement_orders(env) == []
    original = env.shop.world.order(SHOP, int(request.shopify_order_id.rsplit("/", 1)[-1]))
    assert original is not None and len(original.refunds) == 1
    assert "resolution_set_aside" in [e.kind for e in done.events]
    # The parked job, retried now, finds its resolution set aside and creates nothing.
    page = agent.get(f"/support/requests/{request.reference}")
    assert "/retry" not in page.text


def test_a_parked_reorder_that_reached_shopify_after_all_is_not_switched(
    env: PortalEnvironment, agent: StaffBrowser
) -> None:
    request = stuck(env, agent)
    [resolution] = resolutions_of(env, request.id)
    env.shop.world.add_order(  # the lost answer: Shopify had created the order
        SHOP,
        created_at=env.shop.world.now(),
        email=request.email,
        line_items=[LineItemSeed(variant=env.shop.mug, quantity=1)],
        source_identifier=resolution.source_identifier,
    )
    refused = agent.confirm(request.reference, "refund")
    assert refused.status_code == 409 and "Shopify already holds" in refused.text
    assert [r.status for r in resolutions_of(env, request.id)] == ["pending"]
    denied = act(agent, request.reference, "deny", reason="No.")
    assert denied.status_code == 409
    assert load_request(env, request.id).status == RequestStatus.NEEDS_ATTENTION


def test_a_retry_between_the_check_and_the_switch_refuses_the_switch(
    env: PortalEnvironment, agent: StaffBrowser
) -> None:
    request = stuck(env, agent)
    by = Agent(0, "agent@example.com")

    async def race(db: AsyncSession) -> str:
        seen = await parked.find(db, request.id)
        assert seen is not None
        await db.commit()
        async with db.begin():
            assert await queue.requeue(db, seen.job_id)
        async with db.begin():
            found = await db.get(ReorderRequest, request.id)
            assert found is not None
            try:
                await parked.set_aside(db, found, seen, by, "took another path: refund")
            except ActionRefused as exc:
                return exc.message
        return "set aside"

    assert "it was retried" in in_database(env, race)


def test_deny_with_a_parked_reorder_sets_it_aside(
    env: PortalEnvironment, agent: StaffBrowser
) -> None:
    request = stuck(env, agent)
    assert act(agent, request.reference, "deny", reason="Address abroad.").status_code == 303
    assert load_request(env, request.id).status == RequestStatus.DENIED
    assert [r.status for r in resolutions_of(env, request.id)] == ["failed"]
    env.wait_for_email("jane@example.com", "about your request")


def test_the_shopper_is_emailed_their_status_link_to_correct_the_address(
    env: PortalEnvironment, agent: StaffBrowser
) -> None:
    request = stuck(env, agent)
    assert act(agent, request.reference, "ask-address").status_code == 303
    email = env.wait_for_email("jane@example.com", "please correct your shipping address")
    assert re.search(rf"{env.base_url}/{env.slug}/s/\S+", email.text)
    assert "1 Main St" in email.text
    asked = load_request(env, request.id)
    assert asked.status == RequestStatus.NEEDS_INFO
    question = asked.events[-1]
    assert (question.kind, question.data, question.public) == (
        "info_requested",
        {"about": "address"},
        True,
    )
    link = re.findall(r"https?://\S+/s/\S+", email.text)[0]
    with httpx.Client(follow_redirects=True, timeout=30) as shopper:
        status_page = shopper.get(link)
        assert "We need more information:" in status_page.text
        assert "1 Main St" in status_page.text
        answer = {"csrf_token": csrf_of(status_page), "answer": "1 Main St, Springfield IL, US"}
        assert shopper.post(str(status_page.url), data=answer).status_code == 200
    answered = load_request(env, request.id)
    assert answered.events[-1].kind == "shopper_answered"
    assert answered.status == RequestStatus.NEEDS_ATTENTION  # the reorder is still parked


def test_a_refused_refund_needs_attention_and_another_path_is_offered(
    env: PortalEnvironment, agent: StaffBrowser
) -> None:
    order = env.shop.order()
    request = file_request(env, order, resolution="refund")
    confirm = agent.get(f"/support/requests/{request.reference}/confirm/refund")
    seen = re.search(r'name="seen" type="hidden" value="([0-9a-f]+)"', confirm.text)
    assert seen is not None
    env.shop.world.add_refund(SHOP, order.id, line_items=[(order.line_items[0].id, 2)])
    posted = act(agent, request.reference, "refund", seen=seen.group(1))
    assert posted.status_code == 303
    wait_for_status(env, request.id, RequestStatus.NEEDS_ATTENTION)
    page = agent.get(f"/support/requests/{request.reference}")
    assert "Shopify refused the refund" in page.text
    assert "Record an alternative reorder" in page.text and "Deny the request" in page.text


def test_retry_and_a_switch_pressed_together_make_one_outcome(
    env: PortalEnvironment, agent: StaffBrowser, database_url: str
) -> None:
    from concurrent.futures import ThreadPoolExecutor

    request = stuck(env, agent)
    create_user(database_url, "second@example.com", "agent")
    second = StaffBrowser(env.base_url)
    try:
        assert second.sign_in(email="second@example.com").status_code == 303
        fixed = act(agent, request.reference, "address", **address_form())
        assert fixed.status_code == 303
        page = agent.get(f"/support/requests/{request.reference}")
        job_id = re.search(r"/jobs/(\d+)/retry", page.text)
        confirm = second.get(f"/support/requests/{request.reference}/confirm/refund")
        seen = re.search(r'name="seen" type="hidden" value="([0-9a-f]+)"', confirm.text)
        assert job_id is not None and seen is not None
        with ThreadPoolExecutor(max_workers=2) as pool:
            retried = pool.submit(act, agent, request.reference, f"jobs/{job_id.group(1)}/retry")
            switched = pool.submit(act, second, request.reference, "refund", seen=seen.group(1))
            outcomes = {retried.result().status_code, switched.result().status_code}
    finally:
        second.close()
    assert 303 in outcomes
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        status = load_request(env, request.id).status
        if status in (RequestStatus.REORDERED, RequestStatus.REFUNDED):
            break
        time.sleep(0.1)
    original = env.shop.world.order(SHOP, int(request.shopify_order_id.rsplit("/", 1)[-1]))
    assert original is not None
    made = (len(replacement_orders(env)), len(original.refunds))
    assert made in ((1, 0), (0, 1)), f"orders and refunds made: {made}"
