"""Shopify's order search syntax, the parts the portal uses.

``name:#1001 email:jane@example.com created_at:>=2026-10-01 tag:protected`` — terms separated by
spaces must all match; ``OR`` between terms offers alternatives; ``-term`` or ``NOT term`` negates.
Values may be quoted and may end with ``*`` for a prefix match. Supported fields: name, email,
source_identifier, tag, tag_not, created_at, updated_at, processed_at, financial_status,
fulfillment_status, status, id; a bare word matches the name, email or customer name. Unknown
fields are ignored with a warning, as Shopify does.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sandbox.shopify.scalars import as_utc
from sandbox.shopify.state import Order

INVALID_FIELD = "Invalid search field for this query."
TOKEN = re.compile(r"""(?:[^\s"']+|"[^"]*"|'[^']*')+""")
FIELD_TERM = re.compile(r"^(?P<field>[a-z_]+):(?P<op>>=|<=|>|<)?(?P<value>.*)$", re.DOTALL)
COMPARISONS: dict[str, Callable[[Any, Any], bool]] = {
    "": operator.eq,
    ">": operator.gt,
    ">=": operator.ge,
    "<": operator.lt,
    "<=": operator.le,
}


@dataclass(frozen=True)
class Term:
    field: str | None
    op: str
    value: str
    negated: bool = False


@dataclass
class OrderSearch:
    """A parsed query: a list of alternatives, each a list of terms that must all hold."""

    alternatives: list[list[Term]]
    timezone: ZoneInfo
    warnings: list[dict[str, str]] = field(default_factory=list)

    def matches(self, order: Order) -> bool:
        if not self.alternatives:
            return True
        return any(all(self._holds(term, order) for term in terms) for terms in self.alternatives)

    def _holds(self, term: Term, order: Order) -> bool:
        result = _match_term(term, order, self.timezone)
        if result is None:
            return True
        return result != term.negated


def parse_order_search(text: str | None, timezone: str = "UTC") -> OrderSearch:
    search = OrderSearch([[]], ZoneInfo(timezone))
    negate_next = False
    for word in TOKEN.findall(text or ""):
        if word == "OR":
            search.alternatives.append([])
        elif word == "NOT":
            negate_next = True
        elif word != "AND":
            search.alternatives[-1].append(parse_term(word, negate_next))
            negate_next = False
    search.alternatives = [terms for terms in search.alternatives if terms]
    search.warnings = _warnings(search)
    return search


def parse_term(word: str, negated: bool) -> Term:
    if word.startswith("-") and len(word) > 1:
        word, negated = word[1:], True
    found = FIELD_TERM.match(word)
    if found is None:
        return Term(None, "", _unquote(word), negated)
    return Term(found["field"], found["op"] or "", _unquote(found["value"]), negated)


def _unquote(value: str) -> str:
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
        return value[1:-1]
    return value.replace('"', "").replace("'", "")


def _warnings(search: OrderSearch) -> list[dict[str, str]]:
    warnings = []
    for terms in search.alternatives:
        for term in terms:
            if term.field is not None and term.field not in KNOWN_FIELDS:
                warnings.append({"field": term.field, "message": INVALID_FIELD})
            elif term.field in DATE_FIELDS and _parse_moment(term.value, search.timezone) is None:
                warnings.append({"field": term.field, "message": "Invalid date value."})
    return warnings


# --- matching ----------------------------------------------------------------------------------


def _match_term(term: Term, order: Order, timezone: ZoneInfo) -> bool | None:
    """Whether ``order`` satisfies ``term``; ``None`` when the term is ignored."""
    if term.field is None:
        return _match_default(term.value, order)
    if term.field in DATE_FIELDS:
        return _match_date(term, getattr(order, DATE_FIELDS[term.field]), timezone)
    matcher = MATCHERS.get(term.field)
    return None if matcher is None else matcher(term, order)


def _text_matches(pattern: str, value: str | None) -> bool:
    if value is None:
        return False
    pattern, value = pattern.casefold(), value.casefold()
    if pattern.endswith("*"):
        return value.startswith(pattern[:-1])
    return value == pattern


def _match_default(word: str, order: Order) -> bool:
    word = word.casefold().lstrip("#")
    names = [order.name.lstrip("#"), order.email or ""]
    if order.customer is not None:
        names.append(order.customer.display_name)
    return any(word in candidate.casefold() for candidate in names)


def _match_name(term: Term, order: Order) -> bool:
    return _text_matches(term.value.strip().lstrip("#"), order.name.lstrip("#"))


def _match_email(term: Term, order: Order) -> bool:
    return _text_matches(term.value, order.email)


def _match_source_identifier(term: Term, order: Order) -> bool:
    return order.source_identifier is not None and term.value == order.source_identifier


def _match_tag(term: Term, order: Order) -> bool:
    return any(_text_matches(term.value, tag) for tag in order.tags)


def _match_tag_not(term: Term, order: Order) -> bool:
    return not _match_tag(term, order)


def _match_financial_status(term: Term, order: Order) -> bool:
    return order.financial_status.casefold() == term.value.casefold()


FULFILLMENT_WORDS = {
    "shipped": "FULFILLED",
    "fulfilled": "FULFILLED",
    "unshipped": "UNFULFILLED",
    "unfulfilled": "UNFULFILLED",
    "partial": "PARTIALLY_FULFILLED",
}


def _match_fulfillment_status(term: Term, order: Order) -> bool:
    wanted = FULFILLMENT_WORDS.get(term.value.casefold(), term.value.upper())
    return order.display_fulfillment_status == wanted


def _match_status(term: Term, order: Order) -> bool:
    state = "cancelled" if order.cancelled_at else ("closed" if order.closed_at else "open")
    return term.value.casefold() in (state, "any")


def _match_id(term: Term, order: Order) -> bool:
    raw = term.value.rsplit("/", 1)[-1]
    return raw.isdigit() and COMPARISONS[term.op](order.id, int(raw))


MATCHERS: dict[str, Callable[[Term, Order], bool]] = {
    "name": _match_name,
    "email": _match_email,
    "source_identifier": _match_source_identifier,
    "tag": _match_tag,
    "tag_not": _match_tag_not,
    "financial_status": _match_financial_status,
    "fulfillment_status": _match_fulfillment_status,
    "status": _match_status,
    "id": _match_id,
}
DATE_FIELDS = {
    "created_at": "created_at",
    "updated_at": "updated_at",
    "processed_at": "processed_at",
}
KNOWN_FIELDS = set(MATCHERS) | set(DATE_FIELDS)


def _match_date(term: Term, moment: datetime | None, timezone: ZoneInfo) -> bool | None:
    bounds = _parse_moment(term.value, timezone)
    if bounds is None:
        return None
    if moment is None:
        return False
    start, end = bounds
    moment = as_utc(moment)
    if term.op == "":
        return start <= moment < end
    return COMPARISONS[term.op](moment, start)


def _parse_moment(value: str, timezone: ZoneInfo) -> tuple[datetime, datetime] | None:
    """The instant a value names, as a [start, end) range: a whole day for a plain date."""
    try:
        if len(value) == 10:
            day = date.fromisoformat(value)
            start = datetime(day.year, day.month, day.day, tzinfo=timezone)
            return as_utc(start), as_utc(start + timedelta(days=1))
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone)
    return as_utc(moment), as_utc(moment + timedelta(seconds=1))
