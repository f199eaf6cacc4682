"""A resolution: how a request was settled, what it cost, and whether the invoice deducts it."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from sqlalchemy import (
    Boolean,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from portal.db import Base


class ResolutionKind(StrEnum):
    PRIMARY_REORDER = "primary_reorder"  # a new Shopify order, marked paid: deducted
    ALTERNATIVE_REORDER = "alternative_reorder"  # bought with the company card: not deducted
    REFUND = "refund"  # a Shopify refund on the original order: deducted

    @property
    def deducted(self) -> bool:
        return self is not ResolutionKind.ALTERNATIVE_REORDER


class ResolutionStatus(StrEnum):
    PENDING = "pending"  # its job is queued or running
    SUCCEEDED = "succeeded"
    FAILED = "failed"  # Shopify refused it; the request can take another path


class Resolution(Base):
    __tablename__ = "resolutions"
    __table_args__ = (
        # One live resolution per request: two agents pressing Refund together make one.
        Index(
            "uq_resolutions_live_per_request",
            "request_id",
            unique=True,
            sqlite_where=text("status != 'failed'"),
            postgresql_where=text("status != 'failed'"),
        ),
        # the month totals of invoices and the overview sum deductions from the index alone
        Index(
            "ix_resolutions_store_month",
            "store_id",
            "resolved_at",
            postgresql_include=["status", "kind", "amount"],
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("reorder_requests.id"))
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id"))
    kind: Mapped[str] = mapped_column(String(24))
    status: Mapped[str] = mapped_column(String(16), default=ResolutionStatus.PENDING)
    amount: Mapped[Decimal | None] = mapped_column(Numeric(12, 2), nullable=True)
    currency: Mapped[str] = mapped_column(String(3))
    deducted: Mapped[bool] = mapped_column(Boolean)
    agent_email: Mapped[str] = mapped_column(String(320))
    shopify_order_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    shopify_order_name: Mapped[str | None] = mapped_column(String(32), nullable=True)
    shopify_refund_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    description: Mapped[str] = mapped_column(Text, default="")
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    job_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
    resolved_at: Mapped[datetime | None] = mapped_column(nullable=True)

    @property
    def source_identifier(self) -> str:
        """Names the replacement order in Shopify, so a lost response is found, not repeated."""
        return f"reorder-portal-resolution-{self.id}"

    @property
    def idempotency_key(self) -> str:
        return f"reorder-portal-refund-{self.id}"


class RiskReview(Base):
    """An agent looked at one risk signal of a request and judged it (see
    ``portal.support.signals``); a reviewed signal no longer counts in the queue."""

    __tablename__ = "risk_reviews"
    __table_args__ = (UniqueConstraint("request_id", "signal_key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("reorder_requests.id", ondelete="CASCADE"))
    signal_key: Mapped[str] = mapped_column(String(200))
    reviewer_email: Mapped[str] = mapped_column(String(320))
    reviewed_at: Mapped[datetime] = mapped_column()


NOBODY = 0
"""The assignee id under which requests assigned to nobody are counted (no user has it)."""


class QueueCount(Base):
    """How many requests of one store have one status and one assignee: the queue's counts per
    status, read from a few hundred rows instead of a count of the whole table. Kept by the
    triggers of migration 0012 on every insert, update and delete of a request, whoever makes
    it; never written by the portal itself."""

    __tablename__ = "queue_counts"

    store_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    status: Mapped[str] = mapped_column(String(16), primary_key=True)
    assignee_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    requests: Mapped[int] = mapped_column(Integer)
