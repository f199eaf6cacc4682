"""overview summaries: each store's requests, resolution times, claimed products and deductions
by month, kept by triggers

The store overview summed a store's requests, their items, their times to resolution and its
deductions row by row for every view (100,000 requests: 300-600 ms). These tables hold the same
figures per store and UTC month, kept by triggers as ``queue_counts`` is (migration 0012): every
write counts, whoever makes it; on PostgreSQL one statement-level trigger per operation folds a
statement's rows into one change per summary row, applied in key order under the row's lock;
SQLite has one writer at a time and row-level triggers.

- ``overview_filed``: requests per (store, UTC month of filing, issue type, status).
- ``overview_resolution_hours``: resolved requests (reordered, refunded, resolved) per (store,
  UTC month of closing, whole hours from filing to closing): a histogram, as a median cannot be
  a counter.
- ``overview_products``: quantity claimed per (store, UTC month of the request's filing, title).
- ``deduction_months``: what the invoices deduct (succeeded primary reorders and refunds) per
  (store, UTC month of resolution), in cents: the overview shows every open month's deductions.

Months are UTC months because SQLite has no time zones; the overview turns them into the
store's months exactly by reading the few hours between a store's month boundary and the UTC
one from the rows themselves (``portal.billing.months.zone_fringes``).

A request's items are deleted before it (a BEFORE DELETE trigger), so the item triggers still
find the request's store and month; the foreign key's cascade then finds nothing to delete.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-01 04:30:00.000000
"""

# ruff: noqa: S608 - the SQL below is assembled from this module's constants only

from __future__ import annotations

from collections.abc import Callable

import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None

RESOLVED = "('reordered', 'refunded', 'resolved')"

# (table, key columns, counted column)
FILED = ("overview_filed", "store_id, month, issue_type, status", "requests")
HOURS = ("overview_resolution_hours", "store_id, month, hours", "requests")
PRODUCTS = ("overview_products", "store_id, month, title", "quantity")
DEDUCTIONS = ("deduction_months", "store_id, month", "cents")


def _cents(prefix: str, integer: str) -> str:
    """A resolution's amount in whole cents (``prefix``: ``new.`` or ``old.`` in a row trigger)."""
    return f"CAST(round(COALESCE({prefix}amount, 0) * 100) AS {integer})"


def _deducted(prefix: str) -> str:
    """Whether a resolution is deducted on the invoices: a succeeded primary reorder or refund."""
    return (
        f"{prefix}resolved_at IS NOT NULL AND {prefix}status = 'succeeded'"
        f" AND {prefix}kind IN ('primary_reorder', 'refund')"
    )


def _upsert(table: tuple[str, str, str]) -> str:
    name, key, counted = table
    return f"ON CONFLICT ({key}) DO UPDATE SET {counted} = {name}.{counted} + excluded.{counted}"


# --- PostgreSQL: statement-level, in key order -----------------------------------------------


def _pg_month(column: str) -> str:
    return f"to_char({column} AT TIME ZONE 'UTC', 'YYYY-MM')"


def _pg_hours(alias: str) -> str:
    return (
        f"CAST(floor(EXTRACT(EPOCH FROM {alias}.closed_at))"
        f" - floor(EXTRACT(EPOCH FROM {alias}.created_at)) AS bigint) / 3600"
    )


def _pg_apply(table: tuple[str, str, str], changes: str) -> str:
    """Add ``changes`` (rows of key columns and a signed amount) to ``table`` in key order, then
    remove the rows they brought to zero (locked by this change)."""
    name, key, counted = table
    positions = ", ".join(str(n + 1) for n in range(len(key.split(","))))
    return f"""
    INSERT INTO {name} ({key}, {counted})
    SELECT {key}, sum(amount) FROM ({changes}) AS c({key}, amount)
    GROUP BY {positions} HAVING sum(amount) <> 0 ORDER BY {positions}
    {_upsert(table)};
    DELETE FROM {name} WHERE {counted} = 0
      AND ({key}) IN (SELECT {key} FROM ({changes}) AS c({key}, amount));"""


def _pg_filed(rows: str, sign: str) -> str:
    return f"SELECT store_id, {_pg_month('created_at')}, issue_type, status, {sign}1 FROM {rows}"


def _pg_hours_of(rows: str, sign: str) -> str:
    return (
        f"SELECT r.store_id, {_pg_month('r.closed_at')}, {_pg_hours('r')}, {sign}1 FROM {rows} r"
        f" WHERE r.closed_at IS NOT NULL AND r.status IN {RESOLVED}"
    )


