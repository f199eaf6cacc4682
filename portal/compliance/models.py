"""Shopify's mandatory compliance webhooks as rows: each request, when it was done and, for a
customer's data request, what the portal holds about them for the store's admin."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from portal.db import Base


class ComplianceRequest(Base):
    __tablename__ = "compliance_requests"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    webhook_id: Mapped[str] = mapped_column(String(128), unique=True)
    topic: Mapped[str] = mapped_column(String(64))  # customers/data_request, customers/redact, ...
    shop_domain: Mapped[str] = mapped_column(String(255), index=True)
    store_id: Mapped[int | None] = mapped_column(
        ForeignKey("stores.id", ondelete="SET NULL"), nullable=True
    )
    received_at: Mapped[datetime] = mapped_column()
    completed_at: Mapped[datetime | None] = mapped_column(nullable=True)
    # customers/data_request: what the portal holds about the customer (for the admin to send
    # on); other topics: counts of what was erased. Never the redacted data itself.
    report: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
