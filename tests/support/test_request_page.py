"""A request's page for staff over HTTP: the panels, each action, role and store isolation, and
what happens when Shopify or Corso is down."""

from __future__ import annotations

import asyncio
import io
import re
from collections.abc import Iterator

import httpx
import pytest
from PIL import Image
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from portal.reorders.models import RequestStatus
from portal.stores.models import Store
from portal.support.views import ACTIONS
from sandbox.corso.samples import bare_claim
from tests.helpers.corso_claims import only_what_the_portal_reads
from tests.helpers.environment import CORSO_STORE, SHOP, PortalEnvironment
from tests.helpers.factories import create_store
from tests.helpers.requests import (
    file_request,
    in_database,
    load_request,
    resolutions_of,
    wait_until_settled,
)
from tests.helpers.shopper_flow import ShopperFlow
from tests.helpers.staff import StaffBrowser, create_user


@pytest.fixture(autouse=True)
def staff(env: PortalEnvironment, database_url: str) -> None:
    """Another store, an agent, and a merchant user of each store."""
    asyncio.run(create_store(database_url, "Elsewhere", "elsewhere"))
    create_user(database_url, "agent@example.com", "agent")
    create_user(database_url, "owner@test-goods.example", "merchant", store="test-goods")
    create_user(database_url, "owner@elsewhere.example", "merchant", store="elsewhere")


def signed_in(env: PortalEnvironment, email: str) -> StaffBrowser:
    browser = StaffBrowser(env.base_url)
    answer = browser.sign_in(email=email)
    assert answer.status_code == 303, answer.text
    return browser


@pytest.fixture
def agent(env: PortalEnvironment) -> Iterator[StaffBrowser]:
    browser = signed_in(env, "agent@example.com")
    yield browser
    browser.close()


def page_of(browser: StaffBrowser, reference: str) -> httpx.Response:
    return browser.get(f"/support/requests/{reference}")


def act(browser: StaffBrowser, reference: str, action: str, **data: str) -> httpx.Response:
    return browser.post_form(f"/support/requests/{reference}/{action}", data)


def test_the_page_shows_order_stock_and_claims_and_warns_of_issued_items(
    env: PortalEnvironment, agent: StaffBrowser
) -> None:
    order = env.shop.order(lines=[(env.shop.mug, 2), (env.shop.shirt, 1)])
    request = file_request(env, order)
    claim = bare_claim(
        9001, store_id=CORSO_STORE, customer_email="jane@example.com", external_id="1-EARLIER-1"
    )
    claim["claimLineItems"] = [_refunded_line(order.line_items[0].id, env.shop.mug.gid)]
    env.corso.add_claim(claim)
    env.corso.add_claim(
        bare_claim(9002, store_id=CORSO_STORE, customer_email="someone@else.example")
    )
    page = page_of(agent, request.reference)
    assert page.status_code == 200
    assert request.reference in page.text and order.name in page.text
    assert "1Z999" in page.text  # tracking from the live order
    assert "in stock" in page.text
    assert "1-EARLIER-1" in page.text and "1001-9002" not in page.text
    assert "Already issued in Corso claim(s): 1-EARLIER-1" in page.text
    assert "Primary reorder" in page.text and "Refund these items" in page.text


def _refunded_line(line_item_id: int, variant_gid: str) -> dict[str, object]:
    return {
        "sourceLineItem": {
            "lineItemId": 1,
            "sourceLineItemId": str(line_item_id),
            "variantId": variant_gid,
            "sku": "MUG-S",
            "name": "Stoneware Mug",
            "quantity": 1,
        },
        "claimLineItemId": 77,
        "customFields": [],
        "quantity": 1,
        "isShopNow": False,
        "amount": 24,
        "requestedAmount": 24,
        "reason": "Damaged",
        "status": "Closed",
        "statusDetail": "Refunded",
        "requestedResolutionMethod": "Refund",
        "resolutionMethod": "Refund",
    }


