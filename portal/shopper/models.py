"""Order verification by emailed code: one row per lookup, whether or not an order matched."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, Text, func
from sqlalchemy.orm import Mapped, mapped_column

from portal.db import Base


class OrderVerification(Base):
    """A lookup and the code it sent. ``code_hash`` is empty when nothing matched, so the
    shopper sees the same page either way and rate limits count every lookup."""

    __tablename__ = "order_verifications"
    __table_args__ = (
        Index("ix_order_verifications_email", "email_hash", "created_at"),
        Index("ix_order_verifications_client", "client_hash", "created_at"),
        Index("ix_order_verifications_order", "shopify_order_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    public_id: Mapped[str] = mapped_column(String(32), unique=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id"))
    shopify_order_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    email_hash: Mapped[str] = mapped_column(String(64))
    client_hash: Mapped[str] = mapped_column(String(64))
    code_hash: Mapped[str | None] = mapped_column(String(64), nullable=True)
    wrong_tries: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
    expires_at: Mapped[datetime] = mapped_column()
    used_at: Mapped[datetime | None] = mapped_column(nullable=True)
    sealed_lookup: Mapped[str | None] = mapped_column(Text, nullable=True)
    """While the store's Shopify points run short: the order number and email still to look
    up, sealed (``portal.sealing``); cleared once the lookup is done."""


class StoredDraft(Base):
    """A request the shopper has filled in but not yet submitted (the Review step)."""

    __tablename__ = "request_drafts"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id"))
    shopify_order_id: Mapped[str] = mapped_column(String(64))
    data: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())


# A shopper's session ends this long after they verified, however busy; a sign-out is kept as
# long as its cookie could otherwise have lived.
SESSION_LIFETIME = timedelta(hours=4)


class ShopperSignOut(Base):
    """A shopper session ended by its sign-out: its cookie, even copied, opens nothing more.
    Kept as long as such a cookie could otherwise live (the sessions' absolute lifetime)."""

    __tablename__ = "shopper_sign_outs"

    session_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    signed_out_at: Mapped[datetime] = mapped_column()
