"""The GraphQL documents the client sends, read from ``documents/*.graphql``.

Rule: each file in ``documents/`` holds one named operation; fragments live in
``documents/fragments/`` and are shared. A loaded document is the operation followed by exactly
the fragments it spreads (directly or through other fragments), so every document sent is
complete and has no unused fragment.

Fragments are written for the newest supported API version. Where an older version lacks a field
that replaced a deprecated one, ``documents/until/<version>/`` holds the fragment as that version
and older ones need it: ``load(stem, version)`` picks it for those versions (the client passes
the version Shopify said it ran).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path

from graphql import (
    DocumentNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    OperationDefinitionNode,
    Visitor,
    parse,
    print_ast,
    visit,
)
from graphql.language import Node

DOCUMENTS = Path(__file__).parent / "documents"


@dataclass(frozen=True)
class Document:
    """One operation ready to send: its name, its text, its parsed form."""

    name: str
    text: str
    ast: DocumentNode
    stem: str = ""


def operation_files() -> list[Path]:
    return sorted(DOCUMENTS.glob("*.graphql"))


def fragment_files() -> list[Path]:
    return sorted((DOCUMENTS / "fragments").glob("*.graphql"))


def version_overrides() -> list[str]:
    """Versions with fragments of their own (``documents/until/<version>/``), oldest first."""
    until = DOCUMENTS / "until"
    return sorted(p.name for p in until.iterdir() if p.is_dir()) if until.is_dir() else []


@cache
def load(file_stem: str, version: str | None = None) -> Document:
    """The operation in ``documents/<file_stem>.graphql`` with the fragments it needs, as API
    ``version`` needs them (None: the newest)."""
    source = parse((DOCUMENTS / f"{file_stem}.graphql").read_text(encoding="utf-8"))
    operations = [d for d in source.definitions if isinstance(d, OperationDefinitionNode)]
    operation = operations[0] if len(operations) == 1 else None
    if operation is None or operation.name is None:
        raise ValueError(f"{file_stem}.graphql must hold exactly one named operation")
    fragments = _fragments(version)
    needed = _needed_fragments(operation, fragments)
    ast = DocumentNode(definitions=(operation, *(fragments[name] for name in needed)))
    return Document(name=operation.name.value, text=print_ast(ast), ast=ast, stem=file_stem)


@cache
def _fragments(version: str | None = None) -> dict[str, FragmentDefinitionNode]:
    found = _read_fragments(fragment_files(), replacing=None)
    if version is not None and version != "unstable":
        # The oldest override that still covers ``version`` wins: walk newest to oldest.
        for until in reversed(version_overrides()):
            if version <= until:
                paths = sorted((DOCUMENTS / "until" / until).glob("*.graphql"))
                found.update(_read_fragments(paths, replacing=found))
    return found


def _read_fragments(
    paths: list[Path], *, replacing: dict[str, FragmentDefinitionNode] | None
) -> dict[str, FragmentDefinitionNode]:
    found: dict[str, FragmentDefinitionNode] = {}
    for path in paths:
        for definition in parse(path.read_text(encoding="utf-8")).definitions:
            if not isinstance(definition, FragmentDefinitionNode):
                raise ValueError(f"{path.name} may only hold fragments")
            name = definition.name.value
            if name in found:
                raise ValueError(f"fragment {name} is defined twice")
            if replacing is not None and name not in replacing:
                raise ValueError(f"{path}: {name} replaces no fragment")
            found[name] = definition
    return found


def _needed_fragments(
    root: OperationDefinitionNode, fragments: dict[str, FragmentDefinitionNode]
) -> list[str]:
    needed: list[str] = []
    pending: list[Node] = [root]
    while pending:
        for name in _spreads(pending.pop()):
            if name not in fragments:
                raise ValueError(f"unknown fragment {name}")
            if name not in needed:
                needed.append(name)
                pending.append(fragments[name])
    return needed


def _spreads(node: Node) -> list[str]:
    names: list[str] = []

    class _Collect(Visitor):
        def enter_fragment_spread(self, spread: FragmentSpreadNode, *_: object) -> None:
            names.append(spread.name.value)

    visit(node, _Collect())
    return names
