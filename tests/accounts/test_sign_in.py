"""Signing in to /support over HTTP: success, refusals, lockout and the per-client brake, the
session cookie, CSRF and where the login sends you afterwards."""

from __future__ import annotations

import hashlib
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest
from argon2 import PasswordHasher
from sqlalchemy import select, update

from portal.accounts import passwords
from portal.accounts.models import StaffSession, User
from tests.helpers.portal import Portal, portal_settings, running_portal
from tests.helpers.shopper_flow import csrf_of
from tests.helpers.staff import AGENT, PASSWORD, StaffBrowser

WRONG = "Email or password is not right."
LOCKED = "this account is locked for a while"


def test_signing_in_opens_support_and_says_who_is_signed_in(
    portal: Portal, browser: StaffBrowser
) -> None:
    portal.create_user("Agent@Example.com", role="agent")
    signed_in = browser.sign_in(email="AGENT@example.COM")
    assert signed_in.status_code == 303 and signed_in.headers["location"] == "/support/"
    home = browser.get("/support/account")
    assert home.status_code == 200
    assert "Signed in as agent@example.com" in home.text and "agent" in home.text
    assert "Every store" in home.text


def test_the_session_cookie_is_random_httponly_and_only_its_hash_is_stored(
    portal: Portal, browser: StaffBrowser, other_browser: StaffBrowser
) -> None:
    portal.create_user(AGENT)
    answer = browser.sign_in()
    other_browser.sign_in()
    cookie = answer.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Path=/support" in cookie
    assert "Secure" not in cookie  # plain http on loopback
    first, second = browser.session_token, other_browser.session_token
    assert first and second and first != second and len(first) >= 43
    with portal.database() as db:
        stored = set(db.scalars(select(StaffSession.id)))
    assert stored == {hashlib.sha256(t.encode()).hexdigest() for t in (first, second)}


@pytest.mark.parametrize("email", [AGENT, "nobody@example.com"])
def test_a_wrong_password_or_unknown_email_gets_the_same_answer(
    portal: Portal, browser: StaffBrowser, email: str
) -> None:
    portal.create_user(AGENT)
    refused = browser.sign_in(email=email, password="not the password")
    assert refused.status_code == 400 and WRONG in refused.text
    assert browser.session_token is None
    assert 'value="not the password"' not in refused.text


def test_five_failures_lock_the_account_until_the_lock_ends(
    portal: Portal, browser: StaffBrowser
) -> None:
    portal.create_user(AGENT)
    answers = [browser.sign_in(password=f"wrong guess {n}") for n in range(5)]
    assert [a.status_code for a in answers] == [400, 400, 400, 400, 429]
    assert LOCKED in answers[-1].text
    refused = browser.sign_in()
    assert refused.status_code == 429 and LOCKED in refused.text and browser.session_token is None
    with portal.database() as db:
        user = db.scalars(select(User)).one()
        assert user.failed_logins == 5 and user.locked_until is not None
        assert user.locked_until - datetime.now(UTC) <= timedelta(minutes=1)
        db.execute(update(User).values(locked_until=datetime.now(UTC) - timedelta(seconds=1)))
        db.commit()
    assert browser.sign_in().status_code == 303
    with portal.database() as db:
        user = db.scalars(select(User)).one()
        assert user.failed_logins == 0 and user.locked_until is None


def test_each_failure_after_the_lock_doubles_it(portal: Portal, browser: StaffBrowser) -> None:
    portal.create_user(AGENT)
    with portal.database() as db:
        db.execute(update(User).values(failed_logins=5))
        db.commit()
    assert browser.sign_in(password="wrong again!").status_code == 429
    with portal.database() as db:
        user = db.scalars(select(User)).one()
        assert user.locked_until is not None
        assert timedelta(minutes=1) < user.locked_until - datetime.now(UTC) <= timedelta(minutes=2)


def test_an_unknown_email_locks_the_same_way(portal: Portal, browser: StaffBrowser) -> None:
    answers = [browser.sign_in(email="ghost@example.com", password="guess") for _ in range(6)]
    assert [a.status_code for a in answers] == [400, 400, 400, 400, 429, 429]
    assert LOCKED in answers[-1].text


def test_many_failures_from_one_client_are_refused_for_a_while(
    portal: Portal, browser: StaffBrowser
) -> None:
    portal.create_user(AGENT)
    for n in range(20):
        assert browser.sign_in(email=f"guess{n}@example.com").status_code == 400
    refused = browser.sign_in()
    assert refused.status_code == 429 and "from this network" in refused.text


