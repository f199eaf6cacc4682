"""``portal stores``, run as the operator runs it: the installed command in a subprocess, with
its settings in environment variables, against sandbox Shopify and the test database."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session

from portal.db import sync_url
from portal.sealing import Sealer, new_key
from portal.stores.models import Store
from tests.helpers.environment import TOKEN, PortalEnvironment
from tests.helpers.factories import SEALER, TEST_ENCRYPTION_KEY
from tests.helpers.portal import TEST_SECRET

PORTAL = Path(sys.executable).parent / "portal"
NORTH = "north-wind.myshopify.com"
NORTH_TOKEN = "shpat_north_wind_0123456789"


@pytest.fixture
def north(env: PortalEnvironment) -> PortalEnvironment:
    env.shop.world.add_shop(
        NORTH,
        access_token=NORTH_TOKEN,
        name="North Wind",
        currency="CAD",
        iana_timezone="America/Toronto",
        email="hello@north-wind.example",
    )
    return env


def run(
    env: PortalEnvironment, tmp_path: Path, *args: str, keys: str = TEST_ENCRYPTION_KEY
) -> subprocess.CompletedProcess[str]:
    variables = {
        **os.environ,
        "PORTAL_DATABASE_URL": env.settings.database_url,
        "PORTAL_SECRET_KEY": TEST_SECRET,
        "PORTAL_ENCRYPTION_KEYS": keys,
        "PORTAL_SHOPIFY_ENDPOINT": env.settings.shopify_endpoint,
        "PORTAL_SHOPIFY_MAX_RETRIES": "0",
    }
    return subprocess.run(  # noqa: S603 - the installed portal command, our own arguments
        [str(PORTAL), "stores", *args],
        env=variables,
        cwd=tmp_path,  # no .env file of the checkout
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.fixture
def database(env: PortalEnvironment) -> Iterator[Session]:
    engine = create_engine(sync_url(env.settings.database_url))
    try:
        with Session(engine) as db:
            yield db
    finally:
        engine.dispose()


def _store(db: Session, slug: str) -> Store:
    db.expire_all()
    return db.scalars(select(Store).where(Store.slug == slug)).one()


def test_add_reads_the_shop_from_shopify_and_seals_the_token(
    north: PortalEnvironment, tmp_path: Path, database: Session
) -> None:
    added = run(
        north,
        tmp_path,
        "add",
        "--shop",
        NORTH,
        "--token",
        NORTH_TOKEN,
        "--webhook-secret",
        "whsec-north",
    )
    assert added.returncode == 0, added.stderr
    assert "north-wind" in added.stdout and "CAD" in added.stdout
    assert NORTH_TOKEN not in added.stdout + added.stderr
    store = _store(database, "north-wind")
    assert (store.name, store.currency, store.time_zone, store.support_email) == (
        "North Wind",
        "CAD",
        "America/Toronto",
        "hello@north-wind.example",
    )
    assert store.token_kind == "static" and store.api_version == "2025-04"
    assert NORTH_TOKEN not in store.sealed_access_token
    assert SEALER.open(store.sealed_access_token) == NORTH_TOKEN
    assert SEALER.open(store.sealed_webhook_secret or "") == "whsec-north"

    listed = run(north, tmp_path, "list")
    assert listed.returncode == 0
    rows = {line.split()[0]: line.split() for line in listed.stdout.splitlines()[1:]}
    assert rows["north-wind"][1:] == [NORTH, "active", "static", "2025-04"]
    assert rows["test-goods"][2] == "active"

    again = run(north, tmp_path, "add", "--shop", NORTH, "--token", NORTH_TOKEN)
    assert again.returncode == 2 and "already the store north-wind" in again.stderr


def test_show_names_secrets_only_as_set_or_not_set(env: PortalEnvironment, tmp_path: Path) -> None:
    shown = run(env, tmp_path, "show", "test-goods")
    assert shown.returncode == 0, shown.stderr
    assert "access token: set" in shown.stdout
    assert "corso client secret: set" in shown.stdout
    assert "webhook secret: not set" in shown.stdout
    for secret in (TOKEN, "corso-secret"):
        assert secret not in shown.stdout + shown.stderr


def test_update_changes_the_settings_it_names(
    env: PortalEnvironment, tmp_path: Path, database: Session
) -> None:
    updated = run(
        env, tmp_path, "update", "test-goods",
        "--support-email", "care@test-goods.example",
        "--claim-window-days", "20",
        "--claim-window", "LOST=45",
        "--claim-window", "damaged=10",
        "--brand-color", "#112233",
        "--corso-client-id", "portal-test-2",
        "--corso-client-secret", "another-secret",
        "--protected-order-email", "on",
        "--default-language", "es",
        "--lost-after-quiet-days", "10",
        "--lost-after-estimate-days", "0",
    )  # fmt: skip
    assert updated.returncode == 0, updated.stderr
    assert "another-secret" not in updated.stdout
    store = _store(database, "test-goods")
    assert store.support_email == "care@test-goods.example"
    assert store.claim_window_days == 20 and store.claim_windows == {"LOST": 45, "DAMAGED": 10}
    assert store.claim_window_for("Lost") == 45 and store.claim_window_for("Stolen") == 20
    assert (store.brand_color, store.corso_client_id) == ("#112233", "portal-test-2")
    assert SEALER.open(store.sealed_corso_client_secret or "") == "another-secret"
    assert store.protected_order_email is True
    assert store.default_locale == "es"
    assert (store.lost_after_quiet_days, store.lost_after_estimate_days) == (10, 0)

    dropped = run(env, tmp_path, "update", "test-goods", "--claim-window", "LOST=default")
    assert dropped.returncode == 0 and _store(database, "test-goods").claim_windows == {
        "DAMAGED": 10
    }


def test_lost_windows_that_could_never_open_are_refused(
    env: PortalEnvironment, tmp_path: Path, database: Session
) -> None:
    zero = run(env, tmp_path, "update", "test-goods", "--lost-after-quiet-days", "0")
    assert zero.returncode == 2 and "--lost-after-quiet-days: " in zero.stderr
    short = run(env, tmp_path, "update", "test-goods", "--claim-window", "LOST=7")
    assert short.returncode == 2 and "could never be reported" in short.stderr
    store = _store(database, "test-goods")
    assert (store.lost_after_quiet_days, store.claim_windows) == (7, {})
    shown = run(env, tmp_path, "show", "test-goods")
    assert "lost after quiet days: 7" in shown.stdout
    assert "lost after estimate days: 3" in shown.stdout


BAD = [
    ("update", "nowhere", "--brand-color", "#112233"),
    ("update", "test-goods", "--brand-color", "red"),
    ("update", "test-goods", "--claim-window", "BOGUS=3"),
    ("update", "test-goods", "--claim-window", "LOST=soon"),
    ("update", "test-goods", "--claim-window", "LOST"),
    ("update", "test-goods", "--claim-window-days", "0"),
    ("update", "test-goods", "--claim-window-days", "many"),
    ("update", "test-goods", "--support-email", "nobody"),
    ("update", "test-goods", "--protected-order-email", "maybe"),
    ("update", "test-goods", "--default-language", "tlh"),
    ("update", "test-goods", "--corso-client-id", "", "--corso-client-secret", "x"),
    ("show", "nowhere"),
    ("add", "--shop", "example.com", "--token", NORTH_TOKEN),
    ("add", "--shop", NORTH, "--token", "not-a-token"),
    ("add", "--shop", NORTH, "--token", NORTH_TOKEN, "--slug", "Bad Slug"),
    ("add", "--shop", NORTH, "--token", NORTH_TOKEN, "--api-version", "2025-13"),
    ("add", "--shop", NORTH, "--token", "shpat_refused_by_shopify_000"),
    ("add", "--shop", NORTH),
    ("frobnicate",),
]


def test_bad_input_is_one_line_and_exit_code_2_with_nothing_written(
    north: PortalEnvironment, tmp_path: Path, database: Session
) -> None:
    before = {c.name: getattr(_store(database, "test-goods"), c.name) for c in Store.__table__.c}
    for args in BAD:
        answer = run(north, tmp_path, *args)
        assert answer.returncode == 2, (args, answer.stdout, answer.stderr)
        assert len(answer.stderr.strip().splitlines()) == 1, (args, answer.stderr)
        assert "Traceback" not in answer.stderr and answer.stdout == ""
    after = {c.name: getattr(_store(database, "test-goods"), c.name) for c in Store.__table__.c}
    assert after == before
    assert database.scalars(select(Store.slug)).all() == ["test-goods"]


def test_reseal_moves_every_secret_to_the_first_key(
    env: PortalEnvironment, tmp_path: Path, database: Session
) -> None:
    fresh = new_key()
    resealed = run(env, tmp_path, "reseal", keys=f"{fresh},{TEST_ENCRYPTION_KEY}")
    assert resealed.returncode == 0, resealed.stderr
    assert "resealed 2 secrets" in resealed.stdout
    store = _store(database, "test-goods")
    only_new = Sealer([fresh])
    assert only_new.open(store.sealed_access_token) == TOKEN
    assert only_new.open(store.sealed_corso_client_secret or "") == "corso-secret"

    broken = run(env, tmp_path, "reseal", keys=new_key())
    assert broken.returncode == 2 and "none of the encryption keys" in broken.stderr
