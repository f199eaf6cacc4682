"""What an agent can do to a request, and the shopper's answer to an agent's question, as rules
without HTTP. Once a request is filed, every line of its timeline is written by ``record`` here,
naming who acted. Actions that reach Shopify write their resolution row and the job that carries
it out in the caller's transaction, so both exist or neither does."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from portal.clock import utcnow
from portal.errors import ActionRefused
from portal.jobs import queue
from portal.jobs.email import queue_email
from portal.jobs.models import Priority
from portal.mail.messages import render_email
from portal.reorders.models import ReorderRequest, RequestEvent, RequestStatus
from portal.stores.models import Store
from portal.support.models import Resolution, ResolutionKind, ResolutionStatus

PRIMARY_REORDER_JOB = "resolution.primary_reorder"
REFUND_JOB = "resolution.refund"
SHOPPER = "shopper"  # the actor named in the timeline for what the shopper did


@dataclass(frozen=True)
class Agent:
    id: int
    email: str


def record(
    session: AsyncSession,
    reorder: ReorderRequest,
    kind: str,
    actor: str,
    *,
    public: bool = False,
    message: str = "",
    data: dict[str, Any] | None = None,
) -> RequestEvent:
    event = RequestEvent(
        request_id=reorder.id,
        kind=kind,
        actor=actor,
        public=public,
        message=message,
        data=data or {},
        created_at=utcnow(),
    )
    session.add(event)
    reorder.updated_at = event.created_at
    return event


def _must_be_open(reorder: ReorderRequest) -> None:
    if not reorder.is_open:
        raise ActionRefused("This request is already closed.")


async def live_resolution(session: AsyncSession, reorder_id: int) -> Resolution | None:
    return await session.scalar(
        select(Resolution).where(
            Resolution.request_id == reorder_id, Resolution.status != ResolutionStatus.FAILED
        )
    )


# --- triage ------------------------------------------------------------------------------------


def assign(session: AsyncSession, reorder: ReorderRequest, to: Agent | None, by: Agent) -> None:
    reorder.assigned_to_id = to.id if to else None
    message = f"Assigned to {to.email}" if to else "Unassigned"
    record(session, reorder, "assigned", by.email, message=message)
    if to is not None and reorder.status == RequestStatus.SUBMITTED:
        reorder.status = RequestStatus.IN_REVIEW
        record(session, reorder, "in_review", by.email, public=True)


def add_note(session: AsyncSession, reorder: ReorderRequest, text: str, by: Agent) -> None:
    record(session, reorder, "note", by.email, message=text)


async def ask_for_information(
    session: AsyncSession,
    reorder: ReorderRequest,
    store: Store,
    question: str,
    by: Agent,
    *,
    status_link: str,
) -> None:
    _must_be_open(reorder)
    reorder.status = RequestStatus.NEEDS_INFO
    record(session, reorder, "info_requested", by.email, public=True, message=question)
    await email_shopper(session, reorder, store, "needs_info", status_link, question=question)


async def answer_question(session: AsyncSession, reorder_id: int, answer: str) -> None:
    """The shopper's answer puts the request back in review. The row is locked, so of two
    answers sent together only the first is recorded; one sent after the question was dealt
    with changes nothing."""
    reorder = await session.get(ReorderRequest, reorder_id, with_for_update=True)
    if reorder is None or reorder.status != RequestStatus.NEEDS_INFO:
        return
    reorder.status = RequestStatus.IN_REVIEW
    record(session, reorder, "shopper_answered", SHOPPER, public=True, message=answer)


async def deny(
    session: AsyncSession,
    reorder: ReorderRequest,
    store: Store,
    reason: str,
    by: Agent,
    *,
    status_link: str,
) -> None:
    _must_be_open(reorder)
    if await live_resolution(session, reorder.id) is not None:
        raise ActionRefused("A resolution is already under way for this request.")
    reorder.status = RequestStatus.DENIED
    reorder.closed_at = utcnow()
    record(session, reorder, "denied", by.email, public=True, message=reason)
    await email_shopper(session, reorder, store, "request_denied", status_link, reason=reason)


async def email_shopper(
    session: AsyncSession,
    reorder: ReorderRequest,
    store: Store,
    template: str,
    status_link: str,
    *,
    dedupe_key: str | None = None,
    **context: Any,
) -> None:
    """Queue one of the outcome emails (``templates/emails/<template>.*``) to the shopper."""
    email = render_email(
        template,
        {"store": store, "reorder": reorder, "status_link": status_link, **context},
        to=reorder.email,
    )
    await queue_email(session, email, store_id=store.id, dedupe_key=dedupe_key)


# --- the three paths ---------------------------------------------------------------------------


async def _new_resolution(
    session: AsyncSession,
    reorder: ReorderRequest,
    kind: ResolutionKind,
    by: Agent,
    **values: Any,
) -> Resolution:
    """Insert the request's one live resolution; a second agent racing gets ActionRefused."""
    _must_be_open(reorder)
    resolution = Resolution(
        request_id=reorder.id,
        store_id=reorder.store_id,
        kind=kind.value,
        currency=reorder.currency,
        deducted=kind.deducted,
        agent_email=by.email,
        created_at=utcnow(),
        **values,
    )
    session.add(resolution)
    try:
        async with session.begin_nested():
            await session.flush()
    except IntegrityError as exc:
        raise ActionRefused("Another resolution is already under way for this request.") from exc
    return resolution


