"""Installing the portal's app on a Shopify store: the authorization code grant, and the client
credentials grant for stores of the operator's own organisation.

    state = await begin(db, shop=..., browser=..., now=...)      # then redirect to Shopify
    store = await complete(runtime, callback, browser=...)       # Shopify sent the merchant back

``complete`` trusts nothing until it has checked, in this order: the query's HMAC under the app's
secret (constant time), that the merchant did not decline, the ``shop`` domain, and the
``state``: issued by ``begin`` in the last minutes, to this browser, for this shop, never used
(it is used up here whatever follows). Then the code is exchanged for an expiring offline token,
the granted scopes are checked, and the store is created or updated from Shopify's own ``shop``
query, its tokens sealed, in one transaction with the job that subscribes its webhooks. Any
refusal raises ``InstallRefused`` with words for the admin, and no store is written.
"""

from __future__ import annotations

import contextlib
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from portal.clock import utcnow
from portal.errors import InstallRefused, ShopifyError, StoreRefused
from portal.integrations.shopify import ShopInfo
from portal.integrations.shopify.app_config import (
    CALLBACK_PATH,
    REQUESTED_SCOPES,
    REQUIRED_SCOPES,
    scope_list,
)
from portal.integrations.shopify.oauth import Grant, ShopifyOAuth
from portal.integrations.shopify.versions import DEFAULT as DEFAULT_API_VERSION
from portal.jobs import queue
from portal.jobs.models import Priority
from portal.runtime import Runtime
from portal.signing import digest
from portal.stores import rules
from portal.stores.models import InstallState, Store, TokenKind
from portal.stores.tokens import write_grant

STATE_LIFETIME = timedelta(minutes=10)
MAX_PARAMETER = 512
SYNC_WEBHOOKS = "shopify_app.sync_webhooks"
_CODE = re.compile(r"[A-Za-z0-9_-]{1,256}")


@dataclass(frozen=True)
class Callback:
    """The query Shopify sent the merchant back with, as pairs (the HMAC covers them all)."""

    pairs: list[tuple[str, str]]

    def get(self, name: str) -> str:
        found = [v for k, v in self.pairs if k == name]
        return found[0] if len(found) == 1 and len(found[0]) <= MAX_PARAMETER else ""


def normalise_shop(raw: str) -> str:
    """A shop domain from a form or query: lower-cased, scheme and slashes dropped; a bare name
    gets ``.myshopify.com``. ``InstallRefused`` when it is not a myshopify.com domain."""
    shop = raw.strip().lower().removeprefix("https://").removeprefix("http://").strip("/")
    if shop and "." not in shop:
        shop += ".myshopify.com"
    try:
        return rules.shop_domain(shop)
    except StoreRefused as refused:
        raise InstallRefused(
            "That is not a Shopify store address: use the store's myshopify.com domain, "
            "e.g. maple-and-moss.myshopify.com."
        ) from refused


async def begin(db: AsyncSession, *, shop: str, browser: str, now: datetime) -> str:
    """A new single-use ``state`` for ``shop``, bound to the ``browser`` cookie's value."""
    await db.execute(delete(InstallState).where(InstallState.expires_at < now - STATE_LIFETIME))
    state = secrets.token_urlsafe(32)
    db.add(
        InstallState(
            state_hash=digest(state),
            browser_hash=digest(browser),
            shop_domain=shop,
            created_at=now,
            expires_at=now + STATE_LIFETIME,
        )
    )
    await db.commit()
    return state


def authorize_url(runtime: Runtime, *, shop: str, state: str) -> str:
    oauth = _oauth(runtime)
    return oauth.authorize_url(
        shop, scopes=REQUESTED_SCOPES, redirect_uri=callback_url(runtime), state=state
    )


def callback_url(runtime: Runtime) -> str:
    return runtime.settings.base_url.rstrip("/") + CALLBACK_PATH


async def complete(runtime: Runtime, callback: Callback, *, browser: str) -> Store:
    oauth = _oauth(runtime)
    if callback.get("error"):
        # Declined: nothing to trust or store either way; the state is used up if it is good.
        shop = normalise_shop(callback.get("shop"))
        with contextlib.suppress(InstallRefused):
            await _use_state(runtime, callback, shop=shop, browser=browser)
        raise InstallRefused(
            f"The app was not installed: access to {shop} was declined in Shopify."
        )
    if not oauth.is_signed_by_shopify(callback.pairs):
        raise InstallRefused(
            "This address was not signed by Shopify, so the installation was not trusted. "
            "Start it again from the store's admin or the portal."
        )
    shop = normalise_shop(callback.get("shop"))
    await _use_state(runtime, callback, shop=shop, browser=browser)
    code = callback.get("code")
    if not _CODE.fullmatch(code):
        raise InstallRefused("Shopify sent no authorization code; start the installation again.")
    try:
        grant = await oauth.exchange_code(shop, code)
    except ShopifyError as exc:
        raise InstallRefused(
            f"Shopify did not hand over access to {shop} ({exc}). Start the installation again."
        ) from exc
    return await _store_from_grant(runtime, shop, grant, TokenKind.EXPIRING)


