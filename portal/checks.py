"""Whether the portal can do its work, as ``portal check`` and ``/readyz`` ask it.

``portal check`` connects to everything the portal depends on and answers one ``Row`` each
(name, OK/WARN/FAIL, one line): the database, its migrations, the SMTP server, the Shopify app's
secret, the upload storage (a probe written, read back and deleted) and, for each active store,
its Shopify token, scopes and webhook subscriptions and its Corso credentials. Nothing is
changed: a mismatch is reported, never repaired. Each outside call is bounded by ``seconds``.

``readiness`` is the cheap part ``/readyz`` serves: the database answers and its migrations are
at head (a positive answer about migrations is kept for ``HEAD_CACHE_SECONDS``).
"""

from __future__ import annotations

import asyncio
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from enum import StrEnum
from functools import cache
from typing import TypeVar

import aiosmtplib
import httpx
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import select, text
from sqlalchemy.engine import Connection
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine

from portal.errors import PortalError, StorageUnavailable
from portal.integrations.shopify import ShopifyClient
from portal.integrations.shopify.app_config import (
    ALL_ORDERS_SCOPE,
    REQUIRED_SCOPES,
    WEBHOOK_PATH,
    WEBHOOK_TOPICS,
    parse_scopes,
)
from portal.mail.sender import smtp_options, smtp_server
from portal.migrate import MIGRATIONS
from portal.runtime import Runtime, open_runtime
from portal.settings import Settings
from portal.storage import Storage
from portal.stores.models import Store, TokenKind

T = TypeVar("T")
FAILURES = (
    PortalError,
    SQLAlchemyError,
    OSError,
    TimeoutError,
    aiosmtplib.SMTPException,
    httpx.HTTPError,
)
"""What a check reports as its row's answer; anything else is a bug and is raised."""
CHECK_TIMEOUT = 10.0
READY_TIMEOUT = 5.0
HEAD_CACHE_SECONDS = 30.0


class Status(StrEnum):
    OK = "OK"
    WARN = "WARN"  # works, but something is missing the portal can live without
    FAIL = "FAIL"


@dataclass(frozen=True)
class Row:
    name: str
    status: Status
    detail: str


def ok(name: str, detail: str) -> Row:
    return Row(name, Status.OK, detail)


def warn(name: str, detail: str) -> Row:
    return Row(name, Status.WARN, detail)


def fail(name: str, detail: str) -> Row:
    return Row(name, Status.FAIL, detail)


def all_ok(rows: list[Row]) -> bool:
    """Whether nothing failed (warnings do not fail the check)."""
    return all(row.status is not Status.FAIL for row in rows)


COLOURS = {Status.OK: "\033[32m", Status.WARN: "\033[33m", Status.FAIL: "\033[31m"}


def table(rows: list[Row], *, colour: bool = False) -> list[str]:
    """One line per row; ``colour``: the status in green, yellow or red (for a terminal)."""
    width = max((len(row.name) for row in rows), default=0)
    lines = []
    for row in rows:
        status = f"{row.status.value:<4}"
        if colour:
            status = f"{COLOURS[row.status]}{status}\033[0m"
        lines.append(f"{row.name:<{width}}  {status}  {row.detail}")
    return lines


def reason(exc: BaseException) -> str:
    """One line saying what went wrong."""
    if isinstance(exc, TimeoutError):
        return "no answer in time"
    words = " ".join(str(exc).split())
    return words or type(exc).__name__


async def bounded(work: Awaitable[T], seconds: float) -> T:
    return await asyncio.wait_for(work, seconds)


# --- portal check --------------------------------------------------------------------------


async def check_portal(settings: Settings, *, seconds: float = CHECK_TIMEOUT) -> list[Row]:
    """Every row of ``portal check``; outside clients retry at most once within ``seconds``."""
    quick = settings.with_overrides(
        shopify_timeout=seconds,
        shopify_max_retries=1,
        shopify_max_wait=1.0,
        corso_timeout=seconds,
        corso_max_retries=1,
    )
    async with open_runtime(quick) as runtime:
        return await run_checks(runtime, seconds=seconds)


async def run_checks(runtime: Runtime, *, seconds: float = CHECK_TIMEOUT) -> list[Row]:
    rows = [await database_row(runtime.engine, seconds)]
    reachable = rows[0].status is Status.OK
    rows.append(await migrations_row(runtime.engine, seconds, reachable))
    rows.append(await smtp_row(runtime.settings, seconds))
    rows.append(app_secret_row(runtime.settings))
    rows.append(await storage_row(runtime, seconds))
    if reachable:
        for store in await active_stores(runtime):
            rows.extend(await store_rows(runtime, store, seconds))
    return rows


