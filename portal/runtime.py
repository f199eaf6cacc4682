"""What a running portal process holds: database, shared HTTP client, signer, mailer and the
outside-service clients. The web app's lifespan and ``portal worker`` both open one; job
handlers receive it as ``JobContext.services``."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import anyio
import httpx
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from portal import links
from portal.db import create_engine, session_factory
from portal.integrations.corso import CorsoClient
from portal.integrations.shopify import ShopifyClient
from portal.mail.sender import Mailer
from portal.settings import Settings
from portal.signing import Signer
from portal.stores.models import Store

PHOTO_DECODERS = 2


@dataclass
class Runtime:
    settings: Settings
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    http: httpx.AsyncClient
    signer: Signer
    mailer: Mailer
    corso: CorsoClient
    photo_decoding: anyio.CapacityLimiter  # decoded photos are large: a few at a time

    def status_link(self, store: Store, request_id: int) -> str:
        """The shopper's signed link to a request's status page, for emails."""
        return links.status_link(
            self.signer,
            base_url=self.settings.base_url,
            store_slug=store.slug,
            request_id=request_id,
        )

    def shopify(self, store: Store) -> ShopifyClient:
        """A client for one store's shop; cheap, built on the shared HTTP client."""
        return ShopifyClient(
            self.http,
            shop_domain=store.shop_domain,
            access_token=store.access_token,
            api_version=store.api_version,
            endpoint=self.settings.shopify_endpoint,
            max_retries=self.settings.shopify_max_retries,
            max_wait=self.settings.shopify_max_wait,
        )


@asynccontextmanager
async def open_runtime(settings: Settings) -> AsyncIterator[Runtime]:
    engine = create_engine(settings.database_url)
    timeout = httpx.Timeout(settings.shopify_timeout)
    limits = httpx.Limits(max_connections=100, max_keepalive_connections=20)
    try:
        async with httpx.AsyncClient(timeout=timeout, limits=limits) as http:
            yield Runtime(
                settings=settings,
                engine=engine,
                sessions=session_factory(engine),
                http=http,
                signer=Signer(str(settings.secret_key)),
                mailer=Mailer(settings),
                corso=_corso_client(settings, http),
                photo_decoding=anyio.CapacityLimiter(PHOTO_DECODERS),
            )
    finally:
        await engine.dispose()


def _corso_client(settings: Settings, http: httpx.AsyncClient) -> CorsoClient:
    return CorsoClient(
        http,
        api_url=settings.corso_api_url,
        auth_url=settings.corso_auth_url,
        client_id=settings.corso_client_id,
        client_secret=str(settings.corso_client_secret),
        audience=settings.corso_audience,
        max_retries=settings.corso_max_retries,
        timeout=settings.corso_timeout,
    )
