"""Delivery over SMTP (aiosmtplib). The Message-ID is derived from the job, so a receiver can
drop the duplicate in the rare case a worker dies between the server's acceptance and the
job's completion."""

from __future__ import annotations

import ssl
from email.message import EmailMessage
from email.utils import formatdate
from typing import Any

import aiosmtplib

from portal.errors import MailUnavailable
from portal.mail.messages import OutgoingEmail
from portal.settings import Settings


class Mailer:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def message(self, email: OutgoingEmail, *, message_key: str) -> EmailMessage:
        message = EmailMessage()
        message["From"] = self.settings.mail_from
        message["To"] = email.to
        message["Subject"] = email.subject
        message["Date"] = formatdate(localtime=False)
        message["Message-ID"] = f"<{message_key}@reorder-portal>"
        message["X-Portal-Kind"] = email.kind
        message.set_content(email.text)
        if email.html:
            message.add_alternative(email.html, subtype="html")
        return message

    async def send(self, email: OutgoingEmail, *, message_key: str) -> None:
        settings = self.settings
        try:
            await aiosmtplib.send(
                self.message(email, message_key=message_key), **smtp_options(settings), timeout=15
            )
        except (aiosmtplib.SMTPException, OSError) as exc:
            raise MailUnavailable(f"mail server {smtp_server(settings)}: {exc}") from exc


def smtp_options(settings: Settings) -> dict[str, Any]:
    """How to reach and sign in to the mail server, as aiosmtplib takes it."""
    return {
        "hostname": settings.smtp_host,
        "port": settings.smtp_port,
        "username": settings.smtp_username or None,
        "password": str(settings.smtp_password) or None,
        "start_tls": settings.smtp_starttls,
        "tls_context": ssl.create_default_context() if settings.smtp_starttls else None,
    }


def smtp_server(settings: Settings) -> str:
    return f"{settings.smtp_host}:{settings.smtp_port}"
