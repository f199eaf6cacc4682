"""The overview's summaries the database keeps (migration 0018): after any mix of writes to
requests, their items and their resolutions (the ORM's, bulk statements, raw SQL, a request
deleted with its items by the database's cascade, a store erased, rolled back changes, concurrent
transactions on PostgreSQL) they equal a fresh computation from the rows; and the store months
read from them equal the rows counted by the store's calendar, in zones west and east of UTC and
off the whole hour."""

from __future__ import annotations

import asyncio
import random
from collections import Counter
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from itertools import count
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import delete, select, text, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession
from sqlalchemy.orm.exc import StaleDataError

from portal.billing import summaries
from portal.billing.models import DeductionMonth, FiledCount, ProductCount, ResolutionHours
from portal.billing.months import month_of
from portal.compliance.shops import erase_shop
from portal.db import session_factory
from portal.reorders.models import IssueType, ReorderRequest, RequestItem, RequestStatus
from portal.storage import DirectoryStorage
from portal.stores.models import Store
from portal.support.models import Resolution
from tests.helpers.factories import reorder_request, store_row

pytestmark = pytest.mark.anyio

# Around a few month boundaries, so requests land in the hours between a store's midnight and UTC's.
BOUNDARIES = [datetime(2026, m, 1, tzinfo=UTC) for m in (8, 9, 10, 11)]
STATUSES = [s.value for s in RequestStatus]
RESOLVED = {"reordered", "refunded", "resolved"}
DEDUCTED = {"primary_reorder", "refund"}
TITLES = ["Enamel mug", "Canvas tote", "Wool beanie", "Camp lantern"]
ZONES = ["America/New_York", "Asia/Kolkata", "Pacific/Kiritimati", "Pacific/Pago_Pago", "UTC"]
_stores = count(1)

Kept = dict[tuple[Any, ...], int]


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _hours(closed: datetime, created: datetime) -> int:
    """Whole hours between two moments, their fractions of a second dropped (as the triggers)."""
    seconds = int(_utc(closed).timestamp()) - int(_utc(created).timestamp())
    return int(seconds / 3600)  # towards zero, as both databases divide integers


async def kept(db: AsyncSession) -> tuple[Kept, Kept, Kept, Kept]:
    f, h, p, d = FiledCount, ResolutionHours, ProductCount, DeductionMonth
    filed = await db.execute(select(f.store_id, f.month, f.issue_type, f.status, f.requests))
    hours = await db.execute(select(h.store_id, h.month, h.hours, h.requests))
    products = await db.execute(select(p.store_id, p.month, p.title, p.quantity))
    deductions = await db.execute(select(d.store_id, d.month, d.cents))
    return tuple(  # type: ignore[return-value]
        {tuple(row[:-1]): row[-1] for row in rows}  # no zero: an empty row is removed
        for rows in (filed, hours, products, deductions)
    )


async def fresh(db: AsyncSession) -> tuple[Kept, Kept, Kept, Kept]:
    """The same figures counted here from the rows, by UTC month."""
    requests = (
        await db.execute(
            text(
                "SELECT id, store_id, issue_type, status, created_at, closed_at"
                " FROM reorder_requests"
            )
        )
    ).all()
    filed: Counter[tuple[Any, ...]] = Counter()
    hours: Counter[tuple[Any, ...]] = Counter()
    filed_in: dict[int, tuple[int, str]] = {}
    for request_id, store_id, issue, status, created, closed in requests:
        created = _parse(created)
        month = created.strftime("%Y-%m")
        filed[(store_id, month, issue, status)] += 1
        filed_in[request_id] = (store_id, month)
        if status in RESOLVED and closed is not None:
            closed = _parse(closed)
            hours[(store_id, closed.strftime("%Y-%m"), _hours(closed, created))] += 1
    products: Counter[tuple[Any, ...]] = Counter()
    items = await db.execute(text("SELECT request_id, title, quantity FROM request_items"))
    for request_id, title, quantity in items:
        products[(*filed_in[request_id], title)] += quantity
    deductions: Counter[tuple[Any, ...]] = Counter()
    resolutions = await db.execute(
        text("SELECT store_id, kind, status, amount, resolved_at FROM resolutions")
    )
    for store_id, kind, status, amount, resolved in resolutions:
        if status == "succeeded" and kind in DEDUCTED and resolved is not None:
            month = _parse(resolved).strftime("%Y-%m")
            deductions[(store_id, month)] += _cents(amount)
    return tuple(  # type: ignore[return-value]
        {k: n for k, n in c.items() if n} for c in (filed, hours, products, deductions)
    )


