"""Requests the shopper has filled in but not yet submitted (the Review step), and submitting
them. A draft belongs to one order of one store and is only ever read back for that order;
submitting files the request, queues its confirmation email and deletes the draft, all in the
caller's transaction."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession

from portal.automation import EVALUATE_JOB
from portal.i18n import DEFAULT_LOCALE
from portal.integrations.shopify.models import Order
from portal.jobs.email import queue_email
from portal.jobs.models import Priority
from portal.jobs.queue import enqueue
from portal.mail.messages import render_email
from portal.reorders import additions, risk
from portal.reorders import service as reorders
from portal.reorders.models import ReorderRequest
from portal.reorders.service import RequestDraft
from portal.runtime import Runtime
from portal.shopper.models import StoredDraft
from portal.stores.models import Store


def keep(
    session: AsyncSession, *, store: Store, order: Order, draft: RequestDraft, now: datetime
) -> None:
    stored = StoredDraft(
        id=draft.submit_key,
        store_id=store.id,
        shopify_order_id=order.id,
        data=draft.as_json(),
        created_at=now,
    )
    session.add(stored)


async def load(
    session: AsyncSession, *, store: Store, order: Order, draft_id: str
) -> RequestDraft | None:
    stored = await session.get(StoredDraft, draft_id)
    if stored is None or stored.store_id != store.id or stored.shopify_order_id != order.id:
        return None
    return RequestDraft.from_json(stored.data)


async def filed_from(
    session: AsyncSession, *, store: Store, order: Order, draft_id: str
) -> ReorderRequest | None:
    """The request a submitted draft became (the draft itself is gone by then)."""
    filed = await reorders.existing_reorder(session, draft_id)
    if filed is None:
        return await additions.added_by(
            session, store_id=store.id, order_id=order.id, submit_key=draft_id
        )
    if filed.store_id != store.id or filed.shopify_order_id != order.id:
        return None
    return filed


async def submit(
    session: AsyncSession,
    runtime: Runtime,
    *,
    store: Store,
    order: Order,
    draft: RequestDraft,
    now: datetime,
    device_key: str | None = None,
    locale: str = DEFAULT_LOCALE,
) -> ReorderRequest:
    """File the draft's request, or add its items to the open request it names
    (``NothingLeftToClaim`` or ``NotEligible`` when it may no longer be); a second submit of the
    same draft returns the same request and changes nothing. ``locale``: the language the
    shopper filed in, which the request's emails keep."""
    if draft.add_to:
        return await _add(session, store=store, order=order, draft=draft, now=now)
    filed, created = await reorders.file_reorder(
        session, store=store, order=order, draft=draft, now=now, device_key=device_key
    )
    if created:
        filed.locale = locale
        await _queue_confirmation(session, runtime, store, filed)
        await enqueue(
            session, risk.ASSESS_JOB, {"reorder_id": filed.id}, dedupe_key=f"risk:{filed.id}"
        )
        await enqueue(  # the store's rules judge it at once (portal.automation)
            session,
            EVALUATE_JOB,
            {"reorder_id": filed.id},
            dedupe_key=f"automation:{filed.id}",
            priority=Priority.HIGH,
        )
        await session.execute(delete(StoredDraft).where(StoredDraft.id == draft.submit_key))
    return filed


async def _queue_confirmation(
    session: AsyncSession, runtime: Runtime, store: Store, filed: ReorderRequest
) -> None:
    link = runtime.status_link(store, filed.id)
    context = {"store": store, "reorder": filed, "status_link": link}
    email = render_email("request_received", context, to=filed.email, locale=filed.locale)
    await queue_email(session, email, store_id=store.id, dedupe_key=f"request-received:{filed.id}")


async def _add(
    session: AsyncSession, *, store: Store, order: Order, draft: RequestDraft, now: datetime
) -> ReorderRequest:
    await reorders.lock_order(session, store.id, order.id)
    kept = await session.get(StoredDraft, draft.submit_key, with_for_update=True)
    if kept is None:  # submitted a moment ago by another press of the button
        done = await additions.added_by(
            session, store_id=store.id, order_id=order.id, submit_key=draft.submit_key
        )
        if done is not None:
            return done
    reorder = await additions.add_to_reorder(
        session, store=store, order=order, draft=draft, now=now
    )
    await enqueue(  # the added lines may be claimed elsewhere too
        session,
        risk.ASSESS_JOB,
        {"reorder_id": reorder.id},
        dedupe_key=f"risk:{reorder.id}:{draft.submit_key}",
    )
    await session.execute(delete(StoredDraft).where(StoredDraft.id == draft.submit_key))
    return reorder
