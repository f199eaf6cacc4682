"""Lookup limits hold when lookups are sent at once, over real HTTP against one portal."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import httpx

from tests.helpers.environment import PortalEnvironment
from tests.helpers.shopper_flow import csrf_of


def _at_once(env: PortalEnvironment, forms: list[dict[str, str]]) -> list[int]:
    clients = [httpx.Client(base_url=env.base_url, timeout=60) for _ in forms]
    pages = [client.get(f"/{env.slug}/") for client in clients]

    def send(n: int) -> int:
        data = {"csrf_token": csrf_of(pages[n]), **forms[n]}
        return clients[n].post(f"/{env.slug}/", data=data).status_code

    try:
        with ThreadPoolExecutor(max_workers=len(forms)) as pool:
            return list(pool.map(send, range(len(forms))))
    finally:
        for client in clients:
            client.close()


def test_lookups_sent_at_once_cannot_pass_the_per_address_limit(env: PortalEnvironment) -> None:
    forms = [{"order_number": f"#{9000 + n}", "email": f"s{n}@example.com"} for n in range(30)]
    statuses = _at_once(env, forms)
    assert set(statuses) == {303, 429}  # on to the code page, or refused
    assert statuses.count(303) <= 20


def test_lookups_of_one_order_sent_at_once_get_at_most_three_codes(
    env: PortalEnvironment,
) -> None:
    order = env.shop.order(email="jane@example.com")
    forms = [{"order_number": order.name, "email": "jane@example.com"} for _ in range(5)]
    assert set(_at_once(env, forms)) <= {303, 429}
    time.sleep(1.0)  # the worker sends queued codes within a fraction of a second
    codes = [
        e for e in env.mailbox.all() if e.to == "jane@example.com" and "is your code" in e.subject
    ]
    assert 1 <= len(codes) <= 3
