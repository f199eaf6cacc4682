"""The portal's worker as a real OS process (``portal worker``), for tests that kill it with
SIGKILL mid-job and start another.

``crash_environment`` is ``portal_environment`` without the portal's in-process worker and without
the web app: a sandbox shop and sandbox Corso on loopback, an SMTP server that can hold or
interrupt one message, the store in the database under test, and a ``WorkerProcess`` whose
settings reach the child as ``PORTAL_*`` variables. Only that child executes jobs.
"""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing
import multiprocessing.context
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage
from functools import cache
from pathlib import Path
from typing import Any, TypeVar

from aiosmtpd.smtp import Envelope, Session
from sqlalchemy import select, update

from portal.clock import utcnow
from portal.db import create_engine, session_factory
from portal.jobs.models import Job, JobStatus
from portal.settings import Settings
from portal.stores.service import upsert_store
from sandbox.corso import CorsoWorld
from sandbox.mailbox import Mailbox
from tests.helpers import forked_worker
from tests.helpers.environment import (
    CORSO_CLIENT,
    CORSO_STORE,
    PortalEnvironment,
    build_test_shop,
    environment_settings,
    sandbox_services,
    store_spec,
)
from tests.helpers.factories import SEALER
from tests.helpers.servers import free_port, serve
from tests.helpers.smtp import start_smtp

T = TypeVar("T")

REPOSITORY = Path(__file__).resolve().parents[2]
PORTAL_WORKER = [sys.executable, "-m", "portal.cli", "worker"]
"""``portal worker``, exactly as deployed (without a command, workers are forked: see
tests/helpers/forked_worker.py)."""
HOLD_LIMIT = 20.0
"""Longest an SMTP transaction is held (the client gives up after 15 s anyway)."""


