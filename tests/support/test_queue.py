"""The support queue over HTTP: filters, search, keyset pages, the htmx partial, store scope and
hostile query strings; and the per-status counts with their cap."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from itertools import count

import pytest
from sqlalchemy import select

from portal.accounts.models import User
from portal.errors import InvalidCursor
from portal.reorders.models import ReorderRequest, RequestStatus
from portal.stores.models import Store
from portal.support import queue
from portal.support.queue import Cursor
from tests.helpers.factories import reorder_request
from tests.helpers.portal import Portal
from tests.helpers.staff import AGENT, StaffBrowser

QUEUE = "/support/queue"
NOW = datetime.now(UTC).replace(microsecond=0)
REFERENCE = re.compile(r'data-reference="(RR-[0-9A-Z]{6})"')
NEXT = re.compile(r'<a href="([^"]+)" rel="next"')
_serial = count(1)


@pytest.fixture
def browser(portal: Portal) -> Iterator[StaffBrowser]:
    staff = portal.browser()
    yield staff
    staff.close()


@dataclass
class Seeded:
    """Requests written straight to the database, remembered in the order they were made."""

    portal: Portal
    stores: dict[str, int] = field(default_factory=dict)
    users: dict[str, int] = field(default_factory=dict)
    requests: list[ReorderRequest] = field(default_factory=list)

    def store(self, slug: str, name: str | None = None) -> int:
        self.portal.create_store(name or slug.title(), slug)
        with self.portal.database() as db:
            self.stores[slug] = db.scalars(select(Store.id).where(Store.slug == slug)).one()
        return self.stores[slug]

    def user(self, email: str, role: str = "agent", store: str | None = None) -> int:
        self.portal.create_user(email, role=role, store=store)
        with self.portal.database() as db:
            self.users[email] = db.scalars(select(User.id).where(User.email == email)).one()
        return self.users[email]

    def add(self, *specs: dict[str, object]) -> list[ReorderRequest]:
        made = [self._request(spec) for spec in specs]
        with self.portal.database() as db:
            db.expire_on_commit = False
            db.add_all(made)
            db.commit()
        self.requests.extend(made)
        return made

    def _request(self, spec: dict[str, object]) -> ReorderRequest:
        n = next(_serial)
        values: dict[str, object] = {
            "store_id": next(iter(self.stores.values())),
            "email": f"shopper{n}@example.com",
            "resolution": "reorder",
            "status": RequestStatus.SUBMITTED.value,
            "created_at": NOW - timedelta(days=2, minutes=n),
        }
        values.update(spec)
        values["updated_at"] = values["created_at"]
        return reorder_request(**values)


@pytest.fixture
def seeded(portal: Portal) -> Seeded:
    return Seeded(portal)


def references(page_html: str) -> list[str]:
    return REFERENCE.findall(page_html)


def queue_of(browser: StaffBrowser, **params: str) -> list[str]:
    answer = browser.client.get(QUEUE, params=params)
    assert answer.status_code == 200, answer.text
    return references(answer.text)


def in_queue_order(requests: list[ReorderRequest]) -> list[str]:
    return [r.reference for r in sorted(requests, key=lambda r: (r.created_at, r.id))]


# --- access -----------------------------------------------------------------------------------


def test_without_a_sign_in_the_queue_redirects_to_the_login(portal: Portal) -> None:
    browser = portal.browser()
    try:
        answer = browser.get(QUEUE + "?status=any&q=RR-ABC234")
    finally:
        browser.close()
    assert answer.status_code == 303
    assert answer.headers["location"].startswith("/support/login?next=")
    assert "%2Fsupport%2Fqueue" in answer.headers["location"]


def test_the_support_home_is_the_queue(seeded: Seeded, browser: StaffBrowser) -> None:
    seeded.user(AGENT)
    browser.sign_in()
    home = browser.get("/support/")
    assert home.status_code == 200 and 'id="queue-results"' in home.text
    assert '/support/queue"' in browser.get("/support/account").text


# --- filters ----------------------------------------------------------------------------------


@pytest.fixture
def varied(seeded: Seeded, browser: StaffBrowser) -> Seeded:
    """Two stores, every status, issue, resolution and assignment, ages from 0 to 40 days."""
    seeded.store("north", "North Goods")
    seeded.store("south", "South Goods")
    me = seeded.user(AGENT)
    other = seeded.user("other@example.com")
    statuses, issues = list(RequestStatus), ["Lost", "Stolen", "Damaged", "Wrong_Item"]
    resolutions, assignees = ["reorder", "alternative", "refund"], [None, me, other]
    seeded.add(
        *(
            {
                "store_id": seeded.stores["north" if i % 2 else "south"],
                "status": statuses[i % len(statuses)].value,
                "issue_type": issues[i % len(issues)],
                "resolution": resolutions[i % len(resolutions)],
                "assigned_to_id": assignees[i % len(assignees)],
                "created_at": NOW - timedelta(days=(i * 37) % 41, hours=1, minutes=i),
            }
            for i in range(42)
        )
    )
    assert browser.sign_in().status_code == 303
    return seeded


def _expected(seeded: Seeded, keep: Callable[[ReorderRequest], bool]) -> list[str]:
    return in_queue_order([r for r in seeded.requests if keep(r)])


Keep = Callable[[ReorderRequest, Seeded], bool]
FILTERS: dict[str, tuple[dict[str, str], Keep]] = {
    "open by default": ({}, lambda r, s: RequestStatus(r.status).is_open),
    "any status": ({"status": "any"}, lambda r, s: True),
    "one status": ({"status": "needs_info"}, lambda r, s: r.status == "needs_info"),
    "closed status": ({"status": "denied"}, lambda r, s: r.status == "denied"),
    "store": ({"status": "any", "store": "north"}, lambda r, s: r.store_id == s.stores["north"]),
    "issue": ({"status": "any", "issue": "Damaged"}, lambda r, s: r.issue_type == "Damaged"),
    "resolution": (
        {"status": "any", "resolution": "refund"},
        lambda r, s: r.resolution == "refund",
    ),
    "age": (
        {"status": "any", "older_than": "14"},
        lambda r, s: r.created_at < NOW - timedelta(days=14),
    ),
    "assigned to me": (
        {"status": "any", "assigned": "me"},
        lambda r, s: r.assigned_to_id == s.users[AGENT],
    ),
    "unassigned": (
        {"status": "any", "assigned": "unassigned"},
        lambda r, s: r.assigned_to_id is None,
    ),
    "several at once": (
        {"status": "open", "store": "south", "assigned": "unassigned", "older_than": "1"},
        lambda r, s: (
            RequestStatus(r.status).is_open
            and r.store_id == s.stores["south"]
            and r.assigned_to_id is None
            and r.created_at < NOW - timedelta(days=1)
        ),
    ),
}


@pytest.mark.parametrize("name", list(FILTERS))
def test_each_filter_narrows_the_queue(varied: Seeded, browser: StaffBrowser, name: str) -> None:
    params, keep = FILTERS[name]
    if "store" in params:
        params = {**params, "store": str(varied.stores[params["store"]])}
    expected = _expected(varied, lambda r: keep(r, varied))
    assert 0 < len(expected) <= len(varied.requests)
    assert name == "any status" or len(expected) < len(varied.requests)
    assert queue_of(browser, **params) == expected


def test_a_chosen_filter_is_shown_selected(varied: Seeded, browser: StaffBrowser) -> None:
    page = browser.client.get(QUEUE, params={"status": "denied", "older_than": "7"}).text
    assert '<option value="denied" selected>' in page
    assert '<option value="7" selected>' in page


COUNTED: dict[str, tuple[dict[str, str], Keep]] = {
    # kept by the database's counters
    "every request": ({}, lambda r, s: True),
    "store": ({"store": "north"}, lambda r, s: r.store_id == s.stores["north"]),
    "assigned to me": ({"assigned": "me"}, lambda r, s: r.assigned_to_id == s.users[AGENT]),
    "store, unassigned": (
        {"store": "south", "assigned": "unassigned"},
        lambda r, s: r.store_id == s.stores["south"] and r.assigned_to_id is None,
    ),
    # counted (up to the cap)
    "issue": ({"issue": "Lost"}, lambda r, s: r.issue_type == "Lost"),
    "store, me, older than 7 days": (
        {"store": "north", "assigned": "me", "older_than": "7"},
        lambda r, s: (
            r.store_id == s.stores["north"]
            and r.assigned_to_id == s.users[AGENT]
            and r.created_at < NOW - timedelta(days=7)
        ),
    ),
}


@pytest.mark.parametrize("name", list(COUNTED))
def test_counts_per_status_follow_every_filter_but_status(
    varied: Seeded, browser: StaffBrowser, name: str
) -> None:
    params, keep = COUNTED[name]
    if "store" in params:
        params = {**params, "store": str(varied.stores[params["store"]])}
    page = browser.client.get(QUEUE, params={"status": "submitted", **params}).text
    for status in RequestStatus:
        expected = sum(1 for r in varied.requests if r.status == status and keep(r, varied))
        assert f'data-status="{status.value}" data-count="{expected}"' in page
    assert 'data-counts="capped"' not in page


def test_counts_follow_an_agents_changes(varied: Seeded, browser: StaffBrowser) -> None:
    """The counters move with the request: assigning a submitted request to oneself moves it
    to "in review" and into "assigned to me"."""
    [request] = varied.add({"status": "submitted", "assigned_to_id": None})

    def counted(**params: str) -> dict[str, int]:
        page = browser.client.get(QUEUE, params=params).text
        found = re.findall(r'data-status="(\w+)" data-count="(\d+)"', page)
        return {status: int(n) for status, n in found}

    before, mine_before = counted(), counted(assigned="me")
    with varied.portal.database() as db:
        row = db.get(ReorderRequest, request.id)
        assert row is not None
        row.assigned_to_id, row.status = varied.users[AGENT], "in_review"
        db.commit()
    after, mine_after = counted(), counted(assigned="me")
    assert after["submitted"] == before["submitted"] - 1
    assert after["in_review"] == before["in_review"] + 1
    assert mine_after["in_review"] == mine_before["in_review"] + 1


def test_rows_show_what_an_agent_needs(varied: Seeded, browser: StaffBrowser) -> None:
    [first] = varied.add(
        {
            "store_id": varied.stores["north"],
            "order_name": "#4711",
            "email": "jane@example.com",
            "issue_type": "Wrong_Item",
            "resolution": "alternative",
            "assigned_to_id": varied.users["other@example.com"],
            "created_at": NOW - timedelta(days=3, hours=2),
        }
    )
    page = browser.client.get(QUEUE, params={"q": first.reference}).text
    row = page[page.index(f'data-reference="{first.reference}"') :]
    row = row[: row.index("</tr>")]
    assert f'href="/support/requests/{first.reference}"' in row
    for shown in ("North Goods", "#4711", "jane@example.com", "Wrong item", "Something of"):
        assert shown in row
    assert "Submitted" in row and "3 days" in row and "other@example.com" in row
    assert '<caption id="queue-caption">' in page and '<th scope="col">' in page


# --- search -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "field_value"),
    [
        ("reference-lowercase", "reference"),
        ("#order", "order_name"),
        ("digits", "order_name"),
        ("EMAIL", "email"),
    ],
)
def test_search_by_each_kind(
    varied: Seeded, browser: StaffBrowser, typed: str, field_value: str
) -> None:
    [wanted, same_shopper] = varied.add(
        {"order_name": "#98765", "email": "pat.doe@example.com", "status": "denied"},
        {"order_name": "#98766", "email": "pat.doe@example.com"},
    )
    text = {
        "reference-lowercase": wanted.reference.lower(),
        "#order": "#98765",
        "digits": " 98765 ",
        "EMAIL": "Pat.Doe@Example.COM",
    }[typed]
    found = queue_of(browser, q=text, status="any")
    if field_value == "email":
        assert found == in_queue_order([wanted, same_shopper])
    else:
        assert found == [wanted.reference]


def test_search_narrows_with_the_other_filters(varied: Seeded, browser: StaffBrowser) -> None:
    [closed] = varied.add({"status": "refunded"})
    assert queue_of(browser, q=closed.reference) == []  # default: open requests only
    assert queue_of(browser, q=closed.reference, status="any") == [closed.reference]


@pytest.mark.parametrize("typed", ["pa", "#", " x ", "<s"])
def test_a_search_too_short_finds_nothing_and_says_why(
    varied: Seeded, browser: StaffBrowser, typed: str
) -> None:
    answer = browser.client.get(QUEUE, params={"q": typed, "status": "any"})
    assert answer.status_code == 200
    assert references(answer.text) == []
    assert 'data-hint="search"' in answer.text
    assert "<s</" not in answer.text


@pytest.mark.parametrize(
    ("typed", "matches"),
    [
        ("haddad", ["haddad"]),
        ("Priya", ["priya"]),
        ("priya h", ["priya"]),
        ("HADDAD@exa", ["haddad"]),
        ("1Z999AA1", ["priya"]),
        ("987012", ["haddad"]),
        ("<script>alert(1)</script>", []),
        ("100%_", []),
    ],
)
def test_search_finds_names_partial_emails_tracking_and_order_numbers(
    varied: Seeded, browser: StaffBrowser, typed: str, matches: list[str]
) -> None:
    people = {
        "haddad": {"email": "omar.haddad@example.com", "order_name": "#987012"},
        "priya": {
            "customer_name": "Priya Hart",
            "email": "p.h@example.net",
            "tracking_numbers": "1Z999AA10123456784",
            "status": "refunded",
        },
    }
    made = dict(zip(people, varied.add(*people.values()), strict=True))
    varied.add({"customer_name": "Someone Else", "email": "x100@example.org"})

    answer = browser.client.get(QUEUE, params={"q": typed, "status": "any"})

    assert answer.status_code == 200
    assert references(answer.text) == [made[name].reference for name in matches]
    assert "<script>alert" not in answer.text


# --- pages ------------------------------------------------------------------------------------


def test_keyset_pages_return_every_request_once_oldest_first(
    seeded: Seeded, browser: StaffBrowser
) -> None:
    seeded.store("north")
    seeded.user(AGENT)
    tie = NOW - timedelta(days=5)
    seeded.add(
        *(
            {
                "status": ("submitted", "in_review", "needs_info", "denied")[i % 4],
                # a run of equal timestamps straddles the page boundaries: id breaks the tie
                "created_at": tie if 45 <= i < 110 else NOW - timedelta(hours=(i * 7919) % 500),
            }
            for i in range(137)
        )
    )
    browser.sign_in()
    seen, pages, url = [], 0, f"{QUEUE}?status=any"
    while url:
        answer = browser.get(url)
        assert answer.status_code == 200
        seen += references(answer.text)
        pages += 1
        following = NEXT.search(answer.text)
        url = following.group(1).replace("&amp;", "&") if following else ""
        assert pages <= 4
    assert pages == 3
    assert seen == in_queue_order(seeded.requests)
    assert len(set(seen)) == 137


def test_the_next_page_keeps_the_filters(seeded: Seeded, browser: StaffBrowser) -> None:
    seeded.store("north")
    seeded.user(AGENT)
    seeded.add(*({"issue_type": ("Lost", "Damaged")[i % 2]} for i in range(130)))
    browser.sign_in()
    first = browser.client.get(QUEUE, params={"issue": "Damaged"}).text
    next_url = NEXT.search(first)
    assert next_url is not None and "issue=Damaged" in next_url.group(1)
    second = browser.get(next_url.group(1).replace("&amp;", "&")).text
    damaged = [r for r in seeded.requests if r.issue_type == "Damaged"]
    assert references(first) + references(second) == in_queue_order(damaged)
    assert NEXT.search(second) is None and "First page" in second


# --- htmx -------------------------------------------------------------------------------------


def test_an_htmx_request_gets_only_the_results_partial(
    varied: Seeded, browser: StaffBrowser
) -> None:
    answer = browser.client.get(
        QUEUE,
        params={"status": "any", "store": str(varied.stores["north"])},
        headers={"HX-Request": "true"},
    )
    assert answer.status_code == 200
    assert answer.text.lstrip().startswith('<section id="queue-results"')
    assert "<html" not in answer.text and 'id="queue-filters"' not in answer.text
    assert references(answer.text) == _expected(
        varied, lambda r: r.store_id == varied.stores["north"]
    )
    assert "HX-Request" in answer.headers["vary"]


def test_the_full_page_holds_the_form_and_the_same_partial(
    varied: Seeded, browser: StaffBrowser
) -> None:
    page = browser.client.get(QUEUE).text
    assert "<html" in page and 'id="queue-filters"' in page and 'id="queue-results"' in page
    assert 'method="get"' in page and 'hx-target="#queue-results"' in page
    assert 'hx-push-url="true"' in page
    restore = browser.client.get(
        QUEUE, headers={"HX-Request": "true", "HX-History-Restore-Request": "true"}
    )
    assert "<html" in restore.text


# --- store scope ------------------------------------------------------------------------------


def test_a_merchant_never_sees_another_stores_requests(
    seeded: Seeded, browser: StaffBrowser
) -> None:
    mine, theirs = seeded.store("mine"), seeded.store("theirs")
    seeded.user("owner@mine.example", role="merchant", store="mine")
    own = seeded.add(*({"store_id": mine} for _ in range(3)))
    other = seeded.add(
        *({"store_id": theirs, "email": "pat@example.com", "order_name": "#5555"} for _ in range(4))
    )
    browser.sign_in(email="owner@mine.example")
    expected = in_queue_order(own)
    for params in (
        {},
        {"status": "any"},
        {"status": "any", "store": str(theirs)},
        {"status": "any", "store": "not-a-number"},
    ):
        assert queue_of(browser, **params) == expected
    for typed in (other[0].reference, "pat@example.com", "#5555"):
        assert queue_of(browser, q=typed, status="any") == []
    page = browser.client.get(QUEUE, params={"store": str(theirs)}).text
    assert 'name="store"' not in page  # no store choice for a merchant
    assert 'data-status="submitted" data-count="3"' in page
    forged = Cursor(other[0].created_at - timedelta(days=1), 1).encode()
    assert queue_of(browser, status="any", after=forged) == expected


# --- hostile query strings --------------------------------------------------------------------

BAD_QUERIES = [
    {"after": "garbage"},
    {"after": "!!!!"},
    {"after": "x" * 5000},
    {"after": Cursor(NOW, 1).encode() + "%%"},
    {"after": "MjAyNi0wMS0wMXwtMQ"},  # a readable cursor with id -1
    {"after": "MDAwMS0wMS0wMVQwMDowMDowMCsxNDowMHwx"},  # before the first instant in UTC
    {"after": "OTk5OS0xMi0zMVQyMzo1OTo1OS0xNDowMHwx"},  # after the last
    {
        "after": "MjAyNi0wMS0wMVQwMDowMDowMCswMDowMHw5MjIzMzcyMDM2ODU0Nzc1ODA4"
    },  # beyond a database integer
    {"status": "lost_in_space"},
    {"status": "<script>"},
    {"older_than": "-7"},
    {"older_than": "5"},
    {"older_than": "99999999999999999999"},
    {"store": "-1"},
    {"store": "99999999999999999999999"},
    {"issue": "Lost'; DROP TABLE reorder_requests; --"},
    {"resolution": "REFUND"},
    {"assigned": "everyone"},
    {"q": "x" * 10_000},
    {"q": "\x00"},
]


@pytest.mark.parametrize("params", BAD_QUERIES, ids=lambda p: next(iter(p)))
def test_bad_parameters_never_fail(
    varied: Seeded, browser: StaffBrowser, params: dict[str, str]
) -> None:
    answer = browser.client.get(QUEUE, params=params)
    if any("\x00" in value for value in params.values()):
        assert answer.status_code == 400  # no text column can hold NUL: refused at the edge
        return
    assert answer.status_code == 200
    if "after" in params:
        assert 'data-notice="cursor"' in answer.text
        assert references(answer.text) == queue_of(browser)


def test_an_unknown_status_is_shown_as_any(varied: Seeded, browser: StaffBrowser) -> None:
    page = browser.client.get(QUEUE, params={"status": "lost_in_space", "older_than": "-3"}).text
    assert '<option value="any" selected>' in page
    assert '<option value="" selected>Any age</option>' in page
    assert references(page) == _expected(varied, lambda r: True)


# --- service: counts and their cap ------------------------------------------------------------


def test_counts_under_a_counted_filter_say_where_they_stop(
    seeded: Seeded, browser: StaffBrowser
) -> None:
    seeded.store("many")
    seeded.user(AGENT)
    seeded.add(*({"issue_type": "Lost"} for _ in range(queue.COUNT_CAP + 1)))
    browser.sign_in()
    lost = browser.client.get(QUEUE, params={"issue": "Lost"}).text
    assert f'data-status="submitted" data-count="{queue.COUNT_CAP}+"' in lost
    assert f"{queue.COUNT_CAP:,}+</span>" in lost and 'data-counts="capped"' in lost
    every = browser.client.get(QUEUE).text  # kept by the counters: exact, however many
    assert f'data-status="submitted" data-count="{queue.COUNT_CAP + 1}"' in every
    assert 'data-counts="capped"' not in every


@pytest.mark.parametrize(
    ("typed", "kind", "value"),
    [
        ("rr-abc234", "reference", "RR-ABC234"),
        ("#1001", "order", "#1001"),
        ("1001", "order", "#1001"),
        (" Jane@Example.com ", "email", "jane@example.com"),
        ("Jane  Doe", "text", "jane doe"),
        ("jane@exa", "text", "jane@exa"),
        ("12345678901", "text", "12345678901"),
        ("ja", "unrecognized", ""),
    ],
)
def test_search_kinds(typed: str, kind: str, value: str) -> None:
    search = queue.parse_search(typed)
    assert search is not None and (search.kind, search.value) == (kind, value)


def test_a_cursor_survives_its_round_trip_and_nothing_else_passes() -> None:
    cursor = Cursor(datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=UTC), 42)
    assert Cursor.decode(cursor.encode()) == cursor
    for bad in ("", "garbage", "MjAyNi0wMS0wMnwtMQ", "bm90IGEgZGF0ZXwx", "x" * 500):
        with pytest.raises(InvalidCursor):
            Cursor.decode(bad)