def earlier_claim(claim_id: int, external_id: str, line: dict[str, object]) -> dict[str, object]:
    """A completed claim of Jane's that refunded ``line``."""
    claim = bare_claim(
        claim_id, store_id=CORSO_STORE, customer_email="jane@example.com", external_id=external_id
    )
    claim |= {"status": "Completed", "claimLineItems": [line]}
    claim["resolutionSummary"] = {"refunds": [{"refundId": 3, "amount": 24}], "giftCards": []}
    return claim


def test_claims_carrying_only_the_fields_the_portal_reads_fill_the_panel(
    env: PortalEnvironment, agent: StaffBrowser
) -> None:
    order = env.shop.order(lines=[(env.shop.mug, 2), (env.shop.shirt, 1)])
    request = file_request(env, order)
    line = _refunded_line(order.line_items[0].id, env.shop.mug.gid)
    env.corso.add_claim(earlier_claim(9001, "1-EARLIER-1", line))
    env.corso.faults.reshape = only_what_the_portal_reads  # storeId, addresses, tags... all gone

    page = page_of(agent, request.reference)

    assert page.status_code == 200
    assert "could not be reached or refused" not in page.text
    assert "1-EARLIER-1" in page.text
    assert "Stoneware Mug <small>(Closed, Refund)</small>" in page.text
    assert "Refund $24.00" in page.text
    assert "Already issued in Corso claim(s): 1-EARLIER-1" in page.text
    requests = env.corso.requests("claims")
    assert requests and all("storeId" not in r.params for r in requests)
    assert {r.client_id for r in requests} == {"portal-test"}  # the store's own credentials


def test_a_claim_missing_a_field_the_portal_reads_is_flagged_and_the_rest_shows(
    env: PortalEnvironment, agent: StaffBrowser
) -> None:
    order = env.shop.order(lines=[(env.shop.mug, 2), (env.shop.shirt, 1)])
    request = file_request(env, order)
    line = _refunded_line(order.line_items[0].id, env.shop.mug.gid)
    env.corso.add_claim(earlier_claim(9001, "1-EARLIER-1", line))
    without_status = {key: value for key, value in line.items() if key != "status"}
    env.corso.add_claim(earlier_claim(9003, "1-BROKEN-1", without_status))

    page = page_of(agent, request.reference)

    assert page.status_code == 200
    assert "1-EARLIER-1" in page.text
    assert "Stoneware Mug <small>(Closed, Refund)</small>" in page.text
    assert "Already issued in Corso claim(s): 1-EARLIER-1" in page.text
    flagged = re.search(
        r'<div class="problem" role="status" id="unreadable-claims">(.*?)</div>', page.text, re.S
    )
    assert flagged, page.text
    assert "1-BROKEN-1" in flagged.group(1) and "`status`" in flagged.group(1)
    assert "1-EARLIER-1" not in flagged.group(1)


def test_a_store_without_corso_credentials_says_so(
    env: PortalEnvironment, agent: StaffBrowser
) -> None:
    request = file_request(env, env.shop.order())
    in_database(env, _forget_corso_credentials)

    page = page_of(agent, request.reference)

    assert page.status_code == 200
    assert "This store has no Corso credentials" in page.text
    assert env.corso.requests("claims") == []


async def _forget_corso_credentials(db: AsyncSession) -> None:
    async with db.begin():
        for store in await db.scalars(select(Store)):
            store.corso_client_id = store.sealed_corso_client_secret = None


def test_panels_say_what_happened_when_shopify_and_corso_are_down(
    env: PortalEnvironment, agent: StaffBrowser
) -> None:
    order = env.shop.order()
    request = file_request(env, order)
    env.shop.world.faults(SHOP).fail_next(status=503, times=100)
    env.corso.faults.fail_next(status=503, times=100)
    page = page_of(agent, request.reference)
    env.shop.world.faults(SHOP).clear()
    env.corso.faults.clear()
    assert page.status_code == 200
    assert request.reference in page.text
    assert page.text.count("could not be reached or refused") >= 3  # order, stock, claims
    assert "Primary reorder: create" not in page.text  # stock unknown: not offered


