"""Whatever stops a ``portal`` command is one line, ``portal <command>: <what>``, and a non-zero
exit code: never a traceback."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers.factories import TEST_ENCRYPTION_KEY
from tests.helpers.portal import TEST_SECRET
from tests.helpers.servers import free_port

REPOSITORY = Path(__file__).parents[1]
NOWHERE = "postgresql://portal@127.0.0.1:1/portal"  # nothing listens on port 1


def portal(*args: str, **settings: str) -> subprocess.CompletedProcess[str]:
    environ = {
        **{k: v for k, v in os.environ.items() if not k.startswith("PORTAL_")},
        "PORTAL_MODE": "development",
        "PORTAL_SECRET_KEY": TEST_SECRET,
        "PORTAL_ENCRYPTION_KEYS": TEST_ENCRYPTION_KEY,
        **settings,
    }
    return subprocess.run(  # noqa: S603 - our own interpreter and module
        [sys.executable, "-m", "portal.cli", *args],
        env=environ,
        cwd=REPOSITORY,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def assert_one_line(done: subprocess.CompletedProcess[str], command: str, *words: str) -> None:
    assert done.returncode != 0
    assert "Traceback" not in done.stderr
    assert done.stderr.count("\n") == 1, done.stderr
    assert done.stderr.startswith(f"portal {command}: "), done.stderr
    for word in words:
        assert word in done.stderr


@pytest.mark.parametrize(
    "args",
    [
        ("link", "--store", "test-goods", "--order", "#1001"),
        ("migrate",),
        ("sync-orders", "--store", "test-goods", "--month", "2026-01"),
        ("stores", "list"),
    ],
)
def test_a_database_that_does_not_answer_is_one_line(args: tuple[str, ...]) -> None:
    done = portal(*args, PORTAL_DATABASE_URL=NOWHERE)
    assert_one_line(done, args[0], "database")


def test_a_database_url_of_another_kind_is_one_line() -> None:
    done = portal("link", "--store", "s", "--order", "#1", PORTAL_DATABASE_URL="mysql://x@h/db")
    assert_one_line(done, "link", "mysql")


def test_a_malformed_setting_is_one_line_naming_it() -> None:
    done = portal("link", "--store", "s", "--order", "#1", PORTAL_PORT="eighty")
    assert_one_line(done, "link", "PORTAL_PORT")


def test_a_placeholder_secret_is_one_line_naming_it() -> None:
    done = portal("create-user", "--email", "a@example.com", PORTAL_SECRET_KEY="change-me")
    assert_one_line(done, "create-user", "PORTAL_SECRET_KEY")


@pytest.mark.parametrize(
    "args",
    [
        ("link", "--store", "nowhere", "--order", "#1001"),
        ("sync-orders", "--store", "nowhere", "--month", "2026-01"),
        ("invoices", "close", "--store", "nowhere", "--month", "2026-01"),
    ],
)
def test_an_unknown_store_is_one_line(args: tuple[str, ...], sqlite_url: str) -> None:
    done = portal(*args, PORTAL_DATABASE_URL=sqlite_url)
    assert_one_line(done, args[0], "nowhere")
    assert done.returncode == 1


def test_production_with_placeholders_does_not_start_and_names_each_one() -> None:
    port = free_port()
    done = portal(
        "serve",
        "--port",
        str(port),
        PORTAL_MODE="production",
        PORTAL_SECRET_KEY="change-me",
        PORTAL_ENCRYPTION_KEYS="",
        PORTAL_BASE_URL="http://portal.example.com",
        PORTAL_SHOPIFY_CLIENT_SECRET="",
    )
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    lines = done.stderr.splitlines()
    assert all(line.startswith("portal serve: PORTAL_") for line in lines), done.stderr
    named = {line.split()[2].split("=")[0] for line in lines}
    assert {
        "PORTAL_SECRET_KEY",
        "PORTAL_ENCRYPTION_KEYS",
        "PORTAL_BASE_URL",
        "PORTAL_SHOPIFY_CLIENT_ID",
        "PORTAL_SMTP_HOST",
        "PORTAL_MAIL_FROM",
    } <= named, done.stderr
    with socket.socket() as probe:  # nothing ever listened
        assert probe.connect_ex(("127.0.0.1", port)) != 0
