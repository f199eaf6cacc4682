"""Filing a request: pick items, say what happened and what you would like, review, submit."""

from __future__ import annotations

import secrets
from decimal import Decimal

from starlette.datastructures import FormData, UploadFile
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from portal import links
from portal.clock import utcnow
from portal.devices import device_key_of
from portal.errors import IntegrationError, NotEligible, NothingLeftToClaim, PhotoRejected
from portal.i18n import current_locale, ngettext
from portal.i18n import gettext as _
from portal.integrations.shopify.models import Order
from portal.reorders import additions, tracking
from portal.reorders import service as reorders
from portal.reorders.models import ReorderRequest
from portal.reorders.service import PhotoRecord, RequestDraft
from portal.shopper import drafts
from portal.shopper.common import (
    keep_session_alive,
    runtime,
    service_unavailable,
    store_from_path,
    unavailable_for_form,
    verified_order,
)
from portal.shopper.forms import (
    ContinueForm,
    RequestForm,
    data_from_address,
    data_from_draft,
    must_attach_photos,
    request_form_class,
)
from portal.shopper.photos import PhotoRules, keep_photos
from portal.stores.models import Store
from portal.web import is_htmx, render, session

PHOTO_RULES = PhotoRules()


async def request_page(request: Request) -> Response:
    store = await store_from_path(request)
    try:
        order = await verified_order(request, store)
    except IntegrationError as exc:
        return await _unavailable(request, store, exc)
    if order is None:
        return _to_lookup(request, store)
    if not reorders.is_protected(order, store):
        return _with_session(request, store, order, "pages/shopper/unprotected.html", {})
    problems = reorders.eligibility_problems(order, store, None, utcnow())
    if problems:
        parcel = tracking.order_tracking(order, store, utcnow())
        context = {"problems": problems, "parcel": parcel}
        return _with_session(request, store, order, "pages/shopper/ineligible.html", context)
    async with session(request) as db:
        lines = await reorders.lines_left_to_claim(db, store=store, order=order)
        open_requests = await additions.open_reorders(db, store_id=store.id, order_id=order.id)
    if not any(claimable for _, claimable in lines):
        return _with_session(request, store, order, "pages/shopper/nothing_left.html", {})
    form_class = request_form_class(lines, open_requests)
    if request.method == "GET":
        data, draft = await _initial_data(request, store, order)
        form = form_class(data=data, meta={"csrf_context": request})
        form.offer_attached(draft.photos if draft is not None else ())
        return _form_page(request, store, order, form, 200)
    return await _submit_form(request, store, order, form_class)


async def _submit_form(
    request: Request, store: Store, order: Order, form_class: type[RequestForm]
) -> Response:
    async with request.form(max_files=PHOTO_RULES.max_count + 1, max_fields=200) as data:
        return await _check_and_keep(request, store, order, form_class, data)


async def _check_and_keep(
    request: Request, store: Store, order: Order, form_class: type[RequestForm], data: FormData
) -> Response:
    form = form_class(formdata=data, meta={"csrf_context": request})
    earlier = await _load_draft(request, store, order, str(form.from_draft.data or "")[:32])
    attached = earlier.photos if earlier is not None else ()
    form.offer_attached(attached)
    if not form.validate():
        return _form_page(request, store, order, form, 400)
    problems = reorders.eligibility_problems(
        order, store, form.chosen_issue, utcnow(), form.chosen_quantities()
    )
    if problems:
        form.issue_type.errors = problems
        return _form_page(request, store, order, form, 400)
    if not _may_join(form):
        return _form_page(request, store, order, form, 400)
    photos = await _kept_photos(request, form, data, form.kept_photos(attached))
    if photos is None:
        return _form_page(request, store, order, form, 400)
    draft = _draft_from(form, photos)
    async with session(request) as db, db.begin():
        drafts.keep(db, store=store, order=order, draft=draft, now=utcnow())
    url = request.url_for("shopper:review", store=store.slug, draft=draft.submit_key)
    return _redirect(request, str(url))


async def _kept_photos(
    request: Request, form: RequestForm, data: FormData, attached: list[PhotoRecord]
) -> list[PhotoRecord] | None:
    """The photos still attached from the draft and the new uploads, stored; None when they
    cannot be accepted (the form says why)."""
    uploads = [f for f in data.getlist("photos") if isinstance(f, UploadFile) and f.filename]
    rt = runtime(request)
    try:
        must_attach_photos(form, len(attached) + len(uploads))
        if len(attached) + len(uploads) > PHOTO_RULES.max_count:
            raise PhotoRejected(
                ngettext(
                    "Attach at most %(num)s photo.",
                    "Attach at most %(num)s photos.",
                    PHOTO_RULES.max_count,
                )
            )
        added = await keep_photos(
            uploads,
            rules=PHOTO_RULES,
            storage=rt.storage,
            limiter=rt.photo_decoding,
        )
        return [*attached, *added]
    except (PhotoRejected, ValueError) as exc:
        form.photos.errors = [getattr(exc, "message", str(exc))]
        return None


def _redirect(request: Request, url: str) -> Response:
    """A 303 for browsers; for htmx a 204 with HX-Redirect (a 303 would be followed by the
    browser and its page swapped into the form)."""
    if is_htmx(request):
        return Response(status_code=204, headers={"HX-Redirect": url})
    return RedirectResponse(url, status_code=303)


def _may_join(form: RequestForm) -> bool:
    """The open request the shopper chose to add to takes these items (its problem and wish
    are the same and the team has not started on it); if not, the form says why."""
    wanted = str(form.add_to.data or "")
    if not wanted:
        return True
    chosen = next((r for r in form.open_requests if r.reference == wanted), None)
    if chosen is None:
        form.add_to.errors = [
            _("Request %(ref)s is closed now: choose to file a separate request.", ref=wanted[:16])
        ]
        return False
    problem = additions.addition_problem(chosen, _draft_from(form, []))
    if problem is not None:
        form.add_to.errors = [problem]
        return False
    return True


