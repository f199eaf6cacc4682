"""A store (merchant) is a row: its Shopify shop, how the portal reaches it, its protection
product and its rules. Secrets are kept sealed (``portal.sealing``): the ``sealed_*`` columns
hold Fernet tokens, never the values themselves."""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy import JSON, Boolean, Integer, String, Text, func
from sqlalchemy.orm import Mapped, mapped_column

from portal.db import Base
from portal.integrations.shopify.app_config import ALL_ORDERS_SCOPE, RECENT_ORDERS_DAYS


class TokenKind(StrEnum):
    """How the store's Admin API token was obtained, which says how it is renewed."""

    EXPIRING = "expiring"  # OAuth authorization code grant, offline, expiring=1: refresh token
    CLIENT_CREDENTIALS = "client_credentials"  # stores of the operator's own organisation
    STATIC = "static"  # a custom app made in the store's own admin: never expires


class Store(Base):
    __tablename__ = "stores"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    shop_domain: Mapped[str] = mapped_column(String(255), unique=True)

    # How the portal reaches the Admin API. token_version counts every change of the tokens, so
    # two processes refreshing at once can tell which of them wrote last (compare-and-set).
    token_kind: Mapped[str] = mapped_column(String(24), default=TokenKind.STATIC.value)
    sealed_access_token: Mapped[str] = mapped_column(Text)
    access_token_expires_at: Mapped[datetime | None] = mapped_column(nullable=True)
    sealed_refresh_token: Mapped[str | None] = mapped_column(Text, nullable=True)
    refresh_token_expires_at: Mapped[datetime | None] = mapped_column(nullable=True)
    token_version: Mapped[int] = mapped_column(Integer, default=0)
    granted_scopes: Mapped[str] = mapped_column(String(2000), default="")
    # A custom app made in the store's own admin signs its webhooks with its own secret.
    sealed_webhook_secret: Mapped[str | None] = mapped_column(Text, nullable=True)
    api_version: Mapped[str] = mapped_column(String(16))
    # The version Shopify said it ran (X-Shopify-API-Version), when it differs from api_version.
    api_version_served: Mapped[str | None] = mapped_column(String(16), nullable=True)
    installed_at: Mapped[datetime | None] = mapped_column(nullable=True)
    # Set by app/uninstalled: the store's pages say so and its jobs stop; nothing is deleted.
    uninstalled_at: Mapped[datetime | None] = mapped_column(nullable=True)

    protection_product_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    protection_variant_ids: Mapped[list[str]] = mapped_column(JSON, default=list)
    claim_window_days: Mapped[int] = mapped_column(Integer, default=30)
    # Per issue type, by the name of portal.reorders.models.IssueType (e.g. {"LOST": 45}); a
    # type not named uses claim_window_days.
    claim_windows: Mapped[dict[str, int]] = mapped_column(JSON, default=dict)
    # Lost opens once a parcel has had no tracking update for this many days, or is this many
    # days past the carrier's estimate (portal.reorders.tracking); the windows above count
    # from shipping for Lost and from delivery for the other reasons.
    lost_after_quiet_days: Mapped[int] = mapped_column(Integer, default=7, server_default="7")
    lost_after_estimate_days: Mapped[int] = mapped_column(Integer, default=3, server_default="3")
    support_email: Mapped[str] = mapped_column(String(320))
    support_phone: Mapped[str | None] = mapped_column(String(64), nullable=True)
    time_zone: Mapped[str] = mapped_column(String(64), default="UTC")
    currency: Mapped[str] = mapped_column(String(3), default="USD")
    # the shopper pages' language when neither the shopper nor the browser chose one
    default_locale: Mapped[str] = mapped_column(String(8), default="en", server_default="en")
    corso_store_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    # The store's own Corso OAuth client; without it the agent sees no Corso claims.
    corso_client_id: Mapped[str | None] = mapped_column(String(255), nullable=True)
    sealed_corso_client_secret: Mapped[str | None] = mapped_column(Text, nullable=True)
    brand_color: Mapped[str] = mapped_column(String(7), default="#1f5c4a")
    logo_path: Mapped[str | None] = mapped_column(String(255), nullable=True)
    # Send "your order is protected" with a signed link when a protected order is created.
    protected_order_email: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())

    @property
    def is_active(self) -> bool:
        return self.uninstalled_at is None

    @property
    def scopes(self) -> frozenset[str]:
        return frozenset(s for s in self.granted_scopes.split(",") if s)

    @property
    def reads_all_orders(self) -> bool:
        """Whether Shopify shows this store's orders of any age (``read_all_orders``); without
        it only the last 60 days. A static token's scopes are not known: assumed to."""
        if self.token_kind == TokenKind.STATIC.value and not self.granted_scopes:
            return True
        return ALL_ORDERS_SCOPE in self.scopes

    def orders_readable_from(self, now: datetime) -> datetime | None:
        """The oldest order creation time Shopify lets the portal read; None: no limit."""
        return None if self.reads_all_orders else now - timedelta(days=RECENT_ORDERS_DAYS)

    def is_protection_variant(self, variant_id: str | None) -> bool:
        return variant_id is not None and variant_id in self.protection_variant_ids

    def claim_window_for(self, issue_type: str) -> int:
        """Days within which ``issue_type`` (an ``IssueType``'s name or value: ``LOST`` or
        ``Lost``) may be reported: after shipping for Lost, after delivery for the others."""
        return int(self.claim_windows.get(issue_type.upper(), self.claim_window_days))

    @property
    def longest_claim_window(self) -> int:
        """The most days any issue type may be reported after (an order is open until then)."""
        return max([self.claim_window_days, *self.claim_windows.values()])


class InstallState(Base):
    """One start of Shopify's authorization code grant: the ``state`` sent to Shopify (kept as
    a SHA-256, single use, minutes long) and the browser that started it (a cookie's SHA-256)."""

    __tablename__ = "shopify_install_states"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    state_hash: Mapped[str] = mapped_column(String(64), unique=True)
    browser_hash: Mapped[str] = mapped_column(String(64))
    shop_domain: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column()
    expires_at: Mapped[datetime] = mapped_column(index=True)
    used_at: Mapped[datetime | None] = mapped_column(nullable=True)
