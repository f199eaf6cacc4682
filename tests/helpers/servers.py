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
            f"this test starts {what} without the e2e marker: mark it @pytest.mark.e2e so "
            "that `make test-fast` leaves it out (tests/conftest.py marks only the tests that "
            "call a server helper themselves or in a fixture)"
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


class LoopbackServer:
    """uvicorn serving ``app`` in a thread on a bound loopback socket."""

    def __init__(self, app: Any, sock: socket.socket) -> None:
        self.sock = sock
        self.url = url_of(sock)
        config = uvicorn.Config(
            app,
            log_level="warning",
            lifespan="auto",
            proxy_headers=False,  # as `portal serve`: forwarded headers are the app's to believe
            server_header=False,
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [sock]}, daemon=True
        )

    def start(self) -> LoopbackServer:
        check_servers_allowed("a server")
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                self.sock.close()
                raise RuntimeError("test server did not start")
            time.sleep(0.01)
        return self

    def begin_stopping(self) -> None:
        """Ask the server to stop and return at once (uvicorn takes about 0.2 s to stop, so
        servers asked together stop together)."""
        self._server.should_exit = True

    def stop(self) -> None:
        self.begin_stopping()
        self._thread.join(timeout=10)
        self.sock.close()


@contextmanager
def running(
    app: Any, *, port: int | None = None, sock: socket.socket | None = None
) -> Iterator[LoopbackServer]:
    """``app`` served on loopback for the block; ``sock`` from ``loopback_socket`` (for a caller
    that needs the URL before the app exists), otherwise one bound here, on ``port`` if given."""
    server = LoopbackServer(app, sock or loopback_socket(port or 0)).start()
    try:
        yield server
    finally:
        server.stop()


@contextmanager
def serve(app: Any, *, port: int | None = None, sock: socket.socket | None = None) -> Iterator[str]:
    """Run ``app`` with uvicorn in a thread on 127.0.0.1; yields its base URL."""
    with running(app, port=port, sock=sock) as server:
        yield server.url