def test_a_login_without_a_csrf_token_is_refused(portal: Portal, browser: StaffBrowser) -> None:
    portal.create_user(AGENT)
    browser.get("/support/login")
    refused = browser.client.post("/support/login", data={"email": AGENT, "password": PASSWORD})
    assert refused.status_code == 400 and "form has expired" in refused.text
    assert browser.session_token is None


@pytest.mark.usefixtures("product_password_hashing")
def test_the_stored_hash_is_argon2id_and_old_parameters_are_rehashed_on_login(
    portal: Portal, browser: StaffBrowser
) -> None:
    portal.create_user(AGENT)
    with portal.database() as db:
        assert db.scalars(select(User.password_hash)).one().startswith("$argon2id$")
        weak = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1).hash(PASSWORD)
        db.execute(update(User).values(password_hash=weak))
        db.commit()
    assert browser.sign_in().status_code == 303
    with portal.database() as db:
        rehashed = db.scalars(select(User.password_hash)).one()
    assert rehashed != weak and rehashed.startswith("$argon2id$")
    assert not passwords.needs_rehash(rehashed)


def test_login_goes_back_to_the_support_page_asked_for(
    portal: Portal, browser: StaffBrowser
) -> None:
    portal.create_user(AGENT)
    asked = browser.get("/support/password?tab=1")
    assert asked.status_code == 303
    assert asked.headers["location"] == "/support/login?next=%2Fsupport%2Fpassword%3Ftab%3D1"
    assert browser.sign_in(next="/support/password?tab=1").headers["location"] == (
        "/support/password?tab=1"
    )


@pytest.mark.parametrize(
    "target",
    ["https://evil.example", "//evil.example/support/", "/other-store/", "\\\\evil.example"],
)
def test_login_never_sends_you_off_support(
    portal: Portal, browser: StaffBrowser, target: str
) -> None:
    portal.create_user(AGENT)
    page = browser.get(f"/support/login?next={target}")
    assert "evil.example" not in page.text and "other-store" not in page.text
    assert browser.sign_in(next=target).headers["location"] == "/support/"


def test_signing_in_gives_the_browser_a_new_csrf_id(portal: Portal, browser: StaffBrowser) -> None:
    portal.create_user(AGENT)
    planted = browser.csrf()  # a token an attacker could have planted before the sign-in
    before = browser.client.cookies.get("portal_csrf")
    browser.sign_in()
    after = browser.client.cookies.get("portal_csrf")
    assert before and after and before != after
    refused = browser.client.post("/support/logout", data={"csrf_token": planted})
    assert refused.headers["location"] != "/support/login"  # the planted token did nothing
    assert browser.get("/support/account").status_code == 200  # still signed in
    signed_out = browser.sign_out()  # with this browser's own, new token
    assert signed_out.headers["location"] == "/support/login"
    assert browser.get("/support/account").status_code == 303


def test_the_brakes_hold_across_processes(portal: Portal) -> None:
    """Two web processes on one database count the same failures (behind a round-robin
    balancer, four processes used to allow four times the limit)."""
    portal.create_user(AGENT)
    with running_portal(portal_settings(portal.database_url)) as other_base:
        browsers = [portal.browser(), StaffBrowser(other_base)]
        try:
            answers = [browsers[n % 2].sign_in(email=f"guess{n}@example.com") for n in range(20)]
            refused = [b.sign_in() for b in browsers]
            ghost = [browsers[n % 2].sign_in(email="ghost@example.com") for n in range(5)]
        finally:
            for browser in browsers:
                browser.close()
    assert [a.status_code for a in answers] == [400] * 20
    assert [r.status_code for r in refused] == [429, 429]
    assert all(g.status_code == 429 for g in ghost)


def test_sign_ins_sent_at_once_cannot_pass_the_client_brake(portal: Portal) -> None:
    portal.create_user(AGENT)
    browsers = [portal.browser() for _ in range(30)]
    pages = [b.client.get("/support/login") for b in browsers]

    def attempt(n: int) -> int:
        data = {"csrf_token": csrf_of(pages[n]), "email": f"guess{n}@example.com", "password": "x"}
        return browsers[n].client.post("/support/login", data=data).status_code

    try:
        with ThreadPoolExecutor(max_workers=30) as pool:
            statuses = list(pool.map(attempt, range(30)))
    finally:
        for browser in browsers:
            browser.close()
    assert statuses.count(400) <= 20
    assert statuses.count(429) >= 10
