"""Links from the store's order emails: the lookup page prefilled from the order confirmation's
link, and the "your order is protected" email with a signed link that opens the order until
its claim window closes."""

from __future__ import annotations

import asyncio
import html
import re
import time
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import create_engine, func, select, update
from sqlalchemy.orm import Session

from portal.clock import utcnow
from portal.db import create_engine as create_async_engine
from portal.db import session_factory, sync_url
from portal.errors import ExpiredToken
from portal.jobs.models import Job
from portal.links import order_link_token, read_order_link
from portal.shopper.models import OrderVerification
from portal.shopper.protected import queue_order_protected
from portal.shopper.session import COOKIE as SHOPPER_COOKIE
from portal.signing import Signer
from portal.stores.models import Store
from tests.helpers.environment import PortalEnvironment
from tests.helpers.shopper_flow import csrf_of

LINK = re.compile(r"(http://[^\s\"<>]+/test-goods/r/[^\s\"<>]+)")
SUBJECT = "is protected"


@pytest.fixture
def database(env: PortalEnvironment) -> Iterator[Session]:
    engine = create_engine(sync_url(env.settings.database_url))
    try:
        with Session(engine) as db:
            yield db
    finally:
        engine.dispose()


def _store_settings(db: Session, **values: Any) -> None:
    db.execute(update(Store).where(Store.slug == "test-goods").values(**values))
    db.commit()


def _queue(env: PortalEnvironment, db: Session, order_id: str) -> None:
    store_id = db.scalars(select(Store.id).where(Store.slug == "test-goods")).one()

    async def run() -> None:
        engine = create_async_engine(env.settings.database_url)
        try:
            async with session_factory(engine)() as session:
                await queue_order_protected(session, store_id=store_id, order_id=order_id)
                await session.commit()
        finally:
            await engine.dispose()

    asyncio.run(run())


def _jobs_done(db: Session, kind: str, count: int, timeout: float = 15) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        db.expire_all()
        done = db.scalar(
            select(func.count()).select_from(Job).where(Job.kind == kind, Job.status == "done")
        )
        if done == count:
            return
        time.sleep(0.05)
    raise AssertionError(f"{kind}: not {count} done")


def _value_of(page: httpx.Response, name: str) -> str:
    found = re.search(rf'<input[^>]*\bname="{name}"[^>]*\bvalue="([^"]*)"', page.text)
    assert found, f"no value for {name}"
    return html.unescape(found.group(1))


# --- the link in the order confirmation ----------------------------------------------------------


def test_the_lookup_opens_prefilled_from_the_order_confirmation_link(
    env: PortalEnvironment, database: Session
) -> None:
    page = httpx.get(env.url("/"), params={"order": "#1001", "email": "jane@example.com"})
    assert page.status_code == 200
    assert _value_of(page, "order_number") == "#1001"
    assert _value_of(page, "email") == "jane@example.com"
    assert "There is a problem" not in page.text  # nothing checked, nothing looked up
    assert database.scalar(select(func.count()).select_from(OrderVerification)) == 0

    hostile = httpx.get(
        env.url("/"), params={"order": "<script>" + "9" * 500, "email": "x" * 1000 + "@a.b"}
    )
    assert hostile.status_code == 200 and "<script>" not in hostile.text
    assert len(_value_of(hostile, "order_number")) <= 40
    assert len(_value_of(hostile, "email")) <= 254


# --- the "your order is protected" email ---------------------------------------------------------


def test_a_protected_order_gets_an_email_whose_link_opens_the_order_once(
    env: PortalEnvironment, database: Session
) -> None:
    _store_settings(database, protected_order_email=True, claim_window_days=30)
    order = env.shop.order(shipped_days_ago=None, created_days_ago=0)
    _queue(env, database, order.gid)
    email = env.wait_for_email("jane@example.com", SUBJECT)
    assert email.subject == f"Your order {order.name} is protected"
    found = LINK.search(email.text)
    assert found, email.text
    link = found.group(1)

    with httpx.Client(follow_redirects=False, timeout=30) as browser:
        shown = browser.get(link)  # a mail scanner's GET changes nothing
        assert shown.status_code == 200 and SHOPPER_COOKIE not in browser.cookies
        entered = browser.post(link, data={"csrf_token": csrf_of(shown)})
        assert entered.status_code == 303
        assert entered.headers["location"].endswith("/test-goods/request")
        form = browser.get(entered.headers["location"])
        assert form.status_code == 200 and order.name in form.text

    # The job again (a webhook delivered twice): one email all the same.
    _queue(env, database, order.gid)  # deduplicated: the same job
    database.execute(
        update(Job)
        .where(Job.kind == "shopper.order_protected")
        .values(status="queued", run_after=utcnow())
    )
    database.commit()
    _jobs_done(database, "shopper.order_protected", 1)
    time.sleep(0.5)
    assert len([m for m in env.mailbox.to("jane@example.com") if SUBJECT in m.subject]) == 1


def test_the_link_lives_until_the_claim_window_closes(
    env: PortalEnvironment, database: Session
) -> None:
    _store_settings(database, protected_order_email=True, claim_window_days=30)
    order = env.shop.order(shipped_days_ago=None, created_days_ago=0)
    _queue(env, database, order.gid)
    email = env.wait_for_email("jane@example.com", SUBJECT)
    found = LINK.search(email.text)
    assert found
    token = found.group(1).rsplit("/", 1)[-1]
    signer = Signer(str(env.settings.secret_key))
    window_end = order.created_at + timedelta(days=30)
    assert (
        read_order_link(signer, token, now=window_end - timedelta(minutes=1)).order_id == order.gid
    )
    with pytest.raises(ExpiredToken):
        read_order_link(signer, token, now=window_end + timedelta(minutes=1))

    store_id = database.scalars(select(Store.id).where(Store.slug == "test-goods")).one()
    closed = order_link_token(
        signer, store_id=store_id, order_id=order.gid, expires_at=utcnow() - timedelta(seconds=1)
    )
    refused = httpx.get(env.url(f"/r/{closed}"))
    assert refused.status_code == 400 and "Continue" not in refused.text


def test_no_email_when_the_order_is_unprotected_the_window_closed_or_the_switch_is_off(
    env: PortalEnvironment, database: Session
) -> None:
    unprotected = env.shop.order(protected=False, email="sam@example.com")
    late = env.shop.order(email="lee@example.com", shipped_days_ago=40, created_days_ago=45)
    _store_settings(database, protected_order_email=True, claim_window_days=30)
    _queue(env, database, unprotected.gid)
    _queue(env, database, late.gid)
    _jobs_done(database, "shopper.order_protected", 2)
    _store_settings(database, protected_order_email=False)
    switched_off = env.shop.order(email="kim@example.com")
    _queue(env, database, switched_off.gid)
    _jobs_done(database, "shopper.order_protected", 3)
    time.sleep(0.3)
    for who in ("sam@example.com", "lee@example.com", "kim@example.com"):
        assert not [m for m in env.mailbox.to(who) if SUBJECT in m.subject], who
