"""``portal create-user``: add a support user from the command line, or reset a password."""

from __future__ import annotations

import io

import pytest
from sqlalchemy import select

from portal.accounts.models import StaffSession, User
from portal.cli import main
from tests.helpers.factories import TEST_ENCRYPTION_KEY
from tests.helpers.portal import TEST_SECRET, Portal
from tests.helpers.staff import PASSWORD, StaffBrowser


@pytest.fixture
def command(portal: Portal, monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name, value in {
        "PORTAL_MODE": "development",
        "PORTAL_SECRET_KEY": TEST_SECRET,
        "PORTAL_ENCRYPTION_KEYS": TEST_ENCRYPTION_KEY,
        "PORTAL_DATABASE_URL": portal.database_url,
    }.items():
        monkeypatch.setenv(name, value)
    return monkeypatch


def run(command: pytest.MonkeyPatch, args: list[str], password: str = PASSWORD) -> int:
    command.setattr("sys.stdin", io.StringIO(password + "\n"))
    return main(["create-user", "--password-stdin", *args])


def test_create_user_adds_a_user_who_can_sign_in(
    command: pytest.MonkeyPatch,
    portal: Portal,
    browser: StaffBrowser,
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert run(command, ["--email", " Admin@Example.COM ", "--role", "admin"]) == 0
    assert capsys.readouterr().out.strip() == "portal: created admin admin@example.com"
    with portal.database() as db:
        user = db.scalars(select(User)).one()
    assert user.email == "admin@example.com" and user.role == "admin" and user.store_id is None
    assert browser.sign_in(email="admin@example.com").status_code == 303


def test_create_user_adds_a_merchant_user_of_a_store(
    command: pytest.MonkeyPatch, portal: Portal, capsys: pytest.CaptureFixture[str]
) -> None:
    portal.create_store("Maple & Moss", "maple-and-moss")
    args = ["--email", "owner@maple.example", "--role", "merchant", "--store", "maple-and-moss"]
    assert run(command, args) == 0
    assert "of store maple-and-moss" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("args", "password", "message"),
    [
        (["--email", "a@example.com", "--role", "agent"], "too short", "at least 12"),
        (["--email", "m@example.com", "--role", "merchant"], PASSWORD, "needs a store"),
        (
            ["--email", "m@example.com", "--role", "merchant", "--store", "nowhere"],
            PASSWORD,
            "No store has the slug",
        ),
        (
            ["--email", "a@example.com", "--role", "agent", "--store", "maple-and-moss"],
            PASSWORD,
            "Only merchant users",
        ),
        (["--email", "not-an-email", "--role", "agent"], PASSWORD, "not valid"),
    ],
)
def test_create_user_refuses_bad_input(
    command: pytest.MonkeyPatch,
    portal: Portal,
    capsys: pytest.CaptureFixture[str],
    args: list[str],
    password: str,
    message: str,
) -> None:
    portal.create_store("Maple & Moss", "maple-and-moss")
    assert run(command, args, password) == 1
    assert message in capsys.readouterr().err
    with portal.database() as db:
        assert db.scalars(select(User)).all() == []


def test_create_user_refuses_an_email_that_already_has_an_account(
    command: pytest.MonkeyPatch, portal: Portal, capsys: pytest.CaptureFixture[str]
) -> None:
    portal.create_user("agent@example.com")
    assert run(command, ["--email", "AGENT@example.com", "--role", "admin"]) == 1
    assert "already has an account" in capsys.readouterr().err


def test_reset_password_sets_a_new_one_and_ends_sessions(
    command: pytest.MonkeyPatch,
    portal: Portal,
    browser: StaffBrowser,
    capsys: pytest.CaptureFixture[str],
) -> None:
    portal.create_user("agent@example.com")
    browser.sign_in(email="agent@example.com")
    new = "a brand new passphrase"
    assert run(command, ["--email", "agent@example.com", "--reset-password"], new) == 0
    assert "new password set for agent@example.com" in capsys.readouterr().out
    assert browser.get("/support/").status_code == 303
    with portal.database() as db:
        assert db.scalars(select(StaffSession.revoked_at)).one() is not None
    assert browser.sign_in(email="agent@example.com", password=new).status_code == 303


def test_the_password_is_asked_twice_at_the_terminal(
    command: pytest.MonkeyPatch, portal: Portal, capsys: pytest.CaptureFixture[str]
) -> None:
    answers = iter([PASSWORD, PASSWORD + "typo"])
    command.setattr("getpass.getpass", lambda prompt: next(answers))
    assert main(["create-user", "--email", "a@example.com", "--role", "agent"]) == 1
    assert "not the same" in capsys.readouterr().err
