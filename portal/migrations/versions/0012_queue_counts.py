"""queue counts: how many requests each (store, status, assignee) holds, kept by triggers

The support queue shows a count per status under the store and assignee filters. Counting a
million rows on every page view is the slowest thing the page does; these counters answer it
from a few hundred rows. Triggers keep them, so every write counts, whichever code (or hand)
makes it: the ORM, a bulk UPDATE, a store's erasure. On PostgreSQL one statement-level trigger
per operation folds a whole statement's rows into one change per counter, applied in key order
(so two writers cannot deadlock on counters) under the counter's row lock (so neither loses the
other's change). SQLite has one writer at a time and row-level triggers.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-01 01:20:00.000000
"""

# ruff: noqa: S608 - the SQL below is assembled from this module's constants only

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

# "Assigned to nobody" is counted under this assignee id (no user has it), so the key has no NULL.
NOBODY = 0

_KEY = "store_id, status, assignee_id"
_SUM = "requests = queue_counts.requests + excluded.requests"
_UPSERT = f"ON CONFLICT ({_KEY}) DO UPDATE SET {_SUM}"

# A counter that drops to zero is removed (its rows were locked by the change just made), so
# the table holds only keys that have requests and a store's erasure leaves nothing of it.
_FORGET_EMPTY = f"""DELETE FROM queue_counts USING removed
    WHERE queue_counts.requests = 0 AND queue_counts.store_id = removed.store_id
      AND queue_counts.status = removed.status
      AND queue_counts.assignee_id = COALESCE(removed.assigned_to_id, {NOBODY})"""

POSTGRESQL_FUNCTION = f"""
CREATE FUNCTION queue_counts_follow() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'INSERT' THEN
    INSERT INTO queue_counts ({_KEY}, requests)
    SELECT store_id, status, COALESCE(assigned_to_id, {NOBODY}), count(*)
    FROM added GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
    {_UPSERT};
  ELSIF TG_OP = 'DELETE' THEN
    UPDATE queue_counts SET requests = queue_counts.requests - gone.requests
    FROM (
      SELECT store_id, status, COALESCE(assigned_to_id, {NOBODY}) AS assignee_id,
        count(*) AS requests
      FROM removed GROUP BY 1, 2, 3
    ) AS gone
    WHERE queue_counts.store_id = gone.store_id AND queue_counts.status = gone.status
      AND queue_counts.assignee_id = gone.assignee_id;
    {_FORGET_EMPTY};
  ELSE
    INSERT INTO queue_counts ({_KEY}, requests)
    SELECT store_id, status, assignee_id, sum(change) FROM (
      SELECT store_id, status, COALESCE(assigned_to_id, {NOBODY}) AS assignee_id, 1 AS change
      FROM added
      UNION ALL
      SELECT store_id, status, COALESCE(assigned_to_id, {NOBODY}), -1 FROM removed
    ) AS moved
    GROUP BY 1, 2, 3 HAVING sum(change) <> 0 ORDER BY 1, 2, 3
    {_UPSERT};
    {_FORGET_EMPTY};
  END IF;
  RETURN NULL;
END
$$
"""
POSTGRESQL_TRIGGERS = {
    "queue_counts_insert": "AFTER INSERT ON reorder_requests REFERENCING NEW TABLE AS added",
    "queue_counts_update": (
        "AFTER UPDATE ON reorder_requests REFERENCING OLD TABLE AS removed NEW TABLE AS added"
    ),
    "queue_counts_delete": "AFTER DELETE ON reorder_requests REFERENCING OLD TABLE AS removed",
}

_SQLITE_ADD = f"""
  INSERT INTO queue_counts ({_KEY}, requests)
  VALUES (new.store_id, new.status, coalesce(new.assigned_to_id, {NOBODY}), 1)
  {_UPSERT};"""
_SQLITE_OLD_KEY = (
    f"store_id = old.store_id AND status = old.status"
    f" AND assignee_id = coalesce(old.assigned_to_id, {NOBODY})"
)
_SQLITE_REMOVE = f"""
  UPDATE queue_counts SET requests = requests - 1 WHERE {_SQLITE_OLD_KEY};
  DELETE FROM queue_counts WHERE {_SQLITE_OLD_KEY} AND requests = 0;"""
SQLITE_TRIGGERS = {
    "queue_counts_insert": f"AFTER INSERT ON reorder_requests BEGIN{_SQLITE_ADD}\nEND",
    "queue_counts_update": (
        "AFTER UPDATE OF store_id, status, assigned_to_id ON reorder_requests"
        " WHEN old.store_id IS NOT new.store_id OR old.status IS NOT new.status"
        " OR old.assigned_to_id IS NOT new.assigned_to_id"
        f" BEGIN{_SQLITE_REMOVE}{_SQLITE_ADD}\nEND"
    ),
    "queue_counts_delete": f"AFTER DELETE ON reorder_requests BEGIN{_SQLITE_REMOVE}\nEND",
}

BACKFILL = (
    f"INSERT INTO queue_counts ({_KEY}, requests)"
    f" SELECT store_id, status, COALESCE(assigned_to_id, {NOBODY}), count(*)"
    " FROM reorder_requests GROUP BY 1, 2, 3"
)


def upgrade() -> None:
    op.create_table(
        "queue_counts",
        sa.Column("store_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("assignee_id", sa.Integer(), nullable=False),
        sa.Column("requests", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("store_id", "status", "assignee_id", name=op.f("pk_queue_counts")),
    )
    # Triggers first, then the backfill: on PostgreSQL creating a trigger locks the table
    # against writes until this migration commits, so no request is counted twice or missed.
    if op.get_bind().dialect.name == "postgresql":
        op.execute(POSTGRESQL_FUNCTION)
        for name, when in POSTGRESQL_TRIGGERS.items():
            op.execute(
                f"CREATE TRIGGER {name} {when} FOR EACH STATEMENT"
                " EXECUTE FUNCTION queue_counts_follow()"
            )
    else:
        for name, body in SQLITE_TRIGGERS.items():
            op.execute(f"CREATE TRIGGER {name} {body}")
    op.execute(BACKFILL)


def downgrade() -> None:
    postgresql = op.get_bind().dialect.name == "postgresql"
    on_table = " ON reorder_requests" if postgresql else ""
    for name in POSTGRESQL_TRIGGERS:
        op.execute(f"DROP TRIGGER IF EXISTS {name}{on_table}")
    if postgresql:
        op.execute("DROP FUNCTION IF EXISTS queue_counts_follow()")
    op.drop_table("queue_counts")
