"""A store (merchant) is a row: its Shopify shop, its protection product and its rules."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Integer, String, Text, func
from sqlalchemy.orm import Mapped, mapped_column

from portal.db import Base


class Store(Base):
    __tablename__ = "stores"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    shop_domain: Mapped[str] = mapped_column(String(255), unique=True)
    access_token: Mapped[str] = mapped_column(Text)
    api_version: Mapped[str] = mapped_column(String(16))
    protection_variant_ids: Mapped[list[str]] = mapped_column(JSON, default=list)
    claim_window_days: Mapped[int] = mapped_column(Integer, default=30)
    support_email: Mapped[str] = mapped_column(String(320))
    support_phone: Mapped[str | None] = mapped_column(String(64), nullable=True)
    time_zone: Mapped[str] = mapped_column(String(64), default="UTC")
    currency: Mapped[str] = mapped_column(String(3), default="USD")
    corso_store_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    # The store's own Corso OAuth client; without it the agent sees no Corso claims.
    corso_client_id: Mapped[str | None] = mapped_column(String(255), nullable=True)
    corso_client_secret: Mapped[str | None] = mapped_column(Text, nullable=True)
    brand_color: Mapped[str] = mapped_column(String(7), default="#1f5c4a")
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())

    def is_protection_variant(self, variant_id: str | None) -> bool:
        return variant_id is not None and variant_id in self.protection_variant_ids
