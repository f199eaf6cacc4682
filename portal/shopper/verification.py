"""Verifying that the person at the keyboard can read the order's email.

A lookup always writes a row; a code is sent only when the order exists and its email matches,
yet the shopper sees the same answer either way. Codes come from the OS CSPRNG, are stored as
an HMAC, expire after 10 minutes, work once, and allow 5 wrong tries. Sending is limited per
email and per client address (the shopper is told), and per order (silently: no new code).
The answer to a lookup takes at least ``PORTAL_LOOKUP_MIN_SECONDS``, so its timing does not tell
whether the order was found either.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import secrets
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from portal.clock import utcnow
from portal.db import serialise
from portal.errors import (
    CodeExpired,
    IntegrationError,
    ShopifyThrottled,
    TooManyLookups,
    TooManyTries,
    WrongCode,
)
from portal.integrations.shopify import ShopifyClient
from portal.integrations.shopify.models import Order
from portal.jobs.email import queue_email
from portal.mail.messages import render_email
from portal.reorders import snapshots
from portal.runtime import Runtime
from portal.shopper.models import OrderVerification
from portal.stores.models import Store

CODE_TTL = timedelta(minutes=10)
MAX_WRONG_TRIES = 5
WINDOW = timedelta(hours=1)
MAX_LOOKUPS_PER_EMAIL = 5
MAX_LOOKUPS_PER_CLIENT = 20
MAX_CODES_PER_ORDER = 3
SHOPPER_WAIT = 6.0
"""Seconds a shopper's page waits for the store's Shopify points before it says the store is
busy and goes on by itself a little later."""


def keyed_hash(secret: str, purpose: str, value: str) -> str:
    return hmac.new(secret.encode(), f"{purpose}:{value}".encode(), hashlib.sha256).hexdigest()


def new_code() -> str:
    return f"{secrets.randbelow(1_000_000):06d}"


async def _recent(
    session: AsyncSession, column: InstrumentedAttribute[str | None], value: str, since: datetime
) -> int:
    query = select(func.count()).where(column == value, OrderVerification.created_at >= since)
    return int(await session.scalar(query) or 0)


def _hashes(secret: str, email: str, client_address: str) -> tuple[str, str]:
    return (
        keyed_hash(secret, "email", email.strip().casefold()),
        keyed_hash(secret, "client", client_address),
    )


async def reserve_lookup(
    session: AsyncSession,
    *,
    secret: str,
    store_id: int,
    email: str,
    client_address: str,
    now: datetime,
) -> OrderVerification:
    """Record the lookup before Shopify is asked anything, or ``TooManyLookups`` when this
    email or address has looked up too often. Counting and recording take turns per email
    and address, so lookups sent at once cannot pass a limit together."""
    email_hash, client_hash = _hashes(secret, email, client_address)
    await serialise(session, f"lookup:{email_hash}", f"lookup:{client_hash}")
    verification = OrderVerification(
        public_id=secrets.token_urlsafe(18),
        store_id=store_id,
        email_hash=email_hash,
        client_hash=client_hash,
        wrong_tries=0,
        created_at=now,
        expires_at=now + CODE_TTL,
    )
    session.add(verification)
    await session.flush()  # written before counting: the counts include this lookup
    since = now - WINDOW
    if (
        await _recent(session, OrderVerification.email_hash, email_hash, since)
        > MAX_LOOKUPS_PER_EMAIL
        or await _recent(session, OrderVerification.client_hash, client_hash, since)
        > MAX_LOOKUPS_PER_CLIENT
    ):
        await session.rollback()
        raise TooManyLookups("lookup rate limit")
    await session.commit()
    return verification


async def attach_order(
    session: AsyncSession, verification: OrderVerification, *, secret: str, order_id: str
) -> str | None:
    """Bind a recorded lookup to the order it matched; a new code for it, or None when the
    order has had its codes for now. Takes turns per order like ``reserve_lookup``."""
    await serialise(session, f"lookup-order:{order_id}")
    verification.shopify_order_id = order_id
    await session.flush()
    since = verification.created_at - WINDOW
    if await _recent(session, OrderVerification.shopify_order_id, order_id, since) > (
        MAX_CODES_PER_ORDER
    ):
        return None
    code = new_code()
    verification.code_hash = keyed_hash(secret, "code", f"{verification.public_id}:{code}")
    return code


async def confirm(
    session: AsyncSession, *, secret: str, store_id: int, public_id: str, code: str, now: datetime
) -> OrderVerification:
    """Accept the code once, or raise a ``VerificationError`` saying why not.

    Each try is reserved atomically before the code is compared, so concurrent guesses cannot
    exceed the limit; a right code gives its try back and marks the row used, also atomically.
    """
    verification = await session.scalar(
        select(OrderVerification).where(
            OrderVerification.public_id == public_id, OrderVerification.store_id == store_id
        )
    )
    if verification is None or verification.used_at is not None or verification.expires_at < now:
        raise CodeExpired("no usable verification")
    if not await _reserve_try(session, verification.id):
        raise TooManyTries("tries spent")
    expected = keyed_hash(secret, "code", f"{public_id}:{code.strip()}")
    if verification.code_hash is None or not hmac.compare_digest(expected, verification.code_hash):
        await session.refresh(verification)
        tries_left = MAX_WRONG_TRIES - verification.wrong_tries
        raise WrongCode(tries_left) if tries_left > 0 else TooManyTries("tries spent")
    if not await _use(session, verification.id, now):
        raise CodeExpired("used concurrently")
    return verification


async def _reserve_try(session: AsyncSession, verification_id: int) -> bool:
    result = await session.execute(
        update(OrderVerification)
        .where(
            OrderVerification.id == verification_id,
            OrderVerification.wrong_tries < MAX_WRONG_TRIES,
        )
        .values(wrong_tries=OrderVerification.wrong_tries + 1)
        .execution_options(synchronize_session=False)
    )
    await session.commit()
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def _use(session: AsyncSession, verification_id: int, now: datetime) -> bool:
    result = await session.execute(
        update(OrderVerification)
        .where(OrderVerification.id == verification_id, OrderVerification.used_at.is_(None))
        .values(used_at=now, wrong_tries=OrderVerification.wrong_tries - 1)
        .execution_options(synchronize_session=False)
    )
    await session.commit()
    return bool(result.rowcount)  # type: ignore[attr-defined]


# --- the shopper's two steps: look the order up, enter the code ------------------------------


@dataclass(frozen=True)
class Lookup:
    public_id: str
    """The verification's public id, carried to the code page."""
    waiting: bool
    """The store's Shopify points ran short: the lookup is kept (sealed) on its row, and
    ``continue_lookup`` goes on with it from the code page's address."""