def _pg_items_of(requests: str, sign: str) -> str:
    return (
        f"SELECT r.store_id, {_pg_month('r.created_at')}, i.title, {sign}i.quantity"
        f" FROM {requests} r JOIN request_items i ON i.request_id = r.id"
    )


# a request that moves to another store or filing time takes its items' quantities with it
_PG_MOVED = """(SELECT n.* FROM added n JOIN removed o ON o.id = n.id
      WHERE (o.store_id, o.created_at) IS DISTINCT FROM (n.store_id, n.created_at))"""
_PG_MOVED_FROM = """(SELECT o.* FROM added n JOIN removed o ON o.id = n.id
      WHERE (o.store_id, o.created_at) IS DISTINCT FROM (n.store_id, n.created_at))"""

POSTGRESQL_REQUESTS_FUNCTION = f"""
CREATE FUNCTION overview_requests_follow() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'INSERT' THEN
    {_pg_apply(FILED, _pg_filed("added", "+"))}
    {_pg_apply(HOURS, _pg_hours_of("added", "+"))}
  ELSIF TG_OP = 'DELETE' THEN
    {_pg_apply(FILED, _pg_filed("removed", "-"))}
    {_pg_apply(HOURS, _pg_hours_of("removed", "-"))}
  ELSE
    {_pg_apply(FILED, f"{_pg_filed('added', '+')} UNION ALL {_pg_filed('removed', '-')}")}
    {_pg_apply(HOURS, f"{_pg_hours_of('added', '+')} UNION ALL {_pg_hours_of('removed', '-')}")}
    {
    _pg_apply(
        PRODUCTS, f"{_pg_items_of(_PG_MOVED, '+')} UNION ALL {_pg_items_of(_PG_MOVED_FROM, '-')}"
    )
}
  END IF;
  RETURN NULL;
END
$$
"""


def _pg_item_rows(items: str, sign: str) -> str:
    return (
        f"SELECT r.store_id, {_pg_month('r.created_at')}, i.title, {sign}i.quantity"
        f" FROM {items} i JOIN reorder_requests r ON r.id = i.request_id"
    )


# An item counts under its request's store and month, so a writer of items first takes a share
# lock on their requests, in id order: it waits for a transaction moving one of them (whose
# trigger could not see this item) and reads the request as that one left it; a transaction
# moving a request waits for it in turn, and then sees the item. Each statement of the function
# reads what was committed when it began (READ COMMITTED), so the counting after the lock does.
_PG_LOCK_REQUESTS = """
    PERFORM 1 FROM reorder_requests WHERE id IN ({ids}) ORDER BY id FOR SHARE;"""

POSTGRESQL_ITEMS_FUNCTION = f"""
CREATE FUNCTION overview_items_follow() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'INSERT' THEN
    {_PG_LOCK_REQUESTS.format(ids="SELECT request_id FROM added")}
    {_pg_apply(PRODUCTS, _pg_item_rows("added", "+"))}
  ELSIF TG_OP = 'DELETE' THEN
    {_PG_LOCK_REQUESTS.format(ids="SELECT request_id FROM removed")}
    {_pg_apply(PRODUCTS, _pg_item_rows("removed", "-"))}
  ELSE
    {
    _PG_LOCK_REQUESTS.format(
        ids="SELECT request_id FROM added UNION SELECT request_id FROM removed"
    )
}
    {
    _pg_apply(PRODUCTS, f"{_pg_item_rows('added', '+')} UNION ALL {_pg_item_rows('removed', '-')}")
}
  END IF;
  RETURN NULL;
END
$$
"""

POSTGRESQL_ITEMS_FIRST = """
CREATE FUNCTION overview_items_go_first() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  DELETE FROM request_items WHERE request_id = OLD.id;
  RETURN OLD;
END
$$
"""


def _pg_deductions(rows: str, sign: str) -> str:
    return (
        f"SELECT store_id, {_pg_month('resolved_at')}, {sign}{_cents('', 'bigint')}"
        f" FROM {rows} WHERE {_deducted('')}"
    )


POSTGRESQL_RESOLUTIONS_FUNCTION = f"""
CREATE FUNCTION overview_resolutions_follow() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'INSERT' THEN
    {_pg_apply(DEDUCTIONS, _pg_deductions("added", "+"))}
  ELSIF TG_OP = 'DELETE' THEN
    {_pg_apply(DEDUCTIONS, _pg_deductions("removed", "-"))}
  ELSE
    {
    _pg_apply(
        DEDUCTIONS, f"{_pg_deductions('added', '+')} UNION ALL {_pg_deductions('removed', '-')}"
    )
}
  END IF;
  RETURN NULL;
END
$$
"""

