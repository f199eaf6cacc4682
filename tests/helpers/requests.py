"""Filing requests and driving resolutions directly through the services, for support tests
that do not need to replay the shopper's pages."""

from __future__ import annotations

import asyncio
import secrets
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import TypeVar

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from portal.clock import utcnow
from portal.db import create_engine, session_factory
from portal.integrations.shopify import ShopifyClient
from portal.reorders import service as reorders
from portal.reorders.models import IssueType, PreferredResolution, ReorderRequest
from portal.reorders.service import PhotoRecord, RequestDraft
from portal.stores.models import Store
from portal.support.models import Resolution as ResolutionRow
from sandbox.shopify.state import Order as SandboxOrder
from tests.helpers.environment import PortalEnvironment
from tests.helpers.factories import SEALER, address_form

T = TypeVar("T")

ADDRESS = address_form()


def in_database(env: PortalEnvironment, work: Callable[[AsyncSession], Awaitable[T]]) -> T:
    """Run ``work`` with a session on the environment's database, from synchronous tests."""

    async def run() -> T:
        engine = create_engine(env.settings.database_url)
        try:
            async with session_factory(engine)() as db:
                return await work(db)
        finally:
            await engine.dispose()

    return asyncio.run(run())


def shopify_client(env: PortalEnvironment, http: httpx.AsyncClient, store: Store) -> ShopifyClient:
    return ShopifyClient(
        http,
        shop_domain=store.shop_domain,
        access_token=SEALER.open(store.sealed_access_token),
        api_version=store.api_version,
        endpoint=env.settings.shopify_endpoint,
    )


def file_request(
    env: PortalEnvironment,
    order: SandboxOrder,
    *,
    resolution: str = "reorder",
    quantities: dict[int, int] | None = None,
    issue: IssueType = IssueType.LOST,
    address: dict[str, str] | None = None,
    photos: Sequence[PhotoRecord] = (),
    device_key: str | None = None,
) -> ReorderRequest:
    """A submitted request for sandbox ``order`` (line item id -> quantity; default: 1 of the
    first line); a reorder ships to ``address`` (default: Jane Doe's), written as given, as if
    an older form had accepted it (another resolution keeps ``address`` only when given)."""

    async def work(db: AsyncSession) -> ReorderRequest:
        store = (await db.scalars(select(Store).where(Store.slug == env.slug))).one()
        async with httpx.AsyncClient() as http:
            fetched = await shopify_client(env, http, store).get_order(order_id=order.gid)
        assert fetched is not None
        chosen = quantities or {order.line_items[0].id: 1}
        draft = RequestDraft(
            submit_key=secrets.token_urlsafe(16),
            issue_type=issue,
            quantities={f"gid://shopify/LineItem/{k}": v for k, v in chosen.items()},
            resolution=PreferredResolution(resolution),
            shipping_address=address or (ADDRESS if resolution == "reorder" else None),
            photos=tuple(photos),
        )
        filed, _ = await reorders.file_reorder(
            db, store=store, order=fetched, draft=draft, now=utcnow(), device_key=device_key
        )
        await db.commit()
        return filed

    return in_database(env, work)


def load_request(env: PortalEnvironment, request_id: int) -> ReorderRequest:
    async def work(db: AsyncSession) -> ReorderRequest:
        found = await db.scalar(
            select(ReorderRequest)
            .where(ReorderRequest.id == request_id)
            .options(selectinload(ReorderRequest.events), selectinload(ReorderRequest.items))
        )
        assert found is not None
        return found

    return in_database(env, work)


def resolutions_of(env: PortalEnvironment, request_id: int) -> list[ResolutionRow]:
    async def work(db: AsyncSession) -> list[ResolutionRow]:
        rows = await db.scalars(
            select(ResolutionRow)
            .where(ResolutionRow.request_id == request_id)
            .order_by(ResolutionRow.id)
        )
        return list(rows)

    return in_database(env, work)


def wait_until_settled(
    env: PortalEnvironment, request_id: int, timeout: float = 30
) -> ResolutionRow:
    """Bounded wait for the worker to finish the request's latest resolution."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = resolutions_of(env, request_id)
        if found and found[-1].status != "pending":
            return found[-1]
        time.sleep(0.1)
    raise AssertionError(f"resolution of request {request_id} did not settle")
