"""`portal demo`: the portal, sandbox Shopify and Corso, and a mail sink, in one process."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

import uvicorn
from sqlalchemy.engine import make_url
from starlette.datastructures import Secret

from portal.app import create_app
from portal.db import create_engine, is_sqlite, session_factory
from portal.migrate import upgrade
from portal.sandbox.demo import build_demo_world
from portal.sandbox.mail_sink import start_mail_sink
from portal.sandbox.world import SandboxWorld
from portal.settings import Mode, Settings
from portal.stores.service import StoreSpec, upsert_store

DEMO_DATABASE = "sqlite:///var/demo.db"


def demo_settings(settings: Settings, *, base_url: str, world: SandboxWorld) -> Settings:
    """The demo's settings: sandbox endpoints, demo Corso credentials, the local mail sink."""
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
        corso_client_id=world.credentials.corso_client_id,
        corso_client_secret=Secret(world.credentials.corso_client_secret),
    )


def prepare_demo(
    settings: Settings, *, host: str, port: int, keep: bool
) -> tuple[Settings, SandboxWorld]:
    """Build the sandbox world, (re)create and migrate the demo database, load the stores."""
    base_url = f"http://{host}:{port}"
    world, specs = build_demo_world(now=datetime.now(UTC), base_url=base_url)
    settings = demo_settings(settings, base_url=base_url, world=world)
    if not keep:
        _remove_sqlite_database(settings.database_url)
    upgrade(settings.database_url)
    asyncio.run(load_stores(settings.database_url, specs))
    return settings, world


def _remove_sqlite_database(url: str) -> None:
    if not is_sqlite(url):
        return
    database = make_url(url).database
    if database and database != ":memory:":
        for suffix in ("", "-wal", "-shm"):
            Path(database + suffix).unlink(missing_ok=True)


async def load_stores(database_url: str, specs: list[StoreSpec]) -> None:
    engine = create_engine(database_url)
    try:
        async with session_factory(engine)() as session, session.begin():
            for spec in specs:
                await upsert_store(session, spec)
    finally:
        await engine.dispose()


def run_demo(settings: Settings, *, host: str, port: int, keep: bool) -> int:
    settings, world = prepare_demo(settings, host=host, port=port, keep=keep)
    sink = start_mail_sink(world.mailbox, host="127.0.0.1")
    settings = settings.with_overrides(smtp_host="127.0.0.1", smtp_port=sink.port)
    app = create_app(settings, sandbox=world)
    print(
        f"\n  Reorder portal demo: {settings.base_url}/"
        f"\n  Orders to try and the mailbox: {settings.base_url}/sandbox\n",
        flush=True,
    )
    try:
        uvicorn.run(app, host=host, port=port, log_level="warning")
    finally:
        sink.stop()
    return 0
