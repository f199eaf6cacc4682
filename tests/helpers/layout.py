"""The production layout as separate OS processes, for tests and benchmarks: ``portal sandbox``
as the outside services, then ``portal serve`` and ``portal worker`` processes that read one env
file (the sandbox's settings and the portal's own), on a database the caller provides."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from cryptography.fernet import Fernet
from sqlalchemy import create_engine, update

from portal.db import sync_url
from portal.stores.models import Store
from tests.helpers.servers import free_port

REPOSITORY = Path(__file__).resolve().parents[2]


@dataclass
class Process:
    name: str
    popen: subprocess.Popen[bytes]
    port: int | None = None

    def kill(self) -> None:
        self.popen.send_signal(signal.SIGKILL)
        self.popen.wait(timeout=10)

    def stop(self) -> None:
        if self.popen.poll() is None:
            self.popen.terminate()
            try:
                self.popen.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait()


@dataclass
class Layout:
    directory: Path
    database_url: str
    env_file: Path
    sandbox_url: str
    web: list[Process] = field(default_factory=list)
    workers: list[Process] = field(default_factory=list)
    others: list[Process] = field(default_factory=list)

    def start(self, name: str, *args: str, port: int | None = None) -> Process:
        log = (self.directory / f"{name}.log").open("ab")
        popen = subprocess.Popen(  # noqa: S603 - our own interpreter and module
            [sys.executable, "-m", "portal.cli", "--env-file", str(self.env_file), *args],
            cwd=self.directory,
            env=clean_environ(),
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()
        return Process(name, popen, port)

    def portal(self, *args: str, stdin: str | None = None) -> str:
        done = subprocess.run(  # noqa: S603 - our own interpreter and module
            [sys.executable, "-m", "portal.cli", "--env-file", str(self.env_file), *args],
            cwd=self.directory,
            env=clean_environ(),
            input=stdin,
            capture_output=True,
            text=True,
            timeout=90,
            check=False,
        )
        assert done.returncode == 0, f"portal {' '.join(args)}: {done.stdout}{done.stderr}"
        return done.stdout

    def stop_all(self) -> None:
        for process in self.web + self.workers + self.others:
            process.stop()

    def services(self) -> dict[str, Any]:
        """The sandbox's stores and their credentials."""
        found: dict[str, Any] = httpx.get(f"{self.sandbox_url}/services.json").json()
        return found

    def log(self, name: str) -> str:
        return (self.directory / f"{name}.log").read_text(errors="replace")


def clean_environ() -> dict[str, str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("PORTAL_")}
    return {**base, "PYTHONUNBUFFERED": "1", "PYTHONPATH": str(REPOSITORY)}


def wait_until(what: str, ready: Any, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while not ready():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} did not happen within {seconds} s")
        time.sleep(0.2)


def answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


@contextmanager
def deployed(
    directory: Path,
    *,
    database_url: str,
    web_processes: int = 1,
    workers: int = 1,
    plan: str = "standard",
    settings: Sequence[str] = (),
) -> Iterator[Layout]:
    """``portal sandbox``, then the portal's own processes on ``database_url`` (migrated, the
    sandbox's two demo stores added with their protection products and Corso credentials), all
    from one env file; every process is stopped on the way out."""
    with ExitStack() as stack:
        sandbox_port, smtp_port = free_port(), free_port()
        web_ports = [free_port() for _ in range(web_processes)]
        sandbox_env = directory / "sandbox.env"
        env_file = directory / "portal.env"
        layout = Layout(
            directory, database_url, env_file, f"http://127.0.0.1:{sandbox_port}/sandbox"
        )
        env_file.write_text("")
        sandbox = layout.start(
            "sandbox",
            "sandbox",
            "--port",
            str(sandbox_port),
            "--smtp-port",
            str(smtp_port),
            "--portal-url",
            f"http://127.0.0.1:{web_ports[0]}",
            "--write-env",
            str(sandbox_env),
            "--plan",
            plan,
        )
        layout.others.append(sandbox)
        stack.callback(layout.stop_all)
        wait_until("the sandbox", lambda: answers(f"http://127.0.0.1:{sandbox_port}/healthz"))
        env_file.write_text(
            sandbox_env.read_text()
            + "\n".join(
                [
                    "PORTAL_MODE=development",
                    f"PORTAL_DATABASE_URL={database_url}",
                    f"PORTAL_SECRET_KEY={Fernet.generate_key().decode()}x",
                    f"PORTAL_ENCRYPTION_KEYS={Fernet.generate_key().decode()}",
                    f"PORTAL_UPLOAD_DIR={directory / 'uploads'}",
                    "PORTAL_LOOKUP_MIN_SECONDS=0",
                    "PORTAL_FORWARDED_ALLOW_IPS=127.0.0.1",
                    "PORTAL_LOG_LEVEL=warning",
                    *settings,
                    "",
                ]
            )
        )
        layout.portal("migrate")
        for store in layout.services()["stores"]:
            layout.portal(
                "stores", "add", "--shop", store["shop_domain"], "--token", store["access_token"]
            )
            layout.portal(
                "stores",
                "update",
                store["slug"],
                "--claim-window-days",
                "365",
                "--corso-client-id",
                store["corso_client_id"],
                "--corso-client-secret",
                "-",
                stdin=store["corso_client_secret"] + "\n",
            )
            _protect(database_url, store["slug"], store["protection_variant_ids"])
        for index, port in enumerate(web_ports):
            layout.web.append(layout.start(f"web{index}", "serve", "--port", str(port), port=port))
        for index in range(workers):
            layout.workers.append(layout.start(f"worker{index}", "worker"))
        for process in layout.web:  # a busy machine starts several processes slowly
            ready = f"http://127.0.0.1:{process.port}/readyz"
            wait_until(process.name, lambda url=ready: answers(url), seconds=180)
        yield layout


def _protect(database_url: str, slug: str, variant_ids: list[str]) -> None:
    """The store's protection variants (the settings page's product search, done directly)."""
    engine = create_engine(sync_url(database_url))
    try:
        with engine.begin() as db:
            db.execute(
                update(Store).where(Store.slug == slug).values(protection_variant_ids=variant_ids)
            )
    finally:
        engine.dispose()
