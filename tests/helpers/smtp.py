"""A real SMTP server (aiosmtpd) on loopback that keeps what it receives."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from aiosmtpd.controller import Controller

from sandbox.mail_sink import MailboxHandler
from sandbox.mailbox import Mailbox
from tests.helpers.servers import check_servers_allowed, free_port

ATTEMPTS = 3


def start_smtp(handler: Any, port: int | None = None) -> Controller:
    """An aiosmtpd controller for ``handler`` on 127.0.0.1, started.

    Without ``port``, a free one is picked; another process may take it before the server
    binds it, so a port found taken is replaced by another (twice at most)."""
    check_servers_allowed("an SMTP server")
    attempts = 1 if port is not None else ATTEMPTS
    for attempt in range(1, attempts + 1):
        controller = Controller(handler, hostname="127.0.0.1", port=port or free_port())
        try:
            controller.start()
            return controller
        except OSError:
            controller.loop.close()
            if attempt == attempts:
                raise
    raise AssertionError("no attempt made")


@contextmanager
def smtp_server(mailbox: Mailbox, port: int | None = None) -> Iterator[int]:
    controller = start_smtp(MailboxHandler(mailbox), port)
    try:
        yield controller.port
    finally:
        controller.stop()
