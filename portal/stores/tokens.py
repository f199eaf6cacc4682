"""A store's Admin API token, kept fresh: the ``TokenSource`` the Shopify client asks before each
request.

- A static token (a custom app made in the store's admin) is used as it is.
- An expiring offline token is refreshed a few minutes before it expires, and after Shopify
  answers 401; the rotated refresh token is written in the same transaction as the access token.
- A client-credentials token is asked for again the same way.

Several processes may refresh at once. Each refresh first takes the store row's write lock (an
UPDATE of the row: a row lock on PostgreSQL, the database's one writer on SQLite), then reads
``token_version``: if another process moved it on since this one read the store, its tokens are
taken instead of refreshing again, so the newest refresh token is never overwritten by an older
one, and a refresh token is never spent twice.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from portal.clock import utcnow
from portal.errors import ShopifyAuthError, StoreInactive
from portal.integrations.shopify.app_config import scope_list
from portal.integrations.shopify.oauth import Grant, ShopifyOAuth
from portal.sealing import Sealer
from portal.stores.models import Store, TokenKind

log = logging.getLogger(__name__)

REFRESH_MARGIN = timedelta(minutes=5)
"""An expiring token is refreshed when it has less than this left."""


@dataclass
class _Held:
    token: str
    expires_at: datetime | None
    version: int


class StoreTokens:
    def __init__(
        self,
        store: Store,
        *,
        sessions: async_sessionmaker[AsyncSession],
        sealer: Sealer,
        oauth: ShopifyOAuth | None,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._store_id = store.id
        self._shop = store.shop_domain
        self._kind = TokenKind(store.token_kind)
        self._sessions = sessions
        self._sealer = sealer
        self._oauth = oauth
        self._clock = clock
        self._held = _Held(
            sealer.open(store.sealed_access_token),
            store.access_token_expires_at,
            store.token_version,
        )

    async def current(self) -> str:
        held = self._held
        if self._kind is TokenKind.STATIC or held.expires_at is None:
            return held.token
        if held.expires_at - self._clock() > REFRESH_MARGIN:
            return held.token
        return await self._refresh(seen=held.version)

    async def renewed(self, rejected: str) -> str | None:
        if self._kind is TokenKind.STATIC:
            return None
        seen = self._held.version if rejected == self._held.token else -1
        token = await self._refresh(seen=seen, rejected=rejected)
        return None if token == rejected else token

    async def _refresh(self, *, seen: int, rejected: str | None = None) -> str:
        async with self._sessions() as db, db.begin():
            await db.execute(
                update(Store)
                .where(Store.id == self._store_id)
                .values(token_version=Store.token_version)
            )
            store = await db.get(Store, self._store_id, populate_existing=True)
            if store is None:
                raise ShopifyAuthError(f"store {self._store_id} no longer exists")
            if not store.is_active:
                raise StoreInactive(store.name, store.support_email)
            stored = self._sealer.open(store.sealed_access_token)
            fresh_enough = (
                store.access_token_expires_at is None
                or store.access_token_expires_at - self._clock() > REFRESH_MARGIN
            )
            if store.token_version != seen and stored != rejected and fresh_enough:
                self._adopt(store, stored)  # another process refreshed meanwhile
                return stored
            grant = await self._grant(store)
            _write(store, grant, self._sealer)
            self._adopt(store, grant.access_token)
            log.info("refreshed the Shopify token of %s", store.shop_domain)
            return grant.access_token

    async def _grant(self, store: Store) -> Grant:
        if self._oauth is None:
            raise ShopifyAuthError(
                f"{store.shop_domain}'s token expired and no Shopify app is configured to renew "
                "it (PORTAL_SHOPIFY_CLIENT_ID and PORTAL_SHOPIFY_CLIENT_SECRET)"
            )
        if TokenKind(store.token_kind) is TokenKind.CLIENT_CREDENTIALS:
            return await self._oauth.client_credentials(store.shop_domain)
        refresh_token = self._sealer.open_optional(store.sealed_refresh_token)
        if refresh_token is None:
            raise ShopifyAuthError(f"{store.shop_domain} has no refresh token; reinstall the app")
        return await self._oauth.refresh(store.shop_domain, refresh_token)

    def _adopt(self, store: Store, token: str) -> None:
        self._held = _Held(token, store.access_token_expires_at, store.token_version)


def _write(store: Store, grant: Grant, sealer: Sealer) -> None:
    """The grant onto the row: new access token, rotated refresh token, a new version."""
    store.sealed_access_token = sealer.seal(grant.access_token)
    store.access_token_expires_at = grant.expires_at
    if grant.refresh_token is not None:
        store.sealed_refresh_token = sealer.seal(grant.refresh_token)
        store.refresh_token_expires_at = grant.refresh_token_expires_at
    if grant.scopes:
        store.granted_scopes = scope_list(grant.scopes)
    store.token_version += 1


def write_grant(store: Store, grant: Grant, sealer: Sealer, kind: TokenKind) -> None:
    """A new install's (or re-install's) tokens onto the store row."""
    store.token_kind = kind.value
    if grant.refresh_token is None:
        store.sealed_refresh_token = None
        store.refresh_token_expires_at = None
    _write(store, grant, sealer)