async def look_up(
    runtime: Runtime, store: Store, *, order_number: str, email: str, client_address: str
) -> Lookup:
    """Look the order up and email a code if it matches. ``TooManyLookups`` (before Shopify is
    asked) when limits are reached; Shopify's ``IntegrationError`` when it cannot be reached."""
    started, secret = time.monotonic(), _secret(runtime)
    async with runtime.sessions() as session:
        verification = await reserve_lookup(
            session,
            secret=secret,
            store_id=store.id,
            email=email,
            client_address=client_address,
            now=utcnow(),
        )
        waiting = await _find_and_send(
            runtime, session, store, verification, order_number=order_number, email=email
        )
    if not waiting:
        await _no_sooner_than(runtime.settings.lookup_min_seconds, started)
    return Lookup(verification.public_id, waiting)


async def continue_lookup(runtime: Runtime, store: Store, *, public_id: str) -> bool:
    """Go on with a lookup that waited for the store's points, if ``public_id`` names one (one
    caller at a time takes it); whether it is waiting still. Not counted as another lookup."""
    started = time.monotonic()
    async with runtime.sessions() as session:
        claimed = await _claim_waiting(session, store_id=store.id, public_id=public_id)
        if claimed is None:
            return False
        verification, sealed = claimed
        order_number, email = json.loads(runtime.sealer.open(sealed))
        try:
            waiting = await _find_and_send(
                runtime, session, store, verification, order_number=order_number, email=email
            )
        except IntegrationError:  # kept for the next try
            verification.sealed_lookup = sealed
            await session.commit()
            raise
    if not waiting:
        await _no_sooner_than(runtime.settings.lookup_min_seconds, started)
    return waiting


