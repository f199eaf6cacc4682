"""The worker killed with SIGKILL at each step of a resolution, then started again: exactly one
replacement order or refund, the resolution recorded once, the shopper told, no request lost.

The worker runs as its own OS process (``portal worker``, with every model imported first: see
the last test) and is killed from outside, on side effects the test can see:

1. claimed: the resolution's job is ``running`` while the sandbox shop answers slowly, so
   nothing has been applied in Shopify yet;
2. applied: the sandbox shop has created the order or refund and tells its subscribers, before
   the answer goes back; the worker dies there, without reading it;
3. recorded: the resolution is ``succeeded`` and the shopper's email is in the middle of its
   SMTP transaction, held at DATA, not accepted;
4. accepted: the SMTP server has kept the shopper's email, the worker dies before it hears 250.

A killed worker's lease runs out within 15 s (tests/jobs/test_leases.py waits for it); these
tests end it in the database instead, to stay quick.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from portal.clock import utcnow
from portal.jobs.email import SEND_EMAIL
from portal.jobs.models import JobStatus
from portal.reorders.models import ReorderRequest, RequestStatus
from portal.support import actions
from portal.support.actions import Agent
from portal.support.models import Resolution, ResolutionStatus
from portal.workers import RECURRING
from sandbox.shopify.state import Order as SandboxOrder
from tests.helpers.environment import SHOP
from tests.helpers.requests import file_request, in_database, load_request, resolutions_of
from tests.helpers.worker_process import (
    PORTAL_WORKER,
    CrashRig,
    crash_environment,
    expire_leases,
    jobs,
    wait_for,
)

pytestmark = pytest.mark.crash

AGENT = Agent(id=0, email="agent@example.com")
SHOPPER = "jane@example.com"
SETTLE = 20.0
"""Bound on every wait for the worker; each test takes a few seconds."""
SLOW_SHOPIFY = 2.0


@pytest.fixture
def rig(database_url: str, tmp_path: Path) -> Iterator[CrashRig]:
    with crash_environment(database_url, tmp_path) as crash_rig:
        yield crash_rig


@dataclass(frozen=True)
class Flow:
    """A way to resolve a request, and what it looks like from outside."""

    name: str
    topic: str  # the sandbox's event once Shopify applied it
    email_kind: str  # the shopper's email once it is recorded
    closed_as: RequestStatus


REORDER = Flow("reorder", "orders/create", "reorder_created", RequestStatus.REORDERED)
REFUND = Flow("refund", "refunds/create", "refund_issued", RequestStatus.REFUNDED)
FLOWS = {f.name: f for f in (REORDER, REFUND)}


@dataclass
class Case:
    flow: Flow
    order: SandboxOrder
    request: ReorderRequest
    items: list[tuple[str, int]]


def file_case(rig: CrashRig, flow: Flow, *, whole_lines: bool = True) -> Case:
    """A protected order of two mugs and a shirt; the shopper claims both lines in full (a lost
    parcel), or one mug of two."""
    shop = rig.env.shop
    order = shop.order(lines=[(shop.mug, 2), (shop.shirt, 1)])
    mugs, shirt = order.line_items[0], order.line_items[1]
    quantities = {mugs.id: 2, shirt.id: 1} if whole_lines else {mugs.id: 1}
    resolution = "reorder" if flow is REORDER else "refund"
    request = file_request(rig.env, order, resolution=resolution, quantities=quantities)
    items = sorted((i.line_item_id, i.quantity) for i in request.items)
    assert len(items) == len(quantities)
    return Case(flow, order, request, items)


def start(rig: CrashRig, case: Case) -> Resolution:
    async def work(db: AsyncSession) -> Resolution:
        async with db.begin():
            request = await db.get(ReorderRequest, case.request.id)
            assert request is not None
            if case.flow is REORDER:
                return await actions.start_primary_reorder(db, request, AGENT)
            return await actions.start_refund(db, request, AGENT)

    return in_database(rig.env, work)


def resolution_of(rig: CrashRig, case: Case) -> Resolution:
    [resolution] = resolutions_of(rig.env, case.request.id)
    return resolution


def job_status(rig: CrashRig, job_id: int) -> str:
    [job] = [j for j in jobs(rig.env.settings.database_url) if j.id == job_id]
    return job.status


def replacements(rig: CrashRig) -> list[SandboxOrder]:
    return [o for o in rig.env.shop.world.orders(SHOP) if o.source_identifier]


def refunds(rig: CrashRig, case: Case) -> list[Any]:
    order = rig.env.shop.world.order(SHOP, case.order.id)
    assert order is not None
    return list(order.refunds)


def applied(rig: CrashRig, case: Case) -> int:
    """How many times Shopify carried out the resolution."""
    return len(replacements(rig) if case.flow is REORDER else refunds(rig, case))


def outcome_emails(rig: CrashRig, case: Case) -> list[Any]:
    return [
        m
        for m in rig.env.mailbox.to(SHOPPER)
        if m.sender == "portal" and m.kind == case.flow.email_kind
    ]


# --- the kill points ---------------------------------------------------------------------------


def kill_once_claimed(rig: CrashRig, case: Case) -> None:
    """The job is running, Shopify is slow to answer its first call: kill before anything is
    applied."""
    faults = rig.env.shop.world.faults(SHOP)
    mutations: list[str] = []
    unsubscribe = rig.env.shop.world.subscribe(lambda shop, topic, payload: mutations.append(topic))
    faults.latency = SLOW_SHOPIFY
    try:
        job_id = start(rig, case).job_id
        assert job_id is not None
        wait_for(
            lambda: job_status(rig, job_id) == JobStatus.RUNNING,
            timeout=SETTLE,
            what="the worker to claim the resolution's job",
        )
        rig.worker.kill()
    finally:
        faults.latency = 0.0
        unsubscribe()
    assert mutations == [] and applied(rig, case) == 0
    assert resolution_of(rig, case).status == ResolutionStatus.PENDING


def kill_when_shopify_applies(rig: CrashRig, case: Case) -> None:
    """Shopify has applied the mutation; the worker dies before the answer reaches it."""
    fired = threading.Event()

    def on_change(shop: str, topic: str, payload: dict[str, Any]) -> None:
        ours = topic == case.flow.topic and (
            topic != "orders/create" or payload["source_identifier"]
        )
        if ours and not fired.is_set():
            rig.worker.kill()  # in the sandbox's thread, before it sends the answer
            fired.set()

    unsubscribe = rig.env.shop.world.subscribe(on_change)
    try:
        start(rig, case)
        assert fired.wait(SETTLE), "Shopify never applied the resolution\n" + rig.worker.log()
    finally:
        unsubscribe()
    assert applied(rig, case) == 1
    assert resolution_of(rig, case).status == ResolutionStatus.PENDING


def kill_while_email_in_flight(rig: CrashRig, case: Case) -> None:
    """The outcome is recorded; the shopper's email is held at DATA, not accepted."""
    rig.smtp.hold_next(case.flow.email_kind)
    start(rig, case)
    assert rig.smtp.held.wait(SETTLE), "the outcome email never reached DATA\n" + rig.worker.log()
    resolution = resolution_of(rig, case)
    assert resolution.status == ResolutionStatus.SUCCEEDED
    [email_job] = [j for j in jobs(rig.env.settings.database_url) if j.kind == SEND_EMAIL]
    assert email_job.status == JobStatus.RUNNING
    rig.worker.kill()
    rig.smtp.release()
    assert outcome_emails(rig, case) == []


