"""Calculated query cost, the way Shopify documents it.

Scalars and enums cost 0, objects 1, a connection 2 plus its page size (``first`` or ``last``)
times the cost of one node, a list with ``first`` that many times its element, and every root
field of a mutation 10. The requested cost is computed from the document before execution; the
actual cost from the data that came back (a short page costs less than a full one).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLField,
    GraphQLList,
    GraphQLNamedType,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLSchema,
    InlineFragmentNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    get_named_type,
    is_leaf_type,
)
from graphql.execution.values import VariableValues, get_argument_values

MUTATION_COST = 10
MAX_QUERY_COST = 1000


@dataclass(frozen=True)
class CostWalker:
    schema: GraphQLSchema
    fragments: Mapping[str, FragmentDefinitionNode]
    variables: VariableValues

    # --- requested ---------------------------------------------------------------------------

    def requested(self, operation: OperationDefinitionNode) -> int:
        root = self._root(operation)
        if operation.operation == OperationType.MUTATION:
            return MUTATION_COST * sum(1 for _ in self._fields(root, operation.selection_set))
        return self._requested_selection(root, operation.selection_set)

    def _requested_selection(self, parent: GraphQLNamedType, selections: SelectionSetNode) -> int:
        return sum(
            self._requested_field(node, definition)
            for node, definition in self._fields(parent, selections)
        )

    def _requested_field(self, node: FieldNode, definition: GraphQLField) -> int:
        named = get_named_type(definition.type)
        if is_leaf_type(named) or node.selection_set is None:
            return 0
        if _is_connection(named):
            size = self._page_size(node, definition)
            return 2 + size * self._requested_node(named, node.selection_set)
        children = self._requested_selection(named, node.selection_set)
        if _is_list(definition):
            return self._list_size(node, definition) * (1 + children)
        return 1 + children

    def _requested_node(self, connection: GraphQLNamedType, selections: SelectionSetNode) -> int:
        """The cost of one node of a connection, however it is selected (edges or nodes)."""
        total = 0
        for node, definition in self._fields(connection, selections):
            if node.selection_set is None:
                continue
            item = get_named_type(definition.type)
            if node.name.value == "nodes":
                total += 1 + self._requested_selection(item, node.selection_set)
            elif node.name.value == "edges":
                total += self._requested_selection(item, node.selection_set)
        return total

    def _page_size(self, node: FieldNode, definition: GraphQLField) -> int:
        args = get_argument_values(definition, node, self.variables)
        return int(args.get("first") or args.get("last") or 0)

    def _list_size(self, node: FieldNode, definition: GraphQLField) -> int:
        args = get_argument_values(definition, node, self.variables)
        return int(args["first"]) if args.get("first") is not None else 1

    # --- actual ------------------------------------------------------------------------------

    def actual(self, operation: OperationDefinitionNode, data: Mapping[str, Any] | None) -> int:
        root = self._root(operation)
        if operation.operation == OperationType.MUTATION:
            return self.requested(operation)
        return self._actual_selection(root, operation.selection_set, data)

    def _actual_selection(
        self, parent: GraphQLNamedType, selections: SelectionSetNode, value: Any
    ) -> int:
        if not isinstance(value, Mapping):
            return 0
        total = 0
        for node, definition in self._fields(parent, selections):
            key = node.alias.value if node.alias else node.name.value
            if key in value:
                total += self._actual_field(node, definition, value[key])
        return total

    def _actual_field(self, node: FieldNode, definition: GraphQLField, value: Any) -> int:
        named = get_named_type(definition.type)
        if is_leaf_type(named) or node.selection_set is None or value is None:
            return 0
        if _is_connection(named):
            return 2 + self._actual_nodes(named, node.selection_set, value)
        items = value if isinstance(value, list) else [value]
        return sum(
            1 + self._actual_selection(named, node.selection_set, item)
            for item in items
            if item is not None
        )

    def _actual_nodes(
        self, connection: GraphQLNamedType, selections: SelectionSetNode, value: Any
    ) -> int:
        total = 0
        for node, definition in self._fields(connection, selections):
            key = node.alias.value if node.alias else node.name.value
            if node.selection_set is None or not isinstance(value.get(key), list):
                continue
            item = get_named_type(definition.type)
            for entry in value[key]:
                extra = 1 if node.name.value == "nodes" else 0
                total += extra + self._actual_selection(item, node.selection_set, entry)
        return total

    # --- shared ------------------------------------------------------------------------------

    def _root(self, operation: OperationDefinitionNode) -> GraphQLObjectType:
        root = self.schema.get_root_type(operation.operation)
        assert root is not None
        return root

    def _fields(
        self, parent: GraphQLNamedType, selections: SelectionSetNode
    ) -> Iterator[tuple[FieldNode, GraphQLField]]:
        """Every field selected on ``parent``, through fragments, with its definition."""
        for selection in selections.selections:
            if isinstance(selection, FieldNode):
                definition = getattr(parent, "fields", {}).get(selection.name.value)
                if definition is not None:
                    yield selection, definition
            elif isinstance(selection, InlineFragmentNode):
                yield from self._fields(self._condition(selection, parent), selection.selection_set)
            elif isinstance(selection, FragmentSpreadNode):
                fragment = self.fragments.get(selection.name.value)
                if fragment is not None:
                    yield from self._fields(
                        self._condition(fragment, parent), fragment.selection_set
                    )

    def _condition(
        self, fragment: InlineFragmentNode | FragmentDefinitionNode, parent: GraphQLNamedType
    ) -> GraphQLNamedType:
        if fragment.type_condition is None:
            return parent
        return self.schema.get_type(fragment.type_condition.name.value) or parent


def _is_connection(named: GraphQLNamedType) -> bool:
    return named.name.endswith("Connection")


def _is_list(definition: GraphQLField) -> bool:
    kind = definition.type
    if isinstance(kind, GraphQLNonNull):
        kind = kind.of_type
    return isinstance(kind, GraphQLList)