POSTGRESQL_TRIGGERS = {
    "overview_requests_insert": (
        "AFTER INSERT ON reorder_requests REFERENCING NEW TABLE AS added FOR EACH STATEMENT"
        " EXECUTE FUNCTION overview_requests_follow()"
    ),
    "overview_requests_update": (
        "AFTER UPDATE ON reorder_requests REFERENCING OLD TABLE AS removed NEW TABLE AS added"
        " FOR EACH STATEMENT EXECUTE FUNCTION overview_requests_follow()"
    ),
    "overview_requests_delete": (
        "AFTER DELETE ON reorder_requests REFERENCING OLD TABLE AS removed FOR EACH STATEMENT"
        " EXECUTE FUNCTION overview_requests_follow()"
    ),
    "overview_items_go_first": (
        "BEFORE DELETE ON reorder_requests FOR EACH ROW EXECUTE FUNCTION overview_items_go_first()"
    ),
    "overview_items_insert": (
        "AFTER INSERT ON request_items REFERENCING NEW TABLE AS added FOR EACH STATEMENT"
        " EXECUTE FUNCTION overview_items_follow()"
    ),
    "overview_items_update": (
        "AFTER UPDATE ON request_items REFERENCING OLD TABLE AS removed NEW TABLE AS added"
        " FOR EACH STATEMENT EXECUTE FUNCTION overview_items_follow()"
    ),
    "overview_items_delete": (
        "AFTER DELETE ON request_items REFERENCING OLD TABLE AS removed FOR EACH STATEMENT"
        " EXECUTE FUNCTION overview_items_follow()"
    ),
    "overview_resolutions_insert": (
        "AFTER INSERT ON resolutions REFERENCING NEW TABLE AS added FOR EACH STATEMENT"
        " EXECUTE FUNCTION overview_resolutions_follow()"
    ),
    "overview_resolutions_update": (
        "AFTER UPDATE ON resolutions REFERENCING OLD TABLE AS removed NEW TABLE AS added"
        " FOR EACH STATEMENT EXECUTE FUNCTION overview_resolutions_follow()"
    ),
    "overview_resolutions_delete": (
        "AFTER DELETE ON resolutions REFERENCING OLD TABLE AS removed FOR EACH STATEMENT"
        " EXECUTE FUNCTION overview_resolutions_follow()"
    ),
}
POSTGRESQL_FUNCTIONS = {
    "overview_requests_follow": POSTGRESQL_REQUESTS_FUNCTION,
    "overview_items_follow": POSTGRESQL_ITEMS_FUNCTION,
    "overview_items_go_first": POSTGRESQL_ITEMS_FIRST,
    "overview_resolutions_follow": POSTGRESQL_RESOLUTIONS_FUNCTION,
}


# --- SQLite: row-level -----------------------------------------------------------------------


def _lite_month(column: str) -> str:
    return f"strftime('%Y-%m', {column})"


def _lite_hours(row: str) -> str:
    return (
        f"(CAST(strftime('%s', {row}.closed_at) AS INTEGER)"
        f" - CAST(strftime('%s', {row}.created_at) AS INTEGER)) / 3600"
    )


def _lite_add(table: tuple[str, str, str], values: str, where: str = "true") -> str:
    name, key, counted = table
    return f"""
  INSERT INTO {name} ({key}, {counted}) SELECT {values} WHERE {where}
  {_upsert(table)};"""


def _lite_take(table: tuple[str, str, str], values: str, amount: str, where: str = "1") -> str:
    """Subtract ``amount`` from the row keyed by ``values`` (when ``where``); drop it at zero."""
    name, key, counted = table
    columns = [c.strip() for c in key.split(",")]
    matches = " AND ".join(f"{c} = {v}" for c, v in zip(columns, _split(values), strict=True))
    return f"""
  UPDATE {name} SET {counted} = {counted} - ({amount}) WHERE {matches} AND ({where});
  DELETE FROM {name} WHERE {matches} AND {counted} = 0;"""


def _split(values: str) -> list[str]:
    """Top-level comma-separated expressions."""
    parts, depth, current = [], 0, ""
    for char in values:
        depth += {"(": 1, ")": -1}.get(char, 0)
        if char == "," and depth == 0:
            parts.append(current.strip())
            current = ""
        else:
            current += char
    return [*parts, current.strip()]


def _lite_filed(row: str) -> str:
    return f"{row}.store_id, {_lite_month(f'{row}.created_at')}, {row}.issue_type, {row}.status"


