"""What a running portal process holds: database, shared HTTP client, signer, mailer, upload
storage and the outside-service clients. The web app's lifespan and ``portal worker`` both open
one; job handlers receive it as ``JobContext.services``. It keeps one Corso client per set of
credentials for its lifetime, so their token and rate-limit window are shared by every request."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

import anyio
import httpx
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from portal import links
from portal.db import create_engine, pool_options, session_factory
from portal.errors import StoreInactive
from portal.integrations.corso.client import CorsoClient
from portal.integrations.shopify import ShopifyClient
from portal.integrations.shopify.client import TokenSource
from portal.integrations.shopify.oauth import ShopifyOAuth
from portal.mail.sender import Mailer
from portal.recent_reads import RecentReads
from portal.sealing import Sealer
from portal.settings import Settings
from portal.signing import Signer
from portal.storage import Storage, open_storage
from portal.stores.cache import StoreCache
from portal.stores.models import Store
from portal.stores.tokens import StoreTokens

PHOTO_DECODERS = 2
CorsoCredentials = tuple[str, str, tuple[tuple[str, str], ...]]  # id, secret, store query


@dataclass
class Runtime:
    settings: Settings
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    http: httpx.AsyncClient
    signer: Signer
    sealer: Sealer
    mailer: Mailer
    storage: Storage  # shoppers' photos and store logos (portal.storage)
    photo_decoding: anyio.CapacityLimiter  # decoded photos are large: a few at a time
    corso_clients: dict[CorsoCredentials, CorsoClient] = field(default_factory=dict)
    recent_reads: RecentReads = field(default_factory=RecentReads)  # the request page's
    stores: StoreCache = field(default_factory=StoreCache)  # rows by slug, for the shopper pages

    def status_link(self, store: Store, request_id: int) -> str:
        """The shopper's signed link to a request's status page, for emails."""
        return links.status_link(
            self.signer,
            base_url=self.settings.base_url,
            store_slug=store.slug,
            request_id=request_id,
        )

    @property
    def shopify_oauth(self) -> ShopifyOAuth | None:
        """The portal's Shopify app, when one is configured (client id and secret)."""
        if not self.settings.has_shopify_app:
            return None
        return ShopifyOAuth(
            self.http,
            client_id=self.settings.shopify_client_id,
            client_secret=str(self.settings.shopify_client_secret),
            oauth_url=self.settings.shopify_oauth_url,
        )

    def shopify(self, store: Store) -> ShopifyClient:
        """A client for one store's shop; cheap, built on the shared HTTP client. An expiring
        token is refreshed as it needs to be (``portal.stores.tokens``). A store that
        uninstalled the app gets none (``StoreInactive``): its token is revoked anyway, and
        every job or page that would call Shopify for it stops here with that reason."""
        if not store.is_active:
            raise StoreInactive(store.name, store.support_email)
        tokens = StoreTokens(
            store, sessions=self.sessions, sealer=self.sealer, oauth=self.shopify_oauth
        )
        return self.shopify_with_token(store.shop_domain, tokens, store.api_version)

    def shopify_with_token(
        self, shop_domain: str, token: str | TokenSource, api_version: str
    ) -> ShopifyClient:
        """A client for one shop with ``token`` (a store being installed has no row yet)."""
        return ShopifyClient(
            self.http,
            shop_domain=shop_domain,
            access_token=token,
            api_version=api_version,
            endpoint=self.settings.shopify_endpoint,
            max_retries=self.settings.shopify_max_retries,
            max_wait=self.settings.shopify_max_wait,
        )

    def corso(self, store: Store) -> CorsoClient | None:
        """The Corso client of the store's own credentials; None when it has none."""
        secret = self.sealer.open_optional(store.sealed_corso_client_secret)
        if not (store.corso_client_id and secret):
            return None
        store_query = _corso_store_query(self.settings, store)
        key = (store.corso_client_id, secret, tuple(store_query.items()))
        if key not in self.corso_clients:
            self.corso_clients[key] = CorsoClient(
                self.http,
                api_url=self.settings.corso_api_url,
                auth_url=self.settings.corso_auth_url,
                client_id=store.corso_client_id,
                client_secret=secret,
                audience=self.settings.corso_audience,
                store_query=store_query,
                max_retries=self.settings.corso_max_retries,
                timeout=self.settings.corso_timeout,
            )
        return self.corso_clients[key]


@asynccontextmanager
async def open_runtime(settings: Settings) -> AsyncIterator[Runtime]:
    engine = create_engine(settings.database_url, **pool_options(settings))
    timeout = httpx.Timeout(settings.shopify_timeout)
    limits = httpx.Limits(max_connections=100, max_keepalive_connections=20)
    try:
        with open_storage(settings) as storage:
            async with httpx.AsyncClient(timeout=timeout, limits=limits) as http:
                yield Runtime(
                    settings=settings,
                    engine=engine,
                    sessions=session_factory(engine),
                    http=http,
                    signer=Signer(str(settings.secret_key)),
                    sealer=Sealer.from_text(str(settings.encryption_keys)),
                    mailer=Mailer(settings),
                    storage=storage,
                    photo_decoding=anyio.CapacityLimiter(PHOTO_DECODERS),
                )
    finally:
        await engine.dispose()


def _corso_store_query(settings: Settings, store: Store) -> dict[str, str]:
    """Corso's contract names no store parameter (credentials belong to one store); one is sent
    only when ``corso_store_param`` names it and the store has a Corso id."""
    if not settings.corso_store_param or store.corso_store_id is None:
        return {}
    return {settings.corso_store_param: str(store.corso_store_id)}