def test_primary_reorder_from_the_page(env: PortalEnvironment, agent: StaffBrowser) -> None:
    order = env.shop.order()
    request = file_request(env, order)
    assert agent.confirm(request.reference, "reorder").status_code == 303
    resolution = wait_until_settled(env, request.id)
    assert resolution.status == "succeeded" and resolution.agent_email == "agent@example.com"
    page = page_of(agent, request.reference)
    assert resolution.shopify_order_name and resolution.shopify_order_name in page.text
    assert "deducted from the invoice" in page.text
    assert act(agent, request.reference, "refund", seen="0" * 32).status_code == 409  # closed


def test_refund_from_the_page(env: PortalEnvironment, agent: StaffBrowser) -> None:
    order = env.shop.order()
    request = file_request(env, order, resolution="refund")
    assert agent.confirm(request.reference, "refund").status_code == 303
    assert wait_until_settled(env, request.id).status == "succeeded"
    assert load_request(env, request.id).status == RequestStatus.REFUNDED
    assert len(env.shop.world.order(SHOP, order.id).refunds) == 1  # type: ignore[union-attr]


def test_alternative_reorder_is_recorded_when_the_store_order_exists(
    env: PortalEnvironment, agent: StaffBrowser
) -> None:
    order = env.shop.order(lines=[(env.shop.lamp, 1)])
    request = file_request(env, order)
    page = page_of(agent, request.reference)
    assert "Not every item is in stock" in page.text
    assert act(agent, request.reference, "reorder", seen="0" * 32).status_code == 409
    missing = act(
        agent,
        request.reference,
        "alternative",
        order_name="#987654",
        description="Brass lamp, other finish",
        amount="189.00",
    )
    assert missing.status_code == 409 and "There is no order #987654" in missing.text
    bought = env.shop.order(lines=[(env.shop.shirt, 1)], created_days_ago=-0.001)
    recorded = act(
        agent,
        request.reference,
        "alternative",
        order_name=bought.name,
        description="Linen shirt instead",
        amount="58.00",
    )
    assert recorded.status_code == 303
    [resolution] = resolutions_of(env, request.id)
    assert (resolution.kind, resolution.status, resolution.deducted) == (
        "alternative_reorder",
        "succeeded",
        False,
    )
    assert str(resolution.amount) == "58.00" and resolution.shopify_order_name == bought.name
    assert reorders_created(env) == []  # no Shopify write
    env.wait_for_email("jane@example.com", f"replacement order {bought.name}")


def reorders_created(env: PortalEnvironment) -> list[object]:
    return [o for o in env.shop.world.orders(SHOP) if o.source_identifier]


def test_assign_note_question_and_deny(env: PortalEnvironment, agent: StaffBrowser) -> None:
    order = env.shop.order()
    request = file_request(env, order)
    assert act(agent, request.reference, "assign").status_code == 303
    assert act(agent, request.reference, "note", text="Called the carrier.").status_code == 303
    asked = act(agent, request.reference, "ask", question="Was the box opened?")
    assert asked.status_code == 303
    env.wait_for_email("jane@example.com", "more information")
    refused = act(agent, request.reference, "deny", reason="")
    assert refused.status_code == 400 and "Give the reason." in refused.text
    assert (
        act(agent, request.reference, "deny", reason="Delivered with signature.").status_code == 303
    )
    env.wait_for_email("jane@example.com", "about your request")
    done = load_request(env, request.id)
    assert done.status == RequestStatus.DENIED
    kinds = [(e.kind, e.actor, e.public) for e in done.events]
    assert ("assigned", "agent@example.com", False) in kinds
    assert ("note", "agent@example.com", False) in kinds
    assert ("info_requested", "agent@example.com", True) in kinds
    assert ("denied", "agent@example.com", True) in kinds
    page = page_of(agent, request.reference)
    assert "Called the carrier." in page.text and "agent@example.com" in page.text


