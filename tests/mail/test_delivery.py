"""Email goes through the queue to a real SMTP server; an outage delays it, never loses it."""

from __future__ import annotations

import pytest
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from portal.clock import utcnow
from portal.db import session_factory
from portal.jobs.email import SEND_EMAIL, queue_email, send_email_job
from portal.jobs.models import Job, JobStatus
from portal.jobs.worker import Worker
from portal.mail.messages import render_email
from portal.mail.sender import Mailer
from portal.settings import Settings
from sandbox.mailbox import Mailbox
from tests.helpers.servers import free_port
from tests.helpers.smtp import smtp_server

pytestmark = pytest.mark.anyio

CONTEXT = {
    "code": "482913",
    "order_name": "#1042",
    "store_name": "Maple & Moss",
    "support_email": "support@maple-and-moss.example",
    "minutes": 10,
}


class Services:
    def __init__(self, port: int) -> None:
        self.mailer = Mailer(Settings(smtp_host="127.0.0.1", smtp_port=port))


def _worker(engine: AsyncEngine, port: int) -> Worker:
    return Worker(session_factory(engine), {SEND_EMAIL: send_email_job}, services=Services(port))


async def test_a_queued_email_arrives_once_with_text_and_html(
    db: AsyncSession, engine: AsyncEngine
) -> None:
    mailbox = Mailbox()
    email = render_email("verification_code", CONTEXT, to="jane@example.com")
    await queue_email(db, email, dedupe_key="code:1")
    await queue_email(db, email, dedupe_key="code:1")
    await db.commit()
    with smtp_server(mailbox) as port:
        assert await _worker(engine, port).run_until_idle() == 1
    [received] = mailbox.all()
    assert received.to == "jane@example.com"
    assert received.subject == "482913 is your code for Maple & Moss"
    assert "482913" in received.text and received.html and "482913" in received.html
    assert received.kind == "verification_code"


async def test_mail_server_down_then_back_delivers_exactly_once(
    db: AsyncSession, engine: AsyncEngine
) -> None:
    mailbox = Mailbox()
    port = free_port()  # nothing listens here yet
    await queue_email(db, render_email("verification_code", CONTEXT, to="jane@example.com"))
    await db.commit()
    assert await _worker(engine, port).run_until_idle() == 1
    job = (await db.scalars(select(Job))).one()
    assert job.status == JobStatus.QUEUED
    assert "MailUnavailable" in (job.last_error or "")
    assert mailbox.all() == []
    await db.execute(update(Job).values(run_after=utcnow()))
    await db.commit()
    with smtp_server(mailbox, port=port):
        assert await _worker(engine, port).run_until_idle() == 1
        assert await _worker(engine, port).run_until_idle() == 0
    db.expire_all()
    assert (await db.scalars(select(Job.status))).one() == JobStatus.DONE
    assert len(mailbox.all()) == 1
