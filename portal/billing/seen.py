"""What an order webhook says about an order's protection lines: enough to tell, without asking
Shopify, that the premium cannot have changed.

Shopify sends ``orders/updated`` for every change to an order (a refund of other items, a
fulfillment, a note) and ``refunds/create`` for every refund. The premium depends only on the
protection lines (what they were charged, how many units are left) and on cancellation, so:

- an order whose lines hold no protection item earns no premium: nothing to read (a replacement
  order the portal created, an unprotected order);
- a refund of none of the protection lines leaves the premium as it was;
- an update whose protection lines and cancellation match what the ledger booked leaves it too.

Anything the payload does not say clearly (an older payload without ``current_quantity``, a
refund line without its line item) is read from Shopify as before: a hint can only save a read,
never change what is booked.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from typing import Any

CENT = Decimal("0.01")


class Verdict(StrEnum):
    NOTHING_TO_BOOK = "nothing to book"
    """The webhook shows the premium cannot have changed: no job at all."""
    READ = "read"
    """Read the order from Shopify and book it."""
    READ_UNLESS_BOOKED = "read unless booked as seen"
    """Read it unless the ledger already holds exactly ``SeenPremium``."""


@dataclass(frozen=True)
class SeenPremium:
    """The protection lines' facts as the webhook showed them."""

    charged: Decimal
    refunded_quantity: int
    cancelled: bool

    def as_json(self) -> dict[str, Any]:
        return {
            "charged": str(self.charged),
            "refunded_quantity": self.refunded_quantity,
            "cancelled": self.cancelled,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> SeenPremium:
        return cls(
            Decimal(data["charged"]), int(data["refunded_quantity"]), bool(data["cancelled"])
        )


def judge(
    facts: dict[str, Any], protection_variant_ids: Collection[str]
) -> tuple[Verdict, SeenPremium | None]:
    """What to do about an order webhook whose readable ``facts`` (see
    ``portal.webhooks.deliveries``) are these."""
    refunded = facts.get("refunded_lines")
    if refunded is not None:  # refunds/create
        touched = any(line["variant_id"] in protection_variant_ids for line in refunded)
        return (Verdict.READ if touched else Verdict.NOTHING_TO_BOOK), None
    lines = facts.get("lines")
    if lines is None:
        return Verdict.READ, None
    protection = [line for line in lines if line["variant_id"] in protection_variant_ids]
    if not protection:
        return Verdict.NOTHING_TO_BOOK, None
    unclear = any(
        line["current_quantity"] is None or line["discount"] is None for line in protection
    )
    if "cancelled" not in facts or unclear:
        return Verdict.READ, None
    seen = SeenPremium(
        charged=sum((_charged(line) for line in protection), Decimal("0")).quantize(CENT),
        refunded_quantity=sum(line["quantity"] - line["current_quantity"] for line in protection),
        cancelled=bool(facts["cancelled"]),
    )
    return Verdict.READ_UNLESS_BOOKED, seen


def _charged(line: dict[str, Any]) -> Decimal:
    quantity: int = line["quantity"]
    return Decimal(line["price"]) * quantity - Decimal(line["discount"])