def _cents(amount: object) -> int:
    return int((Decimal(str(amount or 0)) * 100).quantize(Decimal(1), ROUND_HALF_UP))


def _parse(value: object) -> datetime:
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    return _utc(moment)


async def assert_summaries_are_right(db: AsyncSession) -> None:
    await db.commit()
    assert await kept(db) == await fresh(db)


async def make_stores(db: AsyncSession, n: int) -> list[int]:
    made = [store_row(f"summed-{next(_stores)}") for _ in range(n)]
    db.add_all(made)
    await db.commit()
    return [s.id for s in made]


def _moment(rng: random.Random) -> datetime:
    """Within a day of a month boundary, to the microsecond."""
    offset = timedelta(seconds=rng.uniform(-86_400, 86_400))
    return rng.choice(BOUNDARIES) + offset


def new_request(rng: random.Random, stores: list[int]) -> ReorderRequest:
    status = rng.choice(STATUSES)
    created = _moment(rng)
    closed = created + timedelta(seconds=rng.uniform(0, 30 * 3600)) if rng.random() < 0.8 else None
    request = reorder_request(
        rng.choice(stores),
        status=status,
        issue_type=rng.choice(list(IssueType)).value,
        created_at=created,
        updated_at=created,
        closed_at=closed,
    )
    request.items = [new_item(rng) for _ in range(rng.randint(0, 3))]
    return request


def new_item(rng: random.Random) -> RequestItem:
    return RequestItem(
        line_item_id=f"gid://shopify/LineItem/{rng.randrange(10**9)}",
        title=rng.choice(TITLES),
        quantity=rng.randint(1, 4),
        unit_price=Decimal("9.50"),
    )


def new_resolution(rng: random.Random, request: ReorderRequest) -> Resolution:
    status = rng.choice(["pending", "succeeded", "succeeded", "failed"])
    return Resolution(
        request_id=request.id,
        store_id=request.store_id,
        kind=rng.choice(["primary_reorder", "refund", "alternative_reorder"]),
        status=status,
        amount=Decimal(rng.randrange(1, 10_000)) / 100,
        currency="USD",
        deducted=True,
        agent_email="agent@example.com",
        description="",
        resolved_at=None if status == "pending" else _moment(rng),
    )


async def some_resolution(db: AsyncSession, rng: random.Random) -> Resolution | None:
    ids = list(await db.scalars(select(Resolution.id)))
    return await db.get(Resolution, rng.choice(ids)) if ids else None


async def _forget_resolutions(db: AsyncSession, request_ids: list[int]) -> None:
    """A request goes with its resolutions (as the product erases a store: them first)."""
    await db.execute(
        delete(Resolution)
        .where(Resolution.request_id.in_(request_ids))
        .execution_options(synchronize_session=False)
    )


async def some_request(db: AsyncSession, rng: random.Random) -> ReorderRequest | None:
    ids = list(await db.scalars(select(ReorderRequest.id)))
    return await db.get(ReorderRequest, rng.choice(ids)) if ids else None


async def some_item(db: AsyncSession, rng: random.Random) -> RequestItem | None:
    ids = list(await db.scalars(select(RequestItem.id)))
    return await db.get(RequestItem, rng.choice(ids)) if ids else None


