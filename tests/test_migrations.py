"""Migrations build the schema from empty, on SQLite and on PostgreSQL, and match the models."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, inspect, text

from portal.db import Base, modelled, sync_url
from portal.errors import SettingsError
from portal.migrate import downgrade, upgrade
from portal.models import import_all_models
from tests.helpers import databases
from tests.helpers.factories import SEALER, TEST_ENCRYPTION_KEY


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_database(request: pytest.FixtureRequest, tmp_path: Path):  # type: ignore[no-untyped-def]
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'empty.db'}"
        return
    admin_url = databases.postgres_admin_url()
    if admin_url is None:
        pytest.skip(f"{databases.POSTGRES_ENV} is not set")
    with databases.scratch_postgres_database(admin_url) as url:
        yield url


def test_migrations_from_empty_create_every_table_and_match_models(empty_database: str) -> None:
    upgrade(empty_database)
    import_all_models()
    engine = create_engine(sync_url(empty_database))
    try:
        tables = set(inspect(engine).get_table_names())
        assert set(Base.metadata.tables) <= tables
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"include_object": modelled})
            diff = compare_metadata(context, Base.metadata)
        assert diff == [], f"models and migrations disagree: {diff}"
    finally:
        engine.dispose()


def test_migrations_downgrade_to_empty_and_up_again(empty_database: str) -> None:
    upgrade(empty_database)
    downgrade(empty_database, "base")
    engine = create_engine(sync_url(empty_database))
    try:
        assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
    finally:
        engine.dispose()
    upgrade(empty_database)


def test_tokens_kept_before_sealing_are_sealed_by_the_migration(empty_database: str) -> None:
    upgrade(empty_database, "0008")
    engine = create_engine(sync_url(empty_database))
    try:
        with engine.begin() as connection:
            connection.execute(
                text(
                    "INSERT INTO stores (name, slug, shop_domain, access_token, api_version,"
                    " protection_variant_ids, claim_window_days, support_email, time_zone,"
                    " currency, brand_color, corso_client_id, corso_client_secret, created_at)"
                    " VALUES ('Shop', 'shop', 'shop.myshopify.com', 'shpat_plain', '2025-04',"
                    " '[]', 30, 'help@shop.example', 'UTC', 'USD', '#123456', 'corso-id',"
                    " 'corso-plain', CURRENT_TIMESTAMP)"
                )
            )
        with pytest.raises(SettingsError, match="PORTAL_ENCRYPTION_KEYS"):
            upgrade(empty_database)
        upgrade(empty_database, encryption_keys=TEST_ENCRYPTION_KEY)
        with engine.connect() as connection:
            row = connection.execute(
                text("SELECT sealed_access_token, sealed_corso_client_secret FROM stores")
            ).one()
        assert "shpat_plain" not in row[0] and "corso-plain" not in row[1]
        assert SEALER.open(row[0]) == "shpat_plain"
        assert SEALER.open(row[1]) == "corso-plain"
        downgrade(empty_database, "0008", encryption_keys=TEST_ENCRYPTION_KEY)
        with engine.connect() as connection:
            plain = connection.execute(text("SELECT access_token FROM stores")).scalar_one()
        assert plain == "shpat_plain"
    finally:
        engine.dispose()


STORE_AT_0011 = (
    "INSERT INTO stores (id, name, slug, shop_domain, api_version, protection_variant_ids,"
    " claim_window_days, support_email, time_zone, currency, brand_color, sealed_access_token)"
    " VALUES (:id, :name, :slug, :domain, '2025-04', '[]', 30,"
    " 'help@shop.example', 'UTC', 'USD', '#123456', 'sealed')"
)
USER_AT_0011 = (
    "INSERT INTO users (id, email, password_hash, role, password_changed_at, disabled,"
    " failed_logins) VALUES (:id, :email, 'x', 'agent', CURRENT_TIMESTAMP, false, 0)"
)
REQUEST_AT_0011 = (
    "INSERT INTO reorder_requests (reference, submit_key, store_id, shopify_order_id,"
    " order_name, email, customer_name, issue_type, description, resolution, alternative_wish,"
    " currency, items_total, status, assigned_to_id, tracking_numbers, search_text, risk_count)"
    " VALUES (:reference, :key, :store, :order_id, :order_name,"
    " 'jane@example.com', '', 'Lost', '', 'refund', '', 'USD', 10, :status, :agent, '', '', 0)"
)
COUNTED_AFRESH = (
    "SELECT store_id, status, COALESCE(assigned_to_id, 0), count(*) FROM reorder_requests"
    " GROUP BY store_id, status, COALESCE(assigned_to_id, 0)"
)
KEPT = "SELECT store_id, status, assignee_id, requests FROM queue_counts"


def test_queue_counts_are_backfilled_and_then_kept(empty_database: str) -> None:
    """Requests filed before migration 0012 are counted by it, and its triggers count every
    write after it; downgrading removes them."""
    upgrade(empty_database, "0011")
    engine = create_engine(sync_url(empty_database))
    statuses = ["submitted", "in_review", "denied", "submitted", "reordered"]
    try:
        with engine.begin() as connection:
            for store in (1, 2):
                slug = f"shop{store}"
                names = {"name": slug, "slug": slug, "domain": f"{slug}.myshopify.com"}
                connection.execute(text(STORE_AT_0011), {"id": store, **names})
            connection.execute(text(USER_AT_0011), {"id": 7, "email": "agent@example.com"})
            for n in range(30):
                values = {
                    "store": 1 + n % 2,
                    "status": statuses[n % 5],
                    "agent": 7 if n % 3 else None,
                }
                connection.execute(text(REQUEST_AT_0011), {**_request_numbers(n), **values})

        def kept_and_fresh() -> tuple[set[tuple[object, ...]], set[tuple[object, ...]]]:
            with engine.connect() as connection:
                kept = {tuple(row) for row in connection.execute(text(KEPT))}
                fresh = {tuple(row) for row in connection.execute(text(COUNTED_AFRESH))}
            return kept, fresh

        upgrade(empty_database)
        kept, fresh = kept_and_fresh()
        assert kept == fresh
        assert sum(int(str(row[-1])) for row in kept) == 30
        with engine.begin() as connection:
            connection.execute(text("UPDATE reorder_requests SET status = 'denied' WHERE id < 10"))
            connection.execute(text("UPDATE reorder_requests SET assigned_to_id = NULL"))
            connection.execute(text("DELETE FROM reorder_requests WHERE store_id = 2"))
            connection.execute(text("UPDATE resolutions SET amount = 1 WHERE request_id = 4"))
            again = {**_request_numbers(99), "store": 2, "status": "submitted", "agent": 7}
            connection.execute(text(REQUEST_AT_0011), again)
        kept, fresh = kept_and_fresh()
        assert kept == fresh
        assert {row for row in kept if row[0] == 2} == {(2, "submitted", 7, 1)}
        assert all(row[2] == 0 for row in kept if row[0] == 1)
        downgrade(empty_database, "0011")
        assert "queue_counts" not in inspect(engine).get_table_names()
        with engine.begin() as connection:  # no trigger is left behind to write to it
            connection.execute(text("UPDATE reorder_requests SET status = 'resolved'"))
    finally:
        engine.dispose()


def _request_numbers(n: int) -> dict[str, str]:
    return {
        "reference": f"RR-{n:06d}",
        "key": f"key-{n}",
        "order_id": f"gid://shopify/Order/{n}",
        "order_name": f"#{n}",
    }


REQUEST_AT_0017 = (
    "INSERT INTO reorder_requests (id, reference, submit_key, store_id, shopify_order_id,"
    " order_name, email, customer_name, issue_type, description, resolution, alternative_wish,"
    " currency, items_total, status, tracking_numbers, search_text, risk_count, created_at,"
    " updated_at, closed_at)"
    " VALUES (:id, :reference, :key, :store, :order_id, :order_name, 'jane@example.com', '',"
    " :issue, '', 'refund', '', 'USD', 10, :status, '', '', 0, :created, :created, :closed)"
)
ITEM_AT_0017 = (
    "INSERT INTO request_items (request_id, line_item_id, title, quantity, unit_price)"
    " VALUES (:request, :line, :title, :quantity, 9.5)"
)
RESOLUTION_AT_0017 = (
    "INSERT INTO resolutions (request_id, store_id, kind, status, amount, currency, deducted,"
    " agent_email, description, created_at, resolved_at) VALUES (:request, :store, :kind,"
    " 'succeeded', :amount, 'USD', true, 'agent@example.com', '', :resolved, :resolved)"
)
SUMMARIES = {
    "deduction_months": "SELECT store_id, month, cents FROM deduction_months",
    "overview_filed": "SELECT store_id, month, issue_type, status, requests FROM overview_filed",
    "overview_resolution_hours": (
        "SELECT store_id, month, hours, requests FROM overview_resolution_hours"
    ),
    "overview_products": "SELECT store_id, month, title, quantity FROM overview_products",
}


def test_overview_summaries_are_backfilled_and_then_kept(empty_database: str) -> None:
    """Requests and items written before migration 0018 are summed by it per store and UTC
    month, and its triggers follow every write after it; downgrading removes them."""
    upgrade(empty_database, "0017")
    engine = create_engine(sync_url(empty_database))
    statuses = ["submitted", "reordered", "refunded", "denied", "resolved"]
    start = datetime(2026, 9, 30, 20, 0, tzinfo=UTC)
    try:
        with engine.begin() as connection:
            for store in (1, 2):
                slug = f"shop{store}"
                names = {"name": slug, "slug": slug, "domain": f"{slug}.myshopify.com"}
                connection.execute(text(STORE_AT_0011), {"id": store, **names})
            for n in range(1, 21):
                created = start + timedelta(hours=n)  # from September into October (UTC)
                status = statuses[n % 5]
                values = {
                    "id": n,
                    "store": 1 + n % 2,
                    "issue": "Lost" if n % 3 else "Damaged",
                    "status": status,
                    "created": created,
                    "closed": None if status == "submitted" else created + timedelta(hours=n),
                }
                connection.execute(text(REQUEST_AT_0017), {**_request_numbers(n), **values})
                item = {"request": n, "line": f"line-{n}", "title": f"Mug {n % 3}", "quantity": 2}
                connection.execute(text(ITEM_AT_0017), item)
                if n % 4 == 0:  # deducted unless an alternative reorder (8); 4 and 12 in September
                    kind = "alternative_reorder" if n == 8 else "refund"
                    resolution = {"request": n, "store": 1, "kind": kind, "amount": "2.50"}
                    resolved = start + timedelta(hours=n / 4)
                    connection.execute(
                        text(RESOLUTION_AT_0017), {**resolution, "resolved": resolved}
                    )

        def kept() -> dict[str, set[tuple[object, ...]]]:
            with engine.connect() as connection:
                return {
                    name: {tuple(row) for row in connection.execute(text(query))}
                    for name, query in SUMMARIES.items()
                }

        upgrade(empty_database)
        found = kept()
        assert found["deduction_months"] == {(1, "2026-09", 500), (1, "2026-10", 500)}
        september = {n for n in range(1, 21) if n < 4}  # filed before midnight UTC
        assert sum(int(str(row[-1])) for row in found["overview_filed"]) == 20
        assert (1, "2026-09", "Lost", "refunded", 1) in found["overview_filed"]  # number 2
        assert sum(int(str(r[-1])) for r in found["overview_products"]) == 40
        sept_quantity = sum(
            int(str(r[-1])) for r in found["overview_products"] if r[1] == "2026-09"
        )
        assert sept_quantity == 2 * len(september)
        resolved = {
            n for n in range(1, 21) if statuses[n % 5] in ("reordered", "refunded", "resolved")
        }
        assert {(1 + n % 2, n) for n in resolved} == {
            (int(str(r[0])), int(str(r[2]))) for r in found["overview_resolution_hours"]
        }  # each closed n hours after filing, each in an hour of its own
        with engine.begin() as connection:
            connection.execute(text("UPDATE reorder_requests SET status = 'denied' WHERE id < 10"))
            connection.execute(text("DELETE FROM reorder_requests WHERE store_id = 2"))
            connection.execute(text("UPDATE resolutions SET amount = 1 WHERE request_id = 4"))
            connection.execute(text("UPDATE request_items SET quantity = 5"))
        found = kept()
        assert {r[0] for rows in found.values() for r in rows if r} == {1}
        assert sum(int(str(r[-1])) for r in found["overview_products"]) == 5 * 10
        assert {(r[2], r[3]) for r in found["overview_filed"] if r[3] == "denied"} >= {
            ("Lost", "denied")
        }
        assert found["deduction_months"] == {(1, "2026-09", 350), (1, "2026-10", 500)}
        downgrade(empty_database, "0017")
        assert not set(SUMMARIES) & set(inspect(engine).get_table_names())
        with engine.begin() as connection:  # no trigger is left behind to write to them
            connection.execute(text("UPDATE reorder_requests SET status = 'resolved'"))
            connection.execute(text("DELETE FROM resolutions"))
            connection.execute(text("DELETE FROM reorder_requests"))
    finally:
        engine.dispose()
