"""The store's webhook subscriptions, made to match what the portal follows: each topic of
``WEBHOOK_TOPICS`` subscribed once at ``PORTAL_BASE_URL/webhooks/shopify``; the app's
subscriptions elsewhere (an old base URL) are removed. Run as a job after every install and by
``portal stores sync-webhooks``; repeating it changes nothing."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select

from portal.errors import UnknownStore
from portal.integrations.shopify import ShopifyClient
from portal.integrations.shopify.app_config import WEBHOOK_PATH, WEBHOOK_TOPICS
from portal.jobs.worker import JobContext
from portal.runtime import Runtime
from portal.stores.models import Store

log = logging.getLogger(__name__)


@dataclass
class SyncReport:
    created: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)


def callback_url(runtime: Runtime) -> str:
    return runtime.settings.base_url.rstrip("/") + WEBHOOK_PATH


async def sync_store(client: ShopifyClient, url: str) -> SyncReport:
    report = SyncReport()
    wanted = set(WEBHOOK_TOPICS)
    for subscription in await client.webhook_subscriptions():
        ours = subscription.callback_url == url and subscription.topic in wanted
        if ours and subscription.topic not in report.kept:
            report.kept.append(subscription.topic)
        else:
            await client.unsubscribe_webhook(subscription_id=subscription.id)
            report.removed.append(subscription.topic)
    for topic in WEBHOOK_TOPICS:
        if topic not in report.kept:
            await client.subscribe_webhook(topic=topic, callback_url=url)
            report.created.append(topic)
    return report


async def sync_webhooks(runtime: Runtime, store_id: int) -> SyncReport:
    async with runtime.sessions() as db:
        store = await db.scalar(select(Store).where(Store.id == store_id))
    if store is None:
        raise UnknownStore(f"store {store_id} does not exist")
    client = runtime.shopify(store)
    report = await sync_store(client, callback_url(runtime))
    await note_served_version(runtime, store.id, client.served_version)
    log.info(
        "webhooks of %s: %d created, %d removed, %d kept",
        store.shop_domain,
        len(report.created),
        len(report.removed),
        len(report.kept),
    )
    return report


async def note_served_version(runtime: Runtime, store_id: int, served: str | None) -> None:
    """Keep the version Shopify said it ran, when it is not the one the store asks for."""
    if served is None:
        return
    async with runtime.sessions() as db, db.begin():
        store = await db.get(Store, store_id)
        if store is not None:
            store.api_version_served = None if served == store.api_version else served


async def sync_webhooks_job(ctx: JobContext) -> dict[str, Any]:
    """Job ``shopify_app.sync_webhooks``."""
    report = await sync_webhooks(ctx.services, int(ctx.job.payload["store_id"]))
    return {"created": report.created, "removed": report.removed}