async def test_summaries_equal_a_fresh_count_after_a_random_mix_of_writes(
    db: AsyncSession, tmp_path: Path
) -> None:
    rng = random.Random(18)
    stores = await make_stores(db, 3)
    db.add_all(new_request(rng, stores) for _ in range(40))
    await assert_summaries_are_right(db)

    async def add() -> None:
        db.add_all(new_request(rng, stores) for _ in range(rng.randint(1, 3)))

    async def close() -> None:  # as an agent's resolution does: a status and a closing time
        if found := await some_request(db, rng):
            found.status = rng.choice(["reordered", "refunded", "resolved", "denied"])
            found.closed_at = found.created_at + timedelta(minutes=rng.randrange(1, 3000))

    async def reopen() -> None:
        if found := await some_request(db, rng):
            found.status, found.closed_at = rng.choice(STATUSES[:4]), None

    async def change_issue() -> None:
        if found := await some_request(db, rng):
            found.issue_type = rng.choice(list(IssueType)).value

    async def move() -> None:  # another store or filing time takes its items along
        if found := await some_request(db, rng):
            found.store_id = rng.choice(stores)
            found.created_at = _moment(rng)

    async def add_item() -> None:
        if found := await some_request(db, rng):
            db.add(RequestItem(**_item_values(rng, found.id)))

    async def change_item() -> None:
        if item := await some_item(db, rng):
            item.quantity, item.title = rng.randint(1, 5), rng.choice(TITLES)

    async def move_item() -> None:
        if (item := await some_item(db, rng)) and (found := await some_request(db, rng)):
            item.request_id = found.id

    async def remove_item() -> None:
        if item := await some_item(db, rng):
            await db.delete(item)

    async def remove() -> None:  # the ORM deletes the items first
        if found := await some_request(db, rng):
            await _forget_resolutions(db, [found.id])
            await db.delete(found)

    async def delete_by_hand() -> None:  # the database deletes the items (its cascade)
        r = ReorderRequest
        doomed = list(
            await db.scalars(select(r.id).where(r.status == rng.choice(STATUSES)).limit(2))
        )
        await _forget_resolutions(db, doomed)
        for request_id in doomed:
            await db.execute(text("DELETE FROM reorder_requests WHERE id = :i"), {"i": request_id})

    async def add_resolution() -> None:  # a request has one at most
        r = ReorderRequest
        unresolved = r.id.not_in(select(Resolution.request_id))
        ids = list(await db.scalars(select(r.id).where(unresolved)))
        if ids and (found := await db.get(r, rng.choice(ids))):
            db.add(new_resolution(rng, found))

    async def settle() -> None:  # as a resolution's job does: a status, an amount, a moment
        if found := await some_resolution(db, rng):
            found.status = rng.choice(["succeeded", "failed", "pending"])
            found.amount = Decimal(rng.randrange(0, 10_000)) / 100
            found.resolved_at = _moment(rng)
            found.kind = rng.choice(["primary_reorder", "refund", "alternative_reorder"])

    async def remove_resolution() -> None:
        if found := await some_resolution(db, rng):
            await db.delete(found)

    async def bulk_resolutions() -> None:
        await db.execute(
            text("UPDATE resolutions SET amount = amount + 0.05 WHERE kind = :k"),
            {"k": rng.choice(["primary_reorder", "refund"])},
        )

    async def bulk_status() -> None:
        r = ReorderRequest
        await db.execute(
            update(r)
            .where(r.status == rng.choice(STATUSES), r.store_id == rng.choice(stores))
            .values(status=rng.choice(STATUSES))
            .execution_options(synchronize_session=False)
        )

    async def bulk_shift() -> None:  # every request of a store filed an hour later, in SQL
        shift = (
            "created_at + INTERVAL '1 hour'"
            if db.get_bind().dialect.name == "postgresql"
            else "datetime(created_at, '+1 hour')"
        )
        await db.execute(
            text(f"UPDATE reorder_requests SET created_at = {shift} WHERE store_id = :s"),  # noqa: S608
            {"s": rng.choice(stores)},
        )

    async def bulk_items() -> None:
        await db.execute(
            update(RequestItem)
            .where(RequestItem.title == rng.choice(TITLES))
            .values(quantity=RequestItem.quantity + 1)
            .execution_options(synchronize_session=False)
        )

    async def bulk_delete() -> None:
        r = ReorderRequest
        doomed = list(
            await db.scalars(select(r.id).where(r.status == rng.choice(STATUSES)).limit(3))
        )
        await _forget_resolutions(db, doomed)
        await db.execute(
            delete(r).where(r.id.in_(doomed)).execution_options(synchronize_session=False)
        )

    async def untouched_columns() -> None:
        await db.execute(text("UPDATE reorder_requests SET risk_count = risk_count + 1"))

    operations: list[Callable[[], Awaitable[None]]] = [
        add,
        add,
        close,
        reopen,
        change_issue,
        move,
        add_item,
        change_item,
        move_item,
        remove_item,
        remove,
        delete_by_hand,
        bulk_status,
        bulk_shift,
        bulk_items,
        bulk_delete,
        untouched_columns,
        add_resolution,
        add_resolution,
        settle,
        remove_resolution,
        bulk_resolutions,
    ]
    for step in range(300):
        await rng.choice(operations)()
        await db.flush()
        if step % 7 == 6:  # a change that is rolled back leaves the summaries as they were
            await db.rollback()
            db.expunge_all()
        if step % 5 == 4:
            await assert_summaries_are_right(db)
            db.expunge_all()
    await assert_summaries_are_right(db)
    assert all(await kept(db))  # something of each was counted
    # A store erased (the product's own purge) leaves nothing of it in the summaries. Moves above
    # left some resolutions under another store than their request's: the product never does.
    await db.execute(
        text(
            "UPDATE resolutions SET store_id ="
            " (SELECT store_id FROM reorder_requests WHERE id = resolutions.request_id)"
        )
    )
    await assert_summaries_are_right(db)
    doomed = await db.get(Store, stores[0])
    assert doomed is not None
    await erase_shop(db, doomed, storage=DirectoryStorage(tmp_path))
    await assert_summaries_are_right(db)
    assert not any(key[0] == stores[0] for rows in await kept(db) for key in rows)


