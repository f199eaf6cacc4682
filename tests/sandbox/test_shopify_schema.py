"""The sandbox serves a subset of Shopify's real Admin API: every type, field, argument, input
field, enum value and interface it declares exists in the real schema with the same type."""

from __future__ import annotations

from typing import Any

import pytest
from graphql import (
    GraphQLEnumType,
    GraphQLInputObjectType,
    GraphQLInterfaceType,
    GraphQLNamedType,
    GraphQLObjectType,
    GraphQLSchema,
    GraphQLUnionType,
    Undefined,
    build_schema,
    parse,
    validate,
)
from graphql.type import introspection_types, specified_scalar_types

from sandbox.shopify.schema import SUPPORTED_VERSIONS, schema_for_version, sdl

BUILT_IN = set(introspection_types) | set(specified_scalar_types)


def sandbox_types() -> dict[str, GraphQLNamedType]:
    schema = build_schema(sdl())
    return {name: t for name, t in schema.type_map.items() if name not in BUILT_IN}


def differences(real: GraphQLSchema) -> list[str]:
    problems: list[str] = []
    for name, ours in sandbox_types().items():
        theirs = real.type_map.get(name)
        if theirs is None:
            problems.append(f"type {name} is not in the real schema")
        elif type(theirs) is not type(ours):
            problems.append(f"{name} is a {type(ours).__name__}, really {type(theirs).__name__}")
        else:
            problems += _compare(name, ours, theirs)
    return problems


def _compare(name: str, ours: Any, theirs: Any) -> list[str]:
    if isinstance(ours, GraphQLObjectType | GraphQLInterfaceType):
        return _compare_fields(name, ours, theirs) + _compare_interfaces(name, ours, theirs)
    if isinstance(ours, GraphQLInputObjectType):
        return _compare_input_fields(name, ours, theirs)
    if isinstance(ours, GraphQLEnumType):
        return [f"enum value {name}.{v} is not real" for v in ours.values if v not in theirs.values]
    if isinstance(ours, GraphQLUnionType):
        real_members = {t.name for t in theirs.types}
        return [
            f"{name} member {t.name} is not real" for t in ours.types if t.name not in real_members
        ]
    return []


def _compare_fields(name: str, ours: Any, theirs: Any) -> list[str]:
    problems = []
    for field_name, field in ours.fields.items():
        real = theirs.fields.get(field_name)
        if real is None:
            problems.append(f"field {name}.{field_name} is not real")
            continue
        if str(field.type) != str(real.type):
            problems.append(f"{name}.{field_name}: {field.type}, really {real.type}")
        problems += _compare_args(f"{name}.{field_name}", field.args, real.args)
    return problems


def _compare_args(where: str, ours: dict[str, Any], theirs: dict[str, Any]) -> list[str]:
    problems = []
    for arg_name, arg in ours.items():
        real = theirs.get(arg_name)
        if real is None:
            problems.append(f"argument {where}({arg_name}:) is not real")
        elif str(arg.type) != str(real.type):
            problems.append(f"{where}({arg_name}:) is {arg.type}, really {real.type}")
        elif real.default_value is not Undefined and arg.default_value != real.default_value:
            problems.append(
                f"{where}({arg_name}:) defaults to {arg.default_value!r}, "
                f"really {real.default_value!r}"
            )
    return problems


def _compare_input_fields(name: str, ours: Any, theirs: Any) -> list[str]:
    return _compare_args(name, ours.fields, theirs.fields)


def _compare_interfaces(name: str, ours: Any, theirs: Any) -> list[str]:
    real = {i.name for i in theirs.interfaces}
    return [
        f"{name} implements {i.name}, really not" for i in ours.interfaces if i.name not in real
    ]


# Fields 2025-04 added, which the portal reads on 2025-04 and later only (its documents for
# 2025-01 use the deprecated field instead: portal/integrations/shopify/documents/until/).
ADDED_AFTER = {"2025-01": {"field Customer.defaultEmailAddress is not real"}}


@pytest.mark.parametrize("version", ["2025-04", "2025-01"])
def test_every_declaration_exists_in_the_real_schema(
    version: str, shopify_schemas: dict[str, GraphQLSchema]
) -> None:
    real = shopify_schemas.get(version)
    if real is None:
        pytest.skip(f"the real {version} schema is not on disk")
    assert set(differences(real)) == ADDED_AFTER.get(version, set())


def test_the_roots_have_the_real_names(shopify_schemas: dict[str, GraphQLSchema]) -> None:
    real = shopify_schemas["2025-04"]
    ours = build_schema(sdl())
    assert ours.query_type is not None and real.query_type is not None
    assert ours.mutation_type is not None and real.mutation_type is not None
    assert ours.query_type.name == real.query_type.name
    assert ours.mutation_type.name == real.mutation_type.name


def test_the_comparison_notices_a_field_that_is_not_real(
    shopify_schemas: dict[str, GraphQLSchema],
) -> None:
    real = shopify_schemas["2025-04"]
    fake = build_schema("type QueryRoot { shop: Shop! } type Shop { name: Int! color: String }")
    problems = [p for p in differences_for(fake, real) if p.startswith(("Shop", "field Shop"))]
    assert problems == ["Shop.name: Int!, really String!", "field Shop.color is not real"]


def differences_for(schema: GraphQLSchema, real: GraphQLSchema) -> list[str]:
    return [
        problem
        for name, ours in schema.type_map.items()
        if name not in BUILT_IN
        for problem in _compare(name, ours, real.type_map[name])
    ]


def test_a_document_valid_for_the_sandbox_is_valid_for_shopify(
    shopify_schemas: dict[str, GraphQLSchema],
) -> None:
    document = parse(
        """
        mutation Refund($input: RefundInput!) {
          refundCreate(input: $input) @idempotent(key: "k-1") {
            refund { id totalRefundedSet { shopMoney { amount currencyCode } } }
            userErrors { field message }
          }
        }
        """
    )
    assert validate(schema_for_version("2026-01"), document) == []
    for real in shopify_schemas.values():
        assert validate(real, document) == []


def test_the_idempotent_directive_exists_from_2026_01() -> None:
    with_directive = {
        v
        for v in SUPPORTED_VERSIONS
        if schema_for_version(v).get_directive("idempotent") is not None
    }
    assert with_directive == {"2026-01", "2026-04"}
