"""The sandbox Shopify's webhooks: every change in the world (``orders/create``,
``orders/cancelled``, ``refunds/create``) is POSTed to one URL, signed like Shopify signs them
(``X-Shopify-Hmac-Sha256`` = base64 HMAC-SHA256 of the body with the app's secret).

A delivery that is not answered with 2xx is tried again with growing waits, up to
``max_attempts`` times (Shopify tries 8 times over 4 hours; the sandbox keeps it short), then
dropped. Deliveries run in one background thread, in the order the changes happened, so the
world's lock is never held while the portal is called::

    sender = WebhookSender(world, url="http://127.0.0.1:8000/webhooks/shopify", secret="...")
    sender.start()
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

log = logging.getLogger(__name__)

API_VERSION = "2025-04"


@dataclass(frozen=True)
class WebhookEvent:
    shop_domain: str
    topic: str
    payload: dict[str, Any]
    webhook_id: str = field(default_factory=lambda: str(uuid.uuid4()))

    def body(self) -> bytes:
        return json.dumps(self.payload, separators=(",", ":")).encode()

    def headers(self, body: bytes, secret: str) -> dict[str, str]:
        digest = hmac.new(secret.encode(), body, hashlib.sha256).digest()
        return {
            "Content-Type": "application/json",
            "X-Shopify-Topic": self.topic,
            "X-Shopify-Shop-Domain": self.shop_domain,
            "X-Shopify-Webhook-Id": self.webhook_id,
            "X-Shopify-Event-Id": self.webhook_id,
            "X-Shopify-API-Version": API_VERSION,
            "X-Shopify-Triggered-At": utcnow().isoformat(),
            "X-Shopify-Hmac-Sha256": base64.b64encode(digest).decode(),
        }


@dataclass
class DeliveryLog:
    """What happened to each event: delivered ids, dropped ids, and every attempt's answer."""

    delivered: list[str] = field(default_factory=list)
    dropped: list[str] = field(default_factory=list)
    attempts: list[tuple[str, int | None]] = field(default_factory=list)


class WebhookSender:
    def __init__(
        self,
        world: ShopifyWorld,
        *,
        url: str,
        secret: str,
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
        self._events.put(WebhookEvent(shop_domain, topic, payload))

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
        headers = event.headers(body, self.secret)
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
            status: int | None = http.post(self.url, content=body, headers=headers).status_code
        except httpx.HTTPError:
            status = None
        self.log.attempts.append((event.webhook_id, status))
        return status is not None and 200 <= status < 300
