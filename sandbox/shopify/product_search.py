"""Shopify's product search, the parts an admin picking a product uses.

``title:protection`` or a bare word matches products whose title (or, for a bare word, vendor or
product type) contains the value, case-insensitively; a trailing ``*`` is a prefix and matches
the same way. ``sku:`` matches any variant's SKU, ``product_type:`` and ``vendor:`` their field.
Terms separated by spaces must all hold, ``-term`` negates; other fields are ignored.
"""

from __future__ import annotations

from collections.abc import Callable

from sandbox.shopify.search import TOKEN, Term, parse_term
from sandbox.shopify.state import Product

ProductMatch = Callable[[Product], bool]
FIELDS: dict[str, Callable[[Product], list[str]]] = {
    "title": lambda p: [p.title],
    "vendor": lambda p: [p.vendor],
    "product_type": lambda p: [p.product_type],
    "sku": lambda p: [v.sku or "" for v in p.variants],
}


def parse_product_search(text: str | None) -> ProductMatch:
    terms = [parse_term(word, False) for word in TOKEN.findall(text or "") if word != "AND"]
    return lambda product: all(_holds(term, product) for term in terms)


def _holds(term: Term, product: Product) -> bool:
    wanted = term.value.rstrip("*").casefold()
    if term.field is None:
        values = [product.title, product.vendor, product.product_type]
    elif term.field in FIELDS:
        values = FIELDS[term.field](product)
    else:
        return True
    found = any(wanted in value.casefold() for value in values)
    return found != term.negated
