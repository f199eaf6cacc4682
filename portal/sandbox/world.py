"""Everything the sandbox holds in one process: sandbox Shopify, sandbox Corso, the mailbox,
and what the demo seeded (so /sandbox can show visitors what to try)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from portal.sandbox.mailbox import Mailbox

if TYPE_CHECKING:
    from portal.sandbox.corso import CorsoWorld
    from portal.sandbox.shopify import ShopifyWorld


@dataclass(frozen=True)
class DemoCredentials:
    corso_client_id: str
    corso_client_secret: str


@dataclass
class SandboxWorld:
    shopify: ShopifyWorld
    corso: CorsoWorld
    mailbox: Mailbox
    credentials: DemoCredentials
    store_slugs: list[str] = field(default_factory=list)
