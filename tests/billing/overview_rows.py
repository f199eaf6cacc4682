"""Claims for the overview's tests: requests filed over the last months, with items, ended in
every way (or still open), with the resolutions the invoices deduct; and an independent reading
of the figures the overview must show, in plain Python over the rows plain SQL returns."""

from __future__ import annotations

import csv
import io
import statistics
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from sqlalchemy import text
from sqlalchemy.orm import Session

from portal.reorders.models import RequestItem
from portal.support.models import Resolution
from tests.helpers.factories import reorder_request

# (status, resolution kind or None, amount): each request's end, in turn
ENDINGS = [
    ("reordered", "primary_reorder", "31.50"),
    ("refunded", "refund", "12.25"),
    ("resolved", "alternative_reorder", "40.00"),
    ("denied", None, None),
    ("submitted", None, None),
    ("refunded", "refund", "8.10"),
    ("in_review", None, None),
    ("reordered", "primary_reorder", "19.99"),
]
ISSUES = ["Lost", "Stolen", "Damaged", "Wrong_Item", "Missing_Item", "Lost", "Damaged"]
PRODUCTS = ["Enamel mug", "Canvas tote", "Wool beanie", "Enamel mug", "Camp lantern"]


def seed_claims(db: Session, store_id: int, *, now: datetime, count: int = 60) -> None:
    """``count`` requests filed one every ~11 days back from ``now`` (about 22 months)."""
    for n in range(count):
        filed = now - timedelta(days=11 * n + 1, hours=n % 7)
        status, kind, amount = ENDINGS[n % len(ENDINGS)]
        closed = (
            filed + timedelta(days=1 + (n * 5) % 13, hours=n % 5) if status != "submitted" else None
        )
        if status == "in_review":
            closed = None
        request = reorder_request(
            store_id,
            reference=f"OV-{store_id}-{n:04d}",
            submit_key=f"overview-{store_id}-{n}",
            issue_type=ISSUES[n % len(ISSUES)],
            status=status,
            created_at=filed,
            updated_at=closed or filed,
            closed_at=closed,
        )
        request.items = [
            RequestItem(
                line_item_id=f"gid://shopify/LineItem/{n}-{i}",
                title=PRODUCTS[(n + i) % len(PRODUCTS)],
                quantity=1 + (n + i) % 3,
                unit_price=Decimal("9.50"),
            )
            for i in range(1 + n % 2)
        ]
        db.add(request)
        db.flush()
        if kind is not None and closed is not None:
            db.add(
                Resolution(
                    request_id=request.id,
                    store_id=store_id,
                    kind=kind,
                    status="succeeded",
                    amount=Decimal(amount),
                    currency="USD",
                    deducted=kind != "alternative_reorder",
                    agent_email="agent@example.com",
                    description="",
                    created_at=closed,
                    resolved_at=closed,
                )
            )
    db.commit()


# --- the independent reading -----------------------------------------------------------------


@dataclass
class Expected:
    months: dict[str, dict[str, Decimal | int]]  # month -> premiums, deductions, requests
    reasons: Counter[str]
    outcomes: Counter[str]
    products: Counter[str]
    median_days: Decimal | None


OUTCOME = {
    "reordered": "primary_reorder",
    "resolved": "alternative_reorder",
    "refunded": "refund",
    "denied": "denied",
}


def _aware(value: object) -> datetime:
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def expected_figures(db: Session, store_id: int, months: list[str]) -> Expected:
    """What the overview must show for ``months``, read with plain SQL, summed in Python. The
    store has no closed month here (the service's own test covers those)."""
    zone = ZoneInfo(
        db.execute(text("SELECT time_zone FROM stores WHERE id = :s"), {"s": store_id}).scalar_one()
    )

    def month(value: object) -> str:
        return _aware(value).astimezone(zone).strftime("%Y-%m")

    rows: dict[str, dict[str, Decimal | int]] = {
        m: {"premiums": Decimal("0.00"), "deductions": Decimal("0.00"), "requests": 0}
        for m in months
    }
    for table in ("premiums", "premium_adjustments"):
        for m, amount in db.execute(
            text(f"SELECT month, amount FROM {table} WHERE store_id = :s"),  # noqa: S608 (a name above)
            {"s": store_id},
        ):
            if m in rows:
                rows[m]["premiums"] += Decimal(str(amount))  # type: ignore[operator]
    resolutions = db.execute(
        text(
            "SELECT kind, amount, resolved_at FROM resolutions"
            " WHERE store_id = :s AND status = 'succeeded'"
        ),
        {"s": store_id},
    )
    for kind, amount, resolved_at in resolutions:
        m = month(resolved_at)
        if kind in ("primary_reorder", "refund") and m in rows:
            rows[m]["deductions"] += Decimal(str(amount or 0))  # type: ignore[operator]
    reasons: Counter[str] = Counter()
    outcomes: Counter[str] = Counter()
    durations = []
    requests = db.execute(
        text(
            "SELECT id, issue_type, status, created_at, closed_at FROM reorder_requests"
            " WHERE store_id = :s"
        ),
        {"s": store_id},
    ).all()
    filed_in_period = set()
    for request_id, issue, status, created_at, closed_at in requests:
        if month(created_at) in rows:
            rows[month(created_at)]["requests"] += 1  # type: ignore[operator]
            reasons[issue] += 1
            outcomes[OUTCOME.get(status, "open")] += 1
            filed_in_period.add(request_id)
        resolved = status in ("reordered", "refunded", "resolved")
        if resolved and closed_at is not None and month(closed_at) in rows:
            durations.append((_aware(closed_at) - _aware(created_at)).total_seconds())
    products: Counter[str] = Counter()
    for request_id, title, quantity in db.execute(
        text("SELECT request_id, title, quantity FROM request_items")
    ):
        if request_id in filed_in_period:
            products[title] += quantity
    median = None
    if durations:
        median = (Decimal(str(statistics.median(durations))) / 86400).quantize(Decimal("0.01"))
    return Expected(rows, reasons, outcomes, products, median)


# The overview reads the median time to resolution from a histogram of whole hours, each request
# at the middle of its hour, so it is within half an hour (1/48 day) of the exact median; both are
# rounded to 0.01 day, which may add up to 0.005 day each.
MEDIAN_TOLERANCE = Decimal(1) / 48 + Decimal("0.01")


def median_agrees(shown: str, exact: Decimal | None) -> bool:
    """Whether the median the overview shows is the exact one within MEDIAN_TOLERANCE."""
    if exact is None:
        return shown == ""
    return abs(Decimal(shown) - exact) <= MEDIAN_TOLERANCE


def csv_rows(body: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(body)))


def by_key(rows: list[dict[str, str]], key: str) -> dict[str, dict[str, str]]:
    found: dict[str, dict[str, str]] = defaultdict(dict)
    for row in rows:
        found[row[key]] = row
    return dict(found)
