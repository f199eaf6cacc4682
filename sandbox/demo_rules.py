"""The demo's ready automation: the first store resolves the routine case by itself, through
the same rules service as its automation page."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import select

from portal.automation import rules
from portal.automation.conditions import checked
from portal.clock import utcnow
from portal.db import create_engine, session_factory
from portal.stores.models import Store

DEMO_RULE_NAME = "Lost, under 50, in stock, first claim in a year: reorder"
DEMO_RULE = {
    "issue_types": ["Lost"],
    "value_below": "50",
    "in_stock": True,
    "max_earlier_claims": 0,
}
SET_UP_BY = "demo set-up"


async def add_demo_rule(database_url: str, slug: str) -> None:
    """The ready rule, switched on, with limits of 50 a resolution and 500 a day; a store that
    has rules already (``--keep``) is left as it is."""
    engine = create_engine(database_url)
    try:
        async with session_factory(engine)() as db, db.begin():
            store = await db.scalar(select(Store).where(Store.slug == slug))
            if store is None or await rules.store_rules(db, store.id):
                return
            now = utcnow()
            given = await rules.checked_input(
                db, store.id, name=DEMO_RULE_NAME, conditions=checked(DEMO_RULE), action="resolve"
            )
            row = await rules.create_rule(db, store.id, given, by=SET_UP_BY, now=now)
            rules.switch(db, row, True, by=SET_UP_BY, now=now)
            await rules.set_limits(
                db,
                store.id,
                max_per_resolution=Decimal("50.00"),
                max_per_day=Decimal("500.00"),
                paused=False,
                by=SET_UP_BY,
                now=now,
            )
    finally:
        await engine.dispose()
