"""``POST /webhooks/shopify``: Shopify's deliveries for the premiums ledger, answered at once
(the rules are in ``portal.billing.webhooks``).

Answers: 200 accepted, repeated or not of interest; 401 signature missing or wrong (nothing is
stored); 400 a signed delivery without the headers or body Shopify always sends; 413 too large.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response

from portal.billing import webhooks
from portal.clock import utcnow
from portal.errors import MalformedDelivery, SignatureRefused
from portal.web import session, settings_of

MAX_BODY_BYTES = 1024 * 1024


async def shopify_webhook(request: Request) -> Response:
    body = await request.body()  # BodySizeLimitMiddleware caps it at MAX_BODY_BYTES
    secret = str(settings_of(request).shopify_client_secret)
    try:
        delivery = webhooks.signed_delivery(request.headers, body, secret=secret)
    except SignatureRefused:
        return PlainTextResponse("Signature refused.", status_code=401)
    except MalformedDelivery as exc:
        return PlainTextResponse(str(exc), status_code=400)
    async with session(request) as db:
        outcome = await webhooks.accept(db, delivery, now=utcnow())
    return PlainTextResponse(outcome.value)
