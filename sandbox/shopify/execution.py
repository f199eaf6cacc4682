"""One GraphQL request against one shop: parse, validate, price, throttle, execute."""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import Any

from graphql import (
    DocumentNode,
    FragmentDefinitionNode,
    GraphQLError,
    OperationDefinitionNode,
    OperationType,
    execute_sync,
    get_operation_ast,
    parse,
    validate,
)
from graphql.execution.values import get_variable_values

from sandbox.shopify.access import enforce_scopes
from sandbox.shopify.bucket import LeakyBucket
from sandbox.shopify.context import RequestContext
from sandbox.shopify.cost import MAX_QUERY_COST, CostWalker
from sandbox.shopify.fields import default_resolver
from sandbox.shopify.grants import AccessToken
from sandbox.shopify.schema import schema_for_version
from sandbox.shopify.state import Shop, ShopifyWorld

RATE_LIMITS_DOC = "https://shopify.dev/api/usage/rate-limits"


@dataclass
class Outcome:
    """The JSON answer, and whether a mutation was actually applied to get it."""

    payload: dict[str, Any]
    mutation_applied: bool = False
    status: int = 200


@dataclass(frozen=True)
class GraphQLRequest:
    query: str
    variables: dict[str, Any] = field(default_factory=dict)
    operation_name: str | None = None


@functools.lru_cache(maxsize=256)
def _checked(version: str, query: str) -> tuple[DocumentNode, tuple[GraphQLError, ...]]:
    """Parse and validate a document once per API version: clients send the same few."""
    document = parse(query)
    return document, tuple(validate(schema_for_version(version), document))


def run(
    world: ShopifyWorld,
    shop: Shop,
    version: str,
    request: GraphQLRequest,
    *,
    token: AccessToken | None = None,
) -> Outcome:
    """Answer ``request`` as ``version`` with the rights of ``token`` (None: every scope)."""
    bucket = world.bucket(shop.domain)
    try:
        document, errors = _checked(version, request.query)
    except GraphQLError as error:
        return _errors([error], bucket)
    if errors:
        return _errors(list(errors), bucket)
    schema = schema_for_version(version)
    operation = get_operation_ast(document, request.operation_name)
    if operation is None:
        return _errors([GraphQLError(_missing_operation(request))], bucket)
    coerced = get_variable_values(schema, operation.variable_definitions or (), request.variables)
    if isinstance(coerced, list):
        return _errors(coerced, bucket)
    walker = CostWalker(schema, _fragments(document), coerced)
    context = RequestContext(world, shop, version, token=token)
    return _priced(context, request, document, operation, walker)


def _priced(
    context: RequestContext,
    request: GraphQLRequest,
    document: DocumentNode,
    operation: OperationDefinitionNode,
    walker: CostWalker,
) -> Outcome:
    world = context.world
    bucket = world.bucket(context.shop.domain)
    requested = walker.requested(operation)
    if requested > MAX_QUERY_COST:
        return Outcome(_max_cost_exceeded(requested, bucket))
    if not bucket.try_take(requested, request.operation_name):
        return Outcome(_throttled(requested, bucket))
    limited = context.token is not None and context.token.scopes is not None
    with world.changing():
        result = execute_sync(
            walker.schema,
            document,
            context_value=context,
            variable_values=request.variables,
            operation_name=request.operation_name,
            field_resolver=default_resolver,
            middleware=[enforce_scopes] if limited else None,
        )
    actual = walker.actual(operation, result.data)
    bucket.give_back(requested - actual, request.operation_name)
    extensions: dict[str, Any] = {"cost": _cost(requested, actual, bucket)}
    if context.search_reports:
        extensions["search"] = context.search_reports
    payload: dict[str, Any] = {**result.formatted, "extensions": extensions}
    is_mutation = operation.operation == OperationType.MUTATION
    return Outcome(payload, mutation_applied=is_mutation)


def _fragments(document: DocumentNode) -> dict[str, FragmentDefinitionNode]:
    return {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}


def _missing_operation(request: GraphQLRequest) -> str:
    if request.operation_name:
        return f"Unknown operation named '{request.operation_name}'."
    return "Must provide operation name if query contains multiple operations."


def _cost(requested: int, actual: int | None, bucket: LeakyBucket) -> dict[str, Any]:
    return {
        "requestedQueryCost": requested,
        "actualQueryCost": actual,
        "throttleStatus": bucket.status().as_json(),
    }


def _errors(errors: list[GraphQLError], bucket: LeakyBucket) -> Outcome:
    return Outcome(
        {
            "errors": [error.formatted for error in errors],
            "extensions": {"cost": _cost(0, 0, bucket)},
        }
    )


def _throttled(requested: int, bucket: LeakyBucket) -> dict[str, Any]:
    error = {
        "message": "Throttled",
        "extensions": {"code": "THROTTLED", "documentation": RATE_LIMITS_DOC},
    }
    return {"errors": [error], "extensions": {"cost": _cost(requested, None, bucket)}}


def _max_cost_exceeded(requested: int, bucket: LeakyBucket) -> dict[str, Any]:
    message = (
        f"Query cost is {requested}, which exceeds the single query max cost limit "
        f"({MAX_QUERY_COST}).\n\nSee {RATE_LIMITS_DOC} for more information on how the\n"
        "cost of a query is calculated.\n\nTo query larger amounts of data with fewer limits, "
        "bulk operations should be used instead.\nSee "
        "https://shopify.dev/tutorials/perform-bulk-operations-with-admin-api for usage details.\n"
    )
    error = {
        "message": message,
        "extensions": {
            "code": "MAX_COST_EXCEEDED",
            "cost": requested,
            "maxCost": MAX_QUERY_COST,
            "documentation": RATE_LIMITS_DOC,
        },
    }
    return {"errors": [error], "extensions": {"cost": _cost(requested, None, bucket)}}
