"""How the sandbox writes and reads Shopify's custom scalars: DateTime, Decimal, Money, URL,
UnsignedInt64. Money and Decimal travel as strings ("29.99"), never floats."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from graphql import ConstValueNode, GraphQLError, GraphQLScalarType, GraphQLSchema, StringValueNode


def as_utc(moment: datetime) -> datetime:
    """Naive datetimes in the sandbox are UTC."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def format_datetime(moment: datetime) -> str:
    return as_utc(moment).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_datetime(text: str) -> datetime:
    try:
        return as_utc(datetime.fromisoformat(text.replace("Z", "+00:00")))
    except ValueError as error:
        raise GraphQLError(f"Invalid DateTime: {text!r}") from error


def parse_decimal(text: Any) -> Decimal:
    if isinstance(text, bool) or not isinstance(text, str | int | float):
        raise GraphQLError(f"Invalid decimal: {text!r}")
    try:
        value = Decimal(str(text))
    except InvalidOperation as error:
        raise GraphQLError(f"Invalid decimal: {text!r}") from error
    if not value.is_finite():
        raise GraphQLError(f"Invalid decimal: {text!r}")
    return value


def _serialize_datetime(value: Any) -> str:
    return format_datetime(value) if isinstance(value, datetime) else str(value)


def _serialize_decimal(value: Any) -> str:
    return str(value)


def _literal_string(node: ConstValueNode) -> str:
    if not isinstance(node, StringValueNode):
        raise GraphQLError("Expected a string literal.", node)
    return node.value


def _literal_decimal(node: ConstValueNode) -> Decimal:
    value = getattr(node, "value", None)
    return parse_decimal(value)


def _literal_datetime(node: ConstValueNode) -> datetime:
    return parse_datetime(_literal_string(node))


def install_scalars(schema: GraphQLSchema) -> None:
    """Give the SDL's custom scalars their serialisers and parsers."""
    _configure(schema, "DateTime", _serialize_datetime, parse_datetime, _literal_datetime)
    for name in ("Decimal", "Money"):
        _configure(schema, name, _serialize_decimal, parse_decimal, _literal_decimal)
    for name in ("URL", "UnsignedInt64"):
        _configure(schema, name, _serialize_decimal, str, _literal_string)


def _configure(schema: GraphQLSchema, name: str, serialize: Any, parse: Any, literal: Any) -> None:
    scalar = schema.type_map[name]
    assert isinstance(scalar, GraphQLScalarType)
    scalar.coerce_output_value = serialize
    scalar.coerce_input_value = parse
    scalar.coerce_input_literal = literal
