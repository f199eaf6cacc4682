"""Two customers of the test store, and one of another store, with something in every table
that can hold personal data: requests with items, addresses and words, timeline lines, photos
(rows and files), order lookups, drafts, queued and sent emails, a resolution and a premium."""

from __future__ import annotations

import asyncio
import secrets
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import select

from portal.billing.models import Premium
from portal.billing.months import month_of
from portal.clock import utcnow
from portal.db import create_engine, session_factory
from portal.jobs import queue
from portal.jobs.email import SEND_EMAIL
from portal.jobs.models import Job, JobStatus
from portal.reorders.models import RequestEvent, RequestItem, RequestPhoto
from portal.shopper.models import OrderVerification, StoredDraft
from portal.shopper.verification import keyed_hash
from portal.stores.models import Store
from portal.support.models import Resolution
from tests.helpers.environment import PortalEnvironment
from tests.helpers.factories import add_store, reorder_request


@dataclass(frozen=True)
class Person:
    first: str
    last: str
    email: str
    phone: str
    street: str
    city: str
    words: str
    order: int

    @property
    def name(self) -> str:
        return f"{self.first} {self.last}"

    @property
    def order_gid(self) -> str:
        return f"gid://shopify/Order/{self.order}"

    @property
    def needles(self) -> list[str]:
        """What must not be found anywhere once the person's data is erased."""
        return [self.email, self.first, self.last, self.phone, self.street, self.city, self.words]

    def address(self) -> dict[str, str]:
        return {
            "first_name": self.first,
            "last_name": self.last,
            "address1": self.street,
            "address2": "",
            "company": "",
            "city": self.city,
            "province_code": "ME",
            "zip": "04101",
            "country_code": "US",
            "phone": self.phone,
        }


ZELDA = Person(
    "Zelda",
    "Quillfeather",
    "Zelda.Quillfeather@example.com",
    "+1 555 0100 777",
    "77 Lighthouse Row",
    "Port Ellery",
    "vanished from the porch",
    91001,
)
ZELDA_OTHER_ORDER = 91002
ZELDA_OTHER_EMAIL = "zq-gifts@example.net"
OTTO = Person(
    "Otto",
    "Brandtwick",
    "otto.brandtwick@example.org",
    "+1 555 0199 321",
    "12 Harbour Lane",
    "Kestrel Bay",
    "crushed at one corner",
    92001,
)
PIA = Person(
    "Pia",
    "Lundgrenova",
    "pia.lundgrenova@example.com",
    "+1 555 0142 888",
    "5 Birch Court",
    "Alder Falls",
    "never arrived at all",
    93001,
)


@dataclass
class Seeded:
    store_id: int
    other_store_id: int
    photos: dict[str, list[str]] = field(default_factory=dict)  # person's email -> photo ids
    references: dict[str, list[str]] = field(default_factory=dict)


def photo_file(upload_dir: Path, person: Person) -> str:
    """A stored photo's file; its bytes name the person, so a scan of files would see it."""
    photo_id = secrets.token_urlsafe(16)
    upload_dir.mkdir(parents=True, exist_ok=True)
    (upload_dir / f"{photo_id}.jpg").write_bytes(b"\xff\xd8\xff\xe0" + person.name.encode())
    return photo_id


