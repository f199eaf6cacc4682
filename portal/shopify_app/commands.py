"""``portal stores connect`` and ``portal stores sync-webhooks``: the store commands that go
through the portal's Shopify app (they join the ``portal stores`` group, see
``portal.stores.commands``)."""

from __future__ import annotations

import argparse

from sqlalchemy import select

from portal.errors import UnknownStore
from portal.runtime import open_runtime
from portal.settings import Settings
from portal.shopify_app import install, subscriptions
from portal.stores.commands import Subcommand
from portal.stores.models import Store


def _connect_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--shop", required=True, help="the shop's domain, x.myshopify.com")


async def _connect(args: argparse.Namespace, settings: Settings) -> list[str]:
    """A store of the app's own organisation, through the client credentials grant."""
    async with open_runtime(settings) as runtime:
        store = await install.install_own_store(runtime, args.shop[:255])
    return [
        f"portal: connected {store.slug} ({store.name}, {store.shop_domain}) with the app's "
        "client credentials; its webhooks are subscribed by the next worker",
        f"portal: next, choose its protection product at /support/stores/{store.slug}/settings",
    ]


def _sync_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("slug", nargs="?", help="one store's slug (default: every active store)")


async def _sync(args: argparse.Namespace, settings: Settings) -> list[str]:
    """Make each store's webhook subscriptions what the portal follows (idempotent)."""
    lines: list[str] = []
    async with open_runtime(settings) as runtime:
        async with runtime.sessions() as db:
            query = select(Store).order_by(Store.slug)
            if args.slug:
                query = query.where(Store.slug == args.slug[:64])
            chosen = [s for s in (await db.scalars(query)).all() if s.is_active or args.slug]
        if args.slug and not chosen:
            raise UnknownStore(f"no store {args.slug!r} (portal stores list shows them)")
        for store in chosen:
            report = await subscriptions.sync_webhooks(runtime, store.id)
            lines.append(
                f"portal: {store.slug}: {len(report.created)} subscribed, "
                f"{len(report.removed)} removed, {len(report.kept)} already right"
            )
    return lines or ["portal: no active store"]


SUBCOMMANDS = (
    Subcommand(
        "connect",
        "connect a store of the app's own organisation (client credentials grant)",
        _connect_arguments,
        _connect,
    ),
    Subcommand(
        "sync-webhooks",
        "subscribe each store to the webhooks the portal follows, removing stale ones",
        _sync_arguments,
        _sync,
    ),
)