async def install_own_store(runtime: Runtime, shop: str) -> Store:
    """A store of the operator's own organisation, through the client credentials grant."""
    oauth = _oauth(runtime)
    shop = normalise_shop(shop)
    try:
        grant = await oauth.client_credentials(shop)
    except ShopifyError as exc:
        raise InstallRefused(f"Shopify refused the client credentials for {shop}: {exc}") from exc
    return await _store_from_grant(runtime, shop, grant, TokenKind.CLIENT_CREDENTIALS)


async def _use_state(runtime: Runtime, callback: Callback, *, shop: str, browser: str) -> None:
    state = callback.get("state")
    now = utcnow()
    async with runtime.sessions() as db, db.begin():
        used = await db.execute(
            update(InstallState)
            .where(
                InstallState.state_hash == digest(state),
                InstallState.browser_hash == digest(browser),
                InstallState.shop_domain == shop,
                InstallState.used_at.is_(None),
                InstallState.expires_at > now,
            )
            .values(used_at=now)
        )
    if not state or used.rowcount != 1:  # type: ignore[attr-defined]
        raise InstallRefused(
            "This installation link has expired, was already used, was started in another "
            "browser or for another store. Start the installation again."
        )


async def _store_from_grant(runtime: Runtime, shop: str, grant: Grant, kind: TokenKind) -> Store:
    missing = REQUIRED_SCOPES - grant.scopes
    if missing:
        raise InstallRefused(
            f"Shopify granted the app too little access to {shop}: it also needs "
            f"{scope_list(missing)}. Install it again and accept every access asked for."
        )
    try:
        info = await _shop_info(runtime, shop, grant.access_token)
    except ShopifyError as exc:
        raise InstallRefused(f"Shopify did not describe {shop} ({exc}); try again.") from exc
    async with runtime.sessions() as db, db.begin():
        store = await db.scalar(select(Store).where(Store.shop_domain == shop))
        if store is None:
            store = Store(
                slug=await _free_slug(db, shop),
                shop_domain=shop,
                api_version=DEFAULT_API_VERSION,
                support_email=info.contact_email,
                token_version=0,
            )
            db.add(store)
        store.name = " ".join(info.name.split())[: rules.MAX_NAME] or store.slug
        store.currency = info.currency
        store.time_zone = info.iana_timezone
        store.support_email = store.support_email or info.contact_email
        store.installed_at = utcnow()
        store.uninstalled_at = None
        write_grant(store, grant, runtime.sealer, kind)
        await db.flush()
        await queue.enqueue(
            db,
            SYNC_WEBHOOKS,
            {"store_id": store.id},
            dedupe_key=f"sync-webhooks:{store.id}:{store.token_version}",
            # A few calls, and until they are made the store's orders go unheard: ahead of
            # the bulk syncs, on the worker that keeps free for an admin or agent waiting.
            priority=Priority.HIGH,
        )
    return store


async def _shop_info(runtime: Runtime, shop: str, access_token: str) -> ShopInfo:
    return await runtime.shopify_with_token(shop, access_token, DEFAULT_API_VERSION).shop()


async def _free_slug(db: AsyncSession, shop: str) -> str:
    """The shop's handle (``maple-and-moss`` of maple-and-moss.myshopify.com), numbered when
    taken or reserved."""
    base = shop.split(".", 1)[0][:60].strip("-")
    slug, n = base, 1
    while (
        slug in rules.RESERVED_SLUGS
        or await db.scalar(select(Store.id).where(Store.slug == slug)) is not None
    ):
        n += 1
        slug = f"{base}-{n}"
    return rules.slug(slug)


def _oauth(runtime: Runtime) -> ShopifyOAuth:
    oauth = runtime.shopify_oauth
    if oauth is None:
        raise InstallRefused(
            "No Shopify app is configured: set PORTAL_SHOPIFY_CLIENT_ID and "
            "PORTAL_SHOPIFY_CLIENT_SECRET (README: Connect a Shopify store)."
        )
    return oauth
