"""shop/redact takes a store's rules, their versions, its limits and its decisions with it,
and leaves another store's automation as it was."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from starlette.datastructures import Secret

from portal.automation.models import (
    AutomationDecision,
    AutomationLimits,
    AutomationRule,
    RuleVersion,
)
from portal.clock import utcnow
from portal.compliance.models import ComplianceRequest
from tests.automation.conftest import READY_RULE, add_rule, set_limits
from tests.billing.portal_helpers import WEBHOOK_SECRET, eventually
from tests.helpers.environment import SHOP, PortalEnvironment, database
from tests.webhooks.helpers import deliver
from tests.webhooks.seeds import seed

pytestmark = pytest.mark.settings(shopify_client_secret=Secret(WEBHOOK_SECRET))


def counts(env: PortalEnvironment) -> dict[str, list[int]]:
    with database(env) as db:
        return {
            "rules": sorted(db.scalars(select(AutomationRule.store_id))),
            "versions": sorted(db.scalars(select(RuleVersion.rule_id))),
            "limits": sorted(db.scalars(select(AutomationLimits.store_id))),
            "decisions": sorted(db.scalars(select(AutomationDecision.store_id))),
        }


def test_a_shop_redact_erases_the_stores_automation(env: PortalEnvironment) -> None:
    seeded = seed(env)
    mine = add_rule(env, READY_RULE)
    other = add_rule(env, READY_RULE, slug="other-shop", name="Other shop's rule")
    set_limits(env, per_resolution="50", per_day="500")
    with database(env) as db:
        for request_id, store_id in [(1, seeded.store_id)]:
            db.add(
                AutomationDecision(
                    request_id=request_id,
                    store_id=store_id,
                    outcome="waiting",
                    reason="",
                    tags=[],
                    facts={},
                    created_at=utcnow(),
                )
            )
        db.commit()
    assert counts(env)["decisions"] == [seeded.store_id]
    deliver(env.base_url, "app/uninstalled", {"id": 1}, webhook_id="un-1")
    answer = deliver(
        env.base_url, "shop/redact", {"shop_id": 954889, "shop_domain": SHOP}, webhook_id="sr-1"
    )
    assert answer.status_code == 200

    def done() -> ComplianceRequest | None:
        with database(env) as db:
            found = db.scalar(
                select(ComplianceRequest).where(ComplianceRequest.topic == "shop/redact")
            )
            return found if found is not None and found.completed_at is not None else None

    eventually(done)
    assert counts(env) == {
        "rules": [seeded.other_store_id],
        "versions": [other, other],
        "limits": [],
        "decisions": [],
    }
    assert mine != other
