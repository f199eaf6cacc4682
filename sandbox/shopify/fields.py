"""The resolver registry and the helpers every resolver module shares.

A field without a registered resolver reads the source: a dict by the field's name, an object by
the snake_case attribute (``createdAt`` -> ``created_at``); ``id`` reads ``gid`` and
``legacyResourceId`` reads the numeric id.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any, TypeVar

from graphql import GraphQLResolveInfo

from sandbox.shopify.context import RequestContext
from sandbox.shopify.state import money_str

Info = GraphQLResolveInfo[RequestContext]
Resolver = Callable[..., Any]
F = TypeVar("F", bound=Resolver)
RESOLVERS: dict[tuple[str, str], Resolver] = {}
CAMEL = re.compile(r"(?<!^)(?=[A-Z])")


def field(type_name: str, *field_names: str) -> Callable[[F], F]:
    """Register the decorated function as the resolver of ``type_name.field_name``."""

    def register(resolver: F) -> F:
        for name in field_names:
            RESOLVERS[(type_name, name)] = resolver
        return resolver

    return register


def snake(name: str) -> str:
    return CAMEL.sub("_", name).lower()


def default_resolver(source: Any, info: Info, **_args: Any) -> Any:
    name = info.field_name
    if isinstance(source, Mapping):
        return source.get(name)
    if name == "id":
        return getattr(source, "gid", None)
    if name == "legacyResourceId":
        return str(source.id)
    return getattr(source, snake(name), None)


def context(info: Info) -> RequestContext:
    return info.context


def money_v2(amount: Decimal, currency: str) -> dict[str, str]:
    return {"amount": money_str(amount), "currencyCode": currency}


def bag(amount: Decimal, currency: str) -> dict[str, dict[str, str]]:
    """A MoneyBag; presentment money equals shop money in the sandbox."""
    return {"shopMoney": money_v2(amount, currency), "presentmentMoney": money_v2(amount, currency)}


def image(url: str | None, alt: str | None = None) -> dict[str, Any] | None:
    return {"url": url, "altText": alt, "id": None, "width": None, "height": None} if url else None