def kill_once_email_accepted(rig: CrashRig, case: Case) -> None:
    """The SMTP server kept the email; the worker dies before it hears 250."""
    done = threading.Event()

    def kill() -> None:
        rig.worker.kill()
        done.set()

    rig.smtp.after_next_accept(case.flow.email_kind, kill)
    start(rig, case)
    assert done.wait(SETTLE), "the outcome email was never accepted\n" + rig.worker.log()
    [email_job] = [j for j in jobs(rig.env.settings.database_url) if j.kind == SEND_EMAIL]
    assert email_job.status == JobStatus.RUNNING
    assert len(outcome_emails(rig, case)) == 1


KILL_POINTS: dict[str, Callable[[CrashRig, Case], None]] = {
    "claimed": kill_once_claimed,
    "applied": kill_when_shopify_applies,
    "recorded": kill_while_email_in_flight,
}


# --- after the restart -------------------------------------------------------------------------


def restart_and_settle(rig: CrashRig, case: Case, *, emails: int) -> None:
    """Start a new worker once the dead one's lease has run out; wait until every job due is
    done (or parked) and the shopper's emails have arrived."""
    [dead] = rig.worker.killed
    # A dead worker's job is due again once its lease ends (within 15 s). End it now.
    expire_leases(rig.env.settings.database_url, dead)
    rig.worker.start()

    def settled() -> bool:
        ours = [j for j in jobs(rig.env.settings.database_url) if j.kind not in RECURRING]
        if any(j.status == JobStatus.FAILED for j in ours):
            return True  # parked: the assertions that follow say why
        if any(j.status in (JobStatus.QUEUED, JobStatus.RUNNING) for j in ours):
            return False
        return len(outcome_emails(rig, case)) >= emails

    deadline = time.monotonic() + SETTLE
    while not settled():
        rig.worker.assert_alive()
        if time.monotonic() > deadline:
            raise AssertionError(f"nothing settled: {describe_jobs(rig)}\n{rig.worker.log()}")
        time.sleep(0.05)


def describe_jobs(rig: CrashRig) -> str:
    return "; ".join(
        f"{j.kind} {j.status} after {j.attempts} ({j.last_error})"
        for j in jobs(rig.env.settings.database_url)
    )