def _lite_hours_key(row: str) -> str:
    return f"{row}.store_id, {_lite_month(f'{row}.closed_at')}, {_lite_hours(row)}"


def _lite_resolved(row: str) -> str:
    return f"{row}.closed_at IS NOT NULL AND {row}.status IN {RESOLVED}"


def _lite_request_added(row: str) -> str:
    return _lite_add(FILED, f"{_lite_filed(row)}, 1") + _lite_add(
        HOURS, f"{_lite_hours_key(row)}, 1", _lite_resolved(row)
    )


def _lite_request_removed(row: str) -> str:
    return _lite_take(FILED, _lite_filed(row), "1") + _lite_take(
        HOURS, _lite_hours_key(row), "1", _lite_resolved(row)
    )


def _lite_request_items(row: str, sign: str) -> str:
    """The quantities of the request's items, added (+) or taken (-) at the request's key."""
    name, key, counted = PRODUCTS
    return f"""
  INSERT INTO {name} ({key}, {counted})
  SELECT {row}.store_id, {_lite_month(f"{row}.created_at")}, title, {sign}sum(quantity)
  FROM request_items WHERE request_id = {row}.id GROUP BY title
  {_upsert(PRODUCTS)};
  DELETE FROM {name} WHERE store_id = {row}.store_id
    AND month = {_lite_month(f"{row}.created_at")} AND {counted} = 0;"""


def _lite_item_key(row: str) -> str:
    parent = f"(SELECT %s FROM reorder_requests WHERE id = {row}.request_id)"
    return f"{parent % 'store_id'}, {parent % _lite_month('created_at')}, {row}.title"


def _lite_item_added(row: str) -> str:
    found = f"EXISTS (SELECT 1 FROM reorder_requests WHERE id = {row}.request_id)"
    return _lite_add(PRODUCTS, f"{_lite_item_key(row)}, {row}.quantity", found)


def _lite_item_removed(row: str) -> str:
    return _lite_take(PRODUCTS, _lite_item_key(row), f"{row}.quantity")


def _lite_deduction_key(row: str) -> str:
    return f"{row}.store_id, {_lite_month(f'{row}.resolved_at')}"


def _lite_resolution_added(row: str) -> str:
    cents = _cents(f"{row}.", "INTEGER")
    return _lite_add(DEDUCTIONS, f"{_lite_deduction_key(row)}, {cents}", _deducted(f"{row}."))


def _lite_resolution_removed(row: str) -> str:
    cents = _cents(f"{row}.", "INTEGER")
    return _lite_take(DEDUCTIONS, _lite_deduction_key(row), cents, _deducted(f"{row}."))


SQLITE_TRIGGERS = {
    "overview_requests_insert": (
        f"AFTER INSERT ON reorder_requests BEGIN{_lite_request_added('new')}\nEND"
    ),
    "overview_requests_update": (
        "AFTER UPDATE OF store_id, created_at, issue_type, status, closed_at ON reorder_requests"
        " WHEN old.store_id IS NOT new.store_id OR old.created_at IS NOT new.created_at"
        " OR old.issue_type IS NOT new.issue_type OR old.status IS NOT new.status"
        " OR old.closed_at IS NOT new.closed_at"
        f" BEGIN{_lite_request_removed('old')}{_lite_request_added('new')}\nEND"
    ),
    "overview_requests_move_items": (
        "AFTER UPDATE OF store_id, created_at ON reorder_requests"
        " WHEN old.store_id IS NOT new.store_id OR old.created_at IS NOT new.created_at"
        f" BEGIN{_lite_request_items('old', '-')}{_lite_request_items('new', '+')}\nEND"
    ),
    "overview_items_go_first": (
        "BEFORE DELETE ON reorder_requests"
        " BEGIN DELETE FROM request_items WHERE request_id = old.id;\nEND"
    ),
    "overview_requests_delete": (
        f"AFTER DELETE ON reorder_requests BEGIN{_lite_request_removed('old')}\nEND"
    ),
    "overview_items_insert": f"AFTER INSERT ON request_items BEGIN{_lite_item_added('new')}\nEND",
    "overview_items_update": (
        "AFTER UPDATE OF request_id, title, quantity ON request_items"
        f" BEGIN{_lite_item_removed('old')}{_lite_item_added('new')}\nEND"
    ),
    "overview_items_delete": (
        f"AFTER DELETE ON request_items BEGIN{_lite_item_removed('old')}\nEND"
    ),
    "overview_resolutions_insert": (
        f"AFTER INSERT ON resolutions BEGIN{_lite_resolution_added('new')}\nEND"
    ),
    "overview_resolutions_update": (
        "AFTER UPDATE OF store_id, kind, status, amount, resolved_at ON resolutions"
        f" BEGIN{_lite_resolution_removed('old')}{_lite_resolution_added('new')}\nEND"
    ),
    "overview_resolutions_delete": (
        f"AFTER DELETE ON resolutions BEGIN{_lite_resolution_removed('old')}\nEND"
    ),
}
TRIGGER_TABLES = {
    name: body.split(" ON ")[1].split(" ")[0] for name, body in SQLITE_TRIGGERS.items()
}


