"""The queue's counts per status come from counters the database keeps (migration 0012): after
any mix of writes (the ORM's, bulk statements, raw SQL, deletes, moves between stores, rolled
back changes, concurrent transactions on PostgreSQL) they equal a fresh count of the table, and
the queue's counts under every store and assignee filter are exact."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from itertools import count

import pytest
from sqlalchemy import delete, func, select, text, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from portal.accounts.models import User
from portal.db import session_factory
from portal.reorders.models import IssueType, ReorderRequest, RequestStatus
from portal.support import queue
from portal.support.models import QueueCount
from portal.support.queue import Assignment, QueueFilters, QueueQuery
from tests.helpers.factories import reorder_request, store_row

pytestmark = pytest.mark.anyio

NOW = datetime.now(UTC).replace(microsecond=0)
STATUSES = [s.value for s in RequestStatus]
_users = count(1)

Counts = dict[tuple[int, str, int], int]


async def kept(db: AsyncSession) -> Counts:
    rows = await db.execute(
        select(QueueCount.store_id, QueueCount.status, QueueCount.assignee_id, QueueCount.requests)
    )
    return {(s, st, a): n for s, st, a, n in rows}  # no zero: an empty counter is removed


async def fresh(db: AsyncSession) -> Counts:
    r = ReorderRequest
    assignee = func.coalesce(r.assigned_to_id, 0)
    rows = await db.execute(
        select(r.store_id, r.status, assignee, func.count()).group_by(
            r.store_id, r.status, assignee
        )
    )
    return {(s, st, a): n for s, st, a, n in rows}


async def assert_counts_are_right(db: AsyncSession) -> None:
    await db.commit()
    assert await kept(db) == await fresh(db)


async def world(db: AsyncSession, stores: int = 3, agents: int = 3) -> tuple[list[int], list[int]]:
    """Stores and agents to file requests under; returns their ids."""
    made = [store_row(f"counted-{n}") for n in range(stores)]
    db.add_all(made)
    users = [
        User(
            email=f"agent{next(_users)}@example.com",
            password_hash="x",
            role="agent",
            password_changed_at=NOW,
        )
        for _ in range(agents)
    ]
    db.add_all(users)
    await db.commit()
    return [s.id for s in made], [u.id for u in users]


def new_request(rng: random.Random, stores: list[int], agents: list[int]) -> ReorderRequest:
    return reorder_request(
        rng.choice(stores),
        status=rng.choice(STATUSES),
        assigned_to_id=rng.choice([None, *agents]),
        issue_type=rng.choice(list(IssueType)).value,
        created_at=NOW - timedelta(minutes=rng.randrange(10_000)),
        updated_at=NOW,
    )


async def some_request(db: AsyncSession, rng: random.Random) -> ReorderRequest | None:
    ids = list(await db.scalars(select(ReorderRequest.id)))
    return await db.get(ReorderRequest, rng.choice(ids)) if ids else None


async def test_counters_equal_a_fresh_count_after_a_random_mix_of_writes(db: AsyncSession) -> None:
    rng = random.Random(14)
    stores, agents = await world(db)
    db.add_all(new_request(rng, stores, agents) for _ in range(40))
    await assert_counts_are_right(db)

    async def add() -> None:
        db.add_all(new_request(rng, stores, agents) for _ in range(rng.randint(1, 3)))

    async def change_status() -> None:
        if found := await some_request(db, rng):
            found.status = rng.choice(STATUSES)

    async def assign() -> None:
        if found := await some_request(db, rng):
            found.assigned_to_id = rng.choice([None, *agents])

    async def move_store() -> None:
        if found := await some_request(db, rng):
            found.store_id = rng.choice(stores)

    async def change_everything() -> None:
        if found := await some_request(db, rng):
            found.status, found.assigned_to_id = rng.choice(STATUSES), rng.choice(agents)
            found.store_id = rng.choice(stores)

    async def remove() -> None:
        if found := await some_request(db, rng):
            await db.delete(found)

    async def bulk_status() -> None:
        r = ReorderRequest
        await db.execute(
            update(r)
            .where(r.status == rng.choice(STATUSES), r.store_id == rng.choice(stores))
            .values(status=rng.choice(STATUSES))
            .execution_options(synchronize_session=False)
        )

    async def bulk_unassign() -> None:
        await db.execute(
            text("UPDATE reorder_requests SET assigned_to_id = NULL WHERE assigned_to_id = :a"),
            {"a": rng.choice(agents)},
        )

    async def bulk_delete() -> None:
        r = ReorderRequest
        doomed = select(r.id).where(r.status == rng.choice(STATUSES)).limit(3).scalar_subquery()
        await db.execute(
            delete(r).where(r.id.in_(doomed)).execution_options(synchronize_session=False)
        )

    async def untouched_columns() -> None:
        await db.execute(text("UPDATE reorder_requests SET risk_count = risk_count + 1"))

    operations: list[Callable[[], Awaitable[None]]] = [
        add,
        change_status,
        assign,
        move_store,
        change_everything,
        remove,
        bulk_status,
        bulk_unassign,
        bulk_delete,
        untouched_columns,
    ]
    for step in range(240):
        await rng.choice(operations)()
        await db.flush()
        if step % 7 == 6:  # a change that is rolled back leaves the counters as they were
            await db.rollback()
            db.expunge_all()
        if step % 5 == 4:
            await assert_counts_are_right(db)
            db.expunge_all()
    await assert_counts_are_right(db)
    assert sum((await kept(db)).values()) > 0


def _query(**filters: object) -> QueueQuery:
    scope = filters.pop("store_scope", None)
    staff_id = filters.pop("staff_id", 0)
    return QueueQuery(
        QueueFilters(status="any", **filters),  # type: ignore[arg-type]
        store_scope=scope,  # type: ignore[arg-type]
        staff_id=staff_id,  # type: ignore[arg-type]
        now=NOW,
    )


async def test_counts_under_store_and_assignee_filters_are_exact(db: AsyncSession) -> None:
    rng = random.Random(7)
    stores, agents = await world(db)
    made = [new_request(rng, stores, agents) for _ in range(300)]
    db.add_all(made)
    await db.commit()
    me = agents[0]
    cases: list[tuple[QueueQuery, Callable[[ReorderRequest], bool]]] = [
        (_query(), lambda r: True),
        (_query(store_id=stores[1]), lambda r: r.store_id == stores[1]),
        (_query(store_scope=stores[2]), lambda r: r.store_id == stores[2]),
        (_query(assignment=Assignment.ME, staff_id=me), lambda r: r.assigned_to_id == me),
        (_query(assignment=Assignment.UNASSIGNED), lambda r: r.assigned_to_id is None),
        (
            _query(store_id=stores[0], assignment=Assignment.ME, staff_id=me),
            lambda r: r.store_id == stores[0] and r.assigned_to_id == me,
        ),
        (
            _query(store_scope=stores[0], store_id=stores[0], assignment=Assignment.UNASSIGNED),
            lambda r: r.store_id == stores[0] and r.assigned_to_id is None,
        ),
    ]
    for query, matches in cases:
        # a cap far below the numbers: these counts are kept, so never capped
        counts = await queue.status_counts(db, query, cap=1)
        expected = {s: sum(1 for r in made if r.status == s and matches(r)) for s in STATUSES}
        assert {c.status.value: c.count for c in counts} == expected
        assert not any(c.capped for c in counts)
    assert sum(c.count for c in await queue.status_counts(db, _query())) == 300


async def test_counts_under_other_filters_stop_at_the_cap(db: AsyncSession) -> None:
    stores, _agents = await world(db, stores=1, agents=0)
    for status, issue in [("submitted", "Lost")] * 5 + [
        ("denied", "Lost"),
        ("submitted", "Stolen"),
    ]:
        db.add(reorder_request(stores[0], status=status, issue_type=issue, updated_at=NOW))
    await db.commit()
    lost = _query(issue_type=IssueType.LOST)
    capped = {c.status: (c.count, c.capped) for c in await queue.status_counts(db, lost, cap=3)}
    assert capped[RequestStatus.SUBMITTED] == (3, True)
    assert capped[RequestStatus.DENIED] == (1, False)
    exact = {c.status: c.count for c in await queue.status_counts(db, lost, cap=None)}
    assert exact[RequestStatus.SUBMITTED] == 5


async def test_concurrent_writers_lose_no_count(engine: AsyncEngine, db: AsyncSession) -> None:
    """Eight transactions at a time move requests between the same few statuses, agents and
    stores (so they contend for the same counters); every change is counted once."""
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite has one writer at a time")
    stores, agents = await world(db, stores=2, agents=2)
    seed = random.Random(3)
    db.add_all(new_request(seed, stores, agents) for _ in range(60))
    await db.commit()
    ids = list(await db.scalars(select(ReorderRequest.id)))
    sessions = session_factory(engine)
    retried = 0

    async def writer(n: int) -> None:
        nonlocal retried
        rng = random.Random(n)
        for _ in range(40):
            while True:
                try:
                    async with sessions() as session, session.begin():
                        await _one_concurrent_change(session, rng, ids, stores, agents)
                    break
                except DBAPIError as exc:  # a deadlock on the requests' own rows: try again
                    if getattr(exc.orig, "sqlstate", None) not in ("40P01", "40001"):
                        raise
                    retried += 1

    await asyncio.gather(*(writer(n) for n in range(8)))
    await assert_counts_are_right(db)
    assert retried < 40


async def _one_concurrent_change(
    session: AsyncSession, rng: random.Random, ids: list[int], stores: list[int], agents: list[int]
) -> None:
    r = ReorderRequest
    choice = rng.random()
    if choice < 0.2:
        session.add(new_request(rng, stores, agents))
    elif choice < 0.8:
        found = await session.get(r, rng.choice(ids))
        if found is not None:
            found.status = rng.choice(STATUSES[:4])
            found.assigned_to_id = rng.choice([None, *agents])
            if rng.random() < 0.2:
                found.store_id = rng.choice(stores)
    else:
        chosen = sorted(rng.sample(ids, 4))
        await session.execute(
            update(r)
            .where(r.id.in_(chosen))
            .values(status=rng.choice(STATUSES[:4]))
            .execution_options(synchronize_session=False)
        )
    await session.flush()
    await asyncio.sleep(rng.random() / 100)  # hold the counters' locks a moment
