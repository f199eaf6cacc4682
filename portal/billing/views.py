"""Invoice pages under /support/invoices/: staff see every store, a merchant user only its own
(another store's pages answer 404, as if they did not exist); only admins close a month."""

from __future__ import annotations

from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from portal.accounts.forms import SignOutForm
from portal.accounts.guard import StaffUser, require_staff, require_store_visible
from portal.billing import invoices
from portal.billing.export import invoice_csv
from portal.billing.forms import CloseInvoiceForm
from portal.billing.invoices import Invoice, Section
from portal.billing.months import month_of, parse_month
from portal.clock import utcnow
from portal.errors import BadMonth, InvoiceError
from portal.i18n import gettext as _
from portal.stores import service as stores
from portal.stores.models import Store
from portal.web import is_htmx, render, session


async def index(request: Request) -> Response:
    return await store_index(request, heading=_("Invoices"), intro="", store_route="billing:months")


async def store_index(request: Request, *, heading: str, intro: str, store_route: str) -> Response:
    """Staff pick a store from the list (each links to ``store_route``); a merchant user goes
    straight to its own store's page."""
    staff = await require_staff(request)
    async with session(request) as db:
        if staff.sees_every_store:
            every = await stores.list_stores(db)
            context = staff_context(
                request, staff, stores=every, heading=heading, intro=intro, store_route=store_route
            )
            return render(request, "pages/billing/stores.html", context)
        own = await db.get(Store, staff.store_id) if staff.store_id is not None else None
    if own is None:
        raise HTTPException(404)
    return RedirectResponse(request.url_for(store_route, store=own.slug), status_code=303)


async def months(request: Request) -> Response:
    staff = await require_staff(request)
    async with session(request) as db:
        store = await visible_store(db, request, staff)
        summaries = await invoices.invoice_months(db, store, now=utcnow())
    context = staff_context(request, staff, store=store, months=summaries)
    return render(request, "pages/billing/months.html", context)


async def invoice_page(request: Request) -> Response:
    staff = await require_staff(request)
    invoice = await _invoice(request, staff)
    return _invoice_response(request, staff, invoice)


async def invoice_export(request: Request) -> Response:
    staff = await require_staff(request)
    invoice = await _invoice(request, staff)
    filename = f"invoice-{invoice.store_slug}-{invoice.month}.csv"
    return Response(
        invoice_csv(invoice),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


async def close(request: Request) -> Response:
    staff = await require_staff(request)
    async with session(request) as db:
        store = await visible_store(db, request, staff)
        month = _month(request, store)
        if not staff.is_admin:
            raise HTTPException(403, "Only admins close a month.")
        form = await CloseInvoiceForm.from_request(request)
        if not form.validate():
            invoice = await invoices.invoice_for(db, store, month)
            return _invoice_response(request, staff, invoice, form=form, status_code=400)
        try:
            invoice = await invoices.close_invoice(
                db, store, month, closed_by=staff.email, now=utcnow()
            )
        except InvoiceError as exc:
            await db.rollback()
            invoice = await invoices.invoice_for(db, store, month)
            return _invoice_response(request, staff, invoice, message=str(exc), status_code=400)
        await db.commit()
    if is_htmx(request):
        return _invoice_response(request, staff, invoice)
    target = request.url_for("billing:invoice", store=store.slug, month=month)
    return RedirectResponse(target, status_code=303)


# --- helpers ---------------------------------------------------------------------------------


async def _invoice(request: Request, staff: StaffUser) -> Invoice:
    async with session(request) as db:
        store = await visible_store(db, request, staff)
        return await invoices.invoice_for(db, store, _month(request, store))


async def visible_store(db: Any, request: Request, staff: StaffUser) -> Store:
    store = await stores.get_by_slug(db, request.path_params["store"])
    if store is None:
        raise HTTPException(404)
    require_store_visible(staff, store.id)
    return store


def _month(request: Request, store: Store) -> str:
    """The month in the URL; 404 for nonsense or a month that has not begun."""
    try:
        month = parse_month(request.path_params["month"])
    except BadMonth:
        raise HTTPException(404) from None
    if month > month_of(utcnow(), store.time_zone):
        raise HTTPException(404)
    return month


def _invoice_response(
    request: Request,
    staff: StaffUser,
    invoice: Invoice,
    *,
    form: CloseInvoiceForm | None = None,
    message: str | None = None,
    status_code: int = 200,
) -> Response:
    context = staff_context(
        request,
        staff,
        invoice=invoice,
        sections=Section,
        close_form=form or CloseInvoiceForm(meta={"csrf_context": request}),
        message=message,
    )
    template = "partials/billing/invoice.html" if is_htmx(request) else "pages/billing/invoice.html"
    return render(request, template, context, status_code=status_code)


def staff_context(request: Request, staff: StaffUser, **values: Any) -> dict[str, Any]:
    return {"staff": staff, "sign_out": SignOutForm(meta={"csrf_context": request}), **values}
