"""``portal serve --workers N``: several web processes behind one port, each serving on its own,
all stopped by one SIGTERM."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.helpers.factories import TEST_ENCRYPTION_KEY
from tests.helpers.portal import TEST_SECRET
from tests.helpers.servers import free_port
from tests.helpers.worker_process import wait_for


def web_processes(server_pid: int) -> list[int]:
    """The processes uvicorn started under ``server_pid`` to serve requests (read from /proc)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            command = (entry / "cmdline").read_bytes()
        except OSError:
            continue  # gone meanwhile
        parent = int(stat.rsplit(")", 1)[1].split()[1])
        if parent == server_pid and b"multiprocessing.spawn" in command:
            found.append(int(entry.name))
    return sorted(found)


def answers(url: str) -> bool:
    try:
        # a new connection each time: a paused process cannot hold on to a kept-alive one
        return httpx.get(url, headers={"Connection": "close"}, timeout=5).status_code == 200
    except httpx.TransportError:
        return False


@pytest.mark.e2e
@pytest.mark.slow
def test_serve_with_two_workers_answers_from_each_and_stops_on_sigterm(
    database_url: str, tmp_path: Path
) -> None:
    port = free_port()
    environ = {
        **{k: v for k, v in os.environ.items() if not k.startswith("PORTAL_")},
        "PORTAL_MODE": "development",
        "PORTAL_SECRET_KEY": TEST_SECRET,
        "PORTAL_ENCRYPTION_KEYS": TEST_ENCRYPTION_KEY,
        "PORTAL_DATABASE_URL": database_url,
        "PORTAL_UPLOAD_DIR": str(tmp_path / "uploads"),
    }
    command = [sys.executable, "-m", "portal.cli", "serve", "--port", str(port), "--workers", "2"]
    health = f"http://127.0.0.1:{port}/healthz"
    server = subprocess.Popen(command, env=environ, stderr=subprocess.DEVNULL)  # noqa: S603
    try:
        children = wait_for(
            lambda: len(web_processes(server.pid)) == 2 and web_processes(server.pid),
            timeout=30,
            what="two web processes",
        )
        wait_for(lambda: answers(health), timeout=30, what="portal serve to answer")
        for paused in children:  # the other one alone answers every request
            os.kill(paused, signal.SIGSTOP)
            try:
                assert all(answers(health) for _ in range(10))
            finally:
                os.kill(paused, signal.SIGCONT)
        server.send_signal(signal.SIGTERM)
        assert server.wait(timeout=30) == 0
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()
    assert not [pid for pid in children if Path(f"/proc/{pid}").exists()]
