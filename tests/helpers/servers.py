"""Serving an ASGI app on loopback for tests that talk real HTTP.

Each server listens on a socket bound before the server starts, on a port the kernel picks, so
test processes running side by side (pytest-xdist) never race for a port. Only tests marked
``e2e`` may start a server: tests/conftest.py says which test is running, and ``serve`` (and the
SMTP servers) refuse to start for any other, so ``make test-fast`` never starts one.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import uvicorn

_running_test: str | None = None
"""Set for each test marked e2e (by tests/conftest.py), None for every other test."""


def allow_servers(test_id: str | None) -> None:
    global _running_test
    _running_test = test_id


def check_servers_allowed(what: str) -> None:
    """Fail a test that starts ``what`` without being marked e2e."""
    if _running_test is None:
        raise RuntimeError(
            f"this test starts {what}: mark it @pytest.mark.e2e (or use a fixture that is "
            "marked for it in tests/conftest.py) so that `make test-fast` leaves it out"
        )


def free_port() -> int:
    """A port nothing listens on now (for tests that need one to stay unanswered)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def loopback_socket(port: int = 0) -> socket.socket:
    """A TCP socket bound to 127.0.0.1 (on ``port``, or one the kernel picks); not listening."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", port))
    return sock


def url_of(sock: socket.socket) -> str:
    host, port = sock.getsockname()[:2]
    return f"http://{host}:{port}"


@contextmanager
def serve(app: Any, *, port: int | None = None, sock: socket.socket | None = None) -> Iterator[str]:
    """Run ``app`` with uvicorn in a thread on 127.0.0.1; yields its base URL.

    ``sock``: a socket from ``loopback_socket`` (for a caller that needs the URL before the app
    exists); otherwise one is bound here, on ``port`` if given."""
    check_servers_allowed("a server")
    sock = sock or loopback_socket(port or 0)
    config = uvicorn.Config(app, log_level="warning", lifespan="auto")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            sock.close()
            raise RuntimeError("test server did not start")
        time.sleep(0.01)
    try:
        yield url_of(sock)
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()
