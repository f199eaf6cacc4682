"""The invoice as CSV: exactly the lines the invoice page lists, then its totals; and each table
of the store overview."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from decimal import Decimal

from portal.billing.invoices import Invoice, InvoiceLine
from portal.billing.overview import Overview, change
from portal.csv_text import safe_cell as _text

HEADER = ("section", "date", "order", "request", "description", "amount", "currency")


def invoice_csv(invoice: Invoice) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(HEADER)
    writer.writerows(_line_row(line, invoice.currency) for line in invoice.lines)
    writer.writerows(_total_rows(invoice))
    return buffer.getvalue()


def _line_row(line: InvoiceLine, currency: str) -> tuple[str, ...]:
    return (
        line.section.value,
        line.day.isoformat(),
        _text(line.order_name),
        _text(line.reference),
        _text(line.description),
        str(line.amount),
        currency,
    )


def _total_rows(invoice: Invoice) -> list[tuple[str, ...]]:
    totals = [
        ("total", "premiums", invoice.premiums_total),
        ("total", "deductions", invoice.deductions_total),
        ("total", "amount due", invoice.amount_due),
        ("total", "covered by the protection service", invoice.covered),
    ]
    return [
        (kind, "", "", "", name, str(amount), invoice.currency) for kind, name, amount in totals
    ]


# --- the overview's tables -------------------------------------------------------------------

OVERVIEW_TABLES = ("months", "trend", "reasons", "resolutions", "products")


def overview_csv(overview: Overview, table: str) -> str:
    """One of the overview's tables (OVERVIEW_TABLES) as the page shows it, without rounding."""
    header, rows = _OVERVIEW_ROWS[table](overview)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue()


Rows = tuple[tuple[str, ...], list[tuple[str, ...]]]


def _months(overview: Overview) -> Rows:
    header = ("month", "premiums", "deductions", "net", "loss_ratio", "requests", "currency")
    return header, [
        (
            m.month,
            str(m.summary.premiums_total),
            str(m.summary.deductions_total),
            str(m.summary.premiums_total - m.summary.deductions_total),
            _optional(m.loss_ratio),
            str(m.requests),
            overview.currency,
        )
        for m in overview.months
    ]


def _trend(overview: Overview) -> Rows:
    now, before = overview.totals, overview.previous_totals
    figures: list[tuple[str, Decimal | int | None, Decimal | int | None]] = [
        ("requests", now.requests, before.requests),
        ("premiums", now.premiums, before.premiums),
        ("deductions", now.deductions, before.deductions),
        ("net", now.net, before.net),
        ("loss_ratio", now.loss_ratio, before.loss_ratio),
        ("median_days_to_resolution", now.median_days, before.median_days),
        ("resolved", now.resolved, before.resolved),
    ]
    header: tuple[str, ...] = ("figure", "period", "previous_period", "change")
    period = f"{overview.period.first}..{overview.period.last}"
    previous = f"{overview.previous.first}..{overview.previous.last}"
    rows: list[tuple[str, ...]] = [("months", period, previous, "")]
    rows += [(name, _optional(a), _optional(b), _optional(change(a, b))) for name, a, b in figures]
    return header, rows


def _reasons(overview: Overview) -> Rows:
    header = ("reason", "requests", "previous_period")
    return header, [(c.key, str(c.current), str(c.previous)) for c in overview.reasons]


def _resolutions(overview: Overview) -> Rows:
    header = ("resolution", "requests", "previous_period")
    return header, [(c.key, str(c.current), str(c.previous)) for c in overview.outcomes]


def _products(overview: Overview) -> Rows:
    header = ("product", "quantity", "previous_period_quantity")
    return header, [
        (_text(p.title), str(p.quantity), str(p.previous_quantity)) for p in overview.products
    ]


def _optional(value: object) -> str:
    return "" if value is None else str(value)


_OVERVIEW_ROWS: dict[str, Callable[[Overview], Rows]] = {
    "months": _months,
    "trend": _trend,
    "reasons": _reasons,
    "resolutions": _resolutions,
    "products": _products,
}
