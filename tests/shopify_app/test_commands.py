"""``portal stores connect`` (client credentials, the app's own organisation) and
``portal stores sync-webhooks`` as an operator runs them: the real command against the sandbox."""

from __future__ import annotations

import subprocess
import sys

import pytest

from portal.integrations.shopify.app_config import WEBHOOK_TOPICS
from portal.stores.models import TokenKind
from tests.helpers.environment import PortalEnvironment
from tests.helpers.factories import SEALER
from tests.helpers.staff import StaffBrowser
from tests.helpers.worker_process import REPOSITORY
from tests.shopify_app.helpers import (
    APP_ID,
    APP_SECRET,
    NEW_SHOP,
    Installation,
    app_settings,
    register_app,
    signed_in_admin,
    store_of,
)

pytestmark = pytest.mark.settings(run_worker=False, **app_settings())


def portal_stores(env: PortalEnvironment, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603 - our own interpreter and module
        [sys.executable, "-m", "portal.cli", "stores", *args],
        env=env.settings.environ(),
        cwd=REPOSITORY,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_a_store_of_the_own_organisation_is_connected_with_client_credentials(
    env: PortalEnvironment,
) -> None:
    world = env.shop.world
    world.register_app(
        APP_ID,
        APP_SECRET,
        redirect_urls=(f"{env.base_url}/shopify/callback",),
        organisation_shops=(NEW_SHOP,),
        scopes=("read_orders", "write_orders", "read_products", "read_inventory", "read_customers"),
    )
    register_app(env)  # the shop itself
    done = portal_stores(env, "connect", "--shop", NEW_SHOP)
    assert done.returncode == 0, done.stderr
    store = store_of(env)
    assert store is not None and store.token_kind == TokenKind.CLIENT_CREDENTIALS.value
    token = SEALER.open(store.sealed_access_token)
    assert token not in done.stdout + done.stderr
    assert world.access_token(NEW_SHOP, token) is not None
    assert store.access_token_expires_at is not None and store.sealed_refresh_token is None


def test_a_shop_outside_the_organisation_is_refused_in_one_line(env: PortalEnvironment) -> None:
    register_app(env)
    refused = portal_stores(env, "connect", "--shop", NEW_SHOP)
    assert refused.returncode == 2
    assert refused.stderr.count("\n") == 1 and "Traceback" not in refused.stderr
    assert "client credentials" in refused.stderr
    assert store_of(env) is None


def test_sync_webhooks_repairs_the_subscriptions_and_changes_nothing_when_run_again(
    env: PortalEnvironment,
) -> None:
    register_app(env)
    admin: StaffBrowser = signed_in_admin(env)
    try:
        assert Installation(env, admin).run().status_code == 303
    finally:
        admin.close()
    world = env.shop.world
    hook = f"{env.base_url}/webhooks/shopify"
    world.create_subscription(
        NEW_SHOP, APP_ID, "ORDERS_CREATE", "https://old.example/hooks", api_version="2025-04"
    )
    first = portal_stores(env, "sync-webhooks", store_of(env).slug)  # type: ignore[union-attr]
    assert first.returncode == 0, first.stderr
    assert "5 subscribed, 1 removed" in first.stdout
    assert {(s.topic, s.callback_url) for s in world.subscriptions(NEW_SHOP, APP_ID)} == {
        (topic, hook) for topic in WEBHOOK_TOPICS
    }
    again = portal_stores(env, "sync-webhooks")
    assert again.returncode == 0, again.stderr
    assert "0 subscribed, 0 removed, 5 already right" in again.stdout
