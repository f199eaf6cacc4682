"""Installing the portal's app on a Shopify store through the authorization code grant, against
the sandbox Shopify over real HTTP: the happy path and every way a callback is refused."""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta

import pytest
from sqlalchemy import update

from portal.clock import utcnow
from portal.db import create_engine, session_factory
from portal.integrations.shopify.app_config import REQUESTED_SCOPES, WEBHOOK_TOPICS
from portal.stores.models import InstallState, TokenKind
from sandbox.webhooks import WebhookSender
from tests.helpers.environment import PortalEnvironment
from tests.helpers.factories import SEALER
from tests.helpers.staff import StaffBrowser, create_user
from tests.helpers.worker_process import wait_for
from tests.shopify_app.helpers import (
    APP_ID,
    NEW_SHOP,
    Installation,
    app_settings,
    query_of,
    register_app,
    signed_in_admin,
    signed_query,
    store_of,
    stores,
)

pytestmark = pytest.mark.settings(**app_settings())


@pytest.fixture
def admin(env: PortalEnvironment) -> StaffBrowser:
    register_app(env)
    browser = signed_in_admin(env)
    yield browser  # type: ignore[misc]
    browser.close()


def test_an_admin_installs_a_store_and_lands_on_its_settings(
    env: PortalEnvironment, admin: StaffBrowser
) -> None:
    install = Installation(env, admin)
    started = install.start()
    assert started.status_code == 303
    asked = query_of(install.authorize_url)
    assert install.authorize_url.startswith(env.settings.shopify_oauth_url.format(shop=NEW_SHOP))
    assert asked["client_id"] == APP_ID
    assert set(asked["scope"].split(",")) == REQUESTED_SCOPES
    assert asked["redirect_uri"] == f"{env.base_url}/shopify/callback"
    assert len(asked["state"]) >= 32
    cookie = started.headers["set-cookie"]
    assert "portal_install=" in cookie and "HttpOnly" in cookie and "Path=/shopify" in cookie

    install.consent()
    finished = install.finish()
    assert finished.status_code == 303, finished.text
    store = store_of(env)
    assert store is not None
    assert finished.headers["location"] == f"/support/stores/{store.slug}/settings"
    assert (store.name, store.currency, store.time_zone, store.support_email) == (
        "Juniper & Jay",
        "EUR",
        "Europe/Paris",
        "hello@juniper.example",
    )
    assert store.token_kind == TokenKind.EXPIRING.value
    assert store.scopes >= REQUESTED_SCOPES
    assert store.is_active and store.installed_at is not None
    token = SEALER.open(store.sealed_access_token)
    assert token not in store.sealed_access_token
    assert env.shop.world.access_token(NEW_SHOP, token) is not None
    assert store.sealed_refresh_token is not None
    assert store.access_token_expires_at is not None
    left = store.access_token_expires_at - utcnow()
    assert timedelta(minutes=55) < left <= timedelta(hours=1)

    def subscribed() -> set[tuple[str, str]]:
        return {(s.topic, s.callback_url) for s in env.shop.world.subscriptions(NEW_SHOP, APP_ID)}

    wanted = {(topic, f"{env.base_url}/webhooks/shopify") for topic in WEBHOOK_TOPICS}
    wait_for(lambda: subscribed() == wanted, timeout=15, what="webhook subscriptions")


def test_a_callback_used_twice_is_refused_the_second_time(
    env: PortalEnvironment, admin: StaffBrowser
) -> None:
    install = Installation(env, admin)
    assert install.run().status_code == 303
    version = store_of(env).token_version  # type: ignore[union-attr]
    again = install.finish()
    assert again.status_code == 400
    assert "already used" in again.text
    assert store_of(env).token_version == version  # type: ignore[union-attr]


def test_a_forged_signature_is_refused_and_nothing_is_stored(
    env: PortalEnvironment, admin: StaffBrowser
) -> None:
    install = Installation(env, admin)
    install.start()
    params = query_of(install.consent())
    params["hmac"] = "0" * 64
    answer = admin.client.get("/shopify/callback", params=params)
    assert answer.status_code == 400
    assert "not signed by Shopify" in answer.text
    assert store_of(env) is None


def test_a_callback_in_another_browser_is_refused(
    env: PortalEnvironment, admin: StaffBrowser
) -> None:
    install = Installation(env, admin)
    install.start()
    install.consent()
    other = StaffBrowser(env.base_url)
    try:
        answer = Installation(env, other).finish(install.callback_url)
    finally:
        other.close()
    assert answer.status_code == 400
    assert "another browser" in answer.text
    assert store_of(env) is None


def test_a_state_made_for_one_shop_does_not_install_another(
    env: PortalEnvironment, admin: StaffBrowser
) -> None:
    install = Installation(env, admin)
    install.start()
    params = query_of(install.consent())
    params.pop("hmac")
    params["shop"] = env.shop.world.shops()[0].domain  # signed, but for the other shop
    answer = admin.client.get(f"/shopify/callback?{signed_query(params)}")
    assert answer.status_code == 400
    assert "another store" in answer.text
    assert store_of(env) is None


