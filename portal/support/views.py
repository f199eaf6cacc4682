"""A request's page for staff, and the actions agents take from it.

Every view signs the staff member in first; a request of a store they may not see answers 404.
Each action is a POST form (CSRF) that ends in a redirect back to the page (or, for htmx, the
page's action panel), so the page works with JavaScript off.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import FileResponse, RedirectResponse, Response

from portal.accounts.forms import SignOutForm
from portal.accounts.guard import (
    StaffUser,
    require_can_act,
    require_staff,
    require_store_visible,
    store_scope,
)
from portal.accounts.models import User
from portal.errors import IntegrationError
from portal.forms import PortalForm
from portal.i18n import gettext as _
from portal.jobs import queue
from portal.jobs.models import Job
from portal.reorders.models import ReorderRequest, RequestPhoto
from portal.runtime import Runtime
from portal.shopper.links import status_link
from portal.shopper.photos import PhotoRejected, open_photo
from portal.stores.models import Store
from portal.support import actions, detail
from portal.support.actions import ActionRefused, Agent
from portal.support.forms import ActionForm, AlternativeForm, DenyForm, NoteForm, QuestionForm
from portal.web import render, session


def _runtime(request: Request) -> Runtime:
    runtime: Runtime = request.state.runtime
    return runtime


def staff_page(
    request: Request, staff: StaffUser, template: str, context: dict[str, Any], status: int = 200
) -> Response:
    context = {"staff": staff, "sign_out": SignOutForm(meta={"csrf_context": request}), **context}
    return render(request, template, context, status_code=status)


async def _visible_request(
    db: AsyncSession, staff: StaffUser, reference: str
) -> tuple[ReorderRequest, Store]:
    found = await detail.load_request(db, reference[:16])
    if found is None:
        raise HTTPException(404)
    require_store_visible(staff, found.store_id)
    store = await db.get(Store, found.store_id)
    assert store is not None
    return found, store


def _forms(request: Request) -> dict[str, PortalForm]:
    meta = {"csrf_context": request}
    return {
        "action_form": ActionForm(meta=meta),
        "note_form": NoteForm(meta=meta),
        "question_form": QuestionForm(meta=meta),
        "deny_form": DenyForm(meta=meta),
        "alternative_form": AlternativeForm(meta=meta),
    }


async def request_page(
    request: Request,
    *,
    forms: dict[str, PortalForm] | None = None,
    message: str | None = None,
    status: int = 200,
) -> Response:
    staff = await require_staff(request)
    async with session(request) as db:
        found, store = await _visible_request(db, staff, str(request.path_params["reference"]))
        gathered = await detail.gather(
            _runtime(request), db, found, store, store_scope=store_scope(staff)
        )
        if found.assigned_to_id is not None:
            assignee = await db.get(User, found.assigned_to_id)
            gathered.assignee_email = assignee.email if assignee else None
    context = {"d": gathered, "message": message, **_forms(request), **(forms or {})}
    return staff_page(request, staff, "pages/support/request.html", context, status)


def _back(request: Request, reference: str) -> Response:
    url = str(request.url_for("support:request", reference=reference))
    return RedirectResponse(url, status_code=303)


Act = Callable[[AsyncSession, ReorderRequest, Store, Agent, PortalForm], Awaitable[None]]


async def _act(request: Request, form_class: type[PortalForm], name: str, act: Act) -> Response:
    """Sign in, check the form, run ``act`` in one transaction, then back to the page."""
    staff = await require_staff(request)
    require_can_act(staff)
    reference = str(request.path_params["reference"])
    form = await form_class.from_request(request)
    if not form.validate():
        return await request_page(
            request, forms={name: form}, status=400, message=_("Please correct the form below.")
        )
    try:
        async with session(request) as db, db.begin():
            found, store = await _visible_request(db, staff, reference)
            await act(db, found, store, Agent(staff.id, staff.email), form)
    except ActionRefused as exc:
        return await request_page(request, status=409, message=exc.message)
    except IntegrationError as exc:
        return await request_page(
            request,
            status=503,
            message=_(
                "%(service)s could not be reached: nothing was changed. Try again shortly.",
                service=exc.service,
            ),
        )
    return _back(request, reference)


def _status_link(request: Request, store: Store, found: ReorderRequest) -> str:
    runtime = _runtime(request)
    return status_link(
        runtime.signer,
        base_url=runtime.settings.base_url,
        store_slug=store.slug,
        request_id=found.id,
    )


# --- the actions -------------------------------------------------------------------------------


async def assign_to_me(request: Request) -> Response:
    async def act(
        db: AsyncSession, found: ReorderRequest, store: Store, agent: Agent, form: PortalForm
    ) -> None:
        actions.assign(db, found, agent, by=agent)

    return await _act(request, ActionForm, "action_form", act)


async def unassign(request: Request) -> Response:
    async def act(
        db: AsyncSession, found: ReorderRequest, store: Store, agent: Agent, form: PortalForm
    ) -> None:
        actions.assign(db, found, None, by=agent)

    return await _act(request, ActionForm, "action_form", act)


async def add_note(request: Request) -> Response:
    async def act(
        db: AsyncSession, found: ReorderRequest, store: Store, agent: Agent, form: PortalForm
    ) -> None:
        actions.add_note(db, found, form.text.data.strip(), agent)

    return await _act(request, NoteForm, "note_form", act)


async def ask(request: Request) -> Response:
    async def act(
        db: AsyncSession, found: ReorderRequest, store: Store, agent: Agent, form: PortalForm
    ) -> None:
        await actions.ask_for_information(
            db,
            found,
            store,
            form.question.data.strip(),
            agent,
            status_link=_status_link(request, store, found),
        )

    return await _act(request, QuestionForm, "question_form", act)


async def deny(request: Request) -> Response:
    async def act(
        db: AsyncSession, found: ReorderRequest, store: Store, agent: Agent, form: PortalForm
    ) -> None:
        await actions.deny(
            db,
            found,
            store,
            form.reason.data.strip(),
            agent,
            status_link=_status_link(request, store, found),
        )

    return await _act(request, DenyForm, "deny_form", act)


async def primary_reorder(request: Request) -> Response:
    async def act(
        db: AsyncSession, found: ReorderRequest, store: Store, agent: Agent, form: PortalForm
    ) -> None:
        await _require_stock(request, found, store)
        await actions.start_primary_reorder(db, found, agent)

    return await _act(request, ActionForm, "action_form", act)


async def _require_stock(request: Request, found: ReorderRequest, store: Store) -> None:
    ids = [i.variant_id for i in found.items if i.variant_id]
    variants = {
        v.id: v for v in await _runtime(request).shopify(store).get_variants(variant_ids=ids)
    }
    for item in found.items:
        variant = variants.get(item.variant_id or "")
        if variant is None or not variant.can_supply(item.quantity):
            raise ActionRefused(
                _(
                    "%(title)s is out of stock, so a primary reorder is not possible. Use an "
                    "alternative reorder or a refund.",
                    title=item.title,
                )
            )


async def refund(request: Request) -> Response:
    async def act(
        db: AsyncSession, found: ReorderRequest, store: Store, agent: Agent, form: PortalForm
    ) -> None:
        await actions.start_refund(db, found, agent)

    return await _act(request, ActionForm, "action_form", act)


async def alternative(request: Request) -> Response:
    async def act(
        db: AsyncSession, found: ReorderRequest, store: Store, agent: Agent, form: PortalForm
    ) -> None:
        purchase = await _runtime(request).shopify(store).find_order(name=form.order_name.data)
        if purchase is None:
            raise ActionRefused(
                _(
                    "There is no order %(name)s at %(store)s.",
                    name=form.order_name.data,
                    store=store.name,
                )
            )
        await actions.record_alternative_reorder(
            db,
            found,
            store,
            agent,
            order_name=purchase.name,
            order_id=purchase.id,
            description=form.description.data.strip(),
            amount=form.amount.data,
            status_link=_status_link(request, store, found),
        )

    return await _act(request, AlternativeForm, "alternative_form", act)


async def retry_job(request: Request) -> Response:
    """Give a parked job a fresh set of attempts."""
    staff = await require_staff(request)
    require_can_act(staff)
    reference = str(request.path_params["reference"])
    form = await ActionForm.from_request(request)
    if form.validate():
        async with session(request) as db, db.begin():
            found, _store = await _visible_request(db, staff, reference)
            job = await db.get(Job, int(request.path_params["job_id"]))
            if job is None or job.payload.get("resolution_id") is None:
                raise HTTPException(404)
            await queue.requeue(db, job.id)
            actions.record(db, found, "job_retried", staff.email, data={"job": job.id})
    return _back(request, reference)


async def photo(request: Request) -> Response:
    """A shopper's photo, for signed-in staff who may see its store; never cached publicly."""
    staff = await require_staff(request)
    photo_id = str(request.path_params["photo_id"])
    async with session(request) as db:
        row = await db.scalar(select(RequestPhoto).where(RequestPhoto.photo_id == photo_id))
        found = await db.get(ReorderRequest, row.request_id) if row else None
    if row is None or found is None:
        raise HTTPException(404)
    require_store_visible(staff, found.store_id)
    try:
        path = open_photo(_runtime(request).settings.upload_dir, photo_id)
    except (PhotoRejected, FileNotFoundError) as exc:
        raise HTTPException(404) from exc
    return FileResponse(
        path, media_type=row.content_type, headers={"Cache-Control": "private, no-store"}
    )
