"""The request page keeps its Shopify and Corso reads for a minute: views in between show them
with their age and cost no Shopify points, the page's Refresh reads now (as a link and as an
htmx swap), and once the portal's own refund settles the page reads the order again."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import httpx
import pytest

from sandbox.corso.samples import bare_claim
from tests.helpers.environment import CORSO_STORE, SHOP, PortalEnvironment
from tests.helpers.requests import file_request, wait_until_settled
from tests.helpers.staff import StaffBrowser, create_user


@pytest.fixture
def agent(env: PortalEnvironment, database_url: str) -> Iterator[StaffBrowser]:
    create_user(database_url, "agent@example.com", "agent")
    browser = StaffBrowser(env.base_url)
    assert browser.sign_in(email="agent@example.com").status_code == 303
    yield browser
    browser.close()


def page(agent: StaffBrowser, reference: str, **params: str) -> httpx.Response:
    answer = agent.client.get(f"/support/requests/{reference}", params=params)
    assert answer.status_code == 200
    return answer


def test_views_within_a_minute_reuse_the_reads_and_refresh_reads_now(
    env: PortalEnvironment, agent: StaffBrowser
) -> None:
    order = env.shop.order(lines=[(env.shop.mug, 2), (env.shop.shirt, 1)])
    request = file_request(env, order)
    first = page(agent, request.reference)
    assert "Read from Shopify" in first.text and "Read from Corso" in first.text
    assert 'id="order-refresh"' in first.text and "?refresh=1" in first.text

    # The order and the claims change outside the portal: a view within the minute shows the
    # reads it kept (and spends nothing on the shop's bucket) ...
    env.shop.world.add_refund(
        SHOP, order.id, line_items=[(order.line_items[1].id, 1)], note="by hand"
    )
    claim = bare_claim(9101, store_id=CORSO_STORE, customer_email="jane@example.com")
    env.corso.add_claim(claim)
    env.shop.world.faults(SHOP).fail_next(status=503, times=100)  # any Shopify read would fail
    kept = page(agent, request.reference)
    assert "by hand" not in kept.text and claim["externalId"] not in kept.text
    assert "could not be reached" not in kept.text
    env.shop.world.faults(SHOP).clear()

    # ... and Refresh reads both now, as a plain link and as the htmx swap of the page's main.
    fresh = page(agent, request.reference, refresh="1")
    assert "by hand" in fresh.text and claim["externalId"] in fresh.text
    swapped = agent.client.get(
        f"/support/requests/{request.reference}",
        params={"refresh": "1"},
        headers={"HX-Request": "true", "HX-Target": "main"},
    )
    assert swapped.status_code == 200 and 'id="main"' in swapped.text


def test_a_failed_read_is_not_kept(env: PortalEnvironment, agent: StaffBrowser) -> None:
    request = file_request(env, env.shop.order())
    env.shop.world.faults(SHOP).fail_next(status=503, times=100)
    assert "could not be reached or refused" in page(agent, request.reference).text
    env.shop.world.faults(SHOP).clear()
    assert "could not be reached or refused" not in page(agent, request.reference).text


def test_the_portals_own_refund_is_shown_without_refresh(
    env: PortalEnvironment, agent: StaffBrowser
) -> None:
    order = env.shop.order()
    request = file_request(env, order, resolution="refund")
    before = page(agent, request.reference)
    assert "Refund" not in before.text.split('id="order-panel"')[1].split("</section>")[0]
    assert agent.confirm(request.reference, "refund").status_code == 303
    assert wait_until_settled(env, request.id).status == "succeeded"
    after = page(agent, request.reference)
    panel = after.text.split('id="order-panel"')[1].split("</section>")[0]
    assert "Refund" in panel and "refund for reorder request" in panel


def test_kept_reads_expire_after_a_minute() -> None:
    from portal.recent_reads import RecentReads

    now = [0.0]
    reads = RecentReads(keep_seconds=60, max_entries=2, clock=lambda: now[0])
    calls: list[str] = []

    async def fetch(value: str) -> str:
        calls.append(value)
        return value

    async def scenario() -> None:
        assert (await reads.read("a", lambda: fetch("a1")))[0] == "a1"
        now[0] = 59.0
        assert (await reads.read("a", lambda: fetch("a2")))[0] == "a1"
        now[0] = 60.5
        assert (await reads.read("a", lambda: fetch("a3")))[0] == "a3"
        await reads.read("b", lambda: fetch("b1"))
        await reads.read("c", lambda: fetch("c1"))  # at most two kept: "a" goes
        assert (await reads.read("a", lambda: fetch("a4")))[0] == "a4"

    asyncio.run(scenario())
    assert calls == ["a1", "a3", "b1", "c1", "a4"]
