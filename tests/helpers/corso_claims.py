"""Corso claims for tests: the documented List claims example, and claims cut down to the fields
the portal's models declare (whatever those are when the test runs)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import msgspec

from portal.integrations.corso.models import Claim

SEED = Path(__file__).resolve().parents[3] / "shared" / "seeds" / "list-claims-api.txt"


def contract_text() -> str:
    """Corso's List claims page, as the shared seed file holds it."""
    return SEED.read_text(encoding="utf-8")


def documented_answer() -> dict[str, Any]:
    """The List claims response example of Corso's documentation."""
    text = contract_text()
    start = text.index('{\n"claims": [')
    end = text.index("\nBad Request", start)
    answer: dict[str, Any] = json.loads(text[start:end])
    return answer


def read_field_names() -> set[str]:
    """The JSON name of every field the portal's claim models declare, at any depth."""
    names: set[str] = set()
    _walk(msgspec.inspect.type_info(Claim), names)
    return names


def only_what_the_portal_reads(claim: dict[str, Any]) -> dict[str, Any]:
    """``claim`` without every field the portal's claim models do not declare."""
    kept: dict[str, Any] = _keep(claim, msgspec.inspect.type_info(Claim))
    return kept


def _keep(value: Any, info: msgspec.inspect.Type) -> Any:
    info = _unwrapped(info)
    if isinstance(info, msgspec.inspect.StructType) and isinstance(value, dict):
        fields = {f.encode_name: f.type for f in info.fields}
        return {name: _keep(v, fields[name]) for name, v in value.items() if name in fields}
    listing = isinstance(info, msgspec.inspect.VarTupleType | msgspec.inspect.ListType)
    if listing and isinstance(value, list):
        return [_keep(item, info.item_type) for item in value]
    return value


def _walk(info: msgspec.inspect.Type, names: set[str]) -> None:
    info = _unwrapped(info)
    if isinstance(info, msgspec.inspect.StructType):
        for field in info.fields:
            names.add(field.encode_name)
            _walk(field.type, names)
    elif isinstance(info, msgspec.inspect.VarTupleType | msgspec.inspect.ListType):
        _walk(info.item_type, names)


def _unwrapped(info: msgspec.inspect.Type) -> msgspec.inspect.Type:
    """The one type of ``X | None`` (the portal's optional fields)."""
    if isinstance(info, msgspec.inspect.UnionType):
        return next(t for t in info.types if not isinstance(t, msgspec.inspect.NoneType))
    return info
