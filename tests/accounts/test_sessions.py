"""Staff sessions over HTTP: every support page needs one, and logout, a password change, the
idle timeout and the absolute lifetime each end them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlalchemy import select, update

from portal.accounts.models import StaffSession
from tests.helpers.portal import Portal
from tests.helpers.staff import AGENT, PASSWORD, StaffBrowser

NEW_PASSWORD = "a much longer new passphrase"


def _with_cookie(portal: Portal, token: str) -> httpx.Response:
    with httpx.Client(base_url=portal.base_url, cookies={"portal_staff": token}) as client:
        return client.get("/support/")


def _redirects_to_login(answer: httpx.Response) -> bool:
    return answer.status_code == 303 and answer.headers["location"].startswith("/support/login")


@pytest.mark.parametrize("path", ["/support/", "/support/password", "/support/password?x=%2F"])
def test_every_support_page_sends_a_stranger_to_login(
    portal: Portal, browser: StaffBrowser, path: str
) -> None:
    assert _redirects_to_login(browser.get(path))


def test_support_without_the_slash_also_ends_at_login(
    portal: Portal, browser: StaffBrowser
) -> None:
    answer = browser.client.get("/support", follow_redirects=True)
    assert answer.status_code == 200 and answer.url.path == "/support/login"


def test_a_made_up_cookie_opens_nothing(portal: Portal) -> None:
    assert _redirects_to_login(_with_cookie(portal, "made-up-token"))
    assert _redirects_to_login(_with_cookie(portal, "x" * 500))


def test_logout_ends_the_session_for_good(portal: Portal, browser: StaffBrowser) -> None:
    portal.create_user(AGENT)
    browser.sign_in()
    token = browser.session_token
    assert token is not None
    out = browser.sign_out()
    assert out.status_code == 303 and out.headers["location"] == "/support/login"
    assert browser.session_token is None
    assert _redirects_to_login(_with_cookie(portal, token))
    with portal.database() as db:
        assert db.scalars(select(StaffSession.revoked_at)).one() is not None


def test_logout_without_a_csrf_token_changes_nothing(portal: Portal, browser: StaffBrowser) -> None:
    portal.create_user(AGENT)
    browser.sign_in()
    refused = browser.client.post("/support/logout")
    assert refused.status_code == 303
    assert browser.get("/support/").status_code == 200


def test_changing_the_password_ends_every_other_session(
    portal: Portal, browser: StaffBrowser, other_browser: StaffBrowser
) -> None:
    portal.create_user(AGENT)
    browser.sign_in()
    other_browser.sign_in()
    old_token = browser.session_token
    changed = browser.change_password(PASSWORD, NEW_PASSWORD)
    assert changed.status_code == 200 and "Your password is changed" in changed.text
    assert browser.session_token not in (None, old_token)
    assert browser.get("/support/").status_code == 200
    assert _redirects_to_login(other_browser.get("/support/"))
    assert other_browser.sign_in().status_code == 400
    assert other_browser.sign_in(password=NEW_PASSWORD).status_code == 303


@pytest.mark.parametrize(
    ("current", "new", "confirm", "message"),
    [
        ("not my password", NEW_PASSWORD, None, "The current password is not right."),
        (PASSWORD, "short", None, "at least 12 characters"),
        (PASSWORD, NEW_PASSWORD, NEW_PASSWORD + "!", "are not the same"),
    ],
)
def test_a_refused_password_change_keeps_everything_as_it_was(
    portal: Portal,
    browser: StaffBrowser,
    other_browser: StaffBrowser,
    current: str,
    new: str,
    confirm: str | None,
    message: str,
) -> None:
    portal.create_user(AGENT)
    browser.sign_in()
    other_browser.sign_in()
    refused = browser.change_password(current, new, confirm)
    assert refused.status_code == 400 and message in refused.text
    assert other_browser.get("/support/").status_code == 200


def test_a_password_change_without_a_csrf_token_is_refused(
    portal: Portal, browser: StaffBrowser
) -> None:
    portal.create_user(AGENT)
    browser.sign_in()
    refused = browser.client.post(
        "/support/password",
        data={
            "current_password": PASSWORD,
            "new_password": NEW_PASSWORD,
            "confirm_password": NEW_PASSWORD,
        },
    )
    assert refused.status_code == 400 and "form has expired" in refused.text


@pytest.mark.parametrize(
    "expired",
    [
        {"last_seen_at": datetime.now(UTC) - timedelta(hours=2, minutes=1)},
        {"expires_at": datetime.now(UTC) - timedelta(seconds=1)},
    ],
    ids=["idle", "absolute"],
)
def test_a_session_ends_after_idling_or_at_its_lifetime(
    portal: Portal, browser: StaffBrowser, expired: dict[str, datetime]
) -> None:
    portal.create_user(AGENT)
    browser.sign_in()
    assert browser.get("/support/").status_code == 200
    with portal.database() as db:
        db.execute(update(StaffSession).values(**expired))
        db.commit()
    assert _redirects_to_login(browser.get("/support/"))


def test_use_keeps_a_session_alive(portal: Portal, browser: StaffBrowser) -> None:
    portal.create_user(AGENT)
    browser.sign_in()
    with portal.database() as db:
        db.execute(update(StaffSession).values(last_seen_at=datetime.now(UTC) - timedelta(hours=1)))
        db.commit()
    assert browser.get("/support/").status_code == 200
    with portal.database() as db:
        seen = db.scalars(select(StaffSession.last_seen_at)).one()
    assert datetime.now(UTC) - seen < timedelta(minutes=1)


def test_guessing_the_current_password_locks_the_account(
    portal: Portal, browser: StaffBrowser, other_browser: StaffBrowser
) -> None:
    portal.create_user(AGENT)
    browser.sign_in()
    answers = [browser.change_password(f"guess number {n}", NEW_PASSWORD) for n in range(6)]
    assert all(a.status_code == 400 for a in answers)
    assert "locked for a while" in answers[-1].text
    assert "locked for a while" in other_browser.sign_in().text
    with portal.database() as db:
        assert db.scalars(select(StaffSession.revoked_at)).one() is None
