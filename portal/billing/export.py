"""The invoice as CSV: exactly the lines the invoice page lists, then its totals."""

from __future__ import annotations

import csv
import io

from portal.billing.invoices import Invoice, InvoiceLine
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
