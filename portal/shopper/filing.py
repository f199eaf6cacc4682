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
from portal.i18n import gettext as _
from portal.integrations.shopify.models import Order
from portal.reorders import service as reorders
from portal.reorders.models import ReorderRequest
from portal.reorders.service import PhotoRecord, RequestDraft
from portal.shopper import drafts
from portal.shopper.common import (
    keep_session_alive,
    runtime,
    service_unavailable,
    store_from_path,
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
        return service_unavailable(request, store, exc)
    if order is None:
        return _to_lookup(request, store)
    if not reorders.is_protected(order, store):
        return _with_session(request, store, order, "pages/shopper/unprotected.html", {})
    problems = reorders.eligibility_problems(order, store, None, utcnow())
    if problems:
        return _with_session(
            request, store, order, "pages/shopper/ineligible.html", {"problems": problems}
        )
    async with session(request) as db:
        lines = await reorders.lines_left_to_claim(db, store=store, order=order)
    if not any(claimable for _, claimable in lines):
        return _with_session(request, store, order, "pages/shopper/nothing_left.html", {})
    form_class = request_form_class(lines)
    if request.method == "GET":
        form = form_class(
            data=await _initial_data(request, store, order), meta={"csrf_context": request}
        )
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
    if not form.validate():
        return _form_page(request, store, order, form, 400)
    problems = reorders.eligibility_problems(order, store, form.chosen_issue, utcnow())
    if problems:
        form.issue_type.errors = problems
        return _form_page(request, store, order, form, 400)
    duplicate = await _open_duplicate(request, store, order, form)
    if duplicate is not None:
        return _redirect(request, _status_url(request, store, duplicate))
    photos = await _kept_photos(request, form, data)
    if photos is None:
        return _form_page(request, store, order, form, 400)
    draft = _draft_from(form, photos)
    async with session(request) as db, db.begin():
        drafts.keep(db, store=store, order=order, draft=draft, now=utcnow())
    url = request.url_for("shopper:review", store=store.slug, draft=draft.submit_key)
    return _redirect(request, str(url))


async def _kept_photos(
    request: Request, form: RequestForm, data: FormData
) -> list[PhotoRecord] | None:
    """The uploads, stored; None when they cannot be accepted (the form says why)."""
    uploads = [f for f in data.getlist("photos") if isinstance(f, UploadFile) and f.filename]
    rt = runtime(request)
    try:
        must_attach_photos(form, len(uploads))
        return await keep_photos(
            uploads,
            rules=PHOTO_RULES,
            storage=rt.storage,
            limiter=rt.photo_decoding,
        )
    except (PhotoRejected, ValueError) as exc:
        form.photos.errors = [getattr(exc, "message", str(exc))]
        return None


def _redirect(request: Request, url: str) -> Response:
    """A 303 for browsers; for htmx a 204 with HX-Redirect (a 303 would be followed by the
    browser and its page swapped into the form)."""
    if is_htmx(request):
        return Response(status_code=204, headers={"HX-Redirect": url})
    return RedirectResponse(url, status_code=303)


async def _open_duplicate(
    request: Request, store: Store, order: Order, form: RequestForm
) -> ReorderRequest | None:
    async with session(request) as db:
        return await reorders.open_reorder_for(
            db, store_id=store.id, order_id=order.id, line_item_ids=form.chosen_quantities()
        )


def _draft_from(form: RequestForm, photos: list[PhotoRecord]) -> RequestDraft:
    return RequestDraft(
        submit_key=secrets.token_urlsafe(16),
        issue_type=form.chosen_issue,  # type: ignore[arg-type]  # validated above
        quantities=form.chosen_quantities(),
        resolution=form.chosen_resolution,
        description=(form.description.data or "").strip(),
        alternative_wish=(form.alternative_wish.data or "").strip(),
        shipping_address=form.address(),
        photos=tuple(photos),
    )


async def _initial_data(request: Request, store: Store, order: Order) -> dict[str, object]:
    """Start from an earlier draft (the Change link), or from the order's shipping address."""
    draft_id = request.query_params.get("draft", "")[:32]
    if draft_id:
        draft = await _load_draft(request, store, order, draft_id)
        if draft is not None:
            return data_from_draft(draft)
    return data_from_address(order.shipping_address)


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
    context = {"form": form, "order": order}
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


def _to_lookup(request: Request, store: Store) -> Response:
    url = str(request.url_for("shopper:lookup", store=store.slug))
    return RedirectResponse(url, status_code=303)


def _status_url(request: Request, store: Store, found: ReorderRequest) -> str:
    return str(
        request.url_for("shopper:request_status", store=store.slug, reference=found.reference)
    )


# --- review and submit -------------------------------------------------------------------------


async def review(request: Request) -> Response:
    store = await store_from_path(request)
    try:
        order = await verified_order(request, store)
    except IntegrationError as exc:
        return service_unavailable(request, store, exc)
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
    return _to_status(request, store, filed)


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
            )
    except NothingLeftToClaim:
        message = _(
            "Some of these items were claimed or refunded in the meantime. Please choose again."
        )
        return _review_page(request, store, order, draft, form, 409, message)
    except NotEligible as exc:
        return _review_page(request, store, order, draft, form, 409, " ".join(exc.problems))
    return _to_status(request, store, filed)


def _to_status(request: Request, store: Store, filed: ReorderRequest) -> Response:
    """The signed status link, like the one in the confirmation email: it keeps working after
    the verified session ends."""
    token = links.status_token(runtime(request).signer, request_id=filed.id)
    url = str(request.url_for("shopper:status_link", store=store.slug, token=token))
    return RedirectResponse(url + "?submitted=1", status_code=303)
