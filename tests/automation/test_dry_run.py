"""A dry run's figures equal a count by hand on a fixed set of requests: what the rule would
have resolved, what that is worth, what the limit per resolution would have held, and where the
rule disagrees with what agents did. Nothing is changed by it."""

from __future__ import annotations

import re
from collections.abc import Iterator

import httpx
import pytest
from sqlalchemy import select, update

from portal.automation.models import AutomationDecision
from portal.reorders.models import IssueType, ReorderRequest, RequestStatus
from portal.support.models import Resolution
from tests.automation.conftest import ADMIN, add_rule, set_limits
from tests.helpers.environment import PortalEnvironment, database
from tests.helpers.requests import file_request
from tests.helpers.staff import StaffBrowser, create_user

FIGURE = re.compile(r'data-figure="([a-z]+)"(?: data-amount="([0-9.]+)")?>([^<]*)<')


@pytest.fixture
def admin(env: PortalEnvironment) -> Iterator[StaffBrowser]:
    create_user(env.settings.database_url, ADMIN, "admin")
    browser = StaffBrowser(env.base_url)
    browser.sign_in(ADMIN)
    yield browser
    browser.close()


def settle(env: PortalEnvironment, request_id: int, status: RequestStatus) -> None:
    """What an agent did to the request, as its status says."""
    with database(env) as db:
        db.execute(
            update(ReorderRequest).where(ReorderRequest.id == request_id).values(status=status)
        )
        db.commit()


def figures(page: httpx.Response) -> dict[str, str]:
    found = {name: amount or text.strip() for name, amount, text in FIGURE.findall(page.text)}
    assert found, page.text[-3000:]
    return found


def test_a_dry_run_equals_the_hand_count(env: PortalEnvironment, admin: StaffBrowser) -> None:
    shop = env.shop
    fixed = [  # (order lines, issue, preferred, what the agent did)
        ([(shop.mug, 1)], IssueType.LOST, "reorder", RequestStatus.REORDERED),  # agrees: 24
        ([(shop.mug, 1)], IssueType.LOST, "refund", RequestStatus.DENIED),  # disagrees: 24
        ([(shop.shirt, 1)], IssueType.LOST, "reorder", RequestStatus.IN_REVIEW),  # 58: no
        ([(shop.mug, 1)], IssueType.STOLEN, "reorder", RequestStatus.REORDERED),  # stolen: no
        ([(shop.mug, 2)], IssueType.LOST, "reorder", RequestStatus.REFUNDED),  # disagrees: 48
        ([(shop.mug, 1)], IssueType.LOST, "alternative", RequestStatus.RESOLVED),  # an agent's
    ]
    references = []
    for n, (lines, issue, preferred, did) in enumerate(fixed):
        order = shop.order(email=f"dry{n}@example.com", lines=lines)
        quantities = {order.line_items[0].id: lines[0][1]}
        filed = file_request(env, order, resolution=preferred, issue=issue, quantities=quantities)
        settle(env, filed.id, did)
        references.append(filed.reference)
    rule_id = add_rule(
        env, {"issue_types": ["Lost"], "value_below": "50"}, name="Lost under 50", enabled=False
    )
    page = admin.get(f"/support/stores/test-goods/automation/{rule_id}?last=20")
    assert page.status_code == 200
    assert figures(page) == {
        "judged": "6",
        "acted": "3",
        "resolved": "3",
        "money": "96.00",
        "held": "0",
        "disagreements": "2",
    }
    disagreeing = re.findall(r'<tr data-reference="([A-Z0-9-]+)"><th scope="row"><a', page.text)
    assert sorted(disagreeing) == sorted([references[1], references[4]])

    set_limits(env, per_resolution="30.00", per_day="1000.00")
    partial = admin.client.get(
        f"/support/stores/test-goods/automation/{rule_id}",
        params={"last": "20"},
        headers={"HX-Request": "true"},
    )
    assert partial.status_code == 200 and partial.text.lstrip().startswith('<div id="dry-run"')
    assert figures(partial) == {
        "judged": "6",
        "acted": "3",
        "resolved": "2",
        "money": "48.00",
        "held": "1",
        "disagreements": "1",
    }
    last_two = figures(admin.get(f"/support/stores/test-goods/automation/{rule_id}?last=2"))
    assert (last_two["judged"], last_two["resolved"], last_two["held"]) == ("2", "0", "1")
    with database(env) as db:  # a dry run changes nothing
        assert db.scalars(select(AutomationDecision)).all() == []
        assert db.scalars(select(Resolution)).all() == []


@pytest.mark.parametrize("last", ["0", "201", "abc", "-3", "1e3"])
def test_a_dry_run_of_an_unbounded_number_is_refused(
    env: PortalEnvironment, admin: StaffBrowser, last: str
) -> None:
    rule_id = add_rule(env, {"issue_types": ["Lost"]}, name="Lost", enabled=False)
    page = admin.get(f"/support/stores/test-goods/automation/{rule_id}?last={last}")
    assert page.status_code == 400
    assert "Give a number of requests from 1 to 200." in page.text
