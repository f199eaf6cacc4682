"""What an agent can do to a request, and the shopper's answer to an agent's question, as rules
without HTTP. Once a request is filed, every line of its timeline is written by ``record`` here,
naming who acted. Actions that reach Shopify write their resolution row and the job that carries
it out in the caller's transaction, so both exist or neither does."""

from __future__ import annotations

import hashlib
import json
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
from portal.jobs.models import Job, JobStatus, Priority
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

    @property
    def name(self) -> str:
        """How the timeline and the resolution name who acted."""
        return self.email


@dataclass(frozen=True)
class RuleActor:
    """An automation rule of the store, acting through the same paths as an agent; the
    timeline names the rule and the version of it that acted (``portal.automation``)."""

    rule_id: int
    version: int
    rule_name: str

    @property
    def name(self) -> str:
        return f"rule #{self.rule_id} v{self.version}: {self.rule_name}"[:64]


Actor = Agent | RuleActor


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


def needs_attention(reorder: ReorderRequest) -> None:
    """A resolution of this open request was parked or refused: an agent has to decide."""
    if reorder.is_open:
        reorder.status = RequestStatus.NEEDS_ATTENTION


def back_in_review(reorder: ReorderRequest) -> None:
    """An agent dealt with what needed attention (retried, took another path)."""
    if reorder.status == RequestStatus.NEEDS_ATTENTION:
        reorder.status = RequestStatus.IN_REVIEW


def version(reorder: ReorderRequest) -> str:
    """A short digest of the request as an agent sees it before confirming a payment: its
    status, items, address and last change. Any timeline line changes it, so a confirmation
    opened before a change is refused."""
    seen = {
        "id": reorder.id,
        "status": reorder.status,
        "updated_at": reorder.updated_at.isoformat(),
        "items": [(i.line_item_id, i.quantity) for i in reorder.items],
        "address": reorder.shipping_address,
    }
    encoded = json.dumps(seen, sort_keys=True, default=str).encode()
    return hashlib.sha256(encoded).hexdigest()[:32]


def must_be_current(reorder: ReorderRequest, seen: str) -> None:
    """Refuse a confirmation made on an older state of the request."""
    if seen != version(reorder):
        raise ActionRefused(
            "The request changed after this confirmation was opened, so nothing was done. "
            "Look at it again and confirm."
        )


async def live_resolution(session: AsyncSession, reorder_id: int) -> Resolution | None:
    return await session.scalar(
        select(Resolution).where(
            Resolution.request_id == reorder_id, Resolution.status != ResolutionStatus.FAILED
        )
    )


# --- triage ------------------------------------------------------------------------------------


def assign(session: AsyncSession, reorder: ReorderRequest, to: Agent | None, by: Actor) -> None:
    reorder.assigned_to_id = to.id if to else None
    message = f"Assigned to {to.email}" if to else "Unassigned"
    record(session, reorder, "assigned", by.name, message=message)
    if to is not None and reorder.status == RequestStatus.SUBMITTED:
        reorder.status = RequestStatus.IN_REVIEW
        record(session, reorder, "in_review", by.name, public=True)


def add_note(session: AsyncSession, reorder: ReorderRequest, text: str, by: Agent) -> None:
    record(session, reorder, "note", by.name, message=text)


async def ask_for_information(
    session: AsyncSession,
    reorder: ReorderRequest,
    store: Store,
    question: str,
    by: Actor,
    *,
    status_link: str,
    template: str = "needs_info",
    about: str | None = None,
) -> None:
    """Put a question to the shopper by email; they answer on their status page. ``template``
    names the email; ``about`` what the question is about, if one thing (``"address"``: the
    address correction asks through the same flow)."""
    _must_be_open(reorder)
    reorder.status = RequestStatus.NEEDS_INFO
    data = {"about": about} if about else None
    record(session, reorder, "info_requested", by.name, public=True, message=question, data=data)
    await email_shopper(session, reorder, store, template, status_link, question=question)


def change_address(
    session: AsyncSession, reorder: ReorderRequest, address: dict[str, str], by: Agent
) -> None:
    """The agent corrects where a reorder ships; a parked reorder retried uses the new one."""
    _must_be_open(reorder)
    if address == reorder.shipping_address:
        raise ActionRefused("That is the address the request already has.")
    reorder.shipping_address = address
    record(session, reorder, "address_changed", by.name, message=one_line_address(address))


