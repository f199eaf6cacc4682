"""Everything the sandbox holds in one process: sandbox Shopify, sandbox Corso, the mailbox,
and what the demo seeded (so /sandbox can show visitors what to try)."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING
from urllib.parse import urlencode

from portal.integrations.shopify.oauth import query_signature
from sandbox.mailbox import Mailbox

if TYPE_CHECKING:
    from portal.stores.service import StoreSpec
    from sandbox.corso import CorsoWorld
    from sandbox.shopify.state import ShopifyWorld


@dataclass(frozen=True)
class DemoAccount:
    """A staff account the demo creates, shown on /sandbox so visitors can sign in."""

    email: str
    role: str
    store_slug: str | None
    password: str


@dataclass(frozen=True)
class NewStore:
    """A demo shop the portal does not know until a visitor installs the portal app on it."""

    name: str
    slug: str
    shop_domain: str
    protection_variant_ids: list[str]


@dataclass
class SandboxWorld:
    shopify: ShopifyWorld
    corso: CorsoWorld
    mailbox: Mailbox
    base_url: str
    stores: list[StoreSpec] = field(default_factory=list)
    accounts: list[DemoAccount] = field(default_factory=list)
    new_stores: list[NewStore] = field(default_factory=list)
    app_client_id: str | None = None  # the portal's Shopify app, as the sandbox knows it

    def install_url(self, shop_domain: str) -> str:
        """Where Shopify's admin sends a merchant who opens the portal app: the app's URL with
        a launch query signed by the app's secret, as Shopify signs it."""
        launch = {"shop": shop_domain, "timestamp": str(int(time.time()))}
        app = self.shopify.app(self.app_client_id) if self.app_client_id else None
        if app is None:
            return f"{self.base_url}/shopify/install?{urlencode(launch)}"
        signature = query_signature(list(launch.items()), app.client_secret)
        return f"{self.base_url}/shopify/install?{urlencode({**launch, 'hmac': signature})}"

    def shopify_endpoint(self, shop_domain: str, api_version: str) -> str:
        return f"{self.base_url}/sandbox/shopify/{shop_domain}/admin/api/{api_version}/graphql.json"

    @property
    def corso_api_url(self) -> str:
        return f"{self.base_url}/sandbox/corso/v1"

    @property
    def corso_auth_url(self) -> str:
        return f"{self.base_url}/sandbox/corso/oauth/token"
