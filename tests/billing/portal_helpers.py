"""Helpers for billing tests against a whole portal: signed webhooks, staff sign-in, waiting for
the worker and reading the ledger."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import time
from collections.abc import Callable
from decimal import Decimal
from typing import Any, TypeVar

import httpx
from sqlalchemy import create_engine, func, select
from sqlalchemy.orm import Session

from portal.accounts import service as accounts
from portal.accounts.guard import COOKIE
from portal.billing.models import Premium
from portal.clock import utcnow
from portal.db import create_engine as create_async_engine
from portal.db import session_factory, sync_url
from portal.stores.service import get_by_slug
from tests.helpers.environment import PortalEnvironment
from tests.helpers.factories import create_store

WEBHOOK_SECRET = "whsec-test-" + "w" * 20
T = TypeVar("T")


def signed(payload: dict[str, Any], *, secret: str = WEBHOOK_SECRET) -> tuple[bytes, str]:
    body = json.dumps(payload).encode()
    digest = hmac.new(secret.encode(), body, hashlib.sha256).digest()
    return body, base64.b64encode(digest).decode()


def post_webhook(
    env: PortalEnvironment,
    topic: str,
    payload: dict[str, Any],
    *,
    webhook_id: str,
    signature: str | None = None,
) -> httpx.Response:
    body, good = signed(payload)
    headers = {
        "Content-Type": "application/json",
        "X-Shopify-Topic": topic,
        "X-Shopify-Shop-Domain": env.shop.world.shops()[0].domain,
        "X-Shopify-Webhook-Id": webhook_id,
        "X-Shopify-Hmac-Sha256": good if signature is None else signature,
    }
    return httpx.post(env.base_url + "/webhooks/shopify", content=body, headers=headers)


def eventually(check: Callable[[], T | None], timeout: float = 20.0) -> T:
    """Bounded wait for the worker (not a timing assertion)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.05)
    raise AssertionError("the portal did not get there in time")


def query(env: PortalEnvironment, read: Callable[[Session], T]) -> T:
    engine = create_engine(sync_url(env.settings.database_url))
    try:
        with Session(engine) as db:
            return read(db)
    finally:
        engine.dispose()


def premiums(env: PortalEnvironment) -> dict[str, Decimal]:
    def read(db: Session) -> dict[str, Decimal]:
        rows = db.execute(select(Premium.shopify_order_id, Premium.amount)).all()
        return {order_id: amount for order_id, amount in rows}

    return query(env, read)


def count(env: PortalEnvironment, model: Any) -> int:
    return query(env, lambda db: db.scalar(select(func.count()).select_from(model)) or 0)


def webhook_jobs(env: PortalEnvironment) -> int:
    """Jobs queued by webhooks (the worker's own nightly run left aside)."""
    from portal.billing.sync import REFRESH_ORDER
    from portal.jobs.models import Job

    statement = select(func.count()).select_from(Job).where(Job.kind == REFRESH_ORDER)
    return query(env, lambda db: db.scalar(statement) or 0)


def add_store(env: PortalEnvironment, slug: str) -> int:
    return asyncio.run(create_store(env.settings.database_url, slug.title(), slug)).id


def signed_in(
    env: PortalEnvironment, email: str, role: str, store_slug: str | None
) -> httpx.Client:
    """An HTTP client with a staff session for a new user."""

    async def create() -> str:
        engine = create_async_engine(env.settings.database_url)
        try:
            async with session_factory(engine)() as db, db.begin():
                store = await get_by_slug(db, store_slug) if store_slug else None
                user = await accounts.create_user(
                    db,
                    email=email,
                    role=role,
                    password="correct horse battery staple",
                    store_id=store.id if store else None,
                    now=utcnow(),
                )
                return await accounts.start_session(db, user, now=utcnow())
        finally:
            await engine.dispose()

    client = httpx.Client(base_url=env.base_url, timeout=30)
    client.cookies.set(COOKIE, asyncio.run(create()))
    return client
