"""Apps installed on sandbox shops and the credentials Shopify gives them: authorization codes,
access tokens and refresh tokens, with the rules of Shopify's token endpoint.

Documented behaviour (https://shopify.dev/docs/apps/build/authentication-authorization):

- an authorization code is single-use and valid for 60 seconds;
- an expiring offline token lives 3600 s and comes with a refresh token that lives 90 days;
  each refresh returns a new pair, and the refresh token used stays valid only until the new
  access token is first used (Shopify's resilient refreshes); a refresh token used again before
  that gets another pair, and the unused pair it replaces is revoked;
- a client credentials token lives 86399 s and is only for shops of the app's organisation.

Every method is called with the world's lock held (``ShopifyWorld`` does that).
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

CODE_LIFETIME = timedelta(seconds=60)
ACCESS_LIFETIME = timedelta(seconds=3600)
REFRESH_LIFETIME = timedelta(seconds=7_776_000)
CLIENT_CREDENTIALS_LIFETIME = timedelta(seconds=86_399)


class OAuthRefused(Exception):
    """The token endpoint refuses: an HTTP status, an OAuth error code and a description."""

    def __init__(self, status: int, error: str, description: str) -> None:
        super().__init__(description)
        self.status = status
        self.error = error
        self.description = description

    def as_json(self) -> dict[str, str]:
        return {"error": self.error, "error_description": self.description}


@dataclass(frozen=True)
class App:
    """An app registered with the sandbox (a Partner app with its client credentials)."""

    client_id: str
    client_secret: str
    redirect_urls: tuple[str, ...]
    compliance_url: str | None = None
    organisation_shops: frozenset[str] = frozenset()
    scopes: tuple[str, ...] = ()  # what a client credentials token is granted


@dataclass
class AccessToken:
    """A token the Admin API accepts; ``scopes`` None means every scope (a seeded token)."""

    value: str
    shop: str
    client_id: str | None
    scopes: tuple[str, ...] | None
    expires_at: datetime | None = None
    used: bool = False
    revoked: bool = False

    def live(self, now: datetime) -> bool:
        return not self.revoked and (self.expires_at is None or now < self.expires_at)

    def __post_init__(self) -> None:
        self._rights = implied_scopes(self.scopes) if self.scopes is not None else None

    def allows(self, scope: str) -> bool:
        return self._rights is None or scope in self._rights

    @property
    def scope_text(self) -> str:
        return ",".join(self.scopes or ())


@dataclass
class RefreshToken:
    value: str
    shop: str
    client_id: str
    scopes: tuple[str, ...]
    expires_at: datetime
    successor: AccessToken | None = None  # the access token its last use produced
    successor_refresh: RefreshToken | None = None
    revoked: bool = False

    def usable(self, now: datetime) -> bool:
        if self.revoked or now >= self.expires_at:
            return False
        return self.successor is None or not self.successor.used


@dataclass
class AuthorizationCode:
    value: str
    shop: str
    client_id: str
    scopes: tuple[str, ...]
    expires_at: datetime
    used: bool = False


@dataclass(frozen=True)
class Grant:
    """What the token endpoint answers."""

    access: AccessToken
    refresh: RefreshToken | None = None

    def as_json(self, now: datetime) -> dict[str, object]:
        body: dict[str, object] = {
            "access_token": self.access.value,
            "scope": self.access.scope_text,
        }
        if self.access.expires_at is not None:
            body["expires_in"] = int((self.access.expires_at - now).total_seconds())
        if self.refresh is not None:
            body["refresh_token"] = self.refresh.value
            body["refresh_token_expires_in"] = int((self.refresh.expires_at - now).total_seconds())
        return body


def normalise_scopes(text: str) -> tuple[str, ...]:
    """Scopes as asked (comma or space separated), trimmed and without repeats, in order."""
    seen: dict[str, None] = {}
    for part in text.replace(" ", ",").split(","):
        if part.strip():
            seen.setdefault(part.strip(), None)
    return tuple(seen)


def implied_scopes(scopes: Iterable[str]) -> frozenset[str]:
    """``write_x`` grants ``read_x`` too, as on Shopify."""
    granted = set(scopes)
    return frozenset(granted | {"read_" + s[6:] for s in granted if s.startswith("write_")})


@dataclass
class Grants:
    """Every app, code and token of one world."""

    now: Callable[[], datetime]
    apps: dict[str, App] = field(default_factory=dict)
    codes: dict[str, AuthorizationCode] = field(default_factory=dict)
    tokens: dict[str, AccessToken] = field(default_factory=dict)
    refresh_tokens: dict[str, RefreshToken] = field(default_factory=dict)

    def register(self, app: App) -> App:
        if app.client_id in self.apps:
            raise ValueError(f"app {app.client_id} already exists")
        self.apps[app.client_id] = app
        return app

    def app(self, client_id: str) -> App | None:
        return self.apps.get(client_id)

    def token(self, shop: str, value: str) -> AccessToken | None:
        """The live token ``value`` of ``shop``, or None."""
        found = self.tokens.get(value)
        if found is None or found.shop != shop or not found.live(self.now()):
            return None
        return found

    # authorization code grant

    def issue_code(self, shop: str, client_id: str, scopes: tuple[str, ...]) -> str:
        value = secrets.token_hex(16)
        expires = self.now() + CODE_LIFETIME
        self.codes[value] = AuthorizationCode(value, shop, client_id, scopes, expires)
        return value

    def exchange_code(self, shop: str, app: App, code: str, *, expiring: bool) -> Grant:
        found = self.codes.get(code)
        if found is None or found.used or found.shop != shop or found.client_id != app.client_id:
            raise OAuthRefused(400, "invalid_grant", "The authorization code is not valid.")
        found.used = True
        if self.now() >= found.expires_at:
            raise OAuthRefused(400, "invalid_grant", "The authorization code has expired.")
        return self._grant(shop, app.client_id, found.scopes, expiring=expiring)

    def _grant(
        self, shop: str, client_id: str, scopes: tuple[str, ...], *, expiring: bool
    ) -> Grant:
        now = self.now()
        access = AccessToken(
            f"shpat_{secrets.token_hex(16)}",
            shop,
            client_id,
            scopes,
            expires_at=now + ACCESS_LIFETIME if expiring else None,
        )
        self.tokens[access.value] = access
        if not expiring:
            return Grant(access)
        refresh = RefreshToken(
            f"shprt_{secrets.token_hex(16)}", shop, client_id, scopes, now + REFRESH_LIFETIME
        )
        self.refresh_tokens[refresh.value] = refresh
        return Grant(access, refresh)

    # refresh token grant

    def refresh(self, shop: str, app: App, value: str) -> Grant:
        found = self.refresh_tokens.get(value)
        if (
            found is None
            or found.shop != shop
            or found.client_id != app.client_id
            or not found.usable(self.now())
        ):
            raise OAuthRefused(400, "invalid_grant", "The refresh token is invalid or expired.")
        if found.successor is not None:  # a retry: the unused pair it made gives way
            found.successor.revoked = True
            if found.successor_refresh is not None:
                found.successor_refresh.revoked = True
        grant = self._grant(shop, app.client_id, found.scopes, expiring=True)
        found.successor, found.successor_refresh = grant.access, grant.refresh
        return grant

    # client credentials grant

    def client_credentials(self, shop: str, app: App) -> Grant:
        if shop not in app.organisation_shops:
            raise OAuthRefused(
                400,
                "unauthorized_client",
                "The client credentials grant is only for shops of the app's organisation.",
            )
        now = self.now()
        access = AccessToken(
            f"shpat_{secrets.token_hex(16)}",
            shop,
            app.client_id,
            app.scopes,
            expires_at=now + CLIENT_CREDENTIALS_LIFETIME,
        )
        self.tokens[access.value] = access
        return Grant(access)

    # uninstalling

    def revoke(self, shop: str, client_id: str) -> int:
        """Revoke every token and code of ``client_id`` on ``shop``; how many tokens were live."""
        now = self.now()
        live = 0
        for token in self.tokens.values():
            if token.shop == shop and token.client_id == client_id:
                live += token.live(now)
                token.revoked = True
        for refresh in self.refresh_tokens.values():
            if refresh.shop == shop and refresh.client_id == client_id:
                refresh.revoked = True
        for code in self.codes.values():
            if code.shop == shop and code.client_id == client_id:
                code.used = True
        return live

    def expire(self, shop: str, client_id: str) -> int:
        """End every live access token of ``client_id`` on ``shop`` now, as if its hour had
        passed (refresh tokens keep working); how many there were."""
        now = self.now()
        ended = 0
        for token in self.tokens.values():
            if token.shop == shop and token.client_id == client_id and token.live(now):
                token.expires_at = now
                ended += 1
        return ended

    def installed(self, shop: str, client_id: str) -> bool:
        now = self.now()
        return any(
            t.shop == shop and t.client_id == client_id and t.live(now)
            for t in self.tokens.values()
        ) or any(
            r.shop == shop and r.client_id == client_id and r.usable(now)
            for r in self.refresh_tokens.values()
        )
