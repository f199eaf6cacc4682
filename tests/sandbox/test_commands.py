"""``portal demo`` and ``portal sandbox`` as an operator runs them, each in its own process:
``portal --env-file var/demo.env check`` beside the demo, and a portal pointed at the standalone
sandbox through the env file it writes."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from tests.helpers.layout import clean_environ
from tests.helpers.servers import free_port

pytestmark = pytest.mark.e2e


def portal(cwd: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603 - our own interpreter and module
        [sys.executable, "-m", "portal.cli", *args],
        cwd=cwd,
        env={**clean_environ(), **env},
        capture_output=True,
        text=True,
        timeout=90,
        check=False,
    )


@contextmanager
def running(cwd: Path, *args: str, ready: str, log: Path) -> Iterator[subprocess.Popen[str]]:
    """``portal ARGS`` in the background until its output says ``ready``."""
    with log.open("w") as out:
        process = subprocess.Popen(  # noqa: S603 - our own interpreter and module
            [sys.executable, "-m", "portal.cli", *args],
            cwd=cwd,
            env=clean_environ(),
            stdout=out,
            stderr=subprocess.STDOUT,
            text=True,
        )
    try:
        deadline = time.monotonic() + 90
        while ready not in log.read_text():
            if process.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"portal {args[0]} did not start:\n{log.read_text()}")
            time.sleep(0.2)
        yield process
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def rows(output: str) -> dict[str, str]:
    """Each row of ``portal check`` by name: its status."""
    found = {}
    for line in output.splitlines():
        for status in ("OK", "WARN", "FAIL"):
            marker = f"  {status:<4}  "
            if marker in line:
                found[line.split(marker, 1)[0].strip()] = status
    return found


def test_portal_check_beside_the_demo_is_all_ok_and_names_a_missing_secret(
    tmp_path: Path,
) -> None:
    port = free_port()
    with running(
        tmp_path, "demo", "--port", str(port), ready="portal --env-file", log=tmp_path / "demo.log"
    ):
        env_file = tmp_path / "var" / "demo.env"
        assert env_file.stat().st_mode & 0o777 == 0o600
        checked = portal(tmp_path, "--env-file", "var/demo.env", "check")
        assert checked.returncode == 0, checked.stdout + checked.stderr
        found = rows(checked.stdout)
        assert set(found.values()) == {"OK"}, checked.stdout
        assert "store maple-and-moss: webhooks" in found
        assert "store harbor-outfitters: corso" in found

        no_secret = portal(
            tmp_path, "--env-file", "var/demo.env", "check", PORTAL_SHOPIFY_CLIENT_SECRET=""
        )
        assert no_secret.returncode == 1
        assert rows(no_secret.stdout)["shopify app"] == "FAIL"
        assert "PORTAL_SHOPIFY_CLIENT_SECRET" in no_secret.stdout


def test_an_env_file_that_does_not_exist_is_one_line(tmp_path: Path) -> None:
    done = portal(tmp_path, "--env-file", "nowhere.env", "check")
    assert done.returncode == 2
    assert (
        done.stderr.strip()
        == "portal check: PORTAL_ENV_FILE names nowhere.env, which is not a file"
    )


def test_standalone_sandbox_writes_the_settings_a_portal_needs(tmp_path: Path) -> None:
    port, smtp_port = free_port(), free_port()
    portal_url = "http://127.0.0.1:8999"
    with running(
        tmp_path,
        "sandbox",
        "--port",
        str(port),
        "--smtp-port",
        str(smtp_port),
        "--portal-url",
        portal_url,
        ready="portal --env-file",
        log=tmp_path / "sandbox.log",
    ):
        env = dict(
            line.split("=", 1)
            for line in (tmp_path / "var" / "sandbox.env").read_text().splitlines()
            if line and not line.startswith("#")
        )
        sandbox = f"http://127.0.0.1:{port}/sandbox"
        assert env["PORTAL_BASE_URL"] == portal_url
        assert env["PORTAL_SMTP_PORT"] == str(smtp_port)
        assert env["PORTAL_SHOPIFY_OAUTH_URL"] == f"{sandbox}/shopify/{{shop}}/admin/oauth"
        assert env["PORTAL_CORSO_AUTH_URL"] == f"{sandbox}/corso/oauth/token"
        page = httpx.get(f"{sandbox}/")
        assert page.status_code == 200
        assert f"{portal_url}/shopify/install?shop=maple-and-moss.myshopify.com" in page.text
        services = httpx.get(f"{sandbox}/services.json").json()
        store = services["stores"][0]
        token = httpx.post(
            env["PORTAL_CORSO_AUTH_URL"],
            json={
                "grant_type": "client_credentials",
                "client_id": store["corso_client_id"],
                "client_secret": store["corso_client_secret"],
                "audience": services["corso"]["audience"],
            },
        )
        assert token.status_code == 200, token.text
        endpoint = env["PORTAL_SHOPIFY_ENDPOINT"].format(
            shop=store["shop_domain"], version=store["api_version"]
        )
        shop = httpx.post(
            endpoint,
            json={"query": "{ shop { name } }"},
            headers={"X-Shopify-Access-Token": store["access_token"]},
        )
        assert shop.json()["data"]["shop"]["name"] == store["name"]
