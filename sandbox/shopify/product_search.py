"""Shopify's product search syntax, the parts the portal uses (``products(query:)``).

``shipping protection``, ``title:Shipping*``, ``status:active``, ``vendor:"Maple & Moss"``: terms
separated by spaces must all match, ``OR`` offers alternatives, ``-term`` negates. A bare word
matches part of the title, vendor, product type, handle or a variant's SKU, ignoring case; a
field term matches the whole value or one of its words (a prefix, with ``*``). Supported fields:
title, vendor, product_type, handle, status, sku, id; others are ignored, as Shopify does.
"""

from __future__ import annotations

from collections.abc import Callable

from sandbox.shopify.search import TOKEN, Term, _text_matches, parse_term
from sandbox.shopify.state import Product


def parse_product_search(text: str | None) -> Callable[[Product], bool]:
    alternatives: list[list[Term]] = [[]]
    negate_next = False
    for word in TOKEN.findall(text or ""):
        if word == "OR":
            alternatives.append([])
        elif word == "NOT":
            negate_next = True
        elif word != "AND":
            alternatives[-1].append(parse_term(word, negate_next))
            negate_next = False
    chosen = [terms for terms in alternatives if terms]

    def matches(product: Product) -> bool:
        if not chosen:
            return True
        return any(all(_holds(term, product) for term in terms) for terms in chosen)

    return matches


def _holds(term: Term, product: Product) -> bool:
    if term.field is None:
        result: bool | None = _match_default(term.value, product)
    else:
        matcher = FIELDS.get(term.field)
        result = None if matcher is None else matcher(term.value, product)
    return True if result is None else result != term.negated


def _match_default(word: str, product: Product) -> bool:
    word = word.casefold().rstrip("*")
    texts = [product.title, product.vendor, product.product_type, product.handle]
    texts += [v.sku or "" for v in product.variants]
    return any(word in text.casefold() for text in texts)


def _match_id(value: str, product: Product) -> bool:
    raw = value.rsplit("/", 1)[-1]
    return raw.isdigit() and int(raw) == product.id


def _words_match(value: str, text: str) -> bool:
    """A field term matches the whole text or any word of it (Shopify tokenizes titles)."""
    return _text_matches(value, text) or any(_text_matches(value, w) for w in text.split())


FIELDS: dict[str, Callable[[str, Product], bool]] = {
    "title": lambda value, p: _words_match(value, p.title),
    "vendor": lambda value, p: _words_match(value, p.vendor),
    "product_type": lambda value, p: _words_match(value, p.product_type),
    "handle": lambda value, p: _text_matches(value, p.handle),
    "status": lambda value, p: _text_matches(value, p.status),
    "sku": lambda value, p: any(_text_matches(value, v.sku) for v in p.variants),
    "id": _match_id,
}
