"""The shopper's browser-less steps through a running portal, for every test here."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from sandbox.webhooks import WebhookSender
from tests.billing.portal_helpers import WEBHOOK_SECRET
from tests.helpers.environment import PortalEnvironment
from tests.helpers.shopper_flow import ShopperFlow


@pytest.fixture
def shopper(env: PortalEnvironment) -> Iterator[ShopperFlow]:
    flow = ShopperFlow(env)
    yield flow
    flow.close()


@pytest.fixture
def sender(env: PortalEnvironment) -> Iterator[WebhookSender]:
    """The sandbox shop's webhooks, sent to the portal as Shopify sends them (the module marks
    its settings with ``shopify_client_secret=Secret(WEBHOOK_SECRET)``, the app's secret)."""
    sender = WebhookSender(
        env.shop.world, url=env.base_url + "/webhooks/shopify", secret=WEBHOOK_SECRET
    ).start()
    yield sender
    sender.stop()
