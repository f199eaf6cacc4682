"""Every module that declares tables, imported together so metadata and Alembic see them all."""

from __future__ import annotations

from sqlalchemy import MetaData

from portal.accounts import models as accounts
from portal.automation import models as automation
from portal.billing import models as billing
from portal.compliance import models as compliance
from portal.db import Base
from portal.jobs import models as jobs
from portal.reorders import models as reorders
from portal.shopper import models as shopper
from portal.stores import models as stores
from portal.support import models as support

TABLE_MODULES = (
    accounts,
    automation,
    billing,
    compliance,
    jobs,
    reorders,
    shopper,
    stores,
    support,
)


def import_all_models() -> MetaData:
    """The metadata of every table: each module that declares one is imported above."""
    return Base.metadata
