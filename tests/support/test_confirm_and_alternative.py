"""Money moves only from a confirmation of the request as it stands, and an alternative reorder
names only an order bought for the request: over HTTP against the sandbox shop."""

from __future__ import annotations

import re
from collections.abc import Iterator

import httpx
import pytest

from portal.reorders.models import RequestStatus
from tests.helpers.environment import SHOP, PortalEnvironment
from tests.helpers.requests import file_request, load_request, resolutions_of, wait_until_settled
from tests.helpers.staff import StaffBrowser, create_user


@pytest.fixture
def agent(env: PortalEnvironment, database_url: str) -> Iterator[StaffBrowser]:
    create_user(database_url, "agent@example.com", "agent")
    browser = StaffBrowser(env.base_url)
    assert browser.sign_in(email="agent@example.com").status_code == 303
    yield browser
    browser.close()


def act(browser: StaffBrowser, reference: str, action: str, **data: str) -> httpx.Response:
    return browser.post_form(f"/support/requests/{reference}/{action}", data)


def seen_on(page: httpx.Response) -> str:
    found = re.search(r'name="seen" type="hidden" value="([0-9a-f]+)"', page.text)
    assert found is not None, page.text[:400]
    return found.group(1)


# --- confirmation ------------------------------------------------------------------------------


def test_the_refund_confirmation_shows_shopifys_suggested_amount_and_the_lines(
    env: PortalEnvironment, agent: StaffBrowser
) -> None:
    order = env.shop.order(lines=[(env.shop.mug, 2), (env.shop.shirt, 1)])
    request = file_request(env, order, resolution="refund", quantities={order.line_items[0].id: 2})
    page = agent.get(f"/support/requests/{request.reference}/confirm/refund")
    assert page.status_code == 200
    assert "Confirm the refund for" in page.text
    assert "Stoneware Mug" in page.text and "Linen" not in page.text
    assert re.search(r'id="confirmation-amount"><strong>Refund: \$48\.00', page.text)
    assert "Confirm: refund $48.00" in page.text
    assert resolutions_of(env, request.id) == []  # opening the confirmation moves nothing


def test_the_reorder_confirmation_shows_value_stock_and_address(
    env: PortalEnvironment, agent: StaffBrowser
) -> None:
    order = env.shop.order(lines=[(env.shop.mug, 2)])
    request = file_request(env, order, quantities={order.line_items[0].id: 2})
    page = agent.get(f"/support/requests/{request.reference}/confirm/reorder")
    assert page.status_code == 200
    assert "Replacement order value: $48.00" in page.text
    assert "in stock" in page.text
    assert "1 Main St" in page.text and "Springfield IL 62704, United States" in page.text
    assert "Confirm: create the paid order" in page.text


def test_a_refund_without_a_confirmation_is_refused(
    env: PortalEnvironment, agent: StaffBrowser
) -> None:
    request = file_request(env, env.shop.order(), resolution="refund")
    posted = act(agent, request.reference, "refund")
    assert posted.status_code == 400 and "Open the confirmation first" in posted.text
    assert resolutions_of(env, request.id) == []


def test_a_stale_confirmation_moves_no_money(env: PortalEnvironment, agent: StaffBrowser) -> None:
    order = env.shop.order()
    request = file_request(env, order, resolution="refund")
    seen = seen_on(agent.get(f"/support/requests/{request.reference}/confirm/refund"))
    assert act(agent, request.reference, "note", text="Carrier says delivered.").status_code == 303
    stale = act(agent, request.reference, "refund", seen=seen)
    assert stale.status_code == 409 and "changed after this confirmation" in stale.text
    assert resolutions_of(env, request.id) == []
    assert env.shop.world.order(SHOP, order.id).refunds == []  # type: ignore[union-attr]
    fresh = seen_on(agent.get(f"/support/requests/{request.reference}/confirm/refund"))
    assert act(agent, request.reference, "refund", seen=fresh).status_code == 303
    assert wait_until_settled(env, request.id).status == "succeeded"


def test_a_confirmation_of_a_closed_request_goes_back_to_it(
    env: PortalEnvironment, agent: StaffBrowser
) -> None:
    request = file_request(env, env.shop.order(), resolution="refund")
    assert act(agent, request.reference, "deny", reason="Delivered.").status_code == 303
    page = agent.get(f"/support/requests/{request.reference}/confirm/refund")
    assert page.status_code == 303
    assert page.headers["location"].endswith(f"/support/requests/{request.reference}")
    assert agent.get(f"/support/requests/{request.reference}/confirm/nothing").status_code == 404