# --- backfill --------------------------------------------------------------------------------


def _backfill(month: Callable[[str], str], hours: str, cents: str) -> list[str]:
    return [
        f"INSERT INTO overview_filed (store_id, month, issue_type, status, requests)"
        f" SELECT store_id, {month('created_at')}, issue_type, status, count(*)"
        f" FROM reorder_requests GROUP BY 1, 2, 3, 4",
        f"INSERT INTO overview_resolution_hours (store_id, month, hours, requests)"
        f" SELECT r.store_id, {month('r.closed_at')}, {hours}, count(*) FROM reorder_requests r"
        f" WHERE r.closed_at IS NOT NULL AND r.status IN {RESOLVED} GROUP BY 1, 2, 3",
        f"INSERT INTO overview_products (store_id, month, title, quantity)"
        f" SELECT r.store_id, {month('r.created_at')}, i.title, sum(i.quantity)"
        f" FROM request_items i JOIN reorder_requests r ON r.id = i.request_id"
        f" GROUP BY 1, 2, 3 HAVING sum(i.quantity) <> 0",
        f"INSERT INTO deduction_months (store_id, month, cents)"
        f" SELECT store_id, {month('resolved_at')}, sum({cents})"
        f" FROM resolutions WHERE {_deducted('')} GROUP BY 1, 2 HAVING sum({cents}) <> 0",
    ]


def upgrade() -> None:
    month = sa.String(7)
    op.create_table(
        "overview_filed",
        sa.Column("store_id", sa.Integer(), nullable=False),
        sa.Column("month", month, nullable=False),
        sa.Column("issue_type", sa.String(16), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("requests", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint(
            "store_id", "month", "issue_type", "status", name=op.f("pk_overview_filed")
        ),
    )
    op.create_table(
        "overview_resolution_hours",
        sa.Column("store_id", sa.Integer(), nullable=False),
        sa.Column("month", month, nullable=False),
        sa.Column("hours", sa.Integer(), nullable=False),
        sa.Column("requests", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint(
            "store_id", "month", "hours", name=op.f("pk_overview_resolution_hours")
        ),
    )
    op.create_table(
        "overview_products",
        sa.Column("store_id", sa.Integer(), nullable=False),
        sa.Column("month", month, nullable=False),
        sa.Column("title", sa.String(300), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("store_id", "month", "title", name=op.f("pk_overview_products")),
    )
    op.create_table(
        "deduction_months",
        sa.Column("store_id", sa.Integer(), nullable=False),
        sa.Column("month", month, nullable=False),
        sa.Column("cents", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("store_id", "month", name=op.f("pk_deduction_months")),
    )
    # Triggers first, then the backfill: on PostgreSQL creating a trigger locks the table
    # against writes until this migration commits, so no row is counted twice or missed.
    if op.get_bind().dialect.name == "postgresql":
        for body in POSTGRESQL_FUNCTIONS.values():
            op.execute(body)
        for name, when in POSTGRESQL_TRIGGERS.items():
            op.execute(f"CREATE TRIGGER {name} {when}")
        statements = _backfill(_pg_month, _pg_hours("r"), _cents("", "bigint"))
    else:
        for name, body in SQLITE_TRIGGERS.items():
            op.execute(f"CREATE TRIGGER {name} {body}")
        statements = _backfill(_lite_month, _lite_hours("r"), _cents("", "INTEGER"))
    for statement in statements:
        op.execute(statement)


def downgrade() -> None:
    postgresql = op.get_bind().dialect.name == "postgresql"
    for name, table in TRIGGER_TABLES.items():
        op.execute(f"DROP TRIGGER IF EXISTS {name}{f' ON {table}' if postgresql else ''}")
    if postgresql:
        for name in POSTGRESQL_FUNCTIONS:
            op.execute(f"DROP FUNCTION IF EXISTS {name}()")
    op.drop_table("deduction_months")
    op.drop_table("overview_products")
    op.drop_table("overview_resolution_hours")
    op.drop_table("overview_filed")
