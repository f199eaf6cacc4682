"""Shopify's OAuth endpoints for the portal's app: the authorization code grant, refreshing
expiring offline tokens and the client credentials grant.

https://shopify.dev/docs/apps/build/authentication-authorization/access-tokens/authorization-code-grant
https://shopify.dev/docs/apps/build/authentication-authorization/access-tokens/offline-access-tokens

- ``authorize_url`` sends the merchant to ``https://{shop}/admin/oauth/authorize``;
- ``is_signed_by_shopify`` checks the ``hmac`` of a callback or launch query (hex HMAC-SHA256,
  under the client secret, of every other parameter sorted and joined ``k=v&...``), in constant
  time;
- ``exchange_code`` (``expiring=1``), ``refresh`` and ``client_credentials`` POST to
  ``/admin/oauth/access_token`` and answer a ``Grant``. Every refresh replaces the refresh token:
  the caller must store the new one before using the new access token.

Nothing here logs a token or a secret.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlencode

import httpx

from portal.clock import utcnow
from portal.errors import GrantRefused, ShopifyUnavailable
from portal.integrations.shopify.app_config import parse_scopes, scope_list

SHOP_DOMAIN = re.compile(r"[a-z0-9][a-z0-9-]{0,99}\.myshopify\.com")
"""A shop's permanent domain as Shopify names it; the only form the portal accepts."""
MAX_TOKEN_LENGTH = 4096


@dataclass(frozen=True)
class Grant:
    """What Shopify's token endpoint answered; ``expires_at`` None: the token does not expire."""

    access_token: str
    scopes: frozenset[str]
    expires_at: datetime | None
    refresh_token: str | None
    refresh_token_expires_at: datetime | None


def is_shop_domain(value: str) -> bool:
    return SHOP_DOMAIN.fullmatch(value) is not None


def signed_message(pairs: Iterable[tuple[str, str]]) -> str:
    """The text Shopify signs: every parameter but ``hmac`` (and the legacy ``signature``),
    sorted by name, ``&`` and ``%`` escaped in names and values, ``=`` in names."""
    escaped = []
    for key, value in pairs:
        if key in ("hmac", "signature"):
            continue
        k = key.replace("%", "%25").replace("&", "%26").replace("=", "%3D")
        v = value.replace("%", "%25").replace("&", "%26")
        escaped.append((k, v))
    return "&".join(f"{k}={v}" for k, v in sorted(escaped))


def query_signature(pairs: Iterable[tuple[str, str]], secret: str) -> str:
    return hmac.new(secret.encode(), signed_message(pairs).encode(), hashlib.sha256).hexdigest()


class ShopifyOAuth:
    def __init__(
        self,
        http: httpx.AsyncClient,
        *,
        client_id: str,
        client_secret: str,
        oauth_url: str = "https://{shop}/admin/oauth",
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._http = http
        self.client_id = client_id
        self._secret = client_secret
        self._oauth_url = oauth_url
        self._clock = clock

    def authorize_url(
        self, shop: str, *, scopes: frozenset[str], redirect_uri: str, state: str
    ) -> str:
        """Where the merchant approves the app (offline access: no ``grant_options[]``)."""
        query = urlencode(
            {
                "client_id": self.client_id,
                "scope": scope_list(scopes),
                "redirect_uri": redirect_uri,
                "state": state,
            }
        )
        return f"{self._base(shop)}/authorize?{query}"

    def is_signed_by_shopify(self, pairs: list[tuple[str, str]]) -> bool:
        """Whether the query's ``hmac`` is Shopify's signature under the client secret."""
        given = [v for k, v in pairs if k == "hmac"]
        if len(given) != 1 or not self._secret:
            return False
        expected = query_signature(pairs, self._secret)
        return hmac.compare_digest(expected.encode(), given[0].strip().lower().encode())

    async def exchange_code(self, shop: str, code: str) -> Grant:
        """An expiring offline token (and its refresh token) for the callback's ``code``."""
        return await self._token(shop, {"code": code, "expiring": "1"})

    async def refresh(self, shop: str, refresh_token: str) -> Grant:
        return await self._token(
            shop, {"grant_type": "refresh_token", "refresh_token": refresh_token}
        )

    async def client_credentials(self, shop: str) -> Grant:
        """A token for a store of the app's own organisation, without a merchant's approval."""
        return await self._token(shop, {"grant_type": "client_credentials"})

    def _base(self, shop: str) -> str:
        if not is_shop_domain(shop):
            raise ValueError("not a myshopify.com domain")
        return self._oauth_url.format(shop=shop).rstrip("/")

    async def _token(self, shop: str, fields: dict[str, str]) -> Grant:
        body = {"client_id": self.client_id, "client_secret": self._secret, **fields}
        url = f"{self._base(shop)}/access_token"
        try:
            response = await self._http.post(url, data=body, headers={"Accept": "application/json"})
        except httpx.TransportError as exc:
            raise ShopifyUnavailable(
                f"Shopify's token endpoint did not answer for {shop}: {type(exc).__name__}"
            ) from exc
        if response.status_code >= 500 or response.status_code == 429:
            raise ShopifyUnavailable(
                f"Shopify's token endpoint answered HTTP {response.status_code} for {shop}"
            )
        payload = _json_object(response)
        if response.status_code != 200:
            raise GrantRefused(
                f"Shopify refused the token request for {shop} "
                f"(HTTP {response.status_code}: {_error_code(payload)})"
            )
        return self._grant(payload)

    def _grant(self, payload: dict[str, Any]) -> Grant:
        now = self._clock()
        access_token = _bounded_text(payload.get("access_token"), "access_token")
        refresh_token = payload.get("refresh_token")
        return Grant(
            access_token=access_token,
            scopes=parse_scopes(_bounded_text(payload.get("scope", ""), "scope", empty=True)),
            expires_at=_after(now, payload.get("expires_in")),
            refresh_token=None
            if refresh_token is None
            else _bounded_text(refresh_token, "refresh_token"),
            refresh_token_expires_at=_after(now, payload.get("refresh_token_expires_in")),
        )


def _json_object(response: httpx.Response) -> dict[str, Any]:
    try:
        payload = response.json()
    except ValueError:
        payload = None
    if not isinstance(payload, dict):
        raise GrantRefused(
            f"Shopify's token endpoint answered HTTP {response.status_code} without a JSON object"
        )
    return payload


def _error_code(payload: dict[str, Any]) -> str:
    code = payload.get("error")
    return code[:64] if isinstance(code, str) and code.isascii() else "no error code"


def _bounded_text(value: Any, name: str, *, empty: bool = False) -> str:
    if not isinstance(value, str) or len(value) > MAX_TOKEN_LENGTH or (not value and not empty):
        raise GrantRefused(f"Shopify's token endpoint answered without a usable {name}")
    return value


def _after(now: datetime, seconds: Any) -> datetime | None:
    if seconds is None:
        return None
    if isinstance(seconds, bool) or not isinstance(seconds, int) or not 0 < seconds < 10**9:
        raise GrantRefused("Shopify's token endpoint answered an expiry that is not a duration")
    return now + timedelta(seconds=seconds)
