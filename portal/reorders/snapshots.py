"""An order as Shopify answered for it a moment ago, reused by whatever reads it next.

A shopper's flow reads the order on every page (its items, refunds, shipments), and the jobs
that judge a request just filed (risk signals, the store's rules) read it again; each read
spends the store's Shopify query points, an order with its parcels ~60 of them. The order is
kept in the database (so every process sees the same copy, and the one invalidation) per store
and order, and read again when it can have changed:

- the store's ``orders/updated``, ``orders/cancelled`` and ``refunds/create`` webhooks
  (``portal.webhooks.deliveries``) mark it changed; a read begun before that moment is never
  kept, so a slow read cannot put back what the webhook made stale;
- it is read again anyway once it is ``MAX_AGE`` old (a webhook can be late or lost).

Filing still checks, under the order's lock, what the portal itself knows (the items already
claimed); the copy only saves asking Shopify again for what it said a moment ago.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

import msgspec
from sqlalchemy import Table, delete, or_, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from portal.clock import utcnow
from portal.integrations.shopify.models import Order
from portal.reorders.models import OrderSnapshot

MAX_AGE = timedelta(minutes=5)
CLOCK_SKEW = timedelta(seconds=1)
"""Web processes on different machines read slightly different clocks: a read begun within
this of a change is treated as begun before it."""

_decoder = msgspec.json.Decoder(Order)


async def read_or_fetch(
    sessions: async_sessionmaker[AsyncSession],
    *,
    store_id: int,
    order_id: str,
    fetch: Callable[[], Awaitable[Order | None]],
) -> Order | None:
    """The kept copy of the order while it cannot have changed, else ``fetch()``'s answer,
    kept. No database session is open while Shopify is asked."""
    asked_at = utcnow()
    async with sessions() as session:
        kept = await read(session, store_id=store_id, order_id=order_id, now=asked_at)
    if kept is not None:
        return kept
    order = await fetch()
    if order is not None:
        async with sessions() as session:
            await keep(session, store_id=store_id, order=order, read_since=asked_at)
            await session.commit()
    return order


async def read(
    session: AsyncSession, *, store_id: int, order_id: str, now: datetime
) -> Order | None:
    """The kept order, unless there is none, it changed since, or it is too old."""
    kept = await session.scalar(
        select(OrderSnapshot.data).where(
            OrderSnapshot.store_id == store_id,
            OrderSnapshot.shopify_order_id == order_id,
            OrderSnapshot.data.is_not(None),
            OrderSnapshot.read_at > now - MAX_AGE,
        )
    )
    if kept is None:
        return None
    try:
        return _decoder.decode(kept)
    except msgspec.DecodeError:  # written by an older shape of Order: read it again
        return None


async def keep(session: AsyncSession, *, store_id: int, order: Order, read_since: datetime) -> None:
    """Keep ``order`` as read by a call begun at ``read_since``, unless a webhook said it
    changed after that, or a read begun later is kept already. Committed by the caller."""
    data = msgspec.json.encode(order).decode()
    values = {"store_id": store_id, "shopify_order_id": order.id}
    table = _table()
    statement = _insert(session, table).values(**values, data=data, read_at=read_since)
    statement = statement.on_conflict_do_update(
        index_elements=[table.c.store_id, table.c.shopify_order_id],
        set_={"data": data, "read_at": read_since},
        where=(
            or_(table.c.changed_at.is_(None), table.c.changed_at < read_since - CLOCK_SKEW)
            & or_(table.c.read_at.is_(None), table.c.read_at < read_since)
        ),
    )
    await session.execute(statement)


async def forget(session: AsyncSession, *, store_id: int, order_id: str, now: datetime) -> None:
    """The order changed at ``now``: its copy is dropped, and reads begun before are not kept.
    In the caller's transaction (the webhook's)."""
    table = _table()
    values = {"store_id": store_id, "shopify_order_id": order_id}
    statement = _insert(session, table).values(**values, data=None, read_at=None, changed_at=now)
    statement = statement.on_conflict_do_update(
        index_elements=[table.c.store_id, table.c.shopify_order_id],
        set_={"data": None, "changed_at": now},
    )
    await session.execute(statement)


async def purge(session: AsyncSession, *, now: datetime) -> int:
    """Delete copies nobody can use any more (they hold the buyer's address)."""
    done = await session.execute(
        delete(OrderSnapshot).where(
            or_(OrderSnapshot.read_at.is_(None), OrderSnapshot.read_at < now - MAX_AGE),
            or_(OrderSnapshot.changed_at.is_(None), OrderSnapshot.changed_at < now - MAX_AGE),
        )
    )
    return int(done.rowcount or 0)  # type: ignore[attr-defined]


def _insert(session: AsyncSession, table: Table) -> postgresql.Insert | sqlite.Insert:
    """An INSERT that can say what to do on conflict, in the database's own dialect."""
    if session.get_bind().dialect.name == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)


def _table() -> Table:
    table = OrderSnapshot.__table__
    assert isinstance(table, Table)
    return table