async def start_primary_reorder(
    session: AsyncSession, reorder: ReorderRequest, by: Agent
) -> Resolution:
    if not reorder.shipping_address:
        raise ActionRefused("The request has no confirmed shipping address for a reorder.")
    resolution = await _new_resolution(
        session, reorder, ResolutionKind.PRIMARY_REORDER, by, amount=reorder.items_total
    )
    await _queue_execution(session, resolution, PRIMARY_REORDER_JOB)
    record(session, reorder, "reorder_started", by.email, data={"resolution": resolution.id})
    return resolution


async def start_refund(session: AsyncSession, reorder: ReorderRequest, by: Agent) -> Resolution:
    resolution = await _new_resolution(session, reorder, ResolutionKind.REFUND, by)
    await _queue_execution(session, resolution, REFUND_JOB)
    record(session, reorder, "refund_started", by.email, data={"resolution": resolution.id})
    return resolution


async def _queue_execution(session: AsyncSession, resolution: Resolution, kind: str) -> None:
    job = await queue.enqueue(
        session,
        kind,
        {"resolution_id": resolution.id},
        dedupe_key=f"{kind}:{resolution.id}",
        priority=Priority.HIGH,
    )
    resolution.job_id = job.id


async def record_alternative_reorder(
    session: AsyncSession,
    reorder: ReorderRequest,
    store: Store,
    by: Agent,
    *,
    order_name: str,
    order_id: str,
    description: str,
    amount: Decimal,
    status_link: str,
) -> Resolution:
    """The agent bought a replacement on the store with the company card: record it (no
    Shopify write; not deducted from the invoice)."""
    resolution = await _new_resolution(
        session,
        reorder,
        ResolutionKind.ALTERNATIVE_REORDER,
        by,
        amount=amount,
        shopify_order_id=order_id,
        shopify_order_name=order_name,
        description=description,
        status=ResolutionStatus.SUCCEEDED,
        resolved_at=utcnow(),
    )
    close_reorder(session, reorder, RequestStatus.RESOLVED)
    record(
        session,
        reorder,
        "alternative_recorded",
        by.email,
        public=True,
        data={"order_name": order_name},
    )
    await email_shopper(
        session, reorder, store, "alternative_recorded", status_link, order_name=order_name
    )
    return resolution


def close_reorder(session: AsyncSession, reorder: ReorderRequest, status: RequestStatus) -> None:
    reorder.status = status
    reorder.closed_at = utcnow()
