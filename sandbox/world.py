"""Everything the sandbox holds in one process: sandbox Shopify, sandbox Corso, the mailbox,
and what the demo seeded (so /sandbox can show visitors what to try)."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING
from urllib.parse import urlencode

from starlette.datastructures import Secret

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
    base_url: str  # the portal's: its app URL, install callback and webhook address
    stores: list[StoreSpec] = field(default_factory=list)
    accounts: list[DemoAccount] = field(default_factory=list)
    new_stores: list[NewStore] = field(default_factory=list)
    app_client_id: str | None = None  # the portal's Shopify app, as the sandbox knows it
    # Where the sandbox answers: the portal's own address in the demo (mounted at /sandbox),
    # its own server's when it runs as an outside service (``portal sandbox``).
    sandbox_url: str | None = None

    @property
    def services_url(self) -> str:
        return self.sandbox_url or self.base_url

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
        template = str(self.portal_settings()["shopify_endpoint"])
        return template.format(shop=shop_domain, version=api_version)

    def portal_settings(self, *, smtp_port: int | None = None) -> dict[str, object]:
        """The portal's settings (``Settings`` field names) that point it at this sandbox: its
        Shopify endpoints and app, its Corso, and its mail sink when ``smtp_port`` is given."""
        services = self.services_url
        found: dict[str, object] = {
            "shopify_endpoint": (
                f"{services}/sandbox/shopify/{{shop}}/admin/api/{{version}}/graphql.json"
            ),
            "shopify_oauth_url": f"{services}/sandbox/shopify/{{shop}}/admin/oauth",
            "corso_api_url": self.corso_api_url,
            "corso_auth_url": self.corso_auth_url,
        }
        app = self.shopify.app(self.app_client_id) if self.app_client_id else None
        if app is not None:
            found["shopify_client_id"] = app.client_id
            found["shopify_client_secret"] = Secret(app.client_secret)
        if smtp_port is not None:
            found["smtp_host"] = "127.0.0.1"
            found["smtp_port"] = smtp_port
        return found

    @property
    def corso_api_url(self) -> str:
        return f"{self.services_url}/sandbox/corso/v1"

    @property
    def corso_auth_url(self) -> str:
        return f"{self.services_url}/sandbox/corso/oauth/token"
