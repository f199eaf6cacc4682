"""A request's page for staff, and the actions agents take from it.

Every view signs the staff member in first; a request of a store they may not see answers 404.
Each action is a POST form (CSRF) that ends in a redirect back to the page, so the page works
with JavaScript off; while a resolution is with the worker the page refreshes its resolution
section itself (htmx attributes in the template).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from portal.accounts.forms import SignOutForm
from portal.accounts.guard import (
    StaffUser,
    require_can_act,
    require_staff,
    require_store_visible,
    store_scope,
)
from portal.automation.decisions import decision_for
from portal.clock import utcnow
from portal.errors import ActionRefused, IntegrationError, PhotoRejected, StoreInactive
from portal.forms import PortalForm
from portal.i18n import gettext as _
from portal.integrations.shopify.models import Order
from portal.jobs import queue
from portal.reorders import risk
from portal.reorders.models import ReorderRequest, RequestPhoto
from portal.runtime import Runtime
from portal.shopper.photos import load_photo
from portal.stores.models import Store
from portal.support import (
    actions,
    assignment,
    confirmation,
    detail,
    parked,
    purchases,
    signals,
)
from portal.support.actions import Agent
from portal.support.claims import CustomerClaims
from portal.support.forms import (
    ActionForm,
    AddressForm,
    AlternativeForm,
    AssignForm,
    ConfirmForm,
    DenyForm,
    NoteForm,
    QuestionForm,
    ReviewSignalForm,
)
from portal.support.models import Resolution, ResolutionStatus, RiskReview
from portal.telemetry import note_unavailable
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
    db: AsyncSession, staff: StaffUser, reference: str, *, for_update: bool = False
) -> tuple[ReorderRequest, Store]:
    found = await detail.load_request(db, reference[:16], for_update=for_update)
    if found is None:
        raise HTTPException(404)
    require_store_visible(staff, found.store_id)
    store = await db.get(Store, found.store_id)
    assert store is not None
    return found, store


def _forms(request: Request, found: ReorderRequest) -> dict[str, PortalForm]:
    meta = {"csrf_context": request}
    return {
        "action_form": ActionForm(meta=meta),
        "note_form": NoteForm(meta=meta),
        "question_form": QuestionForm(meta=meta),
        "deny_form": DenyForm(meta=meta),
        "alternative_form": AlternativeForm(meta=meta),
        "address_form": _address_form(request, found, meta),
        "review_form": ReviewSignalForm(meta=meta),
        "assign_form": AssignForm(meta=meta),
    }


def _refresh(request: Request) -> bool:
    """Whether the agent asked for the outside panels read now (the page's Refresh control)."""
    return request.query_params.get("refresh") == "1"


def _address_form(request: Request, found: ReorderRequest, meta: dict[str, Any]) -> AddressForm:
    """The address on file; a country chosen in the editor (htmx asks this page again with it)
    brings that country's provinces."""
    address = dict(found.shipping_address or {})
    chosen = request.query_params.get("country_code", "")[:2]
    if chosen:
        address["country_code"] = chosen
    return AddressForm(data=address, meta=meta)


async def request_page(
    request: Request,
    *,
    staff: StaffUser | None = None,
    forms: dict[str, PortalForm] | None = None,
    message: str | None = None,
    status: int = 200,
) -> Response:
    staff = staff or await require_staff(request)
    async with session(request) as db:
        found, store = await _visible_request(db, staff, str(request.path_params["reference"]))
        gathered = await detail.read(db, found, store, store_scope=store_scope(staff))
        assignable = await assignment.assignable_staff(db, store.id)
        automated = await decision_for(db, found.id)
    now = utcnow()
    _, (findings, reviews) = await asyncio.gather(
        detail.look_outside(_runtime(request), gathered, fresh=_refresh(request)),  # no db held
        _portal_signals(request, found, now),
    )
    report = signals.judge(
        found, findings, reviews, order=gathered.order.value, claims=gathered.claims.value, now=now
    )
    if report.unreviewed != found.risk_count:
        async with session(request) as db, db.begin():
            await risk.store_risk_count(db, found.id, report.unreviewed)
    context = {
        "d": gathered,
        "read_now": utcnow(),
        "risk": report,
        "assignable": assignable,
        "automation": automated,
        "message": message,
        **_forms(request, found),
        **(forms or {}),
    }
    return staff_page(request, staff, "pages/support/request.html", context, status)


async def confirm_page(request: Request) -> Response:
    """What a primary reorder or a refund will do, with the button that does it. The button
    carries the request's version, so a confirmation opened before a change moves no money."""
    staff = await require_staff(request)
    require_can_act(staff)
    try:
        path = confirmation.Path(str(request.path_params["path"]))
    except ValueError as exc:
        raise HTTPException(404) from exc
    reference = str(request.path_params["reference"])
    async with session(request) as db:
        found, store = await _visible_request(db, staff, reference)
        stopped = await parked.find(db, found.id)
        live = await actions.live_resolution(db, found.id)
    if not found.is_open or (live is not None and stopped is None):
        return _back(request, reference)
    problem, preview = None, None
    try:
        preview = await confirmation.preview(_runtime(request), store, found, path)
    except IntegrationError as exc:
        note_unavailable(request, exc.service, exc)
        problem = _(
            "%(service)s could not say what would happen, so nothing can be confirmed now. "
            "Reload to try again.",
            service=exc.service,
        )
    except StoreInactive:
        problem = _("The store uninstalled the app: its Shopify is not asked.")
    form = ConfirmForm(data={"seen": actions.version(found)}, meta={"csrf_context": request})
    context = {
        "r": found,
        "store": store,
        "path": path.value,
        "preview": preview,
        "problem": problem,
        "stopped": stopped,
        "confirm_form": form,
    }
    status = 503 if problem else 200
    return staff_page(request, staff, "pages/support/confirm.html", context, status)


async def _portal_signals(
    request: Request, found: ReorderRequest, now: datetime
) -> tuple[risk.PortalFindings, dict[str, RiskReview]]:
    async with session(request) as db:
        return await signals.portal_part(db, found, now)


def _back(request: Request, reference: str) -> Response:
    url = str(request.url_for("support:request", reference=reference))
    return RedirectResponse(url, status_code=303)


# --- the actions -------------------------------------------------------------------------------


@dataclass
class Acting:
    """What an action works with: the locked request, its store, the agent and the form."""

    db: AsyncSession
    request: ReorderRequest
    store: Store
    agent: Agent
    form: Any  # the action's PortalForm
    runtime: Runtime
    found_outside: Any = None  # what the action's outside check returned

    @property
    def status_link(self) -> str:
        return self.runtime.status_link(self.store, self.request.id)


Check = Callable[[Runtime, ReorderRequest, Store, Any], Awaitable[Any]]


@dataclass(frozen=True)
class Action:
    """One POST under /support/requests/{reference}/: its form, an optional check against
    Shopify made before the transaction (no connection held while waiting on it), and the
    change itself, made with the request's row locked."""

    path: str
    name: str
    act: Callable[[Acting], Awaitable[None]]
    form_class: type[PortalForm] = ActionForm
    form_name: str = "action_form"
    check: Check | None = None
    sets_aside: bool = False  # takes another path: a parked resolution is set aside first
    confirmed: bool = False  # moves money: only from a confirmation of the current request

    async def view(self, request: Request) -> Response:
        staff = await require_staff(request)
        require_can_act(staff)
        reference = str(request.path_params["reference"])
        form = await self.form_class.from_request(request)
        if not form.validate():
            message = _("Please correct the form below.")
            if self.confirmed:  # a hidden field: say what is wrong at the top
                message = next(iter(e for errors in form.errors.values() for e in errors))
            return await request_page(
                request, staff=staff, forms={self.form_name: form}, status=400, message=message
            )
        try:
            await self._carry_out(request, staff, reference, form)
        except ActionRefused as exc:
            if exc.field is not None and exc.field in form:
                form[exc.field].errors = [exc.message]
                message = _("Please correct the form below.")
                forms = {self.form_name: form}
                return await request_page(
                    request, staff=staff, forms=forms, status=409, message=message
                )
            return await request_page(request, staff=staff, status=409, message=exc.message)
        except IntegrationError as exc:
            note_unavailable(request, exc.service, exc)
            message = _(
                "%(service)s could not be reached: nothing was changed. Try again shortly.",
                service=exc.service,
            )
            return await request_page(request, staff=staff, status=503, message=message)
        return _back(request, reference)

    async def _carry_out(
        self, request: Request, staff: StaffUser, reference: str, form: PortalForm
    ) -> None:
        runtime = _runtime(request)
        found_outside = None
        stopped = None
        if self.check is not None or self.sets_aside:
            async with session(request) as db:
                found, store = await _visible_request(db, staff, reference)
                stopped = await parked.find(db, found.id) if self.sets_aside else None
            if self.check is not None:
                found_outside = await self.check(runtime, found, store, form)
            if stopped is not None:
                await parked.nothing_in_shopify(runtime, store, found, stopped)
        async with session(request) as db, db.begin():
            found, store = await _visible_request(db, staff, reference, for_update=True)
            agent = Agent(staff.id, staff.email)
            if self.confirmed:
                actions.must_be_current(found, form.seen.data)
            if stopped is not None:
                await parked.set_aside(db, found, stopped, agent, f"took another path: {self.name}")
            await self.act(Acting(db, found, store, agent, form, runtime, found_outside))


async def _in_stock(runtime: Runtime, found: ReorderRequest, store: Store, form: Any) -> None:
    if not detail.can_supply_all(found.items, await detail.stock_of(runtime, store, found)):
        raise ActionRefused(
            _(
                "Not every item is in stock, so a primary reorder is not "
                "possible. Use an alternative reorder or a refund."
            )
        )


async def _store_order(
    runtime: Runtime, found: ReorderRequest, store: Store, form: Any
) -> purchases.Purchase:
    return await purchases.bought_for(
        runtime.shopify(store), found, store, order_name=form.order_name.data
    )


async def _outside_for_signals(
    runtime: Runtime, found: ReorderRequest, store: Store, form: Any
) -> tuple[Order | None, CustomerClaims | None]:
    return await signals.outside_for_signals(runtime, found, store)


async def _review_signal(a: Acting) -> None:
    order, claims = a.found_outside
    now = utcnow()
    report = await signals.assess(a.db, a.request, order=order, claims=claims, now=now)
    await signals.mark_reviewed(
        a.db, a.request, report, a.form.signal.data, reviewer=a.agent.email, now=now
    )


async def _assign(a: Acting) -> None:
    chosen = a.form.assignee.data
    if not chosen:
        actions.assign(a.db, a.request, a.agent, by=a.agent)
        return
    found = await assignment.assignee(a.db, a.request.store_id, int(chosen))
    actions.assign(a.db, a.request, Agent(found.id, found.email), by=a.agent)


async def _unassign(a: Acting) -> None:
    actions.assign(a.db, a.request, None, by=a.agent)


async def _note(a: Acting) -> None:
    actions.add_note(a.db, a.request, a.form.text.data.strip(), a.agent)


async def _ask(a: Acting) -> None:
    await actions.ask_for_information(
        a.db, a.request, a.store, a.form.question.data.strip(), a.agent, status_link=a.status_link
    )


async def _deny(a: Acting) -> None:
    await actions.deny(
        a.db, a.request, a.store, a.form.reason.data.strip(), a.agent, status_link=a.status_link
    )


async def _ask_address(a: Acting) -> None:
    address = actions.one_line_address(a.request.shipping_address or {})
    question = _(
        "We could not send your replacement to the shipping address you gave (%(address)s). "
        "Please reply on your request's page with the corrected address.",
        address=address,
    )
    await actions.ask_for_information(
        a.db,
        a.request,
        a.store,
        question,
        a.agent,
        status_link=a.status_link,
        template="address_correction",
        about="address",
    )


async def _change_address(a: Acting) -> None:
    live = await actions.live_resolution(a.db, a.request.id)
    if live is not None and await parked.find(a.db, a.request.id) is None:
        raise ActionRefused(_("A resolution is under way: change the address once it stops."))
    actions.change_address(a.db, a.request, a.form.address(), a.agent)


async def _reorder(a: Acting) -> None:
    await actions.start_primary_reorder(a.db, a.request, a.agent)


async def _refund(a: Acting) -> None:
    await actions.start_refund(a.db, a.request, a.agent)


async def _alternative(a: Acting) -> None:
    purchase: purchases.Purchase = a.found_outside
    await actions.record_alternative_reorder(
        a.db,
        a.request,
        a.store,
        a.agent,
        order_name=purchase.order.name,
        order_id=purchase.order.id,
        description=a.form.description.data.strip(),
        amount=a.form.amount.data,
        status_link=a.status_link,
        shoppers_own=purchase.shoppers_own,
    )


ACTIONS = (
    Action("assign", "assign", _assign, AssignForm, "assign_form"),
    Action("unassign", "unassign", _unassign),
    Action("note", "note", _note, NoteForm, "note_form"),
    Action("ask", "ask", _ask, QuestionForm, "question_form"),
    Action("ask-address", "ask_address", _ask_address),
    Action("address", "address", _change_address, AddressForm, "address_form"),
    Action("deny", "deny", _deny, DenyForm, "deny_form", sets_aside=True),
    Action(
        "reorder",
        "reorder",
        _reorder,
        ConfirmForm,
        "confirm_form",
        check=_in_stock,
        sets_aside=True,
        confirmed=True,
    ),
    Action(
        "refund", "refund", _refund, ConfirmForm, "confirm_form", sets_aside=True, confirmed=True
    ),
    Action(
        "signals/review",
        "review_signal",
        _review_signal,
        ReviewSignalForm,
        "review_form",
        check=_outside_for_signals,
    ),
    Action(
        "alternative",
        "alternative",
        _alternative,
        AlternativeForm,
        "alternative_form",
        check=_store_order,
        sets_aside=True,
    ),
)


async def retry_job(request: Request) -> Response:
    """Give a parked job of one of this request's resolutions a fresh set of attempts."""
    staff = await require_staff(request)
    require_can_act(staff)
    reference = str(request.path_params["reference"])
    form = await ActionForm.from_request(request)
    if not form.validate():
        return await request_page(
            request, staff=staff, status=400, message=_("This form has expired. Please try again.")
        )
    async with session(request) as db, db.begin():
        found, _store = await _visible_request(db, staff, reference, for_update=True)
        job_id = await db.scalar(
            select(Resolution.job_id).where(
                Resolution.request_id == found.id,
                Resolution.job_id == int(request.path_params["job_id"]),
                Resolution.status == ResolutionStatus.PENDING,
            )
        )
        if job_id is None:
            raise HTTPException(404)
        if await queue.requeue(db, job_id):
            actions.back_in_review(found)
            actions.record(db, found, "job_retried", staff.email, data={"job": job_id})
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
        data = await load_photo(_runtime(request).storage, photo_id)
    except PhotoRejected as exc:
        raise HTTPException(404) from exc
    if data is None:
        raise HTTPException(404)
    return Response(
        data, media_type=row.content_type, headers={"Cache-Control": "private, no-store"}
    )