async def _request(
    db: Any,
    seeded: Seeded,
    store_id: int,
    person: Person,
    upload_dir: Path,
    *,
    order: int | None = None,
    email: str | None = None,
) -> None:
    now = utcnow()
    request = reorder_request(
        store_id,
        shopify_order_id=f"gid://shopify/Order/{order or person.order}",
        order_name=f"#{order or person.order}",
        email=email or person.email,
        customer_name=person.name,
        description=f"The parcel {person.words}; {person.name} saw it.",
        alternative_wish=f"Anything in blue for {person.first}",
        shipping_address=person.address(),
        resolution="refund",
        items_total=Decimal("48.00"),
        status="refunded",
        closed_at=now,
    )
    db.add(request)
    await db.flush()
    photo_id = photo_file(upload_dir, person)
    seeded.photos.setdefault(person.email, []).append(photo_id)
    seeded.references.setdefault(person.email, []).append(request.reference)
    db.add_all(
        [
            RequestItem(
                request_id=request.id,
                line_item_id=f"gid://shopify/LineItem/{request.id}",
                variant_id="gid://shopify/ProductVariant/2",
                title="Stoneware Mug",
                variant_title="Sage",
                sku="MUG-S",
                quantity=2,
                unit_price=Decimal("24.00"),
            ),
            RequestPhoto(
                request_id=request.id,
                photo_id=photo_id,
                content_type="image/jpeg",
                width=10,
                height=10,
                sha256="0" * 64,
            ),
            RequestEvent(request_id=request.id, kind="submitted", actor="shopper", data={}),
            RequestEvent(
                request_id=request.id,
                kind="note",
                actor="agent@example.com",
                public=False,
                message=f"{person.name} called from {person.phone}",
            ),
            RequestEvent(
                request_id=request.id,
                kind="shopper_answered",
                actor="shopper",
                message=f"It was left at {person.street}, {person.city}",
            ),
            Resolution(
                request_id=request.id,
                store_id=store_id,
                kind="refund",
                status="succeeded",
                amount=Decimal("48.00"),
                currency="USD",
                deducted=True,
                agent_email="agent@example.com",
                description=f"Refunded {person.name} to the card",
                resolved_at=now,
            ),
            Premium(
                store_id=store_id,
                shopify_order_id=request.shopify_order_id,
                order_name=request.order_name,
                ordered_at=now - timedelta(days=2),
                month=month_of(now, "UTC"),
                currency="USD",
                charged=Decimal("2.95"),
                amount=Decimal("2.95"),
                updated_at=now,
            ),
        ]
    )


async def _shopper_traces(
    db: Any, store_id: int, person: Person, secret: str, upload_dir: Path
) -> None:
    now = utcnow()
    db.add(
        OrderVerification(
            public_id=secrets.token_hex(8),
            store_id=store_id,
            shopify_order_id=None,  # a lookup that matched nothing: found by the email alone
            email_hash=keyed_hash(secret, "email", person.email.casefold()),
            client_hash="c" * 64,
            expires_at=now + timedelta(minutes=10),
        )
    )
    draft_photo = photo_file(upload_dir, person)
    db.add(
        StoredDraft(
            id=secrets.token_hex(8),
            store_id=store_id,
            shopify_order_id=person.order_gid,
            data={
                "description": f"Draft: {person.words}",
                "shipping_address": person.address(),
                "photos": [{"photo_id": draft_photo}],
            },
        )
    )
    email = {
        "to": person.email,
        "subject": f"Your request, {person.first}",
        "text": f"Dear {person.name}, we ship to {person.street}.",
        "html": None,
        "kind": "request_received",
        "store_id": store_id,
    }
    later = now + timedelta(days=1)
    await queue.enqueue(db, SEND_EMAIL, email, run_after=later)  # still queued
    db.add(
        Job(
            kind=SEND_EMAIL,
            payload=email,
            status=JobStatus.DONE,
            priority=10,
            attempts=1,
            max_attempts=8,
            run_after=now,
            result={"sent_to": person.email},
            finished_at=now,
        )
    )
    db.add(
        Job(
            kind=SEND_EMAIL,
            payload=email,
            status=JobStatus.FAILED,
            priority=10,
            attempts=8,
            max_attempts=8,
            run_after=now,
            last_error=f"MailUnavailable: 550 mailbox {person.email} is full",
            finished_at=now,
        )
    )


def seed(env: PortalEnvironment) -> Seeded:
    """Zelda (two requests, one under another email, found by its order) and Otto at the test
    store; Pia at another store."""
    upload_dir = env.settings.upload_dir
    secret = str(env.settings.secret_key)

    async def write() -> Seeded:
        engine = create_engine(env.settings.database_url)
        try:
            async with session_factory(engine)() as db:
                store = await db.scalar(select(Store).where(Store.slug == env.slug))
                assert store is not None
                other = await add_store(db, "Other Shop", "other-shop")
                seeded = Seeded(store_id=store.id, other_store_id=other.id)
                await _request(db, seeded, store.id, ZELDA, upload_dir)
                await _request(
                    db,
                    seeded,
                    store.id,
                    ZELDA,
                    upload_dir,
                    order=ZELDA_OTHER_ORDER,
                    email=ZELDA_OTHER_EMAIL,
                )
                await _request(db, seeded, store.id, OTTO, upload_dir)
                await _request(db, seeded, other.id, PIA, upload_dir)
                for person, store_id in ((ZELDA, store.id), (OTTO, store.id), (PIA, other.id)):
                    await _shopper_traces(db, store_id, person, secret, upload_dir)
                await db.commit()
                return seeded
        finally:
            await engine.dispose()

    return asyncio.run(write())
