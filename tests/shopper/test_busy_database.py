"""When every pooled database connection stays busy (``PORTAL_DATABASE_POOL_*``), a page is
answered "one moment" (503, Retry-After) and asks again by itself, a form with the fields it
was sent with, instead of failing; the request that held the connection finishes unharmed."""

from __future__ import annotations

import html
import re
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import pytest
from sqlalchemy import func, select, text

from portal.reorders.models import ReorderRequest
from tests.helpers.environment import PortalEnvironment, database
from tests.helpers.shopper_flow import ShopperFlow, csrf_of

pytestmark = pytest.mark.settings(
    database_pool_size=1, database_pool_overflow=0, database_pool_timeout=1.0
)

CONTINUE_LINK = re.compile(
    r'<a class="button" id="continue" href="([^"]+)" data-continue-after="5">'
)
HIDDEN = re.compile(r'<input type="hidden" name="([^"]+)" value="([^"]*)">')


@contextmanager
def requests_table_held(env: PortalEnvironment) -> Iterator[None]:
    """Another client holds the requests table: a submit waits for it, holding the portal's
    one pooled connection meanwhile."""
    with database(env) as db:
        if db.get_bind().dialect.name == "postgresql":
            db.execute(text("LOCK TABLE reorder_requests IN ACCESS EXCLUSIVE MODE"))
        else:  # SQLite: the write lock, which the submit waits for (busy_timeout)
            db.connection().exec_driver_sql("BEGIN IMMEDIATE")
        try:
            yield
        finally:
            db.rollback()


def test_a_full_pool_answers_one_moment_and_the_held_request_still_completes(
    env: PortalEnvironment, shopper: ShopperFlow
) -> None:
    order = env.shop.order(lines=[(env.shop.mug, 1)])
    form = shopper.verify(order.name, "jane@example.com")
    review = shopper.file(form, issue="Lost", quantities=_all(shopper, form))
    assert review.status_code == 200, review.text
    submitted: list[httpx.Response] = []

    with httpx.Client(timeout=30) as other:
        other.cookies.update(shopper.client.cookies)  # the same shopper, in another tab
        lookup = other.get(env.url("/"))
        with requests_table_held(env):
            submitting = threading.Thread(target=lambda: submitted.append(shopper.submit(review)))
            submitting.start()
            page = _once_the_pool_is_taken(other, env.url("/"))
            sent = other.post(
                env.url("/"),
                data={
                    "csrf_token": csrf_of(lookup),
                    "order_number": "#1001",
                    "email": "sam@example.com",
                },
            )
            assert submitting.is_alive()  # still waiting: nothing was answered for it yet
    submitting.join(timeout=30)

    for busy in (page, sent):
        assert busy.status_code == 503, busy.text
        assert busy.headers["Retry-After"] == "5" and busy.headers["Cache-Control"] == "no-store"
        assert "We are very busy right now" in busy.text and "Nothing was saved" in busy.text
    go_on = CONTINUE_LINK.search(page.text)  # pressed by continue.js, or by the reader
    assert go_on is not None and html.unescape(go_on.group(1)) == env.url("/")
    # the form comes back, to be sent again as it was
    assert 'id="continue" method="post"' in sent.text
    fields = {k: html.unescape(v) for k, v in HIDDEN.findall(sent.text)}
    assert fields["order_number"] == "#1001" and fields["email"] == "sam@example.com"
    # the request that held the connection finished as if nothing had happened, once
    assert submitted and submitted[0].status_code == 200, submitted
    assert "Request received" in submitted[0].text
    with database(env) as db:
        assert db.scalar(select(func.count()).select_from(ReorderRequest)) == 1
    assert shopper.get("/").status_code == 200  # and the portal answers again


def _once_the_pool_is_taken(client: httpx.Client, url: str) -> httpx.Response:
    """The page, asked for until the submit holds the one connection (a few seconds at most:
    well within SQLite's busy_timeout, which would end the submit's wait)."""
    deadline = time.monotonic() + 6
    while True:
        page = client.get(url, headers={"Accept": "text/html"})
        if page.status_code == 503 or time.monotonic() > deadline:
            return page
        time.sleep(0.1)


def _all(shopper: ShopperFlow, form: httpx.Response) -> dict[str, int]:
    return {name: 1 for name in shopper.quantity_fields(form)}


@pytest.mark.timeout(120)
def test_a_write_that_waits_too_long_for_sqlite_answers_one_moment_and_continue_files_it(
    env: PortalEnvironment, shopper: ShopperFlow, database_url: str
) -> None:
    if not database_url.startswith("sqlite"):
        pytest.skip("SQLite's one writer: PostgreSQL writers do not wait on each other here")
    order = env.shop.order(lines=[(env.shop.mug, 1)])
    form = shopper.verify(order.name, "jane@example.com")
    review = shopper.file(form, issue="Lost", quantities=_all(shopper, form))
    with requests_table_held(env):  # longer than SQLite's busy_timeout (10 s)
        busy = shopper.submit(review)
    assert busy.status_code == 503, busy.text
    assert "We are very busy right now" in busy.text
    with database(env) as db:  # nothing was half-written
        assert db.scalar(select(func.count()).select_from(ReorderRequest)) == 0
    action = re.search(r'<form id="continue" method="post" action="([^"]+)"', busy.text)
    assert action is not None
    fields = {k: html.unescape(v) for k, v in HIDDEN.findall(busy.text)}
    status = shopper.client.post(html.unescape(action.group(1)), data=fields)  # Continue
    assert status.status_code == 200 and "Request received" in status.text
    with database(env) as db:
        assert db.scalar(select(func.count()).select_from(ReorderRequest)) == 1