def assert_exactly_once(rig: CrashRig, case: Case, *, emails: int) -> None:
    resolution = resolution_of(rig, case)
    assert resolution.status == ResolutionStatus.SUCCEEDED, (
        f"{resolution.status}: {resolution.error}; jobs: {describe_jobs(rig)}"
    )
    shopify_mail = [m for m in rig.env.mailbox.to(SHOPPER) if m.sender.startswith("shopify")]
    if case.flow is REORDER:
        [replacement] = replacements(rig)
        assert resolution.shopify_order_id == replacement.gid
        assert resolution.shopify_order_name == replacement.name
        assert sorted((li.variant_id, li.quantity) for li in replacement.line_items) == sorted(
            [(rig.env.shop.mug.id, 2), (rig.env.shop.shirt.id, 1)]
        )
        assert [m.kind for m in shopify_mail] == ["order_receipt"]
    else:
        [refund] = refunds(rig, case)
        assert resolution.shopify_refund_id == refund.gid
        assert resolution.amount == refund.total_refunded == Decimal("106.00")
        assert [m.kind for m in shopify_mail] == ["refund_notification"]

    request = load_request(rig.env, case.request.id)
    assert request.status == case.flow.closed_as
    assert sorted((i.line_item_id, i.quantity) for i in request.items) == case.items
    outcome = "reorder_created" if case.flow is REORDER else "refunded"
    assert [e.kind for e in request.events if e.kind == outcome] == [outcome]

    for job in jobs(rig.env.settings.database_url):
        if job.kind in RECURRING:
            assert job.status == JobStatus.QUEUED and job.run_after > utcnow()
        else:
            assert job.status == JobStatus.DONE, describe_jobs(rig)

    delivered = outcome_emails(rig, case)
    assert len(delivered) == emails
    assert len({m.meta["message_id"] for m in delivered}) == 1
    assert all(m.subject == delivered[0].subject for m in delivered)


# --- the tests ---------------------------------------------------------------------------------


def _cases() -> list[Any]:
    cases = []
    for flow in FLOWS:
        for point in ("claimed", "applied", "recorded"):
            cases.append(pytest.param(flow, point, id=f"{flow}-{point}"))
    return cases


@pytest.mark.parametrize(("flow", "point"), _cases())
def test_killed_worker_leaves_exactly_one_side_effect(rig: CrashRig, flow: str, point: str) -> None:
    """Killed before Shopify is called, after Shopify applied the mutation, or after the outcome
    was recorded with the shopper's email in flight: after a restart, one order or refund, the
    resolution succeeded once, the request closed with its items, one email to the shopper."""
    case = file_case(rig, FLOWS[flow])
    rig.worker.start()
    KILL_POINTS[point](rig, case)
    restart_and_settle(rig, case, emails=1)
    assert_exactly_once(rig, case, emails=1)


@pytest.mark.parametrize("flow", list(FLOWS))
def test_killed_after_the_email_was_accepted_sends_it_again_under_the_same_message_id(
    rig: CrashRig, flow: str
) -> None:
    """Killed after the SMTP server accepted the shopper's email but before its job was marked
    done: the restarted worker sends it again. SMTP has no idempotency, so this second copy
    cannot be avoided; both copies carry the same Message-ID (derived from the job), so the
    receiving side can drop the duplicate. Everything else happened exactly once."""
    case = file_case(rig, FLOWS[flow])
    rig.worker.start()
    kill_once_email_accepted(rig, case)
    restart_and_settle(rig, case, emails=2)
    assert_exactly_once(rig, case, emails=2)


def test_refund_of_part_of_a_line_survives_a_kill_after_shopify_applied_it(
    rig: CrashRig,
) -> None:
    """One mug of two: after the kill the suggestion for the second mug is the same as for the
    first, so the idempotent refundCreate is replayed and the refund is found, not repeated."""
    case = file_case(rig, REFUND, whole_lines=False)
    rig.worker.start()
    kill_when_shopify_applies(rig, case)
    restart_and_settle(rig, case, emails=1)
    resolution = resolution_of(rig, case)
    assert resolution.status == ResolutionStatus.SUCCEEDED, describe_jobs(rig)
    [refund] = refunds(rig, case)
    assert resolution.shopify_refund_id == refund.gid
    assert resolution.amount == refund.total_refunded == Decimal("24.00")
    assert load_request(rig.env, case.request.id).status == RequestStatus.REFUNDED
    assert len(outcome_emails(rig, case)) == 1


def test_portal_worker_as_deployed_records_a_resolution(database_url: str, tmp_path: Path) -> None:
    """``python -m portal.cli worker`` exactly as deployed, never killed, records a reorder."""
    with crash_environment(database_url, tmp_path, worker_command=PORTAL_WORKER) as rig:
        case = file_case(rig, REORDER)
        rig.worker.start()
        resolution = start(rig, case)

        def outcome() -> bool:
            [job] = [j for j in jobs(rig.env.settings.database_url) if j.id == resolution.job_id]
            return job.last_error is not None or job.status == JobStatus.DONE

        wait_for(outcome, timeout=SETTLE, what="the reorder's job to run")
        assert resolution_of(rig, case).status == ResolutionStatus.SUCCEEDED, describe_jobs(rig)
        assert len(replacements(rig)) == 1