# --- alternative reorders ----------------------------------------------------------------------


def record(agent: StaffBrowser, reference: str, order_name: str) -> httpx.Response:
    return act(
        agent,
        reference,
        "alternative",
        order_name=order_name,
        description="Linen shirt instead",
        amount="58.00",
    )


def field_error(page: httpx.Response) -> str:
    found = re.search(r'<p class="field-error" id="order_name-error">([^<]*)</p>', page.text)
    assert found is not None, "no message beside the order number"
    return found.group(1)


def test_another_customers_earlier_order_is_refused_beside_the_field(
    env: PortalEnvironment, agent: StaffBrowser
) -> None:
    request = file_request(env, env.shop.order(lines=[(env.shop.lamp, 1)]))
    foreign = env.shop.order(email="sam@example.com", lines=[(env.shop.shirt, 1)])
    refused = record(agent, request.reference, foreign.name)
    assert refused.status_code == 409
    assert "before this request was filed" in field_error(refused)
    assert resolutions_of(env, request.id) == []
    assert load_request(env, request.id).status == RequestStatus.SUBMITTED


def test_another_customers_later_order_without_the_reference_is_refused(
    env: PortalEnvironment, agent: StaffBrowser
) -> None:
    request = file_request(env, env.shop.order(lines=[(env.shop.lamp, 1)]))
    foreign = env.shop.order(email="sam@example.com", created_days_ago=-0.001)
    refused = record(agent, request.reference, foreign.name)
    assert refused.status_code == 409
    assert "belongs to another customer" in field_error(refused)
    assert request.reference in field_error(refused)
    assert resolutions_of(env, request.id) == []


def test_a_company_order_carrying_the_reference_is_recorded_but_not_named_to_the_shopper(
    env: PortalEnvironment, agent: StaffBrowser
) -> None:
    request = file_request(env, env.shop.order(lines=[(env.shop.lamp, 1)]))
    bought = env.shop.order(
        email="cards@protection.example",
        created_days_ago=-0.001,
        note=f"Replacement for {request.reference}",
    )
    assert record(agent, request.reference, bought.name).status_code == 303
    email = env.wait_for_email("jane@example.com", "we ordered your replacement")
    assert bought.name not in email.text and bought.name not in email.subject
    with httpx.Client(follow_redirects=True, timeout=30) as shopper:
        status_page = shopper.get(re.findall(r"https?://\S+/s/\S+", email.text)[0])
    assert "Your replacement was ordered." in status_page.text
    assert bought.name not in status_page.text


def test_the_customers_own_later_order_is_named_and_cannot_be_used_twice(
    env: PortalEnvironment, agent: StaffBrowser
) -> None:
    first = file_request(env, env.shop.order(lines=[(env.shop.lamp, 1)]))
    second = file_request(env, env.shop.order(lines=[(env.shop.lamp, 1)]))
    bought = env.shop.order(created_days_ago=-0.001, tags=[second.reference.lower()])
    assert record(agent, first.reference, bought.name).status_code == 303
    env.wait_for_email("jane@example.com", f"your replacement order {bought.name}")
    again = record(agent, second.reference, bought.name)
    assert again.status_code == 409
    assert f"already recorded for request {first.reference}" in field_error(again)
    assert resolutions_of(env, second.id) == []


def test_a_confirmation_shopify_cannot_price_offers_no_button(
    env: PortalEnvironment, agent: StaffBrowser
) -> None:
    request = file_request(env, env.shop.order(), resolution="refund")
    env.shop.world.faults(SHOP).fail_next(status=503, times=100)
    try:
        page = agent.get(f"/support/requests/{request.reference}/confirm/refund")
    finally:
        env.shop.world.faults(SHOP).clear()
    assert page.status_code == 503
    assert "could not say what would happen" in page.text
    assert "Confirm: refund" not in page.text and 'name="seen"' not in page.text


def test_the_refund_confirmation_says_when_shopify_would_refund_fewer(
    env: PortalEnvironment, agent: StaffBrowser
) -> None:
    order = env.shop.order(lines=[(env.shop.mug, 2)])
    request = file_request(env, order, resolution="refund", quantities={order.line_items[0].id: 2})
    env.shop.world.add_refund(SHOP, order.id, line_items=[(order.line_items[0].id, 1)])
    page = agent.get(f"/support/requests/{request.reference}/confirm/refund")
    assert "Shopify would refund only 1: the rest was refunded already." in page.text
    assert "Refund: $24.00" in page.text
