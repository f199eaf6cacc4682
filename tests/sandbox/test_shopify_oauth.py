"""The sandbox's apps and OAuth over real HTTP: the consent page, the signed redirect, codes,
expiring tokens and their refresh, client credentials, and uninstalling."""

from __future__ import annotations

import base64
import hmac
from collections.abc import Iterator

import pytest

from sandbox.shopify import ShopifyWorld
from tests.sandbox.app_helpers import (
    APP_ID,
    APP_SECRET,
    REDIRECT,
    SCOPES,
    Install,
    WorldClock,
    admin,
    app_world,
    expected_hmac,
    query_of,
)
from tests.sandbox.shopify_helpers import DOMAIN, OTHER_DOMAIN, TOKEN

pytestmark = pytest.mark.e2e  # the sandbox is served on loopback (app_helpers.admin)


@pytest.fixture
def shop() -> Iterator[tuple[ShopifyWorld, WorldClock, Install]]:
    world, _, clock = app_world()
    with admin(world) as client:
        yield world, clock, Install(client, DOMAIN)


def test_the_consent_page_names_the_shop_and_every_scope_asked(
    shop: tuple[ShopifyWorld, WorldClock, Install],
) -> None:
    _, _, install = shop
    page = install.authorize(**{"grant_options[]": "per-user"})
    assert page.status_code == 200
    assert "Maple &amp; Moss" in page.text
    for scope in SCOPES.split(","):
        assert f"<code>{scope}</code>" in page.text
    assert page.text.count('<form method="post">') == 2
    assert 'value="approve"' in page.text and 'value="deny"' in page.text


@pytest.mark.parametrize(
    "params",
    [{"client_id": "someone-else"}, {"redirect_uri": "https://evil.example/callback"}],
)
def test_an_unknown_app_or_redirect_is_a_400_page(
    shop: tuple[ShopifyWorld, WorldClock, Install], params: dict[str, str]
) -> None:
    _, _, install = shop
    page = install.authorize(**params)
    assert page.status_code == 400
    assert "text/html" in page.headers["content-type"]


def test_approving_redirects_with_a_code_signed_as_shopify_documents(
    shop: tuple[ShopifyWorld, WorldClock, Install],
) -> None:
    world, _, install = shop
    answer = install.decide("approve", state="state & more")
    assert answer.status_code == 302
    location = answer.headers["location"]
    assert location.startswith(REDIRECT + "?")
    params = query_of(location)
    assert set(params) == {"code", "hmac", "host", "shop", "state", "timestamp"}
    assert hmac.compare_digest(params["hmac"], expected_hmac(params, APP_SECRET))
    assert params["hmac"] != expected_hmac(params, "another-secret")
    assert params["shop"] == DOMAIN and params["state"] == "state & more"
    padded = params["host"] + "=" * (-len(params["host"]) % 4)
    assert base64.b64decode(padded).decode() == f"{DOMAIN}/admin"
    assert int(params["timestamp"]) == int(world.now().timestamp())


def test_denying_redirects_with_access_denied(
    shop: tuple[ShopifyWorld, WorldClock, Install],
) -> None:
    _, _, install = shop
    answer = install.decide("deny")
    assert answer.status_code == 302
    assert query_of(answer.headers["location"]) == {
        "error": "access_denied",
        "shop": DOMAIN,
        "state": "n-1",
    }


def test_a_code_buys_one_non_expiring_token_with_the_scopes_asked(
    shop: tuple[ShopifyWorld, WorldClock, Install],
) -> None:
    _, clock, install = shop
    code = install.code(" read_orders, write_orders,read_orders ")
    first = install.token_request(code=code)
    assert first.status_code == 200
    assert set(first.json()) == {"access_token", "scope"}
    assert first.json()["scope"] == "read_orders,write_orders"
    again = install.token_request(code=code)
    assert again.status_code == 400 and again.json()["error"] == "invalid_grant"
    clock.advance(400 * 24 * 3600)
    assert install.graphql(first.json()["access_token"]).status_code == 200


def test_a_code_is_good_for_sixty_seconds(
    shop: tuple[ShopifyWorld, WorldClock, Install],
) -> None:
    _, clock, install = shop
    code = install.code()
    clock.advance(61)
    answer = install.token_request(code=code)
    assert answer.status_code == 400 and answer.json()["error"] == "invalid_grant"


def test_an_expiring_token_lasts_an_hour(shop: tuple[ShopifyWorld, WorldClock, Install]) -> None:
    _, clock, install = shop
    grant = install.grant(expiring=True)
    assert set(grant) == {
        "access_token",
        "scope",
        "expires_in",
        "refresh_token",
        "refresh_token_expires_in",
    }
    assert grant["expires_in"] == 3600 and grant["refresh_token_expires_in"] == 7_776_000
    assert install.graphql(grant["access_token"]).status_code == 200
    clock.advance(3600)
    expired = install.graphql(grant["access_token"])
    assert expired.status_code == 401
    assert expired.json()["errors"].startswith("[API] Invalid API key or access token")


