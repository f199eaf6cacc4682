"""The store overview under /support/overview/: staff pick any store, a merchant user sees its
own (another store answers 404, as the invoice pages do). ``?months=`` chooses the period."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from babel.dates import format_date
from babel.numbers import format_decimal, format_percent
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from portal import i18n
from portal.accounts.guard import require_staff
from portal.billing import charts, overview
from portal.billing.export import OVERVIEW_TABLES, overview_csv
from portal.billing.overview import DEFAULT_PERIOD, PERIODS, BadPeriod, Outcome, Overview
from portal.billing.views import staff_context, store_index, visible_store
from portal.clock import utcnow
from portal.i18n import gettext as _
from portal.reorders.labels import issue_label
from portal.web import is_htmx, render, session

PAGE_TEMPLATE = "pages/billing/overview.html"
PARTIAL_TEMPLATE = "partials/billing/overview.html"


async def index(request: Request) -> Response:
    intro = _(
        "Premiums against deductions, requests by reason and by resolution, and the "
        "products claimed most, for each store."
    )
    return await store_index(
        request, heading=_("Store overviews"), intro=intro, store_route="overview:store"
    )


async def store_page(request: Request) -> Response:
    staff = await require_staff(request)
    problem = None
    try:
        length = overview.parse_period(request.query_params.get("months"))
    except BadPeriod as exc:
        length, problem = DEFAULT_PERIOD, str(exc)
    async with session(request) as db:
        store = await visible_store(db, request, staff)
        found = await overview.store_overview(db, store, length=length, now=utcnow())
    context = staff_context(request, staff, **_page(request, found), problem=problem)
    template = PARTIAL_TEMPLATE if is_htmx(request) else PAGE_TEMPLATE
    response = render(request, template, context, status_code=400 if problem else 200)
    response.headers["Vary"] = "HX-Request"
    return response


async def table_csv(request: Request) -> Response:
    staff = await require_staff(request)
    table = request.path_params["table"]
    if table not in OVERVIEW_TABLES:
        raise HTTPException(404)
    try:
        length = overview.parse_period(request.query_params.get("months"))
    except BadPeriod as exc:
        raise HTTPException(400, str(exc)) from None
    async with session(request) as db:
        store = await visible_store(db, request, staff)
        found = await overview.store_overview(db, store, length=length, now=utcnow())
    filename = f"overview-{found.store_slug}-{found.period.first}-{found.period.last}-{table}.csv"
    return Response(
        overview_csv(found, table),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


# --- what the template draws -----------------------------------------------------------------


def outcome_labels() -> dict[str, str]:
    return {
        Outcome.PRIMARY_REORDER: _("Primary reorder"),
        Outcome.ALTERNATIVE_REORDER: _("Alternative reorder"),
        Outcome.REFUND: _("Refund"),
        Outcome.DENIED: _("Denied"),
        Outcome.OPEN: _("Still open"),
    }


def month_name(month: str, *, short: bool = False) -> str:
    """ "October 2026", or "Oct 2026" under a chart's column."""
    year, number = (int(part) for part in month.split("-"))
    pattern = "MMM yyyy" if short else "LLLL yyyy"
    return format_date(date(year, number, 1), pattern, locale=i18n.current_locale())


def percent(ratio: Decimal | None) -> str:
    """0.6234 as "62.3%" in the reader's language; a dash when there is none."""
    if ratio is None:
        return "\u2013"  # an en dash: no figure
    return format_percent(ratio, "#,##0.0%", locale=i18n.current_locale())


def signed_percent(ratio: Decimal) -> str:
    return format_percent(ratio, "+#,##0.0%;-#,##0.0%", locale=i18n.current_locale())


def days(value: Decimal | None) -> str:
    if value is None:
        return "\u2013"  # an en dash: no figure
    number = format_decimal(value, "#,##0.0", locale=i18n.current_locale())
    return _("%(days)s days", days=number)


def _page(request: Request, found: Overview) -> dict[str, Any]:
    outcome_label = outcome_labels()
    return {
        "overview": found,
        "periods": PERIODS,
        "month_name": month_name,
        "outcome_label": outcome_label,
        "change": overview.change,
        "percent": percent,
        "signed_percent": signed_percent,
        "days": days,
        "csv_url": lambda table: _csv_url(request, found, table),
        "money_chart": _money_chart(found),
        "reason_chart": _count_chart(found.reasons, issue_label),
        "outcome_chart": _count_chart(found.outcomes, lambda k: outcome_label.get(k, k)),
        "product_chart": charts.bar_chart(
            [(p.title, p.quantity, p.previous_quantity) for p in found.products],
            describe=_describe_count,
            label_width=140.0,
        ),
    }


def _csv_url(request: Request, found: Overview, table: str) -> str:
    url = request.url_for("overview:table_csv", store=found.store_slug, table=table)
    return f"{url.path}?months={found.length}"


def _money_chart(found: Overview) -> charts.ColumnChart:
    premiums, deductions = _("Premiums"), _("Deductions")
    groups = []
    for m in found.months:
        name = month_name(m.month)
        groups.append(
            (
                month_name(m.month, short=True),
                [
                    ("premiums", m.summary.premiums_total, f"{name}: {premiums}"),
                    ("deductions", m.summary.deductions_total, f"{name}: {deductions}"),
                ],
            )
        )
    return charts.column_chart(groups)


def _count_chart(counts: Any, label: Any) -> charts.BarChart:
    rows = [(label(c.key), c.current, c.previous) for c in counts]
    return charts.bar_chart(rows, describe=_describe_count)


def _describe_count(label: str, current: int | Decimal, previous: int | Decimal) -> str:
    return _(
        "%(label)s: %(current)s, previous period %(previous)s",
        label=label,
        current=current,
        previous=previous,
    )
