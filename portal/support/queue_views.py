"""The support queue page: filters in the query string, the whole page or (for htmx) only the
results partial, which the page itself includes."""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator, Callable
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from portal.accounts.forms import SignOutForm
from portal.accounts.guard import StaffUser, require_staff, store_scope
from portal.automation.decisions import waiting_reasons
from portal.clock import utcnow
from portal.csv_text import safe_cell
from portal.errors import InvalidCursor
from portal.i18n import gettext as _
from portal.i18n import ngettext
from portal.reorders.labels import issue_labels, resolution_labels, status_labels
from portal.support import queue as service
from portal.support.queue import Cursor, QueueFilters, QueueQuery
from portal.templating import store_time
from portal.web import is_htmx, render, session

PAGE_TEMPLATE = "pages/support/queue.html"
RESULTS_TEMPLATE = "partials/support/queue_results.html"


async def queue(request: Request) -> Response:
    staff = await require_staff(request)
    scope = _scope_of(staff)
    cursor, cursor_invalid = _cursor(request)
    at = utcnow()
    async with session(request) as db:
        stores = await service.visible_stores(db, scope)
        filters = service.parse_filters(
            request.query_params, store_ids={s.id for s in stores}, store_scope=scope
        )
        query = QueueQuery(filters, store_scope=scope, staff_id=staff.id, now=at)
        page = await service.queue_page(db, query, after=cursor)
        counts = await service.status_counts(db, query)
        waiting = await waiting_reasons(db, [row.reference for row in page.rows])
    context = {
        "waiting": waiting,
        "staff": staff,
        "sign_out": SignOutForm(meta={"csrf_context": request}),
        "filters": filters,
        "stores": stores,
        "page": page,
        "counts": counts,
        "count_cap": service.COUNT_CAP,
        "continued": cursor is not None,
        "cursor_invalid": cursor_invalid,
        "queue_path": request.url.path,
        "csv_url": _csv_url(request, filters),
        "url_with": _url_maker(request.url.path, filters),
        "age_of": lambda created_at: age_label(created_at, at),
        "store_options": {"": _("Every store"), **{str(s.id): s.name for s in stores}},
        **_choices(staff),
    }
    response = render(request, _template(request), context)
    response.headers["Vary"] = "HX-Request"
    return response


CSV_HEADER = (
    "reference",
    "store",
    "order",
    "customer email",
    "issue",
    "preferred resolution",
    "status",
    "filed",
    "assigned to",
    "risk signals",
)


async def queue_csv(request: Request) -> Response:
    """Exactly the filtered queue (every page of it, in queue order) as CSV, streamed."""
    staff = await require_staff(request)
    scope = _scope_of(staff)
    async with session(request) as db:
        stores = await service.visible_stores(db, scope)
    filters = service.parse_filters(
        request.query_params, store_ids={s.id for s in stores}, store_scope=scope
    )
    query = QueueQuery(filters, store_scope=scope, staff_id=staff.id, now=utcnow())
    labels = {**issue_labels(), **resolution_labels(), **status_labels()}
    pages = service.export_pages(lambda: session(request), query)
    filename = f"queue-{utcnow():%Y-%m-%d}.csv"
    return StreamingResponse(
        _csv_lines(pages, labels),
        media_type="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="{filename}"',
            "Cache-Control": "private, no-store",
        },
    )


async def _csv_lines(
    pages: AsyncIterator[list[service.QueueRow]], labels: dict[str, str]
) -> AsyncIterator[str]:
    yield _csv_line(CSV_HEADER)
    async for rows in pages:
        yield "".join(_csv_line(_csv_row(row, labels)) for row in rows)


def _csv_row(row: service.QueueRow, labels: dict[str, str]) -> tuple[str, ...]:
    return (
        row.reference,
        row.store_name,
        row.order_name,
        row.email,
        labels.get(row.issue_type, row.issue_type),
        labels.get(row.resolution, row.resolution),
        labels.get(row.status, row.status),
        store_time(row.created_at, row.time_zone),
        row.assignee_email or "",
        str(row.risk_count),
    )


def _csv_line(cells: tuple[str, ...]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerow(safe_cell(c) for c in cells)
    return buffer.getvalue()


def _scope_of(staff: StaffUser) -> int | None:
    scope = store_scope(staff)
    if scope is None and not staff.sees_every_store:
        raise HTTPException(403, "This account belongs to no store.")
    return scope


def _cursor(request: Request) -> tuple[Cursor | None, bool]:
    """The "Next page" cursor, or the first page (and a note) when it is not one of ours."""
    try:
        return service.parse_cursor(request.query_params.get("after")), False
    except InvalidCursor:
        return None, True


def _template(request: Request) -> str:
    """The results partial for htmx swaps; the whole page for everything else, including
    htmx's history restore and boosted links, which replace the whole page."""
    whole_page = request.headers.get("HX-History-Restore-Request") == "true" or (
        request.headers.get("HX-Boosted") == "true"
    )
    return RESULTS_TEMPLATE if is_htmx(request) and not whole_page else PAGE_TEMPLATE


def _csv_url(request: Request, filters: QueueFilters) -> str:
    params = filters.as_params()
    path = str(request.url_for("support:queue_csv").path)
    return f"{path}?{urlencode(params)}" if params else path


def _url_maker(path: str, filters: QueueFilters) -> Callable[..., str]:
    def url_with(**changes: str | None) -> str:
        params = filters.as_params(**changes)
        return f"{path}?{urlencode(params)}" if params else path

    return url_with


def age_label(created_at: datetime, at: datetime) -> str:
    """How long a request has waited, in the largest whole unit: "3 days", "5 hours"."""
    seconds = max(0, int((at - created_at).total_seconds()))
    if seconds >= 86_400:
        return ngettext("%(num)d day", "%(num)d days", seconds // 86_400)
    if seconds >= 3_600:
        return ngettext("%(num)d hour", "%(num)d hours", seconds // 3_600)
    return ngettext("%(num)d minute", "%(num)d minutes", seconds // 60)


def _choices(staff: StaffUser) -> dict[str, Any]:
    """Labels and options of every filter, translated for this request."""
    statuses = status_labels()
    assignments = {"": _("Anyone or no one")}
    if staff.can_act:
        assignments["me"] = _("Assigned to me")
    assignments["unassigned"] = _("Unassigned")
    return {
        "status_labels": statuses,
        "status_options": {"open": _("Open"), "any": _("Any status"), **statuses},
        "issue_labels": issue_labels(),
        "issue_options": {"": _("Any issue"), **issue_labels()},
        "resolution_labels": resolution_labels(),
        "resolution_options": {"": _("Any resolution"), **resolution_labels()},
        "assignment_options": assignments,
        "age_options": {
            "": _("Any age"),
            **{
                str(days): ngettext("Older than %(num)d day", "Older than %(num)d days", days)
                for days in service.AGE_CHOICES
            },
        },
        "search_kinds": service.SearchKind,
    }
