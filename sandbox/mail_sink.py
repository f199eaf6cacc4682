"""A local SMTP server (aiosmtpd) that files every message it receives in the sandbox mailbox.

The demo points the portal's real SMTP delivery at it, so the mail path is the production one.
"""

from __future__ import annotations

import socket
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import Envelope, Session

from sandbox.mailbox import Mailbox


class MailboxHandler:
    def __init__(self, mailbox: Mailbox) -> None:
        self.mailbox = mailbox

    async def handle_DATA(self, server: Any, session: Session, envelope: Envelope) -> str:
        raw = envelope.original_content or envelope.content or b""
        data = raw.encode() if isinstance(raw, str) else bytes(raw)
        message = message_from_bytes(data, policy=policy.default)
        assert isinstance(message, EmailMessage)
        text, html = _bodies(message)
        for recipient in envelope.rcpt_tos:
            self.mailbox.record(
                sender="portal",
                to=recipient,
                subject=str(message.get("Subject", "")),
                text=text,
                html=html,
                kind=str(message.get("X-Portal-Kind", "portal")),
                meta={"message_id": str(message.get("Message-ID", ""))},
            )
        return "250 Message accepted for delivery"


def _bodies(message: EmailMessage) -> tuple[str, str | None]:
    text_part = message.get_body(preferencelist=("plain",))
    html_part = message.get_body(preferencelist=("html",))
    text = text_part.get_content() if text_part is not None else ""
    html = html_part.get_content() if html_part is not None else None
    return str(text), (str(html) if html is not None else None)


def start_mail_sink(mailbox: Mailbox, *, host: str = "127.0.0.1", port: int = 0) -> Controller:
    """Start the sink in its own thread; ``controller.port`` is where it listens."""
    controller = Controller(MailboxHandler(mailbox), hostname=host, port=port or _free_port(host))
    controller.start()
    return controller


def _free_port(host: str) -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port