async def _find_and_send(
    runtime: Runtime,
    session: AsyncSession,
    store: Store,
    verification: OrderVerification,
    *,
    order_number: str,
    email: str,
) -> bool:
    """Ask Shopify for the order and email a code if it matches, committed; True (nothing
    sent, the lookup sealed onto its row) when the store's points are spoken for."""
    asked_at = utcnow()
    try:
        order = await shopify_for_shoppers(runtime, store).find_order(
            name=order_number, email=email
        )
    except ShopifyThrottled:
        verification.sealed_lookup = runtime.sealer.seal(json.dumps([order_number, email]))
        await session.commit()
        return True
    verification.sealed_lookup = None
    if order is not None:
        await snapshots.keep(session, store_id=store.id, order=order, read_since=asked_at)
        verification.expires_at = max(verification.expires_at, utcnow() + CODE_TTL)
        code = await attach_order(session, verification, secret=_secret(runtime), order_id=order.id)
        if code is not None and order.email:
            await _send_code(session, store, order, order.email, code)
    await session.commit()
    return False


async def _claim_waiting(
    session: AsyncSession, *, store_id: int, public_id: str
) -> tuple[OrderVerification, str] | None:
    """The waiting lookup ``public_id`` names and its sealed order number and email, taken
    (committed) so that no other request goes on with it at the same time."""
    verification = await session.scalar(
        select(OrderVerification).where(
            OrderVerification.public_id == public_id,
            OrderVerification.store_id == store_id,
            OrderVerification.sealed_lookup.is_not(None),
            OrderVerification.used_at.is_(None),
        )
    )
    if verification is None or verification.sealed_lookup is None:
        return None
    sealed = verification.sealed_lookup
    taken = await session.execute(
        update(OrderVerification)
        .where(
            OrderVerification.id == verification.id,
            OrderVerification.sealed_lookup.is_not(None),
        )
        .values(sealed_lookup=None)
        .execution_options(synchronize_session=False)
    )
    await session.commit()
    if not taken.rowcount:  # type: ignore[attr-defined]
        return None
    verification.sealed_lookup = None
    return verification, sealed


def shopify_for_shoppers(runtime: Runtime, store: Store) -> ShopifyClient:
    """The store's Shopify client for a page someone is looking at: it waits at most
    ``SHOPPER_WAIT`` for query points, then the page says the store is busy and holds their
    place (``ShopifyThrottled``)."""
    return runtime.shopify(store).waiting_at_most(SHOPPER_WAIT)


async def _send_code(session: AsyncSession, store: Store, order: Order, to: str, code: str) -> None:
    context = {
        "code": code,
        "order_name": order.name,
        "store_name": store.name,
        "support_email": store.support_email,
        "minutes": int(CODE_TTL.total_seconds() // 60),
    }
    await queue_email(session, render_email("verification_code", context, to=to), store_id=store.id)


async def _no_sooner_than(seconds: float, started: float) -> None:
    await asyncio.sleep(max(0.0, seconds - (time.monotonic() - started)))


async def enter_code(runtime: Runtime, store: Store, *, public_id: str, code: str) -> str:
    """The id of the order whose email the code was sent to, or a ``VerificationError``."""
    async with runtime.sessions() as session:
        confirmed = await confirm(
            session,
            secret=_secret(runtime),
            store_id=store.id,
            public_id=public_id,
            code=code,
            now=utcnow(),
        )
    assert confirmed.shopify_order_id is not None  # a code is only ever sent for an order
    return confirmed.shopify_order_id


async def verified_order(runtime: Runtime, store: Store, order_id: str) -> Order | None:
    """The verified order: the copy read a moment ago while it cannot have changed
    (``portal.reorders.snapshots``), else as Shopify has it now."""
    return await snapshots.read_or_fetch(
        runtime.sessions,
        store_id=store.id,
        order_id=order_id,
        fetch=lambda: shopify_for_shoppers(runtime, store).get_order(order_id=order_id),
    )


def _secret(runtime: Runtime) -> str:
    return str(runtime.settings.secret_key)