def test_a_parked_job_shows_its_error_and_retry_runs_it_again(
    env: PortalEnvironment, agent: StaffBrowser
) -> None:
    order = env.shop.order()
    request = file_request(env, order)
    shop = env.shop.world.shop(SHOP)
    token, shop.access_token = shop.access_token, "revoked"
    start_reorder(env, request.id)
    page = _wait_for(agent, request.reference, "Stopped after")
    assert "ShopifyAuthError" in page.text and "Retry" in page.text
    job_id = re.search(r"/jobs/(\d+)/retry", page.text)
    assert job_id
    shop.access_token = token
    assert act(agent, request.reference, f"jobs/{job_id.group(1)}/retry").status_code == 303
    assert wait_until_settled(env, request.id).status == "succeeded"
    assert len(reorders_created(env)) == 1


def start_reorder(env: PortalEnvironment, request_id: int) -> None:
    from portal.reorders.models import ReorderRequest
    from portal.support import actions

    async def work(db: AsyncSession) -> None:
        async with db.begin():
            found = await db.get(ReorderRequest, request_id)
            assert found is not None
            await actions.start_primary_reorder(db, found, actions.Agent(0, "agent@example.com"))

    in_database(env, work)


def _wait_for(browser: StaffBrowser, reference: str, text: str) -> httpx.Response:
    import time

    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        page = page_of(browser, reference)
        if text in page.text:
            return page
        time.sleep(0.2)
    raise AssertionError(f"{text!r} never appeared")


def jpeg() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (32, 32), (10, 200, 10)).save(buffer, "JPEG")
    return buffer.getvalue()


def test_roles_and_stores_are_isolated_on_every_support_url(env: PortalEnvironment) -> None:
    order = env.shop.order()
    shopper = ShopperFlow(env)
    form = shopper.verify(order.name, "jane@example.com")
    line = "qty_" + order.line_items[0].gid.rsplit("/", 1)[-1]
    status = shopper.submit(
        shopper.file(
            form, issue="Damaged", quantities={line: 1}, photos=[("d.jpg", jpeg(), "image/jpeg")]
        )
    )
    reference = re.search(r"RR-\w{6}", status.text)
    assert reference
    ref = reference.group(0)
    agent = signed_in(env, "agent@example.com")
    photo = re.search(r"/support/photos/([\w-]+)", page_of(agent, ref).text)
    assert photo
    photo_url = f"/support/photos/{photo.group(1)}"
    assert agent.get(photo_url).headers["content-type"] == "image/jpeg"
    urls = [
        f"/support/requests/{ref}",
        photo_url,
        "/support/",
        "/support/queue",
        "/support/account",
    ]
    actions = [a.path for a in ACTIONS] + ["jobs/1/retry"]
    assert {"assign", "note", "ask", "deny", "reorder", "alternative", "refund"} <= set(actions)

    stranger = StaffBrowser(env.base_url)
    for url in urls:
        assert stranger.get(url).status_code == 303
    assert shopper.client.get(photo_url, follow_redirects=False).status_code == 303
    for action in actions:
        assert act(stranger, ref, action).status_code == 303
    other = signed_in(env, "owner@elsewhere.example")
    for url in urls[:2]:
        assert other.get(url).status_code == 404
    assert f"/support/requests/{ref}" not in other.get(f"/support/queue?q={ref}").text
    for action in actions:
        assert act(other, ref, action).status_code in (403, 404)
    owner = signed_in(env, "owner@test-goods.example")
    mine = page_of(owner, ref)
    assert mine.status_code == 200 and "Refund these items" not in mine.text
    assert owner.get(photo_url).status_code == 200
    for action in actions:
        assert act(owner, ref, action).status_code == 403
    assert resolutions_of(env, load_request_id(env, ref)) == []
    for browser in (stranger, other, owner, agent):
        browser.close()
    shopper.close()


def load_request_id(env: PortalEnvironment, reference: str) -> int:
    from sqlalchemy import select

    from portal.reorders.models import ReorderRequest

    async def work(db: object) -> int:
        return int(
            await db.scalar(  # type: ignore[attr-defined]
                select(ReorderRequest.id).where(ReorderRequest.reference == reference)
            )
        )

    return in_database(env, work)
