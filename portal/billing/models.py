"""The billing tables.

``premiums``: one row per protected order of a store (keyed by the Shopify order id), holding the
premium it earns now and the month it belongs to. ``premium_adjustments``: a change to the premium
of an order whose month was already closed, booked in the first open month after it.
``premium_months``: per store and month, the sum of both, kept by the ledger with each change,
so a month's premiums are one row to read instead of every order of the month.
``shopify_webhooks``: every webhook accepted, by its id, so a repeated delivery is ignored.
``closed_invoices``: a month that is closed, with its lines and totals frozen.

``overview_filed``, ``overview_resolution_hours``, ``overview_products``, ``deduction_months``:
figures per store and UTC month (requests filed by issue and status, resolved requests by whole
hours from filing to closing, quantities claimed by product title, the deductions resolved),
kept by the triggers of migration 0018 on every write of a request, an item or a resolution,
whoever makes it; never written by the portal itself. An empty row is removed.
``billing.summaries`` reads them by the store's months.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from portal.db import Base

MONEY = Numeric(12, 2)


class Premium(Base):
    __tablename__ = "premiums"
    __table_args__ = (
        UniqueConstraint("store_id", "shopify_order_id"),
        Index("ix_premiums_store_month", "store_id", "month"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id"))
    shopify_order_id: Mapped[str] = mapped_column(String(64))
    order_name: Mapped[str] = mapped_column(String(32))
    ordered_at: Mapped[datetime] = mapped_column()
    month: Mapped[str] = mapped_column(String(7))  # YYYY-MM in the store's time zone
    currency: Mapped[str] = mapped_column(String(3))
    charged: Mapped[Decimal] = mapped_column(MONEY)  # protection lines after discounts
    amount: Mapped[Decimal] = mapped_column(MONEY)  # what the invoice counts now
    cancelled: Mapped[bool] = mapped_column(Boolean, default=False)
    refunded_quantity: Mapped[int] = mapped_column(Integer, default=0)
    shopify_updated_at: Mapped[datetime | None] = mapped_column(nullable=True)
    updated_at: Mapped[datetime] = mapped_column()


class PremiumAdjustment(Base):
    __tablename__ = "premium_adjustments"
    __table_args__ = (Index("ix_premium_adjustments_store_month", "store_id", "month"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id"))
    shopify_order_id: Mapped[str] = mapped_column(String(64))
    order_name: Mapped[str] = mapped_column(String(32))
    order_month: Mapped[str] = mapped_column(String(7))
    month: Mapped[str] = mapped_column(String(7))  # where the invoice books it
    amount: Mapped[Decimal] = mapped_column(MONEY)
    recorded_at: Mapped[datetime] = mapped_column()


class PremiumMonth(Base):
    __tablename__ = "premium_months"
    __table_args__ = (UniqueConstraint("store_id", "month"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id"))
    month: Mapped[str] = mapped_column(String(7))
    amount: Mapped[Decimal] = mapped_column(MONEY)  # its premiums plus adjustments booked in it


class ShopifyWebhook(Base):
    __tablename__ = "shopify_webhooks"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    webhook_id: Mapped[str] = mapped_column(String(128), unique=True)
    shop_domain: Mapped[str] = mapped_column(String(255))
    topic: Mapped[str] = mapped_column(String(64))
    shopify_order_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    received_at: Mapped[datetime] = mapped_column()


class ClosedInvoice(Base):
    __tablename__ = "closed_invoices"
    __table_args__ = (UniqueConstraint("store_id", "month"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id"))
    month: Mapped[str] = mapped_column(String(7))
    currency: Mapped[str] = mapped_column(String(3))
    premiums_total: Mapped[Decimal] = mapped_column(MONEY)
    deductions_total: Mapped[Decimal] = mapped_column(MONEY)
    amount_due: Mapped[Decimal] = mapped_column(MONEY)
    lines: Mapped[dict[str, Any]] = mapped_column(JSON)
    closed_by: Mapped[str] = mapped_column(String(320))
    closed_at: Mapped[datetime] = mapped_column()


class FiledCount(Base):
    """Requests of a store filed in a UTC month with one issue type and one status."""

    __tablename__ = "overview_filed"

    store_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    month: Mapped[str] = mapped_column(String(7), primary_key=True)  # UTC, of created_at
    issue_type: Mapped[str] = mapped_column(String(16), primary_key=True)
    status: Mapped[str] = mapped_column(String(16), primary_key=True)
    requests: Mapped[int] = mapped_column(Integer)


class ResolutionHours(Base):
    """Resolved requests of a store closed in a UTC month after ``hours`` whole hours."""

    __tablename__ = "overview_resolution_hours"

    store_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    month: Mapped[str] = mapped_column(String(7), primary_key=True)  # UTC, of closed_at
    hours: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    requests: Mapped[int] = mapped_column(Integer)


class ProductCount(Base):
    """The quantity of one product title claimed on a store's requests filed in a UTC month."""

    __tablename__ = "overview_products"

    store_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    month: Mapped[str] = mapped_column(String(7), primary_key=True)  # UTC, of the request's
    title: Mapped[str] = mapped_column(String(300), primary_key=True)
    quantity: Mapped[int] = mapped_column(Integer)


class DeductionMonth(Base):
    """What the invoices deduct (succeeded primary reorders and refunds) of a store resolved in
    a UTC month, in cents."""

    __tablename__ = "deduction_months"

    store_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    month: Mapped[str] = mapped_column(String(7), primary_key=True)  # UTC, of resolved_at
    cents: Mapped[int] = mapped_column(BigInteger)