def _item_values(rng: random.Random, request_id: int) -> dict[str, Any]:
    return {
        "request_id": request_id,
        "line_item_id": f"gid://shopify/LineItem/{rng.randrange(10**9)}",
        "title": rng.choice(TITLES),
        "quantity": rng.randint(1, 4),
        "unit_price": Decimal("9.50"),
    }


@pytest.mark.parametrize("zone", ZONES)
async def test_store_months_read_from_the_summaries_equal_the_rows(
    db: AsyncSession, zone: str
) -> None:
    """West of UTC (New York, Pago Pago), east (Kolkata at +5:30, Kiritimati at +14) and at it:
    each store month's figures equal the rows counted by the store's own calendar."""
    rng = random.Random(zone)
    (store_id,) = await make_stores(db, 1)
    store = await db.get(Store, store_id)
    assert store is not None
    store.time_zone = zone
    made = [new_request(rng, [store_id]) for _ in range(150)]
    rows = [
        (
            r.created_at,
            r.issue_type,
            r.status,
            r.closed_at,
            [(i.title, i.quantity) for i in r.items],
        )
        for r in made
    ]
    db.add_all(made)
    await db.commit()
    months = ["2026-08", "2026-09", "2026-10"]

    def local(moment: datetime) -> str:
        return month_of(moment, zone)

    filed = await summaries.filed(db, store, months)
    expected = Counter((local(created), issue, status) for created, issue, status, *_ in rows)
    assert filed == Counter({k: n for k, n in expected.items() if k[0] in months})
    times = await summaries.resolution_times(db, store, months)
    expected = Counter(
        (local(closed), _hours(closed, created))
        for created, _issue, status, closed, _items in rows
        if closed is not None and status in RESOLVED
    )
    assert times == Counter({k: n for k, n in expected.items() if k[0] in months})
    periods = [months[:1], months[1:]]
    claimed = await summaries.claimed(db, store, periods)
    for run, found in zip(periods, claimed, strict=True):
        quantities: Counter[str] = Counter()
        for created, *_rest, items in rows:
            if local(created) in run:
                for title, quantity in items:
                    quantities[title] += quantity
        assert found == quantities
    resolutions = [new_resolution(rng, r) for r in made[::2]]
    db.add_all(resolutions)
    await db.commit()
    deducted: Counter[str] = Counter()
    for resolution in resolutions:
        if resolution.status == "succeeded" and resolution.kind in DEDUCTED:
            assert resolution.resolved_at is not None
            deducted[local(resolution.resolved_at)] += _cents(resolution.amount)
    found_deductions = await summaries.deductions(db, store, months)
    assert found_deductions == {m: Decimal(deducted[m]).scaleb(-2) for m in months}
    assert any(found_deductions.values())
    assert sum(filed.values()) > 0 and sum(times.values()) > 0


