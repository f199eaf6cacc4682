"""A real SMTP server (aiosmtpd) on loopback that keeps what it receives."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from aiosmtpd.controller import Controller

from sandbox.mail_sink import MailboxHandler
from sandbox.mailbox import Mailbox
from tests.helpers.servers import free_port


@contextmanager
def smtp_server(mailbox: Mailbox, port: int | None = None) -> Iterator[int]:
    controller = Controller(MailboxHandler(mailbox), hostname="127.0.0.1", port=port or free_port())
    controller.start()
    try:
        yield controller.port
    finally:
        controller.stop()