def one_line_address(values: dict[str, Any]) -> str:
    parts = [
        " ".join(p for p in (values.get("first_name"), values.get("last_name")) if p),
        values.get("company"),
        values.get("address1"),
        values.get("address2"),
        " ".join(p for p in (values.get("city"), values.get("province_code")) if p),
        values.get("zip"),
        values.get("country_code"),
    ]
    return ", ".join(str(p) for p in parts if p)


async def has_stopped_work(session: AsyncSession, reorder_id: int) -> bool:
    """Whether the request's resolution is parked, or the last one was refused and nothing
    else is under way: the agent still has to decide."""
    latest = await session.scalar(
        select(Resolution)
        .where(Resolution.request_id == reorder_id)
        .order_by(Resolution.id.desc())
        .limit(1)
    )
    if latest is None or latest.status == ResolutionStatus.SUCCEEDED:
        return False
    if latest.status == ResolutionStatus.FAILED:
        return True
    job = await session.get(Job, latest.job_id) if latest.job_id is not None else None
    return job is not None and job.status == JobStatus.FAILED


async def deny(
    session: AsyncSession,
    reorder: ReorderRequest,
    store: Store,
    reason: str,
    by: Actor,
    *,
    status_link: str,
) -> None:
    _must_be_open(reorder)
    if await live_resolution(session, reorder.id) is not None:
        raise ActionRefused("A resolution is already under way for this request.")
    reorder.status = RequestStatus.DENIED
    reorder.closed_at = utcnow()
    record(session, reorder, "denied", by.name, public=True, message=reason)
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
        locale=reorder.locale,
    )
    await queue_email(session, email, store_id=store.id, dedupe_key=dedupe_key)


# --- the three paths ---------------------------------------------------------------------------


async def _new_resolution(
    session: AsyncSession,
    reorder: ReorderRequest,
    kind: ResolutionKind,
    by: Actor,
    **values: Any,
) -> Resolution:
    """Insert the request's one live resolution; a second agent racing gets ActionRefused."""
    _must_be_open(reorder)
    back_in_review(reorder)
    resolution = Resolution(
        request_id=reorder.id,
        store_id=reorder.store_id,
        kind=kind.value,
        currency=reorder.currency,
        deducted=kind.deducted,
        agent_email=by.name,
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
    session: AsyncSession, reorder: ReorderRequest, by: Actor
) -> Resolution:
    if not reorder.shipping_address:
        raise ActionRefused("The request has no confirmed shipping address for a reorder.")
    resolution = await _new_resolution(
        session, reorder, ResolutionKind.PRIMARY_REORDER, by, amount=reorder.items_total
    )
    await _queue_execution(session, resolution, PRIMARY_REORDER_JOB)
    record(session, reorder, "reorder_started", by.name, data={"resolution": resolution.id})
    return resolution


async def start_refund(session: AsyncSession, reorder: ReorderRequest, by: Actor) -> Resolution:
    resolution = await _new_resolution(session, reorder, ResolutionKind.REFUND, by)
    await _queue_execution(session, resolution, REFUND_JOB)
    record(session, reorder, "refund_started", by.name, data={"resolution": resolution.id})
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
    shoppers_own: bool,
) -> Resolution:
    """The agent bought a replacement on the store with the company card: record it (no
    Shopify write; not deducted from the invoice). The shopper's email names the order only
    when it is ``shoppers_own`` (placed under their email or customer account); one that only
    carries the request's reference is the store's purchase, not something they can look up.
    An order already recorded for any request is refused."""
    await _not_recorded_before(session, order_id, order_name)
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
        by.name,
        public=True,
        data={"order_name": order_name} if shoppers_own else {},
    )
    await email_shopper(
        session,
        reorder,
        store,
        "alternative_recorded",
        status_link,
        order_name=order_name if shoppers_own else None,
    )
    return resolution


async def _not_recorded_before(session: AsyncSession, order_id: str, order_name: str) -> None:
    used = await session.scalar(
        select(ReorderRequest.reference)
        .join(Resolution, Resolution.request_id == ReorderRequest.id)
        .where(
            Resolution.shopify_order_id == order_id,
            Resolution.status != ResolutionStatus.FAILED,
        )
        .limit(1)
    )
    if used is not None:
        raise ActionRefused(
            f"Order {order_name} is already recorded for request {used}.", field="order_name"
        )


def close_reorder(session: AsyncSession, reorder: ReorderRequest, status: RequestStatus) -> None:
    reorder.status = status
    reorder.closed_at = utcnow()
