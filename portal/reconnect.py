"""A request whose database connection was lost runs again once the database answers.

A PostgreSQL restart or failover ends every session at once: the requests that were in the
middle of a query fail with the connection, and those that arrive while the server starts up
cannot connect. Their transactions were rolled back, so ``ReconnectMiddleware`` runs such a
request again, with the same body, after a short wait, for up to ``RETRY_SECONDS`` in all,
as long as no part of the answer has been sent. Only a database that stays away longer makes
a shopper see the error page.

Work that may run twice this way must tolerate it, as it already tolerates a shopper pressing
a button twice: rows with a natural key (a request's ``submit_key``, a job's ``dedupe_key``)
are written once, and outside calls made from a page are reads.
"""

from __future__ import annotations

import asyncio
import logging
import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from portal.db import lost_connection

RETRY_SECONDS = 15.0
FIRST_WAIT = 0.1
LONGEST_WAIT = 2.0

logger = logging.getLogger(__name__)


class ReconnectMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        body: list[Message] = []  # every message read from the client, for the next attempt
        started = False

        def attempt_receive() -> Receive:
            """The messages an earlier attempt read, then whatever is still to come."""
            read = 0

            async def receive_once_more() -> Message:
                nonlocal read
                if read == len(body):
                    body.append(await receive())
                read += 1
                return body[read - 1]

            return receive_once_more

        async def watching_send(message: Message) -> None:
            nonlocal started
            started = True
            await send(message)

        deadline = time.monotonic() + RETRY_SECONDS
        wait = FIRST_WAIT
        while True:
            try:
                # a fresh copy each time: routing writes into the scope it is given
                await self.app(dict(scope), attempt_receive(), watching_send)
                return
            except Exception as exc:
                if started or not lost_connection(exc) or time.monotonic() + wait > deadline:
                    raise
                logger.info(
                    "database connection lost; running %s %s again in %.1f s",
                    scope["method"],
                    scope["path"],
                    wait,
                )
            await asyncio.sleep(wait)
            wait = min(wait * 2, LONGEST_WAIT)
