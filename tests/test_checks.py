"""``portal check`` as an operator runs it: the real command against the sandbox Shopify and
Corso and a real SMTP server; one row per check, exit code 0 only when nothing failed."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path
from typing import cast

import pytest
from sqlalchemy import update
from starlette.datastructures import Secret

from portal.checks import Row, Status, all_ok, scope_rows, table
from portal.db import create_engine, session_factory
from portal.errors import ShopifyGraphQLError
from portal.integrations.shopify import ShopifyClient
from portal.stores.models import Store, TokenKind
from tests.helpers.environment import PortalEnvironment
from tests.helpers.servers import free_port
from tests.helpers.worker_process import REPOSITORY
from tests.shopify_app.helpers import app_settings

pytestmark = pytest.mark.settings(run_worker=False, **app_settings())


def portal(
    env: PortalEnvironment, *args: str, **changes: object
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603 - our own interpreter and module
        [sys.executable, "-m", "portal.cli", *args],
        env=env.settings.with_overrides(**changes).environ(),
        cwd=REPOSITORY,
        capture_output=True,
        text=True,
        timeout=90,
        check=False,
    )


def rows_of(done: subprocess.CompletedProcess[str]) -> dict[str, tuple[str, str]]:
    """Each row's name: (status, detail)."""
    found = {}
    for line in done.stdout.splitlines():
        name, status, detail = _split(line)
        found[name] = (status, detail)
    return found


def _split(line: str) -> tuple[str, str, str]:
    for status in ("OK", "WARN", "FAIL"):
        marker = f"  {status:<4}  "
        if marker in line:
            name, detail = line.split(marker, 1)
            return name.strip(), status, detail
    raise AssertionError(f"not a row: {line!r}")


def checked(env: PortalEnvironment, **changes: object) -> subprocess.CompletedProcess[str]:
    synced = portal(env, "stores", "sync-webhooks")
    assert synced.returncode == 0, synced.stderr
    return portal(env, "check", **changes)


def test_every_row_is_ok_when_everything_answers(env: PortalEnvironment) -> None:
    done = checked(env)
    rows = rows_of(done)
    assert done.returncode == 0, done.stdout + done.stderr
    assert {status for status, _ in rows.values()} == {"OK"}, done.stdout
    expected = ["database", "migrations", "smtp", "shopify app", "upload storage"] + [
        f"store test-goods: {what}"
        for what in ("shopify token", "scopes", "read_all_orders", "webhooks", "corso")
    ]
    assert list(rows) == expected


def test_upload_storage_that_cannot_be_written_fails_its_row(
    env: PortalEnvironment, tmp_path: Path
) -> None:
    not_a_directory = tmp_path / "a-file"
    not_a_directory.write_text("")
    done = checked(env, upload_dir=not_a_directory)
    assert done.returncode == 1
    status, detail = rows_of(done)["upload storage"]
    assert status == "FAIL" and str(not_a_directory) in detail
    assert not_a_directory.read_text() == ""


def test_webhook_subscriptions_not_made_fail_and_are_not_repaired(
    env: PortalEnvironment,
) -> None:
    first, again = portal(env, "check"), portal(env, "check")
    assert first.returncode == 1
    status, detail = rows_of(first)["store test-goods: webhooks"]
    assert status == "FAIL" and "ORDERS_CREATE" in detail and "sync-webhooks" in detail
    assert rows_of(again)["store test-goods: webhooks"][0] == "FAIL"  # nothing was changed


def test_without_the_app_secret_the_check_fails_naming_it(env: PortalEnvironment) -> None:
    done = checked(env, shopify_client_secret=Secret(""))
    assert done.returncode == 1
    status, detail = rows_of(done)["shopify app"]
    assert status == "FAIL" and "PORTAL_SHOPIFY_CLIENT_SECRET" in detail


def test_a_mail_server_that_does_not_answer_fails_the_smtp_row(env: PortalEnvironment) -> None:
    done = checked(env, smtp_port=free_port())
    assert done.returncode == 1
    status, detail = rows_of(done)["smtp"]
    assert status == "FAIL" and "PORTAL_SMTP_PORT" in detail
    assert [name for name, (s, _) in rows_of(done).items() if s == "FAIL"] == ["smtp"]


def test_refused_corso_credentials_fail_their_row(env: PortalEnvironment) -> None:
    done = checked(env, corso_audience="another-api.example")
    assert done.returncode == 1
    status, detail = rows_of(done)["store test-goods: corso"]
    assert status == "FAIL" and "refused" in detail


def test_a_store_without_corso_credentials_is_a_warning(env: PortalEnvironment) -> None:
    asyncio.run(_forget_corso_credentials(env.settings.database_url))
    done = checked(env)
    assert done.returncode == 0, done.stdout
    status, detail = rows_of(done)["store test-goods: corso"]
    assert status == "WARN" and "no Corso credentials" in detail


async def _forget_corso_credentials(database_url: str) -> None:
    engine = create_engine(database_url)
    try:
        async with session_factory(engine)() as db, db.begin():
            await db.execute(
                update(Store).values(corso_client_id=None, sealed_corso_client_secret=None)
            )
    finally:
        await engine.dispose()


def test_warnings_do_not_fail_the_check() -> None:
    rows = [Row("database", Status.OK, "answers"), Row("store a: corso", Status.WARN, "none")]
    assert all_ok(rows)
    assert not all_ok([*rows, Row("smtp", Status.FAIL, "down")])
    assert table(rows) == ["database        OK    answers", "store a: corso  WARN  none"]


class ScopesOf:
    """A Shopify client that answers only ``access_scopes``: with these, or with a refusal."""

    def __init__(self, scopes: frozenset[str] | None) -> None:
        self.scopes = scopes

    async def access_scopes(self) -> frozenset[str]:
        if self.scopes is None:
            raise ShopifyGraphQLError("access denied for currentAppInstallation")
        return self.scopes


def store_with(token_kind: TokenKind, granted: str = "") -> Store:
    return Store(slug="s", token_kind=token_kind.value, granted_scopes=granted)


async def scopes(client: ScopesOf, store: Store) -> list[tuple[Status, str]]:
    rows = await scope_rows(cast("ShopifyClient", client), store, "store s", 1.0)
    return [(row.status, row.detail) for row in rows]


@pytest.mark.anyio
async def test_a_static_token_whose_scopes_are_not_known_is_a_warning() -> None:
    found = await scopes(ScopesOf(None), store_with(TokenKind.STATIC))
    assert [status for status, _ in found] == [Status.WARN, Status.WARN]
    assert "not known" in found[0][1]


@pytest.mark.anyio
async def test_an_app_token_without_known_scopes_fails() -> None:
    found = await scopes(ScopesOf(None), store_with(TokenKind.EXPIRING))
    assert [status for status, _ in found] == [Status.FAIL, Status.WARN]


@pytest.mark.anyio
async def test_the_recorded_scopes_are_used_when_shopify_does_not_say() -> None:
    granted = "write_orders,read_products,read_inventory,read_customers"
    found = await scopes(ScopesOf(None), store_with(TokenKind.EXPIRING, granted))
    assert found[0] == (Status.OK, "every required scope granted")  # write_ implies read_
    assert found[1][0] is Status.WARN and "60 days" in found[1][1]


@pytest.mark.anyio
async def test_a_missing_required_scope_fails_naming_it() -> None:
    found = await scopes(
        ScopesOf(frozenset({"read_orders", "read_products"})), store_with(TokenKind.STATIC)
    )
    assert found[0][0] is Status.FAIL
    assert "read_customers" in found[0][1] and "write_orders" in found[0][1]
    assert "custom app" in found[0][1]
