"""A cap on request bodies, so an upload cannot fill the disk or memory before a form sees it."""

from __future__ import annotations

from starlette.responses import PlainTextResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from portal.errors import BodyTooLarge

# Five photos of 10 MB each and the form around them.
DEFAULT_MAX_BODY_BYTES = 55 * 1024 * 1024


class BodySizeLimitMiddleware:
    """Refuse bodies over ``max_bytes``, or over a smaller limit for some path prefixes
    (``per_prefix``, e.g. webhooks), before the app reads them."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        max_bytes: int = DEFAULT_MAX_BODY_BYTES,
        per_prefix: tuple[tuple[str, int], ...] = (),
    ) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.per_prefix = per_prefix

    def limit_for(self, path: str) -> int:
        return next((n for prefix, n in self.per_prefix if path.startswith(prefix)), self.max_bytes)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit_for(scope["path"])
        headers = dict(scope.get("headers", []))
        declared = headers.get(b"content-length")
        if declared is None and b"transfer-encoding" not in headers:
            await self.app(scope, receive, send)  # no body: the server hands the app none
            return
        if declared is not None and declared.isdigit() and int(declared) > limit:
            await self._refuse(scope, receive, send)
            return
        received = 0
        started = False

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counting_receive, tracking_send)
        except BodyTooLarge:
            if not started:
                await self._refuse(scope, receive, send)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = PlainTextResponse(
            "This request is too large. Photos may be up to 10 MB each, 5 at most.",
            status_code=413,
        )
        await response(scope, receive, send)
