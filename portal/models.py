"""Imports every module that declares tables, so metadata and Alembic see them all."""

from __future__ import annotations


def import_all_models() -> None:
    import portal.jobs.models  # noqa: F401
    import portal.reorders.models  # noqa: F401
    import portal.shopper.models  # noqa: F401
    import portal.stores.models  # noqa: F401