def test_an_expired_state_is_refused(env: PortalEnvironment, admin: StaffBrowser) -> None:
    install = Installation(env, admin)
    install.start()
    install.consent()

    async def age() -> None:
        engine = create_engine(env.settings.database_url)
        try:
            async with session_factory(engine)() as db, db.begin():
                await db.execute(update(InstallState).values(expires_at=utcnow()))
        finally:
            await engine.dispose()

    asyncio.run(age())
    answer = install.finish()
    assert answer.status_code == 400
    assert "expired" in answer.text
    assert store_of(env) is None


def test_declined_consent_stores_nothing(env: PortalEnvironment, admin: StaffBrowser) -> None:
    install = Installation(env, admin)
    install.start()
    install.consent("deny")
    answer = install.finish()
    assert answer.status_code == 400
    assert "declined" in answer.text
    assert store_of(env) is None


def test_a_failed_exchange_stores_nothing(env: PortalEnvironment, admin: StaffBrowser) -> None:
    install = Installation(env, admin)
    install.start()
    params = query_of(install.consent())
    params.pop("hmac")
    params["code"] = "not-a-code-shopify-gave"
    answer = admin.client.get(f"/shopify/callback?{signed_query(params)}")
    assert answer.status_code == 400
    assert "did not hand over access" in answer.text
    assert store_of(env) is None


def test_too_little_access_granted_is_refused(env: PortalEnvironment, admin: StaffBrowser) -> None:
    install = Installation(env, admin)
    install.start()
    install.consent(scope="read_orders,read_products")
    answer = install.finish()
    assert answer.status_code == 400
    assert "write_orders" in answer.text
    assert store_of(env) is None


def test_an_install_link_starts_the_grant_and_only_admins_use_the_connect_form(
    env: PortalEnvironment,
) -> None:
    register_app(env)
    create_user(env.settings.database_url, "agent@example.com", "agent")
    agent = StaffBrowser(env.base_url)
    try:
        agent.sign_in("agent@example.com")
        assert agent.get("/support/stores/connect").status_code == 403
        form = {"csrf_token": agent.csrf(), "shop": NEW_SHOP}
        assert agent.client.post("/support/stores/connect", data=form).status_code == 403
    finally:
        agent.close()
    anonymous = StaffBrowser(env.base_url)
    try:
        assert anonymous.get("/support/stores/connect").status_code == 303  # to sign in
        # The app's install link: Shopify's consent page decides; nothing is stored before.
        plain = anonymous.get(f"/shopify/install?shop={NEW_SHOP}")
        assert plain.status_code == 303
        assert query_of(plain.headers["location"])["client_id"] == APP_ID
        assert anonymous.get("/shopify/install").status_code == 400  # which shop?
        launch = {"shop": NEW_SHOP, "timestamp": str(int(time.time()))}
        from_shopify = anonymous.get(f"/shopify/install?{signed_query(launch)}")
        assert from_shopify.status_code == 303
        forged = anonymous.get(f"/shopify/install?{signed_query(launch, 'guessed')}")
        assert forged.status_code == 400
        assert store_of(env) is None
    finally:
        anonymous.close()


@pytest.mark.parametrize("shop", ["evil.example", "juniper.myshopify.com.evil.example", "a b"])
def test_an_install_for_something_not_a_shop_is_refused(
    env: PortalEnvironment, admin: StaffBrowser, shop: str
) -> None:
    form = {"csrf_token": admin.csrf(), "shop": shop}
    answer = admin.client.post("/support/stores/connect", data=form)
    assert answer.status_code == 400
    assert "myshopify.com" in answer.text
    assert len(stores(env)) == 1


def test_uninstalling_then_installing_again_brings_the_store_back(
    env: PortalEnvironment, admin: StaffBrowser
) -> None:
    deliveries = WebhookSender(env.shop.world).start()  # to each app's subscriptions
    assert Installation(env, admin).run().status_code == 303
    first = store_of(env)
    assert first is not None
    wait_for(
        lambda: len(env.shop.world.subscriptions(NEW_SHOP, APP_ID)) == len(WEBHOOK_TOPICS),
        timeout=15,
        what="subscriptions",
    )
    env.shop.world.uninstall(NEW_SHOP, APP_ID)
    wait_for(lambda: not store_of(env).is_active, timeout=15, what="app/uninstalled")  # type: ignore[union-attr]
    assert Installation(env, admin).run().status_code == 303
    again = store_of(env)
    assert again is not None and again.is_active
    assert again.id == first.id and again.slug == first.slug
    assert SEALER.open(again.sealed_access_token) != SEALER.open(first.sealed_access_token)
    deliveries.stop()
