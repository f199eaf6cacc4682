"""The sandbox Shopify's webhooks, signed like Shopify signs them (``X-Shopify-Hmac-Sha256`` =
base64 HMAC-SHA256 of the body with the app's client secret).

Two ways to run it:

- as Shopify does: ``WebhookSender(world)`` sends each event to the webhook subscriptions of its
  topic when it happened (``webhookSubscriptionCreate``), each to its own callback URL, signed
  with the subscribing app's secret and carrying the subscription's API version; compliance
  topics go to the app's compliance URL (``world.request_customer_data`` and the like);
- with a fixed ``url`` and ``secret``: every event of every topic goes to that one URL, whatever
  the subscriptions (what the tests written before subscriptions use).

A delivery that is not answered with 2xx is tried again with growing waits, up to
``max_attempts`` times (Shopify tries 8 times over 4 hours; the sandbox keeps it short), then
dropped. Deliveries run in one background thread, in the order the changes happened, so the
world's lock is never held while the portal is called::

    sender = WebhookSender(world).start()        # or WebhookSender(world, url=..., secret=...)
    ...
    sender.wait_until_idle(timeout=10)  # tests: every event delivered or given up
    sender.stop()
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import queue
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

from portal.clock import utcnow
from sandbox.shopify.state import ShopifyWorld
from sandbox.shopify.subscriptions import Destination, WorldEvent

log = logging.getLogger(__name__)

API_VERSION = "2025-04"


def _new_id() -> str:
    return str(uuid.uuid4())


@dataclass(frozen=True)
class WebhookEvent:
    """One delivery: an event for one destination (each has its own webhook id; the deliveries
    of one change share its event id)."""

    shop_domain: str
    topic: str
    payload: dict[str, Any]
    webhook_id: str = field(default_factory=_new_id)
    event_id: str = ""
    url: str = ""
    secret: str = ""
    api_version: str = API_VERSION

    def body(self) -> bytes:
        return json.dumps(self.payload, separators=(",", ":")).encode()

    def headers(self, body: bytes, secret: str | None = None) -> dict[str, str]:
        key = self.secret if secret is None else secret
        digest = hmac.new(key.encode(), body, hashlib.sha256).digest()
        return {
            "Content-Type": "application/json",
            "X-Shopify-Topic": self.topic,
            "X-Shopify-Shop-Domain": self.shop_domain,
            "X-Shopify-Webhook-Id": self.webhook_id,
            "X-Shopify-Event-Id": self.event_id or self.webhook_id,
            "X-Shopify-API-Version": self.api_version,
            "X-Shopify-Triggered-At": utcnow().isoformat(),
            "X-Shopify-Hmac-Sha256": base64.b64encode(digest).decode(),
        }


def deliveries(event: WorldEvent, fallback_secret: str = "") -> list[WebhookEvent]:
    """One delivery per destination of ``event``."""
    event_id = _new_id()
    return [_delivery(event, d, event_id, fallback_secret) for d in event.destinations]


def _delivery(
    event: WorldEvent, destination: Destination, event_id: str, fallback_secret: str
) -> WebhookEvent:
    return WebhookEvent(
        event.shop,
        event.topic,
        event.payload,
        event_id=event_id,
        url=destination.url,
        secret=destination.secret or fallback_secret,
        api_version=destination.api_version,
    )


@dataclass
class DeliveryLog:
    """What happened to each event: delivered ids, dropped ids, and every attempt's answer."""

    delivered: list[str] = field(default_factory=list)
    dropped: list[str] = field(default_factory=list)
    attempts: list[tuple[str, int | None]] = field(default_factory=list)


class WebhookSender:
    """Delivers the world's events in a background thread; ``url`` and ``secret`` given: every
    event to that URL; ``url`` None: to the subscriptions (``secret`` then signs deliveries to
    subscriptions made with a shop's seeded token, which belong to no app)."""

    def __init__(
        self,
        world: ShopifyWorld,
        *,
        url: str | None = None,
        secret: str = "",
        max_attempts: int = 6,
        first_wait: float = 0.2,
        timeout: float = 5.0,
        sleep: Callable[[float], bool] | None = None,
    ) -> None:
        self.world = world
        self.url = url
        self.secret = secret
        self.max_attempts = max_attempts
        self.first_wait = first_wait
        self.timeout = timeout
        self.log = DeliveryLog()
        self._events: queue.Queue[WebhookEvent | None] = queue.Queue()
        self._stopping = threading.Event()
        self._sleep = sleep or self._stopping.wait
        self._thread: threading.Thread | None = None
        self._unsubscribe: Callable[[], None] | None = None

    def start(self) -> WebhookSender:
        if self.url is None:
            self._unsubscribe = self.world.subscribe_events(self._on_event)
        else:
            self._unsubscribe = self.world.subscribe(self._on_change)
        self._thread = threading.Thread(target=self._run, name="sandbox-webhooks", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._unsubscribe is not None:
            self._unsubscribe()
        self._stopping.set()
        self._events.put(None)
        if self._thread is not None:
            self._thread.join(timeout=self.timeout + 1)

    def wait_until_idle(self, timeout: float = 10.0) -> bool:
        """Whether every event so far was delivered or given up within ``timeout`` seconds."""
        done = threading.Event()

        def drained() -> None:
            self._events.join()
            done.set()

        threading.Thread(target=drained, daemon=True).start()
        return done.wait(timeout)

    def _on_change(self, shop_domain: str, topic: str, payload: dict[str, Any]) -> None:
        assert self.url is not None
        event = WebhookEvent(shop_domain, topic, payload, url=self.url, secret=self.secret)
        self._events.put(event)

    def _on_event(self, event: WorldEvent) -> None:
        for delivery in deliveries(event, self.secret):
            self._events.put(delivery)

    def _run(self) -> None:
        with httpx.Client(timeout=self.timeout) as http:
            while True:
                event = self._events.get()
                try:
                    if event is None:
                        return
                    self._deliver(http, event)
                finally:
                    self._events.task_done()

    def _deliver(self, http: httpx.Client, event: WebhookEvent) -> None:
        body = event.body()
        headers = event.headers(body)
        for attempt in range(self.max_attempts):
            if self._attempt(http, event, body, headers):
                self.log.delivered.append(event.webhook_id)
                return
            last = attempt == self.max_attempts - 1
            if last or self._stopping.is_set() or self._sleep(self.first_wait * 2**attempt):
                break
        log.warning("webhook %s %s dropped", event.topic, event.webhook_id)
        self.log.dropped.append(event.webhook_id)

    def _attempt(
        self, http: httpx.Client, event: WebhookEvent, body: bytes, headers: dict[str, str]
    ) -> bool:
        try:
            status: int | None = http.post(event.url, content=body, headers=headers).status_code
        except httpx.HTTPError:
            status = None
        self.log.attempts.append((event.webhook_id, status))
        return status is not None and 200 <= status < 300
