"""Every email the sandbox world has 'sent': Shopify's receipts and refund notices, and what the
portal delivered over SMTP to the demo's mail sink."""

from __future__ import annotations

import itertools
import threading
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from portal.clock import utcnow


@dataclass(frozen=True)
class SentEmail:
    id: int
    sender: str  # "shopify:<shop domain>" or "portal"
    to: str
    subject: str
    text: str
    html: str | None = None
    kind: str = "message"  # e.g. "order_receipt", "refund_notification", "portal"
    sent_at: datetime = field(default_factory=lambda: utcnow())
    meta: dict[str, Any] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["sent_at"] = self.sent_at.isoformat()
        return data


class Mailbox:
    """A thread-safe, append-only list of sent emails, newest last."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self._emails: list[SentEmail] = []

    def record(self, **fields: Any) -> SentEmail:
        with self._lock:
            email = SentEmail(id=next(self._ids), **fields)
            self._emails.append(email)
            return email

    def all(self) -> list[SentEmail]:
        with self._lock:
            return list(self._emails)

    def to(self, address: str) -> list[SentEmail]:
        wanted = address.casefold()
        return [e for e in self.all() if e.to.casefold() == wanted]

    def clear(self) -> None:
        with self._lock:
            self._emails.clear()
