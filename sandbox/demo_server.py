"""`portal demo`: the portal, sandbox Shopify and Corso, and a mail sink, in one process."""

from __future__ import annotations

import asyncio
import contextlib
from datetime import datetime, timedelta
from pathlib import Path

import uvicorn
from sqlalchemy import select
from sqlalchemy.engine import make_url
from starlette.datastructures import Secret

from portal.accounts.commands import NewUser, create_user
from portal.billing.months import month_of, previous_month
from portal.billing.sync import enqueue_month_sync
from portal.clock import utcnow
from portal.db import create_engine, is_sqlite, session_factory
from portal.errors import AccountRefused
from portal.migrate import upgrade
from portal.sealing import Sealer
from portal.settings import Mode, Settings
from portal.stores.models import Store
from portal.stores.service import StoreSpec, upsert_store
from sandbox.demo import DAYS_OF_HISTORY, build_demo_world
from sandbox.mail_sink import start_mail_sink
from sandbox.routes import create_demo_app
from sandbox.webhooks import WebhookSender
from sandbox.world import SandboxWorld

DEMO_DATABASE = "sqlite:///var/demo.db"
# The demo's Shopify app, as the sandbox Shopify knows it; its secret signs webhooks.
DEMO_CLIENT_ID = "demo-portal-app"
DEMO_CLIENT_SECRET = "demo-client-secret"  # noqa: S105 - the sandbox's published demo secret
# The demo's published encryption key: demo tokens are sandbox tokens, worth nothing elsewhere.
DEMO_ENCRYPTION_KEY = "HkzphszjFwz1_XxnQBvZzBXm8OfKNKwpqkiHnn9Xhg8="


def demo_settings(settings: Settings, *, base_url: str, world: SandboxWorld) -> Settings:
    """The demo's settings: sandbox endpoints and the local mail sink (each demo store carries
    its own Corso credentials)."""
    database_url = settings.database_url
    if database_url == Settings.database_url:
        database_url = DEMO_DATABASE
    return settings.with_overrides(
        mode=Mode.DEMO,
        run_worker=True,
        base_url=base_url,
        database_url=database_url,
        shopify_endpoint=f"{base_url}/sandbox/shopify/{{shop}}/admin/api/{{version}}/graphql.json",
        corso_api_url=world.corso_api_url,
        corso_auth_url=world.corso_auth_url,
        shopify_client_id=DEMO_CLIENT_ID,
        shopify_client_secret=Secret(DEMO_CLIENT_SECRET),
        shopify_oauth_url=f"{base_url}/sandbox/shopify/{{shop}}/admin/oauth",
        encryption_keys=Secret(DEMO_ENCRYPTION_KEY),
    )


def prepare_demo(
    settings: Settings, *, host: str, port: int, keep: bool
) -> tuple[Settings, SandboxWorld]:
    """Build the sandbox world, (re)create and migrate the demo database, load the stores."""
    base_url = f"http://{host}:{port}"
    world, specs = build_demo_world(now=utcnow(), base_url=base_url)
    settings = demo_settings(settings, base_url=base_url, world=world)
    if not keep:
        _remove_sqlite_database(settings.database_url)
    upgrade(settings.database_url, encryption_keys=DEMO_ENCRYPTION_KEY)
    asyncio.run(load_stores(settings.database_url, specs))
    asyncio.run(create_demo_accounts(settings.database_url, world))
    asyncio.run(queue_premium_sync(settings.database_url, now=utcnow()))
    return settings, world


def _remove_sqlite_database(url: str) -> None:
    if not is_sqlite(url):
        return
    database = make_url(url).database
    if database and database != ":memory:":
        for suffix in ("", "-wal", "-shm"):
            Path(database + suffix).unlink(missing_ok=True)


async def create_demo_accounts(database_url: str, world: SandboxWorld) -> None:
    """The demo's staff accounts; ones that exist already (``--keep``) are left as they are."""
    for account in world.accounts:
        new_user = NewUser(email=account.email, role=account.role, store_slug=account.store_slug)
        with contextlib.suppress(AccountRefused):
            await create_user(database_url, new_user, account.password)


async def load_stores(database_url: str, specs: list[StoreSpec]) -> None:
    engine = create_engine(database_url)
    try:
        async with session_factory(engine)() as session, session.begin():
            sealer = Sealer([DEMO_ENCRYPTION_KEY])
            for spec in specs:
                await upsert_store(session, spec, sealer)
    finally:
        await engine.dispose()


async def queue_premium_sync(database_url: str, *, now: datetime) -> None:
    """Orders seeded before the portal listens reach the invoices through a sync of every month
    of the demo's history, newest first; later changes come as webhooks."""
    engine = create_engine(database_url)
    try:
        async with session_factory(engine)() as session, session.begin():
            stores = (await session.scalars(select(Store).order_by(Store.id))).all()
            months = {store.id: _demo_months(now, store.time_zone) for store in stores}
            for age in range(max((len(m) for m in months.values()), default=0)):
                for store in stores:
                    if age < len(months[store.id]):
                        month = months[store.id][age]
                        await enqueue_month_sync(
                            session, store, month, run=f"demo-{now.isoformat()}"
                        )
    finally:
        await engine.dispose()


def _demo_months(now: datetime, time_zone: str) -> list[str]:
    first = month_of(now - timedelta(days=DAYS_OF_HISTORY), time_zone)
    months = [month_of(now, time_zone)]
    while months[-1] > first:
        months.append(previous_month(months[-1]))
    return months


def start_webhooks(settings: Settings, world: SandboxWorld) -> WebhookSender:
    """Sandbox Shopify tells the demo portal about every order change, signed."""
    return WebhookSender(
        world.shopify,
        url=f"{settings.base_url}/webhooks/shopify",
        secret=str(settings.shopify_client_secret),
    ).start()


def run_demo(settings: Settings, *, host: str, port: int, keep: bool) -> int:
    settings, world = prepare_demo(settings, host=host, port=port, keep=keep)
    sink = start_mail_sink(world.mailbox, host="127.0.0.1")
    settings = settings.with_overrides(smtp_host="127.0.0.1", smtp_port=sink.port)
    app = create_demo_app(settings, world)
    webhooks = start_webhooks(settings, world)
    print(
        f"\n  Reorder portal demo: {settings.base_url}/"
        f"\n  Orders to try and the mailbox: {settings.base_url}/sandbox\n",
        flush=True,
    )
    try:
        uvicorn.run(
            app,
            host=host,
            port=port,
            log_level="warning",
            proxy_headers=False,
            server_header=False,
        )
    finally:
        webhooks.stop()
        sink.stop()
    return 0