async def database_row(engine: AsyncEngine, seconds: float) -> Row:
    try:
        await bounded(_select_one(engine), seconds)
    except FAILURES as exc:
        return fail("database", f"{engine.url.render_as_string()}: {reason(exc)}")
    return ok("database", f"{engine.url.get_backend_name()} answers")


async def migrations_row(engine: AsyncEngine, seconds: float, reachable: bool) -> Row:
    if not reachable:
        return fail("migrations", "not checked: the database does not answer")
    try:
        current = await bounded(current_revisions(engine), seconds)
    except FAILURES as exc:
        return fail("migrations", reason(exc))
    heads = script_heads()
    if current == heads:
        return ok("migrations", f"at head ({', '.join(sorted(heads))})")
    found = ", ".join(sorted(current)) or "none"
    return fail("migrations", f"at {found}, head is {', '.join(sorted(heads))}: run portal migrate")


async def smtp_row(settings: Settings, seconds: float) -> Row:
    server = smtp_server(settings)
    try:
        await bounded(_smtp_answers(settings, seconds), seconds)
    except FAILURES as exc:
        return fail("smtp", f"{server}: {reason(exc)} (PORTAL_SMTP_HOST, PORTAL_SMTP_PORT)")
    signed_in = ", signed in" if settings.smtp_username else ""
    return ok("smtp", f"{server} answers{signed_in}")


async def _smtp_answers(settings: Settings, seconds: float) -> None:
    smtp = aiosmtplib.SMTP(**smtp_options(settings), timeout=seconds)
    await smtp.connect()
    try:
        await smtp.ehlo()
        await smtp.noop()
    finally:
        smtp.close()


def app_secret_row(settings: Settings) -> Row:
    name = "shopify app"
    if not str(settings.shopify_client_secret):
        return fail(
            name,
            "PORTAL_SHOPIFY_CLIENT_SECRET is empty: webhooks signed by the app are refused",
        )
    if not settings.shopify_client_id:
        return warn(name, "PORTAL_SHOPIFY_CLIENT_ID is empty: no store can install the app")
    return ok(name, f"client {settings.shopify_client_id}, secret set")


async def storage_row(runtime: Runtime, seconds: float) -> Row:
    """A probe written, read back and deleted: the upload storage takes photos."""
    where = _storage_place(runtime.settings)
    probe = f"portal-check-{secrets.token_hex(8)}.probe"
    try:
        await bounded(_round_trip(runtime.storage, probe), seconds)
    except FAILURES as exc:
        return fail("upload storage", f"{where}: {reason(exc)}")
    return ok("upload storage", f"{where}: written, read back and deleted")


async def _round_trip(storage: Storage, key: str) -> None:
    data = secrets.token_bytes(16)
    try:
        await storage.put(key, data, content_type="application/octet-stream")
        if await storage.get(key) != data:
            raise StorageUnavailable("what was written did not read back")
    finally:
        await storage.delete(key)


def _storage_place(settings: Settings) -> str:
    if settings.upload_storage == "s3":
        endpoint = settings.s3_endpoint_url or "AWS"
        return f"s3 bucket {settings.s3_bucket!r} at {endpoint}"
    return f"directory {str(settings.upload_dir)!r}"


async def active_stores(runtime: Runtime) -> list[Store]:
    async with runtime.sessions() as db:
        found = await db.scalars(
            select(Store).where(Store.uninstalled_at.is_(None)).order_by(Store.slug)
        )
        return list(found)


async def store_rows(runtime: Runtime, store: Store, seconds: float) -> list[Row]:
    prefix = f"store {store.slug}"
    client = runtime.shopify(store)
    try:
        shop = await bounded(client.shop(), seconds)
    except FAILURES as exc:
        rows = [fail(f"{prefix}: shopify token", f"{store.shop_domain}: {reason(exc)}")]
    else:
        rows = [ok(f"{prefix}: shopify token", f"{shop.name} ({store.shop_domain}) answers")]
        rows.extend(await scope_rows(client, store, prefix, seconds))
        rows.append(await webhooks_row(client, store, runtime.settings, seconds))
    rows.append(await corso_row(runtime, store, prefix, seconds))
    return rows


