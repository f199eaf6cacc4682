"""Imports every module that declares tables, so metadata and Alembic see them all."""

from __future__ import annotations


def import_all_models() -> None:
    import portal.accounts.models
    import portal.billing.models
    import portal.jobs.models
    import portal.reorders.models
    import portal.shopper.models
    import portal.stores.models
    import portal.support.models  # noqa: F401
