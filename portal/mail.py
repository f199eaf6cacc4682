"""Email to shoppers: rendered from templates when queued, delivered by the worker over SMTP
(aiosmtplib), so a mail server outage delays a message and never loses it.

Templates live in ``templates/emails/``: ``<name>.subject.txt``, ``<name>.txt`` and
``<name>.html``. The Message-ID is derived from the job, so a receiver can drop the duplicate in
the rare case a worker dies between the server's acceptance and the job's completion.
"""

from __future__ import annotations

import ssl
from dataclasses import asdict, dataclass
from email.message import EmailMessage
from email.utils import formatdate
from typing import Any

import aiosmtplib
from sqlalchemy.ext.asyncio import AsyncSession

from portal.errors import MailUnavailable
from portal.jobs import queue
from portal.jobs.models import Priority
from portal.jobs.worker import JobContext
from portal.settings import Settings
from portal.web import templates

SEND_EMAIL = "email.send"


@dataclass(frozen=True)
class OutgoingEmail:
    to: str
    subject: str
    text: str
    html: str | None
    kind: str

    def as_payload(self) -> dict[str, Any]:
        return asdict(self)


def render_email(name: str, context: dict[str, Any], *, to: str) -> OutgoingEmail:
    env = templates.env
    subject = env.get_template(f"emails/{name}.subject.txt").render(context)
    return OutgoingEmail(
        to=to,
        subject=" ".join(subject.split()),
        text=env.get_template(f"emails/{name}.txt").render(context),
        html=env.get_template(f"emails/{name}.html").render(context),
        kind=name,
    )


async def queue_email(
    session: AsyncSession, email: OutgoingEmail, *, dedupe_key: str | None = None
) -> None:
    """Queue ``email`` in the caller's transaction."""
    await queue.enqueue(
        session, SEND_EMAIL, email.as_payload(), dedupe_key=dedupe_key, priority=Priority.URGENT
    )


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
                self.message(email, message_key=message_key),
                hostname=settings.smtp_host,
                port=settings.smtp_port,
                username=settings.smtp_username or None,
                password=str(settings.smtp_password) or None,
                start_tls=settings.smtp_starttls,
                tls_context=ssl.create_default_context() if settings.smtp_starttls else None,
                timeout=15,
            )
        except (aiosmtplib.SMTPException, OSError) as exc:
            server = f"{settings.smtp_host}:{settings.smtp_port}"
            raise MailUnavailable(f"mail server {server}: {exc}") from exc


async def send_email_job(ctx: JobContext) -> dict[str, Any]:
    email = OutgoingEmail(**ctx.job.payload)
    mailer: Mailer = ctx.services.mailer
    await mailer.send(email, message_key=f"job-{ctx.job.id}")
    return {"sent_to": email.to}
