"""What a rule looks at, and what it is told about a request.

``Conditions`` are chosen in a form, never written as expressions: each is one bounded value
(a set of choices, an amount, a count), and a condition left empty is not checked. ``Facts`` are
what the portal knows of one request when the rules are judged; a fact the portal could not
learn (Shopify or Corso unreachable) is None, and a condition on it is not met.
``unmet`` says, in words for an agent, every condition a request fails.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from portal.errors import RuleRefused
from portal.reorders.models import IssueType, PreferredResolution
from portal.reorders.tracking import TrackingState

MAX_MONEY = Decimal("1000000")
MAX_COUNT = 1000
MAX_DAYS = 365
MAX_PRODUCTS = 20
MAX_TAG = 40
PRODUCT_PREFIX = "gid://shopify/Product/"

ISSUE_VALUES = frozenset(i.value for i in IssueType)
RESOLUTION_VALUES = frozenset(r.value for r in PreferredResolution)
TRACKING_VALUES = frozenset(t.value for t in TrackingState)


@dataclass(frozen=True)
class Conditions:
    issue_types: frozenset[str] = frozenset()
    resolutions: frozenset[str] = frozenset()
    value_below: Decimal | None = None  # the request's value is less than this
    value_at_least: Decimal | None = None
    max_items: int | None = None
    products: tuple[str, ...] = ()  # one of the request's items is one of these products
    order_tag: str = ""  # the Shopify order carries this tag
    in_stock: bool | None = None  # True: every item can be supplied now; False: not every one
    tracking_states: frozenset[str] = frozenset()
    max_days_since_delivery: int | None = None
    max_earlier_claims: int | None = None  # the customer's other claims in the last year
    max_risk_signals: int | None = None

    def as_json(self) -> dict[str, Any]:
        values: dict[str, Any] = {
            "issue_types": sorted(self.issue_types),
            "resolutions": sorted(self.resolutions),
            "value_below": _text(self.value_below),
            "value_at_least": _text(self.value_at_least),
            "max_items": self.max_items,
            "products": list(self.products),
            "order_tag": self.order_tag,
            "in_stock": self.in_stock,
            "tracking_states": sorted(self.tracking_states),
            "max_days_since_delivery": self.max_days_since_delivery,
            "max_earlier_claims": self.max_earlier_claims,
            "max_risk_signals": self.max_risk_signals,
        }
        return {k: v for k, v in values.items() if v not in (None, "", [])}

    @classmethod
    def from_json(cls, values: Mapping[str, Any]) -> Conditions:
        """Conditions as stored (the rows hold only what ``checked`` accepted)."""
        return checked(values)

    @property
    def empty(self) -> bool:
        return not self.as_json()


def _text(value: Decimal | None) -> str | None:
    return None if value is None else f"{value:.2f}"


# --- checking what an admin gave ---------------------------------------------------------------


def checked(values: Mapping[str, Any]) -> Conditions:
    """Conditions from a form's (or a stored row's) values; ``RuleRefused`` names the field."""
    return Conditions(
        issue_types=_choices(values.get("issue_types"), ISSUE_VALUES, "issue_types"),
        resolutions=_choices(values.get("resolutions"), RESOLUTION_VALUES, "resolutions"),
        value_below=_money(values.get("value_below"), "value_below"),
        value_at_least=_money(values.get("value_at_least"), "value_at_least"),
        max_items=_count(values.get("max_items"), "max_items", 1, MAX_COUNT),
        products=_products(values.get("products")),
        order_tag=_tag(values.get("order_tag"), "order_tag"),
        in_stock=_yes_no(values.get("in_stock")),
        tracking_states=_choices(values.get("tracking_states"), TRACKING_VALUES, "tracking_states"),
        max_days_since_delivery=_count(
            values.get("max_days_since_delivery"), "max_days_since_delivery", 0, MAX_DAYS
        ),
        max_earlier_claims=_count(
            values.get("max_earlier_claims"), "max_earlier_claims", 0, MAX_COUNT
        ),
        max_risk_signals=_count(values.get("max_risk_signals"), "max_risk_signals", 0, 20),
    )


def _choices(value: Any, allowed: frozenset[str], field_name: str) -> frozenset[str]:
    chosen = frozenset(str(v) for v in (value or ()))
    if not chosen <= allowed:
        raise RuleRefused(field_name, "Choose from the list.")
    return chosen


def _money(value: Any, field_name: str) -> Decimal | None:
    if value is None or value == "":
        return None
    try:
        amount = Decimal(str(value))
    except InvalidOperation as exc:
        raise RuleRefused(field_name, "Give an amount like 49.99.") from exc
    if not amount.is_finite() or not Decimal(0) <= amount <= MAX_MONEY:
        raise RuleRefused(field_name, f"Give an amount from 0 to {MAX_MONEY:,}.")
    return amount.quantize(Decimal("0.01"))


def _count(value: Any, field_name: str, low: int, high: int) -> int | None:
    if value is None or value == "":
        return None
    try:
        number = int(str(value))
    except ValueError as exc:
        raise RuleRefused(field_name, "Give a whole number.") from exc
    if not low <= number <= high:
        raise RuleRefused(field_name, f"Give a whole number from {low} to {high}.")
    return number


def _products(value: Any) -> tuple[str, ...]:
    if isinstance(value, str):
        value = value.replace(",", " ").split()
    found = tuple(dict.fromkeys(str(v).strip() for v in (value or ()) if str(v).strip()))
    if len(found) > MAX_PRODUCTS:
        raise RuleRefused("products", f"Name at most {MAX_PRODUCTS} products.")
    for product in found:
        number = product.removeprefix(PRODUCT_PREFIX)
        if not (number.isascii() and number.isdigit() and len(number) <= 20):
            raise RuleRefused(
                "products", "Name products by their Shopify id, e.g. gid://shopify/Product/123."
            )
    return tuple(PRODUCT_PREFIX + p.removeprefix(PRODUCT_PREFIX) for p in found)


def _tag(value: Any, field_name: str) -> str:
    tag = str(value or "").strip()
    if len(tag) > MAX_TAG or any(not (ch.isprintable() and ch not in ",<>") for ch in tag):
        raise RuleRefused(field_name, f"A tag is at most {MAX_TAG} characters, without commas.")
    return tag


def _yes_no(value: Any) -> bool | None:
    if value in (None, "", "any"):
        return None
    if value in (True, "yes", "true"):
        return True
    if value in (False, "no", "false"):
        return False
    raise RuleRefused("in_stock", "Choose from the list.")


# --- judging a request -------------------------------------------------------------------------


@dataclass(frozen=True)
class Facts:
    """What the rules are judged on. None: not known (the service could not be reached)."""

    issue_type: str
    resolution: str
    value: Decimal
    currency: str
    item_count: int
    has_address: bool
    product_ids: tuple[str, ...] = ()
    order_tags: tuple[str, ...] = ()
    in_stock: bool | None = None
    tracking_state: str | None = None
    days_since_delivery: int | None = None
    earlier_claims: int | None = None
    risk_signals: int | None = None
    unknown: tuple[str, ...] = field(default=())  # services that could not be asked

    def as_json(self) -> dict[str, Any]:
        return {
            "issue_type": self.issue_type,
            "resolution": self.resolution,
            "value": f"{self.value:.2f}",
            "currency": self.currency,
            "item_count": self.item_count,
            "has_address": self.has_address,
            "product_ids": list(self.product_ids),
            "order_tags": list(self.order_tags),
            "in_stock": self.in_stock,
            "tracking_state": self.tracking_state,
            "days_since_delivery": self.days_since_delivery,
            "earlier_claims": self.earlier_claims,
            "risk_signals": self.risk_signals,
            "unknown": list(self.unknown),
        }

    @classmethod
    def from_json(cls, values: Mapping[str, Any]) -> Facts:
        return cls(
            issue_type=str(values["issue_type"]),
            resolution=str(values["resolution"]),
            value=Decimal(str(values["value"])),
            currency=str(values["currency"]),
            item_count=int(values["item_count"]),
            has_address=bool(values["has_address"]),
            product_ids=tuple(values.get("product_ids") or ()),
            order_tags=tuple(values.get("order_tags") or ()),
            in_stock=values.get("in_stock"),
            tracking_state=values.get("tracking_state"),
            days_since_delivery=values.get("days_since_delivery"),
            earlier_claims=values.get("earlier_claims"),
            risk_signals=values.get("risk_signals"),
            unknown=tuple(values.get("unknown") or ()),
        )


def money(amount: Decimal, currency: str) -> str:
    return f"{amount:,.2f} {currency}"


def _names(values: Iterable[str]) -> str:
    return ", ".join(v.replace("_", " ") for v in sorted(values))


def unmet(c: Conditions, f: Facts) -> list[str]:
    """Every condition of ``c`` that ``f`` fails, in words; empty when all are met."""
    found: list[str] = []
    if c.issue_types and f.issue_type not in c.issue_types:
        found.append(
            f"the problem is {f.issue_type.replace('_', ' ').lower()}, "
            f"not {_names(c.issue_types).lower()}"
        )
    if c.resolutions and f.resolution not in c.resolutions:
        found.append(f"the shopper prefers {f.resolution}, not {_names(c.resolutions)}")
    if c.value_below is not None and not f.value < c.value_below:
        found.append(
            f"the value {money(f.value, f.currency)} is not under "
            f"{money(c.value_below, f.currency)}"
        )
    if c.value_at_least is not None and not f.value >= c.value_at_least:
        found.append(
            f"the value {money(f.value, f.currency)} is under {money(c.value_at_least, f.currency)}"
        )
    if c.max_items is not None and f.item_count > c.max_items:
        found.append(f"it has {f.item_count} items, more than {c.max_items}")
    if c.products and not set(c.products) & set(f.product_ids):
        found.append("none of its items is one of the rule's products")
    if c.order_tag and c.order_tag.lower() not in {t.lower() for t in f.order_tags}:
        found.append(f"the order is not tagged {c.order_tag}")
    found.extend(_unmet_outside(c, f))
    return found


def _unmet_outside(c: Conditions, f: Facts) -> list[str]:
    """Conditions on what Shopify and Corso say (stock, tracking, claims, risk)."""
    found: list[str] = []
    if c.in_stock is not None and f.in_stock is None:
        found.append("the stock could not be checked (Shopify did not answer)")
    elif c.in_stock is True and not f.in_stock:
        found.append("not every item is in stock")
    elif c.in_stock is False and f.in_stock:
        found.append("every item is in stock")
    if c.tracking_states and f.tracking_state not in c.tracking_states:
        state = (f.tracking_state or "unknown").replace("_", " ")
        found.append(f"the parcel is {state}, not {_names(c.tracking_states)}")
    if c.max_days_since_delivery is not None and (
        f.days_since_delivery is None or f.days_since_delivery > c.max_days_since_delivery
    ):
        found.append(
            "the parcel has no delivery date"
            if f.days_since_delivery is None
            else f"it was delivered {f.days_since_delivery} days ago, more than "
            f"{c.max_days_since_delivery}"
        )
    if c.max_earlier_claims is not None and (
        f.earlier_claims is None or f.earlier_claims > c.max_earlier_claims
    ):
        found.append(
            "the customer's claims could not be counted"
            if f.earlier_claims is None
            else f"the customer made {f.earlier_claims} other claims in the last year, more "
            f"than {c.max_earlier_claims}"
        )
    if c.max_risk_signals is not None and (
        f.risk_signals is None or f.risk_signals > c.max_risk_signals
    ):
        found.append(
            "the risk signals could not be judged"
            if f.risk_signals is None
            else f"it raises {f.risk_signals} risk signals, more than {c.max_risk_signals}"
        )
    return found


def summary(c: Conditions) -> list[str]:
    """The conditions in words, for the list of rules."""
    parts: list[str] = []
    if c.issue_types:
        parts.append("problem: " + _names(c.issue_types))
    if c.resolutions:
        parts.append("shopper prefers: " + _names(c.resolutions))
    if c.value_below is not None:
        parts.append(f"value under {c.value_below:,.2f}")
    if c.value_at_least is not None:
        parts.append(f"value at least {c.value_at_least:,.2f}")
    if c.max_items is not None:
        parts.append(f"at most {c.max_items} items")
    if c.products:
        parts.append(f"one of {len(c.products)} products")
    if c.order_tag:
        parts.append(f"order tagged {c.order_tag}")
    if c.in_stock is not None:
        parts.append("all in stock" if c.in_stock else "not all in stock")
    if c.tracking_states:
        parts.append("parcel: " + _names(c.tracking_states))
    if c.max_days_since_delivery is not None:
        parts.append(f"delivered at most {c.max_days_since_delivery} days ago")
    if c.max_earlier_claims is not None:
        parts.append(f"at most {c.max_earlier_claims} other claims in a year")
    if c.max_risk_signals is not None:
        parts.append(f"at most {c.max_risk_signals} risk signals")
    return parts
