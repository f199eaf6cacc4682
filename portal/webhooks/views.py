"""``POST /webhooks/shopify``: every Shopify delivery, answered at once (the rules are in
``portal.webhooks.deliveries``).

Answers: 200 accepted, repeated or not of interest; 401 signature missing or wrong (nothing is
stored); 400 a signed delivery without the headers or body Shopify always sends; 413 too large.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response

from portal.clock import utcnow
from portal.errors import MalformedDelivery, SignatureRefused
from portal.runtime import Runtime
from portal.web import session, settings_of
from portal.webhooks import deliveries

MAX_BODY_BYTES = 1024 * 1024


async def shopify_webhook(request: Request) -> Response:
    body = await request.body()  # BodySizeLimitMiddleware caps it at MAX_BODY_BYTES
    runtime: Runtime = request.state.runtime
    app_secret = str(settings_of(request).shopify_client_secret)
    async with session(request) as db:
        store = await deliveries.sender_store(db, request.headers)
        secret = deliveries.signing_secret(store, app_secret=app_secret, sealer=runtime.sealer)
        try:
            delivery = deliveries.signed_delivery(request.headers, body, secret=secret)
        except SignatureRefused:
            return PlainTextResponse("Signature refused.", status_code=401)
        except MalformedDelivery as exc:
            return PlainTextResponse(str(exc), status_code=400)
        outcome = await deliveries.accept(db, delivery, store=store, now=utcnow())
    return PlainTextResponse(outcome.value)
