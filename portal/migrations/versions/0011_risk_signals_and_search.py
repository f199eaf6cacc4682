"""risk signals and search: fingerprints kept with each request and photo, reviews of signals,
and the queue's search index (pg_trgm on PostgreSQL, an FTS5 trigram table on SQLite)

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-30 22:40:00.000000
"""

from __future__ import annotations

import hashlib
import json
import re
import unicodedata
from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

# Text searches walk this oldest-first to fill a page without visiting the table (see
# portal.support.queue.SEARCH_WINDOW): it carries the search text and every filtered column.
SEARCH_BY_AGE = (
    "CREATE INDEX ix_reorder_requests_search_by_age ON reorder_requests (created_at, id)"
    " INCLUDE (status, store_id, issue_type, resolution, assigned_to_id, risk_count, search_text)"
)
_TRIGGERS = {
    "reorder_search_ai": """
        CREATE TRIGGER reorder_search_ai AFTER INSERT ON reorder_requests BEGIN
          INSERT INTO reorder_search(rowid, search_text) VALUES (new.id, new.search_text);
        END""",
    "reorder_search_ad": """
        CREATE TRIGGER reorder_search_ad AFTER DELETE ON reorder_requests BEGIN
          INSERT INTO reorder_search(reorder_search, rowid, search_text)
            VALUES ('delete', old.id, old.search_text);
        END""",
    "reorder_search_au": """
        CREATE TRIGGER reorder_search_au AFTER UPDATE OF search_text ON reorder_requests BEGIN
          INSERT INTO reorder_search(reorder_search, rowid, search_text)
            VALUES ('delete', old.id, old.search_text);
          INSERT INTO reorder_search(rowid, search_text) VALUES (new.id, new.search_text);
        END""",
}


def upgrade() -> None:
    with op.batch_alter_table("reorder_requests") as batch:
        batch.add_column(
            sa.Column("tracking_numbers", sa.String(500), nullable=False, server_default="")
        )
        batch.add_column(sa.Column("search_text", sa.Text(), nullable=False, server_default=""))
        batch.add_column(sa.Column("address_key", sa.String(64), nullable=True))
        batch.add_column(sa.Column("device_key", sa.String(64), nullable=True))
        batch.add_column(sa.Column("risk_count", sa.Integer(), nullable=False, server_default="0"))
    with op.batch_alter_table("reorder_requests") as batch:
        batch.alter_column("tracking_numbers", server_default=None)
        batch.alter_column("search_text", server_default=None)
        batch.alter_column("risk_count", server_default=None)
    op.create_index("ix_reorder_requests_address_key", "reorder_requests", ["address_key"])
    op.create_index("ix_reorder_requests_device_key", "reorder_requests", ["device_key"])
    op.create_index(
        "ix_reorder_requests_risky",
        "reorder_requests",
        ["status", "created_at", "id"],
        sqlite_where=sa.text("risk_count > 0"),
        postgresql_where=sa.text("risk_count > 0"),
    )
    with op.batch_alter_table("request_photos") as batch:
        batch.add_column(sa.Column("phash", sa.String(16), nullable=True))
    op.create_table(
        "photo_bands",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("photo_id", sa.Integer(), nullable=False),
        sa.Column("band_key", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["photo_id"],
            ["request_photos.id"],
            name=op.f("fk_photo_bands_photo_id_request_photos"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_photo_bands")),
    )
    op.create_index("ix_photo_bands_key", "photo_bands", ["band_key"])
    op.create_index(op.f("ix_photo_bands_photo_id"), "photo_bands", ["photo_id"])
    op.create_table(
        "risk_reviews",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("request_id", sa.Integer(), nullable=False),
        sa.Column("signal_key", sa.String(200), nullable=False),
        sa.Column("reviewer_email", sa.String(320), nullable=False),
        sa.Column("reviewed_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["reorder_requests.id"],
            name=op.f("fk_risk_reviews_request_id_reorder_requests"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_risk_reviews")),
        sa.UniqueConstraint(
            "request_id", "signal_key", name=op.f("uq_risk_reviews_request_id_signal_key")
        ),
    )
    _backfill()
    if op.get_bind().dialect.name == "postgresql":
        op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        op.create_index(
            "ix_reorder_requests_search_trgm",
            "reorder_requests",
            ["search_text"],
            postgresql_using="gin",
            postgresql_ops={"search_text": "gin_trgm_ops"},
        )
        op.execute(SEARCH_BY_AGE)
    else:
        op.execute(
            "CREATE VIRTUAL TABLE reorder_search USING fts5(search_text,"
            " content='reorder_requests', content_rowid='id', tokenize='trigram')"
        )
        for trigger in _TRIGGERS.values():
            op.execute(trigger)
        op.execute("INSERT INTO reorder_search(reorder_search) VALUES ('rebuild')")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.drop_index("ix_reorder_requests_search_by_age", table_name="reorder_requests")
        op.drop_index("ix_reorder_requests_search_trgm", table_name="reorder_requests")
    else:
        for name in _TRIGGERS:
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
        op.execute("DROP TABLE IF EXISTS reorder_search")
    op.drop_table("risk_reviews")
    op.drop_index(op.f("ix_photo_bands_photo_id"), table_name="photo_bands")
    op.drop_index("ix_photo_bands_key", table_name="photo_bands")
    op.drop_table("photo_bands")
    with op.batch_alter_table("request_photos") as batch:
        batch.drop_column("phash")
    op.drop_index("ix_reorder_requests_risky", table_name="reorder_requests")
    op.drop_index("ix_reorder_requests_device_key", table_name="reorder_requests")
    op.drop_index("ix_reorder_requests_address_key", table_name="reorder_requests")
    with op.batch_alter_table("reorder_requests") as batch:
        for column in ("risk_count", "device_key", "address_key", "search_text"):
            batch.drop_column(column)
        batch.drop_column("tracking_numbers")


# --- the keys of requests written before this migration (a copy of the rules as they were) ----

_FIELDS = ("address1", "address2", "city", "province_code", "zip", "country_code")
_NOT_WORD = re.compile(r"[^0-9a-z]+")
_WORDS = {
    "street": "st",
    "avenue": "ave",
    "road": "rd",
    "boulevard": "blvd",
    "drive": "dr",
    "lane": "ln",
    "court": "ct",
    "place": "pl",
    "apartment": "apt",
    "suite": "ste",
    "north": "n",
    "south": "s",
    "east": "e",
    "west": "w",
}


def _address_key(address: dict[str, Any] | None) -> str | None:
    if not address or not str(address.get("address1") or "").strip():
        return None
    words: list[str] = []
    for name in _FIELDS:
        folded = unicodedata.normalize("NFKD", str(address.get(name) or "")).casefold()
        ascii_only = folded.encode("ascii", "ignore").decode()
        words.extend(_WORDS.get(w, w) for w in _NOT_WORD.split(ascii_only) if w)
    return hashlib.sha256(" ".join(words).encode()).hexdigest()


def _backfill() -> None:
    bind = op.get_bind()
    rows = bind.execute(
        sa.text(
            "SELECT id, reference, order_name, email, customer_name, shipping_address"
            " FROM reorder_requests"
        )
    ).all()
    for row in rows:
        address = row.shipping_address
        if isinstance(address, str):
            address = json.loads(address)
        parts = (row.reference, row.order_name, row.email, row.customer_name)
        bind.execute(
            sa.text(
                "UPDATE reorder_requests SET search_text = :text, address_key = :key WHERE id = :id"
            ),
            {
                "text": " ".join(p.casefold() for p in parts if p),
                "key": _address_key(address),
                "id": row.id,
            },
        )