def _draft_from(form: RequestForm, photos: list[PhotoRecord]) -> RequestDraft:
    return RequestDraft(
        submit_key=secrets.token_urlsafe(16),
        issue_type=form.chosen_issue,  # type: ignore[arg-type]  # validated above
        quantities=form.chosen_quantities(),
        resolution=form.chosen_resolution,
        description=(form.description.data or "").strip(),
        alternative_wish=(form.alternative_wish.data or "").strip(),
        shipping_address=form.shipping_address(),
        photos=tuple(photos),
        add_to=str(form.add_to.data or ""),
    )


async def _initial_data(
    request: Request, store: Store, order: Order
) -> tuple[dict[str, object], RequestDraft | None]:
    """Start from an earlier draft (the Change link), or from the order's shipping address."""
    draft_id = request.query_params.get("draft", "")[:32]
    data = data_from_address(order.shipping_address)
    draft = await _load_draft(request, store, order, draft_id) if draft_id else None
    if draft is not None:
        data = data_from_draft(draft)
    country = request.query_params.get("country_code", "")[:2]
    if country and country != data.get("country_code"):  # the country changed: ask again
        data["country_code"] = country
        data["province_code"] = ""
    return data, draft


async def _load_draft(
    request: Request, store: Store, order: Order, draft_id: str
) -> RequestDraft | None:
    async with session(request) as db:
        return await drafts.load(db, store=store, order=order, draft_id=draft_id)


def _form_page(
    request: Request, store: Store, order: Order, form: RequestForm, status: int
) -> Response:
    template = (
        "partials/shopper/request_form.html" if is_htmx(request) else "pages/shopper/request.html"
    )
    context = {
        "form": form,
        "order": order,
        "open_requests": form.open_requests,
        "closed_reasons": reorders.closed_reasons(order, store, utcnow()),
    }
    return _with_session(request, store, order, template, context, status)


def _with_session(
    request: Request,
    store: Store,
    order: Order,
    template: str,
    context: dict[str, object],
    status: int = 200,
) -> Response:
    response = render(
        request, template, {"store": store, "order": order, **context}, status_code=status
    )
    keep_session_alive(request, response, store, order)
    return response


async def _unavailable(request: Request, store: Store, error: IntegrationError) -> Response:
    if request.method == "POST":
        return await unavailable_for_form(request, store, error)
    return service_unavailable(request, store, error)


def _to_lookup(request: Request, store: Store) -> Response:
    url = str(request.url_for("shopper:lookup", store=store.slug))
    return RedirectResponse(url, status_code=303)


# --- review and submit -------------------------------------------------------------------------


async def review(request: Request) -> Response:
    store = await store_from_path(request)
    try:
        order = await verified_order(request, store)
    except IntegrationError as exc:
        return await _unavailable(request, store, exc)
    if order is None:
        return _to_lookup(request, store)
    draft_id = str(request.path_params["draft"])[:32]
    draft = await _load_draft(request, store, order, draft_id)
    if draft is None:
        return await _already_submitted(request, store, order, draft_id)
    form = await ContinueForm.from_request(request)
    if request.method == "POST" and form.validate():
        return await _submit(request, store, order, draft, form)
    status = 400 if request.method == "POST" else 200
    return _review_page(request, store, order, draft, form, status)


async def _already_submitted(
    request: Request, store: Store, order: Order, draft_id: str
) -> Response:
    """A draft is deleted when it is submitted: a second submit lands on the same request."""
    async with session(request) as db:
        filed = await drafts.filed_from(db, store=store, order=order, draft_id=draft_id)
    if filed is None:
        raise HTTPException(404)
    return _to_status(request, store, filed, added=filed.submit_key != draft_id)


def _review_page(
    request: Request,
    store: Store,
    order: Order,
    draft: RequestDraft,
    form: ContinueForm,
    status: int,
    message: str | None = None,
) -> Response:
    lines = {li.id: li for li in order.line_items}
    chosen = [
        (lines[line_id], qty) for line_id, qty in draft.quantities.items() if line_id in lines
    ]
    total = sum((li.unit_price.amount * qty for li, qty in chosen), Decimal("0.00"))
    context = {"draft": draft, "chosen": chosen, "total": total, "form": form, "message": message}
    return _with_session(request, store, order, "pages/shopper/review.html", context, status)


async def _submit(
    request: Request, store: Store, order: Order, draft: RequestDraft, form: ContinueForm
) -> Response:
    try:
        async with session(request) as db, db.begin():
            filed = await drafts.submit(
                db,
                runtime(request),
                store=store,
                order=order,
                draft=draft,
                now=utcnow(),
                device_key=device_key_of(request),
                locale=current_locale(),
            )
    except NothingLeftToClaim:
        message = _(
            "Some of these items were claimed or refunded in the meantime. Please choose again."
        )
        return _review_page(request, store, order, draft, form, 409, message)
    except NotEligible as exc:
        return _review_page(request, store, order, draft, form, 409, " ".join(exc.problems))
    return _to_status(request, store, filed, added=bool(draft.add_to))


def _to_status(
    request: Request, store: Store, filed: ReorderRequest, *, added: bool = False
) -> Response:
    """The signed status link, like the one in the confirmation email: it keeps working after
    the verified session ends."""
    token = links.status_token(runtime(request).signer, request_id=filed.id)
    url = str(request.url_for("shopper:status_link", store=store.slug, token=token))
    return RedirectResponse(url + ("?added=1" if added else "?submitted=1"), status_code=303)
