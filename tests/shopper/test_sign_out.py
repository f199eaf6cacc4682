"""A shopper's session ends for real: on sign-out (a copied cookie opens nothing more) and
at its absolute lifetime, however busy."""

from __future__ import annotations

import re
import time

import httpx

from portal.shopper.models import SESSION_LIFETIME
from portal.signing import Purpose, Signer
from tests.helpers.environment import PortalEnvironment
from tests.helpers.portal import TEST_SECRET
from tests.helpers.shopper_flow import ShopperFlow, csrf_of

SIGN_OUT = re.compile(r'<form method="post" action="([^"]+/sign-out)"')


def test_signing_out_ends_the_session_even_for_a_copied_cookie(
    env: PortalEnvironment, shopper: ShopperFlow
) -> None:
    order = env.shop.order()
    form = shopper.verify(order.name, "jane@example.com")
    assert form.status_code == 200 and "Sign out" in form.text
    action = SIGN_OUT.search(form.text)
    assert action, "the request page offers no sign-out"
    copied = shopper.client.cookies.get("portal_shopper")
    assert copied

    signed_out = shopper.client.post(action.group(1), data={"csrf_token": csrf_of(form)})
    assert signed_out.status_code == 200 and signed_out.url.path == f"/{env.slug}/"
    assert "Sign out" not in signed_out.text

    with httpx.Client(base_url=env.base_url, cookies={"portal_shopper": copied}) as thief:
        again = thief.get(f"/{env.slug}/request")
    assert "Sign out" not in again.text
    assert again.status_code != 200 or 'name="issue_type"' not in again.text


def test_a_session_ends_at_its_absolute_lifetime_however_busy(
    env: PortalEnvironment, shopper: ShopperFlow
) -> None:
    order = env.shop.order()
    shopper.verify(order.name, "jane@example.com")
    store_id = Signer(TEST_SECRET).unsign(
        Purpose.SHOPPER_SESSION, shopper.client.cookies["portal_shopper"]
    )["s"]

    def page_with(started: float) -> httpx.Response:
        payload = {"s": store_id, "o": order.gid, "i": "a" * 22, "t": int(started)}
        cookie = Signer(TEST_SECRET).sign(Purpose.SHOPPER_SESSION, payload)  # signed just now
        with httpx.Client(base_url=env.base_url, cookies={"portal_shopper": cookie}) as browser:
            return browser.get(f"/{env.slug}/request")

    assert 'name="issue_type"' in page_with(time.time() - 60).text
    too_old = time.time() - SESSION_LIFETIME.total_seconds() - 60
    assert 'name="issue_type"' not in page_with(too_old).text
