"""The rules pages, as an admin uses them over HTTP: every input bounded and checked with a
message beside the field, CSRF on every form, admins only, versions with who made each change,
and one store's rules out of reach from another store's pages and requests."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from sqlalchemy import select

from portal.automation.models import AutomationDecision, AutomationRule, RuleVersion
from portal.stores.service import StoreSpec, upsert_store
from tests.automation.conftest import ADMIN, READY_RULE, add_rule, file_as_shopper, reference_on
from tests.helpers.environment import PortalEnvironment, database
from tests.helpers.factories import SEALER
from tests.helpers.requests import in_database
from tests.helpers.shopper_flow import ShopperFlow
from tests.helpers.staff import StaffBrowser, create_user

AGENT = "rules-agent@example.com"
BASE = "/support/stores/test-goods/automation"
GOOD = {
    "name": "Small lost parcels",
    "issue_types": "Lost",
    "value_below": "50",
    "in_stock": "yes",
    "max_earlier_claims": "0",
    "action": "resolve",
}


@pytest.fixture
def admin(env: PortalEnvironment) -> Iterator[StaffBrowser]:
    create_user(env.settings.database_url, ADMIN, "admin")
    create_user(env.settings.database_url, AGENT, "agent")
    browser = StaffBrowser(env.base_url)
    assert browser.sign_in(ADMIN).status_code == 303
    yield browser
    browser.close()


def rules_in(env: PortalEnvironment) -> list[AutomationRule]:
    with database(env) as db:
        return list(db.scalars(select(AutomationRule).order_by(AutomationRule.id)))


def test_an_admin_adds_a_rule_switched_off_and_every_change_is_a_version(
    env: PortalEnvironment, admin: StaffBrowser
) -> None:
    settings = admin.get("/support/stores/test-goods/settings")
    assert 'href="http://127.0.0.1' in settings.text and "/automation/" in settings.text
    saved = admin.post_form(f"{BASE}/new", GOOD)
    assert saved.status_code == 303
    [rule] = rules_in(env)
    assert not rule.enabled and rule.version == 1
    assert rule.conditions == {
        "issue_types": ["Lost"],
        "value_below": "50.00",
        "in_stock": True,
        "max_earlier_claims": 0,
    }
    assert admin.post_form(f"{BASE}/{rule.id}/switch", {"on": "on"}).status_code == 303
    edited = admin.post_form(f"{BASE}/{rule.id}", {**GOOD, "value_below": "40"})
    assert edited.status_code == 303
    [rule] = rules_in(env)
    assert rule.version == 3 and not rule.enabled  # an edit switches the rule off
    with database(env) as db:
        versions = list(db.scalars(select(RuleVersion).order_by(RuleVersion.version)))
    assert [(v.version, v.change, v.changed_by) for v in versions] == [
        (1, "created", ADMIN),
        (2, "switched on", ADMIN),
        (3, "edited", ADMIN),
    ]
    assert versions[2].snapshot["conditions"]["value_below"] == "40.00"
    page = admin.get(f"{BASE}/{rule.id}")
    assert 'data-version="3"' in page.text and ADMIN in page.text
    listing = admin.get(f"{BASE}/")
    assert "Small lost parcels" in listing.text and "value under 40.00" in listing.text


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"name": ""}, "name", "Give the rule a name."),
        ({"name": "x" * 121}, "name", "Field cannot be longer than 120 characters."),
        ({"value_below": "-1"}, "value_below", "Give an amount from 0 to"),
        ({"value_below": "NaN"}, "value_below", "Not a valid decimal value."),
        ({"max_earlier_claims": "1001"}, "max_earlier_claims", "from 0 to 1000"),
        ({"issue_types": "Misplaced"}, "issue_types", "not a valid choice"),
        ({"action": "delete_everything"}, "action", "Not a valid choice"),
        ({"action": "deny"}, "action_text", "Write the reason the shopper is emailed"),
        ({"action": "ask", "action_text": "Send {password}"}, "action_text", "placeholders"),
        ({"action": "assign"}, "assignee_id", "Choose who the rule assigns"),
        ({"products": "gid://shopify/Order/1"}, "products", "Name products by their Shopify id"),
    ],
)
def test_bad_input_gets_a_message_beside_the_field_and_nothing_is_stored(
    env: PortalEnvironment, admin: StaffBrowser, change: dict[str, str], field: str, message: str
) -> None:
    answer = admin.post_form(f"{BASE}/new", {**GOOD, **change})
    assert answer.status_code == 400
    error = re.search(rf'id="{field}-error">([^<]*)<', answer.text)
    assert error is not None and message.lower() in error.group(1).lower(), answer.text[-3000:]
    assert rules_in(env) == []


def test_limits_are_checked(env: PortalEnvironment, admin: StaffBrowser) -> None:
    bad = admin.post_form(f"{BASE}/", {"max_per_resolution": "abc", "max_per_day": "10"})
    assert bad.status_code == 400 and "Not a valid decimal value." in bad.text
    good = admin.post_form(
        f"{BASE}/", {"max_per_resolution": "25", "max_per_day": "200", "paused": "y"}
    )
    assert good.status_code == 303
    page = admin.get(f"{BASE}/")
    assert 'data-paused="true"' in page.text and 'value="25.00"' in page.text


def test_without_csrf_or_as_an_agent_nothing_changes(
    env: PortalEnvironment, admin: StaffBrowser
) -> None:
    forged = admin.client.post(f"{BASE}/new", data={**GOOD, "csrf_token": "forged"})
    assert forged.status_code == 400
    agent = StaffBrowser(env.base_url)
    try:
        agent.sign_in(AGENT)
        assert agent.get(f"{BASE}/").status_code == 403
        assert agent.post_form(f"{BASE}/new", GOOD).status_code == 403
    finally:
        agent.close()
    assert rules_in(env) == []
    assert admin.get("/support/stores/no-such-store/automation/").status_code == 404


def test_a_rule_cannot_act_on_another_stores_requests(
    env: PortalEnvironment, admin: StaffBrowser, shopper: ShopperFlow
) -> None:
    async def other_store(db):  # type: ignore[no-untyped-def]
        async with db.begin():
            spec = StoreSpec(
                name="Other Goods",
                slug="other-goods",
                shop_domain="other-goods.myshopify.com",
                access_token="shpat_other_goods",
                api_version="2026-01",
                protection_variant_ids=[],
                support_email="help@other.example",
            )
            await upsert_store(db, spec, SEALER)

    in_database(env, other_store)
    foreign = add_rule(env, READY_RULE, slug="other-goods", name="Other store's rule")
    # its pages do not show another store's rule, and its forms cannot reach it
    assert admin.get(f"{BASE}/{foreign}").status_code == 404
    assert admin.post_form(f"{BASE}/{foreign}/switch", {"on": "off"}).status_code == 404
    assert admin.post_form(f"{BASE}/{foreign}", GOOD).status_code == 404
    # a matching request of this store is not judged by the other store's rule
    order = env.shop.order(email="mine@example.com")
    status = file_as_shopper(shopper, order, email="mine@example.com")
    reference = reference_on(status)
    import time

    time.sleep(1.5)  # the evaluation job has run (it finds no rule of this store)
    with database(env) as db:
        assert db.scalars(select(AutomationDecision)).all() == []
        [rule] = db.scalars(select(AutomationRule)).all()
    assert rule.enabled and rule.version == 2  # untouched by the forms above
    assert reference
