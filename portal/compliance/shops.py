"""shop/redact, sent 48 hours after a store uninstalled the app: every row that belongs to the
store goes, and the store's row with them. The compliance requests stay, without their store,
as the record that it was done (their reports of customer data erased with the rest)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from portal.accounts.models import StaffAuditEvent, StaffInvitation, StaffSession, User
from portal.automation.models import AutomationDecision, AutomationLimits, AutomationRule
from portal.billing.models import (
    ClosedInvoice,
    Premium,
    PremiumAdjustment,
    PremiumMonth,
    ShopifyWebhook,
)
from portal.compliance.files import forget_photo
from portal.compliance.models import ComplianceRequest
from portal.compliance.service import DATA_REQUEST
from portal.jobs.models import Job
from portal.reorders.models import (
    OrderSnapshot,
    ReorderRequest,
    RequestEvent,
    RequestItem,
    RequestPhoto,
)
from portal.shopper.models import OrderVerification, StoredDraft
from portal.storage import Storage
from portal.stores.models import InstallState, Store
from portal.support.models import Resolution

STORE_TABLES: tuple[Any, ...] = (
    AutomationDecision,  # what is left of them: they go with their requests
    AutomationLimits,
    AutomationRule,  # and their versions with them
    OrderVerification,
    OrderSnapshot,
    StoredDraft,
    Premium,
    PremiumAdjustment,
    PremiumMonth,
    ClosedInvoice,
)
"""Tables whose rows name the store by ``store_id`` and nothing refers to."""


async def erase_shop(db: AsyncSession, store: Store, *, storage: Storage) -> dict[str, int]:
    """Delete the store and everything of it; the caller commits. Photo files go first: a run
    that does not commit is run again and finds the rest."""
    counts: dict[str, int] = {}
    await _delete_photo_files(db, store, storage)
    counts["jobs"] = await _delete_jobs(db, store)
    requests = select(ReorderRequest.id).where(ReorderRequest.store_id == store.id)
    for child in (RequestItem, RequestPhoto, RequestEvent):
        counts[child.__tablename__] = await _delete(
            db, delete(child).where(child.request_id.in_(requests))
        )
    counts["resolutions"] = await _delete(
        db, delete(Resolution).where(Resolution.store_id == store.id)
    )
    counts["reorder_requests"] = await _delete(
        db, delete(ReorderRequest).where(ReorderRequest.store_id == store.id)
    )
    for table in STORE_TABLES:
        counts[table.__tablename__] = await _delete(
            db, delete(table).where(table.store_id == store.id)
        )
    counts["users"] = await _delete_users(db, store)
    counts["shopify_webhooks"] = await _delete(
        db, delete(ShopifyWebhook).where(ShopifyWebhook.shop_domain == store.shop_domain)
    )
    counts["install_states"] = await _delete(
        db, delete(InstallState).where(InstallState.shop_domain == store.shop_domain)
    )
    counts["data_reports"] = await _keep_requests_without_store(db, store)
    await db.execute(delete(Store).where(Store.id == store.id))
    return counts


async def _delete(db: AsyncSession, statement: Any) -> int:
    result = await db.execute(statement.execution_options(synchronize_session=False))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


async def _delete_photo_files(db: AsyncSession, store: Store, storage: Storage) -> None:
    of_requests = (
        select(RequestPhoto.photo_id)
        .join(ReorderRequest, ReorderRequest.id == RequestPhoto.request_id)
        .where(ReorderRequest.store_id == store.id)
    )
    photo_ids = set(await db.scalars(of_requests))
    drafts = await db.scalars(select(StoredDraft.data).where(StoredDraft.store_id == store.id))
    for data in drafts:
        photo_ids |= {p.get("photo_id") for p in data.get("photos", [])}
    for photo_id in photo_ids:
        await forget_photo(storage, photo_id)


async def _delete_jobs(db: AsyncSession, store: Store) -> int:
    """Jobs about the store: those naming it, and those of its resolutions."""
    resolutions = set(
        await db.scalars(select(Resolution.id).where(Resolution.store_id == store.id))
    )
    rows: Sequence[Any] = (await db.execute(select(Job.id, Job.payload))).all()
    doomed = [
        row.id
        for row in rows
        if row.payload.get("store_id") == store.id
        or row.payload.get("resolution_id") in resolutions
    ]
    if doomed:
        await db.execute(delete(Job).where(Job.id.in_(doomed)))
    return len(doomed)


async def _delete_users(db: AsyncSession, store: Store) -> int:
    """Staff accounts tied to the store (its merchant users), their sessions, invitations and
    the audit of changes to them or made by them."""
    users = select(User.id).where(User.store_id == store.id)
    await db.execute(
        update(ReorderRequest)
        .where(ReorderRequest.assigned_to_id.in_(users))
        .values(assigned_to_id=None)
        .execution_options(synchronize_session=False)
    )
    await _delete(db, delete(StaffSession).where(StaffSession.user_id.in_(users)))
    await _delete(db, delete(StaffInvitation).where(StaffInvitation.user_id.in_(users)))
    await _delete(
        db,
        delete(StaffAuditEvent).where(
            StaffAuditEvent.target_id.in_(users) | StaffAuditEvent.actor_id.in_(users)
        ),
    )
    return await _delete(db, delete(User).where(User.store_id == store.id))


async def _keep_requests_without_store(db: AsyncSession, store: Store) -> int:
    """The store's compliance requests stay as the record; data reports lose their data."""
    reports = await _delete(
        db,
        update(ComplianceRequest)
        .where(ComplianceRequest.store_id == store.id, ComplianceRequest.topic == DATA_REQUEST)
        .values(report={"erased": True}),
    )
    await _delete(
        db,
        update(ComplianceRequest)
        .where(ComplianceRequest.store_id == store.id)
        .values(store_id=None),
    )
    return reports