def wait_for(
    condition: Callable[[], T | None], *, timeout: float, what: str, interval: float = 0.02
) -> T:
    """Poll ``condition`` until it returns something truthy; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        found = condition()
        if found:
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(interval)


# --- the worker process ------------------------------------------------------------------------


class ForkedWorker:
    """``portal worker`` forked by the forkserver (tests/helpers/forked_worker.py), answering
    like ``subprocess.Popen``: ``pid``, ``poll()``, ``wait(timeout)``."""

    def __init__(self, environ: dict[str, str], log: Path) -> None:
        self._process = _forkserver().Process(
            target=forked_worker.run_portal_worker,
            args=(environ, str(log), str(REPOSITORY)),
            daemon=False,
        )
        self._process.start()
        assert self._process.pid is not None
        self.pid: int = self._process.pid

    def poll(self) -> int | None:
        return self._process.exitcode

    def wait(self, timeout: float) -> int:
        self._process.join(timeout)
        if self._process.exitcode is None:
            raise subprocess.TimeoutExpired(["portal", "worker"], timeout)
        return self._process.exitcode


@cache
def _forkserver() -> multiprocessing.context.ForkServerContext:
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(forked_worker.PRELOAD)
    return context


Child = subprocess.Popen[bytes] | ForkedWorker


class WorkerProcess:
    """``portal worker`` in a child process; started again after each kill, never left behind.
    ``command`` runs it as a new program; without one, it is forked (``ForkedWorker``).

    ``kill`` may be called from any thread (the sandbox's, the SMTP server's, the test's)."""

    def __init__(self, settings: Settings, log_dir: Path, command: list[str] | None = None) -> None:
        self.command = command
        base = {k: v for k, v in os.environ.items() if not k.startswith("PORTAL_")}
        self.environ = {**base, **settings.environ(), "PYTHONUNBUFFERED": "1"}
        self.log_dir = log_dir
        self._lock = threading.Lock()
        self._process: Child | None = None
        self._started: list[Child] = []
        self._logs: list[Path] = []
        self.killed: list[int] = []
        """Pids killed with SIGKILL, in order."""

    @property
    def pid(self) -> int:
        assert self._process is not None, "no worker was started"
        return self._process.pid

    def start(self) -> int:
        with self._lock:
            assert self._process is None or self._process.poll() is not None, "already running"
            log = self.log_dir / f"worker-{len(self._started) + 1}.log"
            process = self._run(log) if self.command else ForkedWorker(self.environ, log)
            self._process = process
            self._started.append(process)
            self._logs.append(log)
            return process.pid

    def _run(self, log: Path) -> subprocess.Popen[bytes]:
        assert self.command
        with log.open("wb") as out:
            return subprocess.Popen(  # noqa: S603 - our own interpreter and module
                self.command,
                cwd=REPOSITORY,
                env=self.environ,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
            )

    def kill(self) -> int:
        """SIGKILL the running worker and reap it; returns its pid."""
        with self._lock:
            process = self._process
            assert process is not None, "no worker was started"
            assert process.poll() is None, f"worker {process.pid} had already exited\n{self.log()}"
            os.kill(process.pid, signal.SIGKILL)
            process.wait(timeout=10)
            self.killed.append(process.pid)
            return process.pid

    def assert_alive(self) -> None:
        with self._lock:
            assert self._process is not None and self._process.poll() is None, (
                f"the worker exited\n{self.log()}"
            )

    def stop(self) -> None:
        """Kill every child still running (the test's finalizer)."""
        with self._lock:
            for process in self._started:
                if process.poll() is None:
                    os.kill(process.pid, signal.SIGKILL)
                    with contextlib.suppress(subprocess.TimeoutExpired):
                        process.wait(timeout=10)

    def log(self, tail: int = 4000) -> str:
        parts = []
        for path in self._logs:
            text = path.read_text(errors="replace") if path.exists() else ""
            parts.append(f"--- {path.name} ---\n{text[-tail:]}")
        return "\n".join(parts)


async def _expire_leases(database_url: str, pid: int) -> int:
    engine = create_engine(database_url)
    try:
        async with session_factory(engine)() as db, db.begin():
            result = await db.execute(
                update(Job)
                .where(Job.status == JobStatus.RUNNING, Job.worker_id.like(f"%:{pid}:%"))
                .values(lease_expires_at=utcnow() - timedelta(seconds=1))
                .execution_options(synchronize_session=False)
            )
            return int(result.rowcount)  # type: ignore[attr-defined]
    finally:
        await engine.dispose()


def expire_leases(database_url: str, pid: int) -> int:
    """End the leases held by the dead worker ``pid``, as the passage of its lease time would.

    A worker's id is ``host:pid:suffix``; returns how many running jobs it held."""
    return asyncio.run(_expire_leases(database_url, pid))


async def _jobs(database_url: str) -> list[Job]:
    engine = create_engine(database_url)
    try:
        async with session_factory(engine)() as db:
            return list(await db.scalars(select(Job).order_by(Job.id)))
    finally:
        await engine.dispose()


def jobs(database_url: str) -> list[Job]:
    return asyncio.run(_jobs(database_url))


# --- the SMTP server ---------------------------------------------------------------------------


class ControlledMailHandler:
    """Files every message in the mailbox with its Message-ID (``meta["message_id"]``), like the
    sandbox mail sink; can hold one kind of message at DATA or run a callback once it is kept.

    ``hold_next(kind)``: the next message of ``kind`` waits at DATA (``held`` is set) until
    ``release()``, then is refused with a 451 and not kept. ``after_next_accept(kind, fn)``: the
    next message of ``kind`` is kept, ``fn()`` runs, then the 250 goes out."""

    def __init__(self, mailbox: Mailbox) -> None:
        self.mailbox = mailbox
        self.held = threading.Event()
        self._released = threading.Event()
        self._lock = threading.Lock()
        self._hold: str | None = None
        self._after_accept: dict[str, Callable[[], None]] = {}

    def hold_next(self, kind: str) -> None:
        with self._lock:
            self._hold = kind

    def release(self) -> None:
        self._released.set()

    def after_next_accept(self, kind: str, callback: Callable[[], None]) -> None:
        with self._lock:
            self._after_accept[kind] = callback

    async def handle_DATA(self, server: Any, session: Session, envelope: Envelope) -> str:
        raw = envelope.original_content or envelope.content or b""
        data = raw.encode() if isinstance(raw, str) else bytes(raw)
        message = message_from_bytes(data, policy=policy.default)
        assert isinstance(message, EmailMessage)
        kind = str(message.get("X-Portal-Kind", "portal"))
        with self._lock:
            hold = self._hold == kind
            if hold:
                self._hold = None
            after = self._after_accept.pop(kind, None)
        if hold:
            self.held.set()
            await asyncio.to_thread(self._released.wait, HOLD_LIMIT)
            return "451 4.3.0 Not accepted, try again later"
        body = message.get_body(preferencelist=("plain",))
        for recipient in envelope.rcpt_tos:
            self.mailbox.record(
                sender="portal",
                to=recipient,
                subject=str(message.get("Subject", "")),
                text=str(body.get_content()) if body is not None else "",
                kind=kind,
                meta={"message_id": str(message.get("Message-ID", ""))},
            )
        if after is not None:
            after()
        return "250 Message accepted for delivery"


@contextmanager
def controlled_smtp_server(handler: ControlledMailHandler) -> Iterator[int]:
    controller = start_smtp(handler)
    try:
        yield controller.port
    finally:
        handler.release()
        controller.stop()


# --- the environment ---------------------------------------------------------------------------


@dataclass
class CrashRig:
    env: PortalEnvironment
    smtp: ControlledMailHandler
    worker: WorkerProcess


async def _load_store(database_url: str, env: PortalEnvironment) -> None:
    engine = create_engine(database_url)
    try:
        async with session_factory(engine)() as db, db.begin():
            await upsert_store(db, store_spec(env.shop), SEALER)
    finally:
        await engine.dispose()


@contextmanager
def crash_environment(
    database_url: str,
    tmp_path: Path,
    *,
    worker_command: list[str] | None = None,
    **overrides: Any,
) -> Iterator[CrashRig]:
    """The sandbox services, the SMTP server and a (not yet started) worker process; every
    worker process is killed on the way out, before the servers stop. ``overrides`` are
    settings."""
    mailbox = Mailbox()
    shop = build_test_shop(mailbox)
    corso = CorsoWorld()
    corso.add_client(*CORSO_CLIENT, store_id=CORSO_STORE)
    services = sandbox_services(shop, corso)
    handler = ControlledMailHandler(mailbox)
    with ExitStack() as stack:
        sandbox = stack.enter_context(serve(services))
        smtp_port = stack.enter_context(controlled_smtp_server(handler))
        settings = environment_settings(
            database_url,
            sandbox=sandbox,
            smtp_port=smtp_port,
            port=free_port(),
            tmp_path=tmp_path,
            **{"run_worker": False, **overrides},
        )
        env = PortalEnvironment(settings.base_url, mailbox, shop, corso, settings)
        asyncio.run(_load_store(database_url, env))
        worker = WorkerProcess(settings, tmp_path, worker_command)
        stack.callback(worker.stop)
        yield CrashRig(env, handler, worker)
