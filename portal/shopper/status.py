"""A request's status page, by signed link or for the verified order, refreshing itself with
htmx while the request is open; where more information is asked for, the shopper answers here."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession
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
        changeable = found is not None and await _address_changeable(db, found)
    if found is None:
        raise HTTPException(404)
    here = str(request.url_for("shopper:status_link", store=store.slug, token=token))
    return await _status(request, Shown(store, found, here, changeable))


async def by_reference(request: Request) -> Response:
    """For the browser that verified the request's order."""
    store = await store_from_path(request)
    current = await shopper_session.read(request)
    if current is None:
        raise HTTPException(404)
    reference = str(request.path_params["reference"])[:16]
    async with session(request) as db:
        found = await reorders.get_reorder_by_reference(db, store_id=store.id, reference=reference)
        changeable = found is not None and await _address_changeable(db, found)
    if found is None or not current.opens(store.id, found.shopify_order_id):
        raise HTTPException(404)
    here = str(request.url_for("shopper:request_status", store=store.slug, reference=reference))
    response = await _status(request, Shown(store, found, here, changeable))
    shopper_session.write(request, response, current)  # using the page keeps the session alive
    return response


@dataclass(frozen=True)
class Shown:
    """The request a status page shows, read with everything the page needs in one session."""

    store: Store
    found: ReorderRequest
    here: str
    address_changeable: bool  # no resolution under way or done (read with the request)


async def _address_changeable(db: AsyncSession, found: ReorderRequest) -> bool:
    return found.shipping_address is not None and await corrections.may_change_address(db, found)


async def _status(request: Request, shown: Shown) -> Response:
    if request.method != "POST":
        return await _status_page(request, shown)
    async with request.form(max_files=PHOTO_RULES.max_count + 1, max_fields=100) as data:
        if data.get("form") == "address":
            return await _change_address(request, shown, data)
        return await _answer(request, shown, data)


async def _answer(request: Request, shown: Shown, data: FormData) -> Response:
    form = AnswerForm(formdata=data, meta={"csrf_context": request})
    if shown.found.status != RequestStatus.NEEDS_INFO:
        return RedirectResponse(shown.here, status_code=303)  # no question is waiting for one
    if not form.validate():
        return await _status_page(request, shown, answer_form=form)
    rt = runtime(request)
    try:
        photos = await keep_photos(
            form.uploads(), rules=PHOTO_RULES, storage=rt.storage, limiter=rt.photo_decoding
        )
    except PhotoRejected as exc:
        form.photos.errors = [exc.message]
        return await _status_page(request, shown, answer_form=form)
    async with session(request) as db, db.begin():
        answered = await corrections.answer_question(
            db, shown.found.id, (form.answer.data or "").strip(), photos
        )
    if not answered:
        for photo in photos:
            await delete_photo(rt.storage, photo.photo_id)
    return RedirectResponse(shown.here, status_code=303)


async def _change_address(request: Request, shown: Shown, data: FormData) -> Response:
    form = AddressChangeForm(formdata=data, meta={"csrf_context": request})
    if not form.validate():
        return await _status_page(request, shown, address_form=form)
    async with session(request) as db, db.begin():
        changed = await corrections.change_address(db, shown.found.id, form.address())
    if not changed:
        message = _(
            "The delivery address can no longer be changed: your request is being resolved."
        )
        return await _status_page(request, shown, address_form=form, message=message)
    return RedirectResponse(shown.here + "?address=changed", status_code=303)


async def _status_page(
    request: Request,
    shown: Shown,
    *,
    answer_form: AnswerForm | None = None,
    address_form: AddressChangeForm | None = None,
    message: str | None = None,
) -> Response:
    if address_form is None:
        address_form = _address_form(request, shown)
    country = request.query_params.get("country_code", "")[:2]
    if is_htmx(request) and country and address_form is not None:
        partial: dict[str, object] = {"form": address_form}
        return render(request, "partials/shopper/province_field.html", partial)
    context: dict[str, object] = {
        "store": shown.store,
        "reorder": shown.found,
        "events": [e for e in shown.found.events if e.public],
        "here": shown.here,
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


def _address_form(request: Request, shown: Shown) -> AddressChangeForm | None:
    """The form to correct the delivery address, filled in with the current one; None when it
    may not be changed (a resolution is under way or done) or the shopper asked for none."""
    if not shown.address_changeable or shown.found.shipping_address is None:
        return None
    data = dict(shown.found.shipping_address)
    country = request.query_params.get("country_code", "")[:2]
    if country and country != data.get("country_code"):  # the country changed: ask again
        data["country_code"] = country
        data["province_code"] = ""
    return AddressChangeForm(data=data, meta={"csrf_context": request})
