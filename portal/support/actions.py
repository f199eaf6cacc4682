"""What an agent can do to a request, as rules without HTTP. Every action writes a line in the
request's timeline naming the agent; actions that reach Shopify write their resolution row and
the job that carries it out in the caller's transaction, so both exist or neither does."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from portal.errors import PortalError
from portal.jobs import queue
from portal.jobs.email import queue_email
from portal.jobs.models import Priority
from portal.mail.messages import render_email
from portal.reorders.models import ReorderRequest, RequestEvent, RequestStatus
from portal.stores.models import Store
from portal.support.models import Resolution, ResolutionKind, ResolutionStatus

PRIMARY_REORDER_JOB = "resolution.primary_reorder"
REFUND_JOB = "resolution.refund"


class ActionRefused(PortalError):
    """The action does not apply to the request as it stands; ``message`` says why."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class Agent:
    id: int
    email: str


def now() -> datetime:
    return datetime.now(UTC)


def record(
    session: AsyncSession,
    request: ReorderRequest,
    kind: str,
    actor: str,
    *,
    public: bool = False,
    message: str = "",
    data: dict[str, Any] | None = None,
) -> RequestEvent:
    event = RequestEvent(
        request_id=request.id,
        kind=kind,
        actor=actor,
        public=public,
        message=message,
        data=data or {},
        created_at=now(),
    )
    session.add(event)
    request.updated_at = event.created_at
    return event


def _must_be_open(request: ReorderRequest) -> None:
    if not request.is_open:
        raise ActionRefused("This request is already closed.")


async def live_resolution(session: AsyncSession, request_id: int) -> Resolution | None:
    return await session.scalar(
        select(Resolution).where(
            Resolution.request_id == request_id, Resolution.status != ResolutionStatus.FAILED
        )
    )


# --- triage ------------------------------------------------------------------------------------


def assign(session: AsyncSession, request: ReorderRequest, to: Agent | None, by: Agent) -> None:
    request.assigned_to_id = to.id if to else None
    message = f"Assigned to {to.email}" if to else "Unassigned"
    record(session, request, "assigned", by.email, message=message)
    if to is not None and request.status == RequestStatus.SUBMITTED:
        request.status = RequestStatus.IN_REVIEW
        record(session, request, "in_review", by.email, public=True)


def add_note(session: AsyncSession, request: ReorderRequest, text: str, by: Agent) -> None:
    record(session, request, "note", by.email, message=text)


async def ask_for_information(
    session: AsyncSession,
    request: ReorderRequest,
    store: Store,
    question: str,
    by: Agent,
    *,
    status_link: str,
) -> None:
    _must_be_open(request)
    request.status = RequestStatus.NEEDS_INFO
    record(session, request, "info_requested", by.email, public=True, message=question)
    await email_shopper(session, request, store, "needs_info", status_link, question=question)


async def deny(
    session: AsyncSession,
    request: ReorderRequest,
    store: Store,
    reason: str,
    by: Agent,
    *,
    status_link: str,
) -> None:
    _must_be_open(request)
    if await live_resolution(session, request.id) is not None:
        raise ActionRefused("A resolution is already under way for this request.")
    request.status = RequestStatus.DENIED
    request.closed_at = now()
    record(session, request, "denied", by.email, public=True, message=reason)
    await email_shopper(session, request, store, "request_denied", status_link, reason=reason)


async def email_shopper(
    session: AsyncSession,
    request: ReorderRequest,
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
        {"store": store, "reorder": request, "status_link": status_link, **context},
        to=request.email,
    )
    await queue_email(session, email, dedupe_key=dedupe_key)


# --- the three paths ---------------------------------------------------------------------------


async def _new_resolution(
    session: AsyncSession,
    request: ReorderRequest,
    kind: ResolutionKind,
    by: Agent,
    **values: Any,
) -> Resolution:
    """Insert the request's one live resolution; a second agent racing gets ActionRefused."""
    _must_be_open(request)
    resolution = Resolution(
        request_id=request.id,
        store_id=request.store_id,
        kind=kind.value,
        currency=request.currency,
        deducted=kind.deducted,
        agent_email=by.email,
        created_at=now(),
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
    session: AsyncSession, request: ReorderRequest, by: Agent
) -> Resolution:
    if not request.shipping_address:
        raise ActionRefused("The request has no confirmed shipping address for a reorder.")
    resolution = await _new_resolution(
        session, request, ResolutionKind.PRIMARY_REORDER, by, amount=request.items_total
    )
    await _queue_execution(session, resolution, PRIMARY_REORDER_JOB)
    record(session, request, "reorder_started", by.email, data={"resolution": resolution.id})
    return resolution


async def start_refund(session: AsyncSession, request: ReorderRequest, by: Agent) -> Resolution:
    resolution = await _new_resolution(session, request, ResolutionKind.REFUND, by)
    await _queue_execution(session, resolution, REFUND_JOB)
    record(session, request, "refund_started", by.email, data={"resolution": resolution.id})
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
    request: ReorderRequest,
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
        request,
        ResolutionKind.ALTERNATIVE_REORDER,
        by,
        amount=amount,
        shopify_order_id=order_id,
        shopify_order_name=order_name,
        description=description,
        status=ResolutionStatus.SUCCEEDED,
        resolved_at=now(),
    )
    close_request(session, request, RequestStatus.RESOLVED)
    record(
        session,
        request,
        "alternative_recorded",
        by.email,
        public=True,
        data={"order_name": order_name},
    )
    await email_shopper(
        session, request, store, "alternative_recorded", status_link, order_name=order_name
    )
    return resolution


def close_request(session: AsyncSession, request: ReorderRequest, status: RequestStatus) -> None:
    request.status = status
    request.closed_at = now()
