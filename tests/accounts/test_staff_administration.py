"""Staff administration over HTTP: the staff list per role, invitations by email with a
single-use link that sets a first password, role and store changes, disabling (which ends every
session at once), the last active admin, and the audit of it all."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import func, select, update

from portal.accounts.models import StaffAuditEvent, StaffInvitation, StaffSession, User
from portal.clock import utcnow
from portal.jobs.email import SEND_EMAIL
from portal.jobs.models import Job
from portal.stores.models import Store
from tests.helpers.environment import PortalEnvironment
from tests.helpers.portal import Portal
from tests.helpers.staff import PASSWORD, StaffBrowser, invitation_path

ADMIN = "admin@example.com"
AGENT = "agent@example.com"
OWNER = "owner@maple.example"
NEW_PASSWORD = "a fresh passphrase for support"


@pytest.fixture
def admin(portal: Portal) -> Iterator[StaffBrowser]:
    portal.create_user(ADMIN, role="admin")
    browser = portal.browser()
    assert browser.sign_in(email=ADMIN).status_code == 303
    yield browser
    browser.close()


def _store_id(portal: Portal, slug: str) -> int:
    with portal.database() as db:
        return db.scalars(select(Store.id).where(Store.slug == slug)).one()


def _user(portal: Portal, email: str) -> User | None:
    with portal.database() as db:
        user = db.scalars(select(User).where(User.email == email)).one_or_none()
        if user is not None:
            db.expunge(user)
        return user


def _queued_link(portal: Portal, email: str) -> str:
    """The link of the latest invitation email queued for ``email`` (no worker runs here)."""
    with portal.database() as db:
        payloads = db.scalars(select(Job.payload).where(Job.kind == SEND_EMAIL)).all()
    texts = [p["text"] for p in payloads if p["to"] == email]
    assert texts, f"no email queued for {email}"
    return invitation_path(texts[-1])


def _audit(portal: Portal) -> list[tuple[str, str]]:
    with portal.database() as db:
        rows = db.execute(
            select(User.email, StaffAuditEvent.action)
            .join(User, User.id == StaffAuditEvent.target_id)
            .order_by(StaffAuditEvent.id)
        ).all()
    return [(email, action) for email, action in rows]


def _count(portal: Portal, model: type) -> int:
    with portal.database() as db:
        return int(db.scalar(select(func.count()).select_from(model)) or 0)


def _redirects_to_login(answer: httpx.Response) -> bool:
    return answer.status_code == 303 and answer.headers["location"].startswith("/support/login")


# --- the list ----------------------------------------------------------------------------------


def test_the_staff_list_shows_admins_everyone_merchants_their_store_and_agents_nothing(
    portal: Portal, admin: StaffBrowser, browser: StaffBrowser, other_browser: StaffBrowser
) -> None:
    portal.create_store("Maple & Moss", "maple")
    portal.create_store("Other Shop", "other")
    portal.create_user(AGENT)
    portal.create_user(OWNER, role="merchant", store="maple")
    portal.create_user("someone@other.example", role="merchant", store="other")

    listed = admin.get("/support/staff/")
    assert listed.status_code == 200
    for email in (ADMIN, AGENT, OWNER, "someone@other.example"):
        assert f'data-email="{email}"' in listed.text
    assert 'class="tag role role-admin" data-role="admin"' in listed.text
    assert 'data-role="agent"' in listed.text and "Maple &amp; Moss" in listed.text
    assert '/support/staff/">Staff</a>' in listed.text  # the navigation link

    assert browser.sign_in(email=OWNER).status_code == 303
    own = browser.get("/support/staff/")
    assert own.status_code == 200
    assert f'data-email="{OWNER}"' in own.text
    assert "someone@other.example" not in own.text and AGENT not in own.text

    assert other_browser.sign_in(email=AGENT).status_code == 303
    assert other_browser.get("/support/staff/").status_code == 403
    assert '/support/staff/">Staff</a>' not in other_browser.get("/support/account").text
    for path in ("/support/staff/invite", "/support/staff/audit", "/support/staff/1"):
        assert other_browser.get(path).status_code == 403
    assert other_browser.invite("x@example.com").status_code == 403
    assert _user(portal, "x@example.com") is None


# --- invitations -------------------------------------------------------------------------------


def test_an_invitation_email_arrives_and_its_link_sets_a_password_once(
    env: PortalEnvironment, database_url: str
) -> None:
    portal = Portal(env.base_url, database_url)
    portal.create_user(ADMIN, role="admin")
    admin, invitee, later = portal.browser(), portal.browser(), portal.browser()
    try:
        assert admin.sign_in(email=ADMIN).status_code == 303
        sent = admin.invite("New.Agent@Example.com", role="agent")
        assert sent.status_code == 303 and sent.headers["location"].endswith("done=invited")
        listed = admin.get("/support/staff/").text
        assert 'data-email="new.agent@example.com"' in listed and 'data-status="invited"' in listed

        email = env.wait_for_email("new.agent@example.com", "invited")
        path = invitation_path(email.text)
        assert path in (email.html or "")
        assert invitee.sign_in(email="new.agent@example.com", password=PASSWORD).status_code == 400

        done = invitee.set_first_password(path, NEW_PASSWORD)
        assert done.status_code == 303 and done.headers["location"].endswith("/support/")
        assert invitee.get("/support/queue").status_code == 200

        assert (
            later.sign_in(email="new.agent@example.com", password=NEW_PASSWORD).status_code == 303
        )
        again = later.client.get(path)
        assert again.status_code == 410 and "does not work" in again.text

        listed = admin.get("/support/staff/").text
        assert 'data-status="invited"' not in listed
        audit = admin.get("/support/staff/audit")
        assert audit.status_code == 200
        assert 'data-action="invited"' in audit.text and 'data-action="joined"' in audit.text
    finally:
        for b in (admin, invitee, later):
            b.close()
    assert _audit(portal) == [
        ("new.agent@example.com", "invited"),
        ("new.agent@example.com", "joined"),
    ]


def test_a_used_expired_or_forged_link_is_refused_and_writes_nothing(
    portal: Portal, admin: StaffBrowser, browser: StaffBrowser
) -> None:
    assert admin.invite("late@example.com").status_code == 303
    path = _queued_link(portal, "late@example.com")
    token = path.rsplit("/", 1)[1]
    with portal.database() as db:
        invitation = db.scalars(select(StaffInvitation)).one()
        assert invitation.token_hash != token and len(invitation.token_hash) == 64
        db.execute(update(StaffInvitation).values(expires_at=utcnow() - timedelta(seconds=1)))
        db.commit()
    sessions = _count(portal, StaffSession)
    for forged in (path, path[:-1] + ("A" if path[-1] != "A" else "B"), "/support/invitations/x"):
        assert browser.get(forged).status_code == 410
        posted = browser.post_form(
            forged, {"new_password": NEW_PASSWORD, "confirm_password": NEW_PASSWORD}
        )
        assert posted.status_code == 410 and "does not work" in posted.text
    long = browser.get("/support/invitations/" + "a" * 5000)
    assert long.status_code in (404, 410, 414)
    user = _user(portal, "late@example.com")
    assert user is not None and user.password_hash == ""
    assert _count(portal, StaffSession) == sessions


def test_the_set_password_page_keeps_the_password_rules(
    portal: Portal, admin: StaffBrowser, browser: StaffBrowser
) -> None:
    assert admin.invite("short@example.com").status_code == 303
    path = _queued_link(portal, "short@example.com")
    short = browser.set_first_password(path, "too short")
    assert short.status_code == 400 and "at least 12 characters" in short.text
    differ = browser.set_first_password(path, NEW_PASSWORD, confirm=NEW_PASSWORD + "!")
    assert differ.status_code == 400 and "not the same" in differ.text
    user = _user(portal, "short@example.com")
    assert user is not None and user.password_hash == ""
    assert browser.set_first_password(path, NEW_PASSWORD).status_code == 303


def test_inviting_again_replaces_the_link_and_an_existing_account_is_refused(
    portal: Portal, admin: StaffBrowser, browser: StaffBrowser
) -> None:
    assert admin.invite("twice@example.com").status_code == 303
    first = _queued_link(portal, "twice@example.com")
    assert admin.invite("twice@example.com", role="admin").status_code == 303
    second = _queued_link(portal, "twice@example.com")
    assert first != second
    assert browser.get(first).status_code == 410
    assert browser.set_first_password(second).status_code == 303
    user = _user(portal, "twice@example.com")
    assert user is not None and user.role == "admin"
    assert _count(portal, StaffInvitation) == 1

    taken = admin.invite("twice@example.com")
    assert taken.status_code == 400 and "already has an account" in taken.text
    bad = admin.invite("not an email")
    assert bad.status_code == 400 and "name@example.com" in bad.text


def test_a_merchant_user_invites_colleagues_to_its_own_store_only(
    portal: Portal, browser: StaffBrowser
) -> None:
    portal.create_store("Maple & Moss", "maple")
    portal.create_store("Other Shop", "other")
    portal.create_user(OWNER, role="merchant", store="maple")
    maple, other = _store_id(portal, "maple"), _store_id(portal, "other")
    assert browser.sign_in(email=OWNER).status_code == 303

    page = browser.get("/support/staff/invite")
    assert page.status_code == 200 and "Other Shop" not in page.text

    forged = browser.invite("spy@example.com", role="merchant", store=str(other))
    assert forged.status_code == 400 and "Not a valid choice" in forged.text
    as_admin = browser.invite("boss@example.com", role="admin", store="")
    assert as_admin.status_code == 400
    assert _user(portal, "spy@example.com") is None and _user(portal, "boss@example.com") is None

    ok = browser.invite("colleague@maple.example", role="merchant", store=str(maple))
    assert ok.status_code == 303
    colleague = _user(portal, "colleague@maple.example")
    assert colleague is not None and (colleague.role, colleague.store_id) == ("merchant", maple)
    assert browser.get("/support/staff/1").status_code == 403  # no role changes for merchants
    for path in ("/support/staff/1/disable", "/support/staff/1/enable"):
        assert browser.post_form(path, {}).status_code == 403


def test_a_merchant_user_cannot_take_over_another_stores_invitation(
    portal: Portal, admin: StaffBrowser, browser: StaffBrowser
) -> None:
    portal.create_store("Maple & Moss", "maple")
    portal.create_store("Other Shop", "other")
    portal.create_user(OWNER, role="merchant", store="maple")
    maple, other = _store_id(portal, "maple"), _store_id(portal, "other")
    assert admin.invite("pending@other.example", "merchant", str(other)).status_code == 303
    assert browser.sign_in(email=OWNER).status_code == 303
    taken = browser.invite("pending@other.example", "merchant", str(maple))
    assert taken.status_code == 400 and "already has an account" in taken.text
    pending = _user(portal, "pending@other.example")
    assert pending is not None and pending.store_id == other
    assert _count(portal, StaffInvitation) == 1


def test_an_admin_invites_a_merchant_user_of_a_chosen_store(
    portal: Portal, admin: StaffBrowser
) -> None:
    portal.create_store("Maple & Moss", "maple")
    maple = _store_id(portal, "maple")
    nowhere = admin.invite("m@maple.example", role="merchant", store="")
    assert nowhere.status_code == 400 and "choose one" in nowhere.text
    with_store = admin.invite("a@example.com", role="agent", store=str(maple))
    assert with_store.status_code == 400 and "leave the store empty" in with_store.text
    assert admin.invite("m@maple.example", role="merchant", store=str(maple)).status_code == 303
    text = _queued_link(portal, "m@maple.example")
    assert text.startswith("/support/invitations/")


# --- role, store and status ----------------------------------------------------------------------


def test_an_admin_changes_a_role_and_store(portal: Portal, admin: StaffBrowser) -> None:
    portal.create_store("Maple & Moss", "maple")
    maple = _store_id(portal, "maple")
    portal.create_user(AGENT)
    agent = _user(portal, AGENT)
    assert agent is not None
    page = admin.get(f"/support/staff/{agent.id}")
    assert page.status_code == 200 and 'data-role="agent"' in page.text

    missing = admin.post_form(f"/support/staff/{agent.id}", {"role": "merchant", "store": ""})
    assert missing.status_code == 400 and "choose one" in missing.text
    bogus = admin.post_form(f"/support/staff/{agent.id}", {"role": "owner", "store": ""})
    assert bogus.status_code == 400
    saved = admin.post_form(f"/support/staff/{agent.id}", {"role": "merchant", "store": str(maple)})
    assert saved.status_code == 303
    moved = _user(portal, AGENT)
    assert moved is not None and (moved.role, moved.store_id) == ("merchant", maple)
    with portal.database() as db:
        detail = db.scalars(select(StaffAuditEvent.detail)).one()
    assert detail == "agent → merchant of Maple & Moss"
    assert admin.get("/support/staff/999999").status_code == 404


def test_disabling_ends_an_open_session_at_once_and_blocks_sign_in(
    portal: Portal, admin: StaffBrowser, browser: StaffBrowser
) -> None:
    portal.create_user(AGENT)
    agent = _user(portal, AGENT)
    assert agent is not None
    assert browser.sign_in(email=AGENT).status_code == 303
    assert browser.get("/support/queue").status_code == 200

    assert admin.post_form(f"/support/staff/{agent.id}/disable", {}).status_code == 303
    assert _redirects_to_login(browser.get("/support/queue"))
    with portal.database() as db:
        ended = db.scalars(
            select(StaffSession.revoked_at).where(StaffSession.user_id == agent.id)
        ).all()
    assert ended and all(at is not None for at in ended)
    refused = browser.sign_in(email=AGENT)
    assert refused.status_code == 400
    listed = admin.get("/support/staff/").text
    assert 'data-status="disabled"' in listed

    no_csrf = admin.client.post(f"/support/staff/{agent.id}/enable", data={})
    assert no_csrf.status_code == 400
    assert admin.post_form(f"/support/staff/{agent.id}/enable", {}).status_code == 303
    assert browser.sign_in(email=AGENT).status_code == 303
    assert _audit(portal) == [(AGENT, "disabled"), (AGENT, "enabled")]


def test_the_last_active_admin_stays_an_admin(
    portal: Portal, admin: StaffBrowser, browser: StaffBrowser
) -> None:
    me = _user(portal, ADMIN)
    assert me is not None
    demoted = admin.post_form(f"/support/staff/{me.id}", {"role": "agent", "store": ""})
    assert demoted.status_code == 400 and "last active admin" in demoted.text
    disabled = admin.post_form(f"/support/staff/{me.id}/disable", {})
    assert disabled.status_code == 400 and "last active admin" in disabled.text
    still = _user(portal, ADMIN)
    assert still is not None and still.role == "admin" and not still.disabled
    assert admin.get("/support/staff/").status_code == 200
    assert _audit(portal) == []

    # An invited admin who has no password yet is not an active admin.
    assert admin.invite("second@example.com", role="admin").status_code == 303
    demoted = admin.post_form(f"/support/staff/{me.id}", {"role": "agent", "store": ""})
    assert demoted.status_code == 400
    assert browser.set_first_password(_queued_link(portal, "second@example.com")).status_code == 303
    assert (
        admin.post_form(f"/support/staff/{me.id}", {"role": "agent", "store": ""}).status_code
        == 303
    )
    assert admin.get("/support/staff/").status_code == 403  # an agent now
    second = _user(portal, "second@example.com")
    assert second is not None and second.role == "admin"


def test_a_disabled_invitee_cannot_use_the_link(
    portal: Portal, admin: StaffBrowser, browser: StaffBrowser
) -> None:
    assert admin.invite("gone@example.com").status_code == 303
    path = _queued_link(portal, "gone@example.com")
    gone = _user(portal, "gone@example.com")
    assert gone is not None
    assert admin.post_form(f"/support/staff/{gone.id}/disable", {}).status_code == 303
    assert browser.get(path).status_code == 410
    assert _count(portal, StaffInvitation) == 0
    assert PASSWORD  # the invitee never had one
