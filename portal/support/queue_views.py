"""The support queue page: filters in the query string, the whole page or (for htmx) only the
results partial, which the page itself includes."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from portal.accounts.forms import SignOutForm
from portal.accounts.guard import StaffUser, require_staff, store_scope
from portal.clock import utcnow
from portal.errors import InvalidCursor
from portal.i18n import gettext as _
from portal.i18n import ngettext
from portal.reorders.labels import status_labels
from portal.reorders.models import IssueType, PreferredResolution
from portal.support import queue as service
from portal.support.queue import Cursor, QueueFilters, QueueQuery
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
    context = {
        "staff": staff,
        "sign_out": SignOutForm(meta={"csrf_context": request}),
        "filters": filters,
        "stores": stores,
        "page": page,
        "counts": counts,
        "continued": cursor is not None,
        "cursor_invalid": cursor_invalid,
        "queue_path": request.url.path,
        "url_with": _url_maker(request.url.path, filters),
        "age_of": lambda created_at: age_label(created_at, at),
        "store_options": {"": _("Every store"), **{str(s.id): s.name for s in stores}},
        **_choices(staff),
    }
    response = render(request, _template(request), context)
    response.headers["Vary"] = "HX-Request"
    return response


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


def issue_labels() -> dict[str, str]:
    return {
        IssueType.LOST: _("Lost"),
        IssueType.STOLEN: _("Stolen"),
        IssueType.DAMAGED: _("Damaged"),
        IssueType.WRONG_ITEM: _("Wrong item"),
        IssueType.MISSING_ITEM: _("Missing item"),
    }


def resolution_labels() -> dict[str, str]:
    return {
        PreferredResolution.REORDER: _("Reorder"),
        PreferredResolution.ALTERNATIVE: _("Alternative"),
        PreferredResolution.REFUND: _("Refund"),
    }
