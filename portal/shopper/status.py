"""A request's status page, by signed link or for the verified order, refreshing itself with
htmx while the request is open; where more information is asked for, the shopper answers here."""

from __future__ import annotations

from starlette.datastructures import FormData
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from portal import links
from portal.errors import InvalidToken, PhotoRejected
from portal.i18n import gettext as _
from portal.reorders import service as reorders
from portal.reorders.models import ReorderRequest, RequestStatus
from portal.shopper import corrections
from portal.shopper import session as shopper_session
from portal.shopper.common import runtime, store_from_path
from portal.shopper.filing import PHOTO_RULES
from portal.shopper.forms import AddressChangeForm, AnswerForm
from portal.shopper.photos import delete_photo, keep_photos
from portal.stores.models import Store
from portal.web import is_htmx, render, session


async def by_link(request: Request) -> Response:
    store = await store_from_path(request)
    token = str(request.path_params["token"])
    try:
        reorder_id = links.read_status_token(runtime(request).signer, token)
    except InvalidToken:
        return render(request, "pages/shopper/link_invalid.html", {"store": store}, status_code=400)
    async with session(request) as db:
        found = await reorders.get_reorder(db, store_id=store.id, reorder_id=reorder_id)
    if found is None:
        raise HTTPException(404)
    here = str(request.url_for("shopper:status_link", store=store.slug, token=token))
    return await _status(request, store, found, here)


async def by_reference(request: Request) -> Response:
    """For the browser that verified the request's order."""
    store = await store_from_path(request)
    current = await shopper_session.read(request)
    if current is None:
        raise HTTPException(404)
    reference = str(request.path_params["reference"])[:16]
    async with session(request) as db:
        found = await reorders.get_reorder_by_reference(db, store_id=store.id, reference=reference)
    if found is None or not current.opens(store.id, found.shopify_order_id):
        raise HTTPException(404)
    here = str(request.url_for("shopper:request_status", store=store.slug, reference=reference))
    response = await _status(request, store, found, here)
    shopper_session.write(request, response, current)  # using the page keeps the session alive
    return response


async def _status(request: Request, store: Store, found: ReorderRequest, here: str) -> Response:
    if request.method != "POST":
        return await _status_page(request, store, found, here)
    async with request.form(max_files=PHOTO_RULES.max_count + 1, max_fields=100) as data:
        if data.get("form") == "address":
            return await _change_address(request, store, found, here, data)
        return await _answer(request, store, found, here, data)


async def _answer(
    request: Request, store: Store, found: ReorderRequest, here: str, data: FormData
) -> Response:
    form = AnswerForm(formdata=data, meta={"csrf_context": request})
    if found.status != RequestStatus.NEEDS_INFO:
        return RedirectResponse(here, status_code=303)  # no question is waiting for an answer
    if not form.validate():
        return await _status_page(request, store, found, here, answer_form=form)
    rt = runtime(request)
    try:
        photos = await keep_photos(
            form.uploads(), rules=PHOTO_RULES, storage=rt.storage, limiter=rt.photo_decoding
        )
    except PhotoRejected as exc:
        form.photos.errors = [exc.message]
        return await _status_page(request, store, found, here, answer_form=form)
    async with session(request) as db, db.begin():
        answered = await corrections.answer_question(
            db, found.id, (form.answer.data or "").strip(), photos
        )
    if not answered:
        for photo in photos:
            await delete_photo(rt.storage, photo.photo_id)
    return RedirectResponse(here, status_code=303)


async def _change_address(
    request: Request, store: Store, found: ReorderRequest, here: str, data: FormData
) -> Response:
    form = AddressChangeForm(formdata=data, meta={"csrf_context": request})
    if not form.validate():
        return await _status_page(request, store, found, here, address_form=form)
    async with session(request) as db, db.begin():
        changed = await corrections.change_address(db, found.id, form.address())
    if not changed:
        message = _(
            "The delivery address can no longer be changed: your request is being resolved."
        )
        return await _status_page(request, store, found, here, address_form=form, message=message)
    return RedirectResponse(here + "?address=changed", status_code=303)


async def _status_page(
    request: Request,
    store: Store,
    found: ReorderRequest,
    here: str,
    *,
    answer_form: AnswerForm | None = None,
    address_form: AddressChangeForm | None = None,
    message: str | None = None,
) -> Response:
    if address_form is None:
        address_form = await _address_form(request, found)
    country = request.query_params.get("country_code", "")[:2]
    if is_htmx(request) and country and address_form is not None:
        partial: dict[str, object] = {"form": address_form}
        return render(request, "partials/shopper/province_field.html", partial)
    context: dict[str, object] = {
        "store": store,
        "reorder": found,
        "events": [e for e in found.events if e.public],
        "here": here,
        "form": answer_form or AnswerForm(meta={"csrf_context": request}),
        "address_form": address_form,
        "message": message,
        "submitted": request.query_params.get("submitted") == "1",
        "address_changed": request.query_params.get("address") == "changed",
        "added": request.query_params.get("added") == "1",
    }
    template = "partials/shopper/status.html" if is_htmx(request) else "pages/shopper/status.html"
    status = 400 if request.method == "POST" else 200
    if message is not None:
        status = 409
    return render(request, template, context, status_code=status)


async def _address_form(request: Request, found: ReorderRequest) -> AddressChangeForm | None:
    """The form to correct the delivery address, filled in with the current one; None when it
    may not be changed (a resolution is under way or done) or the shopper asked for none."""
    if found.shipping_address is None:
        return None
    async with session(request) as db:
        if not await corrections.may_change_address(db, found):
            return None
    data = dict(found.shipping_address)
    country = request.query_params.get("country_code", "")[:2]
    if country and country != data.get("country_code"):  # the country changed: ask again
        data["country_code"] = country
        data["province_code"] = ""
    return AddressChangeForm(data=data, meta={"csrf_context": request})