def test_refreshing_rotates_the_refresh_token(
    shop: tuple[ShopifyWorld, WorldClock, Install],
) -> None:
    _, clock, install = shop
    first = install.grant(expiring=True)
    clock.advance(3000)
    second = install.token_request(grant_type="refresh_token", refresh_token=first["refresh_token"])
    assert second.status_code == 200
    fresh = second.json()
    assert fresh["refresh_token"] != first["refresh_token"]
    assert fresh["access_token"] != first["access_token"] and fresh["expires_in"] == 3600
    assert install.graphql(fresh["access_token"]).status_code == 200

    reused = install.token_request(grant_type="refresh_token", refresh_token=first["refresh_token"])
    assert reused.status_code == 400 and reused.json()["error"] == "invalid_grant"
    third = install.token_request(grant_type="refresh_token", refresh_token=fresh["refresh_token"])
    assert third.status_code == 200


def test_the_old_refresh_token_survives_until_the_new_access_token_is_used(
    shop: tuple[ShopifyWorld, WorldClock, Install],
) -> None:
    _, _, install = shop
    first = install.grant(expiring=True)
    lost = install.token_request(grant_type="refresh_token", refresh_token=first["refresh_token"])
    retried = install.token_request(
        grant_type="refresh_token", refresh_token=first["refresh_token"]
    )
    assert lost.status_code == 200 and retried.status_code == 200
    assert install.graphql(retried.json()["access_token"]).status_code == 200
    assert install.graphql(lost.json()["access_token"]).status_code == 401


def test_a_refresh_token_expires_after_ninety_days(
    shop: tuple[ShopifyWorld, WorldClock, Install],
) -> None:
    _, clock, install = shop
    grant = install.grant(expiring=True)
    clock.advance(7_776_000)
    late = install.token_request(grant_type="refresh_token", refresh_token=grant["refresh_token"])
    assert late.status_code == 400 and late.json()["error"] == "invalid_grant"


def test_client_credentials_only_for_the_apps_organisation_shops() -> None:
    world, _, clock = app_world()
    with admin(world) as client:
        ours = Install(client, OTHER_DOMAIN).token_request(grant_type="client_credentials")
        theirs = Install(client, DOMAIN).token_request(grant_type="client_credentials")
        assert ours.status_code == 200
        assert ours.json() == {
            "access_token": ours.json()["access_token"],
            "scope": "read_orders,read_products",
            "expires_in": 86399,
        }
        assert Install(client, OTHER_DOMAIN).graphql(ours.json()["access_token"]).status_code == 200
        assert theirs.status_code == 400
        clock.advance(86399)
        expired = Install(client, OTHER_DOMAIN).graphql(ours.json()["access_token"])
        assert expired.status_code == 401


def test_a_token_of_one_shop_does_not_open_another(
    shop: tuple[ShopifyWorld, WorldClock, Install],
) -> None:
    _, _, install = shop
    token = install.grant()["access_token"]
    other = Install(install.client, OTHER_DOMAIN)
    assert other.graphql(token).status_code == 401


def test_the_token_endpoint_refuses_bad_clients_and_requests(
    shop: tuple[ShopifyWorld, WorldClock, Install],
) -> None:
    _, _, install = shop
    code = install.code()
    wrong = install.token_request(code=code, client_secret="guess")
    assert wrong.status_code == 401 and wrong.json()["error"] == "invalid_client"
    missing = install.token_request()
    assert missing.status_code == 400 and missing.json()["error"] == "invalid_request"
    path = f"/{DOMAIN}/admin/oauth/access_token"
    as_json = {"client_id": APP_ID, "client_secret": APP_SECRET, "code": code}
    accepted = install.client.post(path, json=as_json)
    assert accepted.status_code == 200 and accepted.json()["scope"] == SCOPES


def test_uninstalling_revokes_the_apps_tokens_but_not_the_shops_own(
    shop: tuple[ShopifyWorld, WorldClock, Install],
) -> None:
    world, _, install = shop
    grant = install.grant(expiring=True)
    assert world.installed(DOMAIN, APP_ID)
    world.uninstall(DOMAIN, APP_ID)
    assert not world.installed(DOMAIN, APP_ID)
    assert install.graphql(grant["access_token"]).status_code == 401
    refresh = install.token_request(
        grant_type="refresh_token", refresh_token=grant["refresh_token"]
    )
    assert refresh.status_code == 400
    assert install.graphql(TOKEN).status_code == 200


def test_the_seeded_token_still_works_with_every_scope(
    shop: tuple[ShopifyWorld, WorldClock, Install],
) -> None:
    _, _, install = shop
    answer = install.graphql(TOKEN, "{ orders(first: 1) { nodes { id } } }")
    assert answer.status_code == 200 and "errors" not in answer.json()


def test_an_unknown_shop_has_no_oauth(shop: tuple[ShopifyWorld, WorldClock, Install]) -> None:
    _, _, install = shop
    nobody = Install(install.client, "nobody.myshopify.com")
    assert nobody.authorize().status_code == 404
    assert nobody.token_request(code="x").status_code == 404