async def scope_rows(client: ShopifyClient, store: Store, prefix: str, seconds: float) -> list[Row]:
    scopes_name, all_orders = f"{prefix}: scopes", f"{prefix}: {ALL_ORDERS_SCOPE}"
    try:
        granted = await bounded(client.access_scopes(), seconds)
    except FAILURES as exc:  # fall back on what the install recorded
        granted = store.scopes
        if not granted:
            unknown = f"not known ({reason(exc)})"
            if store.token_kind == TokenKind.STATIC.value:
                return [warn(scopes_name, unknown), warn(all_orders, unknown)]
            return [fail(scopes_name, unknown), warn(all_orders, unknown)]
    missing = REQUIRED_SCOPES - parse_scopes(",".join(granted))
    rows = [
        fail(scopes_name, f"missing {', '.join(sorted(missing))}: {_regrant(store)}")
        if missing
        else ok(scopes_name, "every required scope granted")
    ]
    if ALL_ORDERS_SCOPE in granted:
        rows.append(ok(all_orders, "granted: orders of any age are read"))
    else:
        rows.append(warn(all_orders, "not granted: only the last 60 days of orders are read"))
    return rows


def _regrant(store: Store) -> str:
    if store.token_kind == TokenKind.STATIC.value:
        return "grant them to the custom app in the store's admin"
    return "install the app again"


async def webhooks_row(
    client: ShopifyClient, store: Store, settings: Settings, seconds: float
) -> Row:
    name = f"store {store.slug}: webhooks"
    url = settings.base_url.rstrip("/") + WEBHOOK_PATH
    try:
        subscriptions = await bounded(client.webhook_subscriptions(), seconds)
    except FAILURES as exc:
        return fail(name, reason(exc))
    ours = {s.topic for s in subscriptions if s.callback_url == url}
    missing = [t for t in WEBHOOK_TOPICS if t not in ours]
    elsewhere = sorted({s.callback_url for s in subscriptions if s.callback_url != url})
    repair = f"portal stores sync-webhooks {store.slug}"
    if missing:
        return fail(name, f"not subscribed at {url}: {', '.join(missing)} (run {repair})")
    if elsewhere:
        return warn(name, f"also delivered to {', '.join(elsewhere)} (run {repair})")
    return ok(name, f"{len(WEBHOOK_TOPICS)} topics at {url}")


async def corso_row(runtime: Runtime, store: Store, prefix: str, seconds: float) -> Row:
    name = f"{prefix}: corso"
    try:
        corso = runtime.corso(store)
        if corso is None:
            return warn(name, "no Corso credentials: agents see no Corso claims")
        await bounded(corso.authenticate(), seconds)
    except FAILURES as exc:
        return fail(name, reason(exc))
    return ok(name, "token obtained")


# --- readiness -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Readiness:
    ready: bool
    reasons: dict[str, str]


_at_head_until: dict[str, float] = {}


async def readiness(
    engine: AsyncEngine,
    database_url: str,
    *,
    seconds: float = READY_TIMEOUT,
    clock: Callable[[], float] = time.monotonic,
) -> Readiness:
    """Ready when the database answers and its migrations are at head."""
    try:
        await bounded(_select_one(engine), seconds)
    except FAILURES as exc:
        return Readiness(False, {"database": reason(exc), "migrations": "not checked"})
    if _at_head_until.get(database_url, 0.0) > clock():
        return Readiness(True, {"database": "ok", "migrations": "at head"})
    try:
        current = await bounded(current_revisions(engine), seconds)
    except FAILURES as exc:
        return Readiness(False, {"database": "ok", "migrations": reason(exc)})
    if current != script_heads():
        return Readiness(False, {"database": "ok", "migrations": "not at head: run portal migrate"})
    _at_head_until[database_url] = clock() + HEAD_CACHE_SECONDS
    return Readiness(True, {"database": "ok", "migrations": "at head"})


async def _select_one(engine: AsyncEngine) -> None:
    async with engine.connect() as connection:
        await connection.execute(text("SELECT 1"))


async def current_revisions(engine: AsyncEngine) -> frozenset[str]:
    async with engine.connect() as connection:
        return await connection.run_sync(_revisions_of)


def _revisions_of(connection: Connection) -> frozenset[str]:
    return frozenset(MigrationContext.configure(connection).get_current_heads())


@cache
def script_heads() -> frozenset[str]:
    """The head revisions of the migration scripts (read once)."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return frozenset(ScriptDirectory.from_config(config).get_heads())
