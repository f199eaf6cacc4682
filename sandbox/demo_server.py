"""`portal demo`: the portal, sandbox Shopify and Corso, and a mail sink, in one process."""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from datetime import datetime, timedelta
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import httpx
import uvicorn
from sqlalchemy import select
from sqlalchemy.engine import make_url
from starlette.datastructures import Secret

from portal import logs
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
from portal.stores.service import (
    StoreChanges,
    StoreSpec,
    apply_changes,
    checked_changes,
    get_by_domain,
)
from sandbox.demo import DAYS_OF_HISTORY, build_demo_world
from sandbox.demo_rules import add_demo_rule
from sandbox.mail_sink import start_mail_sink
from sandbox.routes import create_demo_app
from sandbox.standalone import write_env_file
from sandbox.webhooks import WebhookSender
from sandbox.world import SandboxWorld

DEMO_DATABASE = "sqlite:///var/demo.db"
DEMO_ENV_FILE = Path("var/demo.env")
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
        encryption_keys=Secret(DEMO_ENCRYPTION_KEY),
        **world.portal_settings(),
    )


def prepare_demo(
    settings: Settings, *, host: str, port: int, keep: bool
) -> tuple[Settings, SandboxWorld]:
    """Build the sandbox world, (re)create and migrate the demo database. The stores come once
    the portal is listening (``bootstrap_demo``): they install the app as merchants do."""
    base_url = f"http://{host}:{port}"
    world, _ = build_demo_world(now=utcnow(), base_url=base_url)
    settings = demo_settings(settings, base_url=base_url, world=world)
    if not keep:
        _remove_sqlite_database(settings.database_url)
    upgrade(settings.database_url, encryption_keys=DEMO_ENCRYPTION_KEY)
    return settings, world


def bootstrap_demo(settings: Settings, world: SandboxWorld) -> None:
    """With the portal listening: each demo store installs the app through Shopify's
    authorization code grant, its owner sets it up (protection product, claim window, Corso
    credentials, brand), then the staff accounts and the month syncs are added."""
    with httpx.Client(timeout=30, follow_redirects=False) as owner:
        for spec in world.stores:
            install_as_merchant(owner, world, spec.shop_domain)
    asyncio.run(set_up_stores(settings.database_url, world.stores))
    asyncio.run(create_demo_accounts(settings.database_url, world))
    asyncio.run(add_demo_rule(settings.database_url, world.stores[0].slug))
    asyncio.run(queue_premium_sync(settings.database_url, now=utcnow()))


def install_as_merchant(browser: httpx.Client, world: SandboxWorld, shop_domain: str) -> str:
    """What a merchant's browser does: open the app from the Shopify admin (a launch signed by
    Shopify), approve on the consent page, come back to the portal. Returns where the portal
    sent them (the store's settings page)."""
    started = browser.get(world.install_url(shop_domain))
    if started.status_code != 303:
        raise RuntimeError(f"the portal did not start installing {shop_domain}: {started.text}")
    authorize = started.headers["location"]
    asked = dict(parse_qsl(urlsplit(authorize).query))
    form = {k: asked[k] for k in ("client_id", "scope", "redirect_uri", "state")}
    approved = browser.post(authorize.split("?")[0], data={**form, "decision": "approve"})
    if approved.status_code != 302:
        raise RuntimeError(f"the sandbox did not approve {shop_domain}: {approved.text}")
    finished = browser.get(approved.headers["location"])
    if finished.status_code != 303:
        raise RuntimeError(f"the portal refused the install of {shop_domain}: {finished.text}")
    return str(finished.headers["location"])


async def set_up_stores(database_url: str, specs: list[StoreSpec]) -> None:
    """The demo stores' settings, saved through the same service as the settings page; what
    that page does not set (slug, API version, protection variants, Corso store id) is the
    demo's own fixture."""
    sealer = Sealer([DEMO_ENCRYPTION_KEY])
    engine = create_engine(database_url)
    try:
        async with session_factory(engine)() as session, session.begin():
            for spec in specs:
                store = await get_by_domain(session, spec.shop_domain)
                if store is None:
                    raise RuntimeError(f"{spec.shop_domain} was not installed")
                changes = StoreChanges(
                    support_email=spec.support_email,
                    support_phone=spec.support_phone or "",
                    claim_window_days=spec.claim_window_days,
                    brand_color=spec.brand_color,
                    corso_client_id=spec.corso_client_id,
                    corso_client_secret=spec.corso_client_secret,
                )
                apply_changes(store, checked_changes(changes, store), sealer)
                store.slug = spec.slug
                store.api_version = spec.api_version
                store.protection_product_id = spec.protection_product_id
                store.protection_variant_ids = list(spec.protection_variant_ids)
                store.corso_store_id = spec.corso_store_id
    finally:
        await engine.dispose()


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


def start_webhooks(world: SandboxWorld) -> WebhookSender:
    """Sandbox Shopify delivers each change to the app subscriptions of its topic (the portal
    subscribes when a store installs it), signed with the app's secret; compliance topics go to
    the app's compliance URL."""
    return WebhookSender(world.shopify).start()


def _demo_log_format(settings: Settings) -> str:
    return logs.resolved_format(settings.log_format, production=False)  # text unless asked


def run_demo(settings: Settings, *, host: str, port: int, keep: bool) -> int:
    settings, world = prepare_demo(settings, host=host, port=port, keep=keep)
    sink = start_mail_sink(world.mailbox, host="127.0.0.1")
    settings = settings.with_overrides(smtp_host="127.0.0.1", smtp_port=sink.port)
    write_env_file(
        DEMO_ENV_FILE,
        [f"{name}={value}" for name, value in settings.environ(changed_only=True).items()],
        about="Written by `portal demo`: the demo's settings, for commands run beside it\n"
        f"(portal --env-file {DEMO_ENV_FILE} check). Rewritten at each start.",
    )
    app = create_demo_app(settings, world)
    webhooks = start_webhooks(world)
    server = uvicorn.Server(
        uvicorn.Config(
            app,
            host=host,
            port=port,
            log_config=logs.logging_config(settings.log_level, _demo_log_format(settings)),
            log_level="warning",  # uvicorn's own lines; the portal logs one line per request
            access_log=False,
            proxy_headers=False,
            server_header=False,
        )
    )

    def bootstrap() -> None:
        while not server.started:
            if server.should_exit:
                return
            time.sleep(0.05)
        try:
            bootstrap_demo(settings, world)
        except Exception:
            server.should_exit = True
            raise
        print(
            f"\n  Reorder portal demo: {settings.base_url}/"
            f"\n  Orders to try and the mailbox: {settings.base_url}/sandbox"
            f"\n  Check what it is connected to: portal --env-file {DEMO_ENV_FILE} check\n",
            flush=True,
        )

    threading.Thread(target=bootstrap, name="demo-bootstrap", daemon=True).start()
    try:
        server.run()
    finally:
        webhooks.stop()
        sink.stop()
    return 0
