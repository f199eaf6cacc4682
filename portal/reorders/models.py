"""Tables of a reorder request: the request, its items, its photos and its timeline."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, Numeric, String, Text, func
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.db import Base


class IssueType(StrEnum):
    """The shopper's problem; names match Corso's shipping-claim reasons."""

    LOST = "Lost"
    STOLEN = "Stolen"
    DAMAGED = "Damaged"
    WRONG_ITEM = "Wrong_Item"
    MISSING_ITEM = "Missing_Item"

    @property
    def needs_photo(self) -> bool:
        return self in (IssueType.DAMAGED, IssueType.WRONG_ITEM)

    @property
    def needs_fulfillment(self) -> bool:
        return self in (IssueType.LOST, IssueType.STOLEN)


class PreferredResolution(StrEnum):
    """What the shopper would prefer."""

    REORDER = "reorder"
    ALTERNATIVE = "alternative"
    REFUND = "refund"


class RequestStatus(StrEnum):
    SUBMITTED = "submitted"
    IN_REVIEW = "in_review"
    NEEDS_INFO = "needs_info"
    NEEDS_ATTENTION = "needs_attention"  # a resolution was parked or refused: an agent decides
    REORDERED = "reordered"
    REFUNDED = "refunded"
    RESOLVED = "resolved"  # alternative reorder bought and recorded
    DENIED = "denied"

    @property
    def is_open(self) -> bool:
        return self in OPEN_STATUSES


OPEN_STATUSES = frozenset(
    {
        RequestStatus.SUBMITTED,
        RequestStatus.IN_REVIEW,
        RequestStatus.NEEDS_INFO,
        RequestStatus.NEEDS_ATTENTION,
    }
)
MONEY = Numeric(12, 2)


class ReorderRequest(Base):
    __tablename__ = "reorder_requests"
    __table_args__ = (
        Index("ix_reorder_requests_store_order", "store_id", "shopify_order_id"),
        Index(
            "ix_reorder_requests_queue",
            "status",
            "created_at",
            "id",
            # counts under the issue/resolution/assignee filters read only the index
            postgresql_include=["store_id", "issue_type", "resolution", "assigned_to_id"],
        ),
        Index("ix_reorder_requests_queue_by_store", "store_id", "status", "created_at", "id"),
        Index("ix_reorder_requests_queue_by_agent", "assigned_to_id", "status", "created_at", "id"),
        Index("ix_reorder_requests_email", "email"),
        Index("ix_reorder_requests_order_name", "order_name"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    reference: Mapped[str] = mapped_column(String(16), unique=True)
    submit_key: Mapped[str] = mapped_column(String(64), unique=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id"))
    shopify_order_id: Mapped[str] = mapped_column(String(64))
    order_name: Mapped[str] = mapped_column(String(32))
    email: Mapped[str] = mapped_column(String(320))
    customer_name: Mapped[str] = mapped_column(String(200), default="")
    issue_type: Mapped[str] = mapped_column(String(16))
    description: Mapped[str] = mapped_column(Text, default="")
    resolution: Mapped[str] = mapped_column(String(16))
    alternative_wish: Mapped[str] = mapped_column(Text, default="")
    shipping_address: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    currency: Mapped[str] = mapped_column(String(3))
    items_total: Mapped[Decimal] = mapped_column(MONEY)
    status: Mapped[str] = mapped_column(String(16), default=RequestStatus.SUBMITTED)
    assigned_to_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(server_default=func.now())
    closed_at: Mapped[datetime | None] = mapped_column(nullable=True)

    items: Mapped[list[RequestItem]] = relationship(
        back_populates="request", cascade="all, delete-orphan", order_by="RequestItem.id"
    )
    photos: Mapped[list[RequestPhoto]] = relationship(
        back_populates="request", cascade="all, delete-orphan", order_by="RequestPhoto.id"
    )
    events: Mapped[list[RequestEvent]] = relationship(
        back_populates="request", cascade="all, delete-orphan", order_by="RequestEvent.id"
    )

    @property
    def is_open(self) -> bool:
        return RequestStatus(self.status).is_open


class RequestItem(Base):
    __tablename__ = "request_items"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    request_id: Mapped[int] = mapped_column(
        ForeignKey("reorder_requests.id", ondelete="CASCADE"), index=True
    )
    line_item_id: Mapped[str] = mapped_column(String(64))
    variant_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    title: Mapped[str] = mapped_column(String(300))
    variant_title: Mapped[str | None] = mapped_column(String(200), nullable=True)
    sku: Mapped[str | None] = mapped_column(String(100), nullable=True)
    image_url: Mapped[str | None] = mapped_column(Text, nullable=True)
    quantity: Mapped[int] = mapped_column(Integer)
    unit_price: Mapped[Decimal] = mapped_column(MONEY)

    request: Mapped[ReorderRequest] = relationship(back_populates="items")

    @property
    def total(self) -> Decimal:
        return self.unit_price * self.quantity


class RequestPhoto(Base):
    __tablename__ = "request_photos"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    request_id: Mapped[int] = mapped_column(
        ForeignKey("reorder_requests.id", ondelete="CASCADE"), index=True
    )
    photo_id: Mapped[str] = mapped_column(String(64), unique=True)
    content_type: Mapped[str] = mapped_column(String(32))
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))

    request: Mapped[ReorderRequest] = relationship(back_populates="photos")


class RequestEvent(Base):
    """One line of a request's timeline; ``public`` lines are shown to the shopper."""

    __tablename__ = "request_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    request_id: Mapped[int] = mapped_column(
        ForeignKey("reorder_requests.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(32))
    actor: Mapped[str] = mapped_column(String(64))
    public: Mapped[bool] = mapped_column(Boolean, default=True)
    message: Mapped[str] = mapped_column(Text, default="")
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())

    request: Mapped[ReorderRequest] = relationship(back_populates="events")