async def test_concurrent_writers_lose_nothing(engine: AsyncEngine, db: AsyncSession) -> None:
    """Eight transactions at a time file, close, move and delete requests and change items of
    the same store and months (so they contend for the same summary rows); every change is
    counted once."""
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite has one writer at a time")
    stores = await make_stores(db, 2)
    seed = random.Random(5)
    db.add_all(new_request(seed, stores) for _ in range(60))
    await db.commit()
    ids = list(await db.scalars(select(ReorderRequest.id)))
    for request in await db.scalars(select(ReorderRequest).where(ReorderRequest.id.in_(ids[::2]))):
        db.add(new_resolution(seed, request))
    await db.commit()
    sessions = session_factory(engine)
    retried = 0

    async def writer(n: int) -> None:
        nonlocal retried
        rng = random.Random(n)
        for _ in range(30):
            while True:
                try:
                    async with sessions() as session, session.begin():
                        await _one_concurrent_change(session, rng, ids, stores)
                    break
                except StaleDataError:  # the request was deleted by another writer meanwhile
                    break
                except DBAPIError as exc:
                    state = getattr(exc.orig, "sqlstate", None)
                    if state == "23503":  # an item for a request another writer deleted
                        break
                    if state not in ("40P01", "40001"):  # a deadlock: try again
                        raise
                    retried += 1

    await asyncio.gather(*(writer(n) for n in range(8)))
    await assert_summaries_are_right(db)
    assert retried < 60


async def _one_concurrent_change(
    session: AsyncSession, rng: random.Random, ids: list[int], stores: list[int]
) -> None:
    r = ReorderRequest
    choice = rng.random()
    if choice < 0.2:
        session.add(new_request(rng, stores))
    elif choice < 0.6:
        found = await session.get(r, rng.choice(ids))
        if found is not None:
            found.status = rng.choice(STATUSES)
            found.closed_at = found.created_at + timedelta(minutes=rng.randrange(1, 3000))
            if rng.random() < 0.2:
                found.store_id = rng.choice(stores)
    elif choice < 0.7:
        session.add(RequestItem(**_item_values(rng, rng.choice(ids))))
    elif choice < 0.8:
        resolution = await session.scalar(
            select(Resolution).where(Resolution.request_id == rng.choice(ids))
        )
        if resolution is not None:
            resolution.status = rng.choice(["succeeded", "failed"])
            resolution.amount = Decimal(rng.randrange(0, 10_000)) / 100
            resolution.resolved_at = _moment(rng)
    elif choice < 0.9:
        chosen = sorted(rng.sample(ids, 4))
        await session.execute(
            update(RequestItem)
            .where(RequestItem.request_id.in_(chosen))
            .values(quantity=RequestItem.quantity + 1)
            .execution_options(synchronize_session=False)
        )
    else:
        doomed = rng.choice(ids)
        await _forget_resolutions(session, [doomed])
        await session.execute(
            delete(r).where(r.id == doomed).execution_options(synchronize_session=False)
        )
    await session.flush()
    await asyncio.sleep(rng.random() / 100)  # hold the summaries' locks a moment
