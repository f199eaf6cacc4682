"""Finding and sharing work over HTTP: the queue as CSV (exactly the filtered queue, every page,
formula-safe, within the user's stores), assigning a request to any agent who may see its
store, the invoices link in the staff navigation, and times in the store's zone."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, update

from portal.reorders.models import ReorderRequest
from portal.stores.models import Store
from portal.support import queue
from tests.helpers.environment import PortalEnvironment
from tests.helpers.factories import reorder_request
from tests.helpers.portal import Portal
from tests.helpers.requests import file_request, load_request
from tests.helpers.staff import AGENT, StaffBrowser, create_user

NOW = datetime.now(UTC).replace(microsecond=0)


@pytest.fixture
def browser(portal: Portal) -> Iterator[StaffBrowser]:
    staff = portal.browser()
    yield staff
    staff.close()


def _store_ids(portal: Portal) -> dict[str, int]:
    with portal.database() as db:
        return {slug: id for id, slug in db.execute(select(Store.id, Store.slug)).all()}


def _add(portal: Portal, *rows: ReorderRequest) -> list[ReorderRequest]:
    with portal.database() as db:
        db.expire_on_commit = False
        db.add_all(rows)
        db.commit()
    return list(rows)


def _csv(browser: StaffBrowser, **params: str) -> list[dict[str, str]]:
    answer = browser.client.get("/support/queue.csv", params=params)
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("text/csv")
    assert "attachment" in answer.headers["content-disposition"]
    return list(csv.DictReader(io.StringIO(answer.text)))


# --- CSV --------------------------------------------------------------------------------------


def test_the_csv_holds_exactly_the_filtered_queue_across_pages_in_queue_order(
    portal: Portal, browser: StaffBrowser, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(queue, "EXPORT_PAGE_SIZE", 3)  # several pages even with a few rows
    portal.create_store("North Goods", "north")
    portal.create_user(AGENT)
    north = _store_ids(portal)["north"]
    lost = _add(
        portal,
        *(
            reorder_request(north, issue_type="Lost", created_at=NOW - timedelta(hours=n))
            for n in range(8)
        ),
    )
    _add(portal, reorder_request(north, issue_type="Damaged", created_at=NOW))
    _add(portal, reorder_request(north, issue_type="Lost", status="refunded"))  # not open
    browser.sign_in()

    rows = _csv(browser, issue="Lost")

    expected = [r.reference for r in sorted(lost, key=lambda r: (r.created_at, r.id))]
    assert [row["reference"] for row in rows] == expected
    assert {row["issue"] for row in rows} == {"Lost"}
    assert rows[0]["preferred resolution"] == "Refund"
    assert rows[0]["filed"].endswith(" UTC")
    page = browser.get("/support/queue?issue=Lost").text
    assert 'href="/support/queue.csv?status=open&amp;issue=Lost"' in page


def test_csv_cells_that_a_spreadsheet_would_run_are_prefixed(
    portal: Portal, browser: StaffBrowser
) -> None:
    portal.create_store("=HYPERLINK(1)", "north")
    portal.create_user(AGENT)
    north = _store_ids(portal)["north"]
    cases = ["=cmd|' /C calc'!A0", "+1+1", "-2", "@SUM(A1)", "\tx", "\rx"]
    _add(
        portal,
        *(
            reorder_request(north, email=f"{text}@example.com", created_at=NOW - timedelta(hours=n))
            for n, text in enumerate(cases)
        ),
    )
    browser.sign_in()

    rows = _csv(browser)

    assert sorted(row["customer email"] for row in rows) == sorted(
        f"'{text}@example.com" for text in cases
    )
    assert {row["store"] for row in rows} == {"'=HYPERLINK(1)"}


def test_a_merchant_exports_only_their_own_store_and_strangers_nothing(
    portal: Portal, browser: StaffBrowser
) -> None:
    portal.create_store("North Goods", "north")
    portal.create_store("South Goods", "south")
    ids = _store_ids(portal)
    [mine] = _add(portal, reorder_request(ids["north"]))
    _add(portal, reorder_request(ids["south"]))
    portal.create_user("owner@north.example", role="merchant", store="north")
    assert browser.client.get("/support/queue.csv").status_code == 303
    browser.sign_in(email="owner@north.example")

    rows = _csv(browser, store=str(ids["south"]))

    assert [row["reference"] for row in rows] == [mine.reference]


def test_the_csv_follows_the_search_and_risk_filters(portal: Portal, browser: StaffBrowser) -> None:
    portal.create_store("North Goods", "north")
    portal.create_user(AGENT)
    north = _store_ids(portal)["north"]
    [haddad, _other] = _add(
        portal,
        reorder_request(north, customer_name="Omar Haddad"),
        reorder_request(north, customer_name="Priya Hart"),
    )
    with portal.database() as db:
        db.execute(
            update(ReorderRequest).where(ReorderRequest.id == haddad.id).values(risk_count=2)
        )
        db.commit()
    browser.sign_in()

    assert [r["reference"] for r in _csv(browser, q="haddad")] == [haddad.reference]
    risky = _csv(browser, risk="1")
    assert [(r["reference"], r["risk signals"]) for r in risky] == [(haddad.reference, "2")]


# --- assigning --------------------------------------------------------------------------------


@pytest.fixture
def agents(env: PortalEnvironment, database_url: str) -> Iterator[StaffBrowser]:
    for email, role in [
        ("agent@example.com", "agent"),
        ("colleague@example.com", "agent"),
        ("boss@example.com", "admin"),
        ("owner@test-goods.example", "merchant"),
    ]:
        create_user(database_url, email, role, store="test-goods" if role == "merchant" else None)
    browser = StaffBrowser(env.base_url)
    assert browser.sign_in(email="agent@example.com").status_code == 303
    yield browser
    browser.close()


def _user_id(env: PortalEnvironment, email: str) -> int:
    from portal.accounts.models import User
    from tests.helpers.requests import in_database

    async def work(db):  # type: ignore[no-untyped-def]
        return await db.scalar(select(User.id).where(User.email == email))

    return int(in_database(env, work))


def test_an_agent_assigns_a_request_to_a_colleague(
    env: PortalEnvironment, agents: StaffBrowser
) -> None:
    request = file_request(env, env.shop.order())
    page = agents.get(f"/support/requests/{request.reference}").text
    options = page[
        page.index('id="assign-to"') : page.index("</select>", page.index('id="assign-to"'))
    ]
    assert "colleague@example.com" in options and "boss@example.com" in options
    assert "owner@test-goods.example" not in options

    answer = agents.post_form(
        f"/support/requests/{request.reference}/assign",
        {"assignee": str(_user_id(env, "colleague@example.com"))},
    )

    assert answer.status_code == 303
    found = load_request(env, request.id)
    assert found.assigned_to_id == _user_id(env, "colleague@example.com")
    assert found.status == "in_review"
    assert any(
        e.kind == "assigned" and e.message == "Assigned to colleague@example.com"
        for e in found.events
    )
    queue_page = agents.get("/support/queue?status=any").text
    assert "colleague@example.com" in queue_page


def test_a_request_cannot_be_assigned_to_someone_who_may_not_work_it(
    env: PortalEnvironment, agents: StaffBrowser
) -> None:
    request = file_request(env, env.shop.order())
    for chosen in (str(_user_id(env, "owner@test-goods.example")), "999999"):
        answer = agents.post_form(
            f"/support/requests/{request.reference}/assign", {"assignee": chosen}
        )
        assert answer.status_code == 409
        assert "cannot work this store" in answer.text
    bad = agents.post_form(f"/support/requests/{request.reference}/assign", {"assignee": "x"})
    assert bad.status_code == 400
    assert load_request(env, request.id).assigned_to_id is None


def test_assign_to_me_still_assigns_the_agent_pressing_it(
    env: PortalEnvironment, agents: StaffBrowser
) -> None:
    request = file_request(env, env.shop.order())
    answer = agents.post_form(f"/support/requests/{request.reference}/assign", {})
    assert answer.status_code == 303
    assert load_request(env, request.id).assigned_to_id == _user_id(env, "agent@example.com")


# --- navigation and times ---------------------------------------------------------------------


def test_the_staff_navigation_links_the_invoices(portal: Portal, browser: StaffBrowser) -> None:
    portal.create_user(AGENT)
    browser.sign_in()
    page = browser.get("/support/queue").text
    assert '/support/invoices/" data-nav="invoices">Invoices</a>' in page


def test_request_times_are_in_the_stores_zone_and_name_it(
    env: PortalEnvironment, agents: StaffBrowser
) -> None:
    from portal.i18n import local_time
    from tests.helpers.requests import in_database

    async def to_new_york(db):  # type: ignore[no-untyped-def]
        await db.execute(update(Store).values(time_zone="America/New_York"))
        await db.commit()

    in_database(env, to_new_york)
    request = file_request(env, env.shop.order())
    local = request.created_at.astimezone(__import__("zoneinfo").ZoneInfo("America/New_York"))

    page = agents.get(f"/support/requests/{request.reference}").text

    assert f"{local.day}, {local.year}" in page and f"{local:%-I:%M}" in page
    assert f"filed {local_time(request.created_at, 'America/New_York')}" in page
    assert local_time(request.created_at, "America/New_York").endswith(f" {local.tzname()}")
    assert " UTC</time>" not in page


def test_a_search_matching_more_than_a_page_pages_in_queue_order(
    portal: Portal, browser: StaffBrowser
) -> None:
    portal.create_store("North Goods", "north")
    portal.create_user(AGENT)
    north = _store_ids(portal)["north"]
    named = _add(
        portal,
        *(
            reorder_request(
                north,
                customer_name="Ann Haddad" if n % 2 else "Bo Nash",
                status="refunded" if n % 3 == 0 else "submitted",
                created_at=NOW - timedelta(hours=200 - n),
            )
            for n in range(150)
        ),
    )
    browser.sign_in()
    wanted = [
        r.reference
        for r in sorted(named, key=lambda r: (r.created_at, r.id))
        if r.customer_name == "Ann Haddad"
    ]

    first = browser.client.get("/support/queue", params={"q": "haddad", "status": "any"}).text
    shown = re.findall(r'data-reference="(RR-[0-9A-Z]{6})"', first)
    following = re.search(r'<a href="([^"]+)" rel="next"', first)
    assert following is not None
    second = browser.client.get(following.group(1).replace("&amp;", "&")).text
    shown += re.findall(r'data-reference="(RR-[0-9A-Z]{6})"', second)

    assert shown == wanted
    assert len(_csv(browser, q="haddad", status="any")) == len(wanted) == 75
