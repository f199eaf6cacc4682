"""Tables of a reorder request: the request, its items, its photos and its timeline."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    event,
    func,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.db import Base
from portal.reorders import fingerprints


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
        # a store's overview: requests filed and requests closed in a period, from the index
        Index(
            "ix_reorder_requests_store_created",
            "store_id",
            "created_at",
            postgresql_include=["issue_type", "status", "id"],
        ),
        Index(
            "ix_reorder_requests_store_closed",
            "store_id",
            "closed_at",
            postgresql_include=["created_at", "status"],
        ),
        Index("ix_reorder_requests_queue_by_agent", "assigned_to_id", "status", "created_at", "id"),
        Index("ix_reorder_requests_email", "email"),
        Index("ix_reorder_requests_order_name", "order_name"),
        Index("ix_reorder_requests_address_key", "address_key"),
        Index("ix_reorder_requests_device_key", "device_key"),
        # the queue's "Has risk signals" filter: only flagged requests are in this index
        Index(
            "ix_reorder_requests_risky",
            "status",
            "created_at",
            "id",
            sqlite_where=text("risk_count > 0"),
            postgresql_where=text("risk_count > 0"),
        ),
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
    # Shopify's tracking numbers of the order's shipments when the request was filed
    tracking_numbers: Mapped[str] = mapped_column(String(500), default="")
    # kept by the listeners below: what the queue's search matches, and the fingerprints
    search_text: Mapped[str] = mapped_column(Text, default="")
    address_key: Mapped[str | None] = mapped_column(String(64), nullable=True)
    device_key: Mapped[str | None] = mapped_column(String(64), nullable=True)
    # how many risk signals were found and not yet marked reviewed, as last computed
    risk_count: Mapped[int] = mapped_column(Integer, default=0)
    # the language the shopper filed in: later emails (the worker's, an agent's) are in it
    locale: Mapped[str] = mapped_column(String(8), default="en", server_default="en")

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
    phash: Mapped[str | None] = mapped_column(String(16), nullable=True)

    request: Mapped[ReorderRequest] = relationship(back_populates="photos")
    bands: Mapped[list[PhotoBand]] = relationship(
        back_populates="photo", cascade="all, delete-orphan"
    )


class PhotoBand(Base):
    """One band of a photo's perceptual hash (see ``fingerprints``): the index that finds the
    same picture on other requests."""

    __tablename__ = "photo_bands"
    __table_args__ = (Index("ix_photo_bands_key", "band_key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    photo_id: Mapped[int] = mapped_column(
        ForeignKey("request_photos.id", ondelete="CASCADE"), index=True
    )
    band_key: Mapped[int] = mapped_column(Integer)

    photo: Mapped[RequestPhoto] = relationship(back_populates="bands")


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


@event.listens_for(ReorderRequest, "before_insert")
@event.listens_for(ReorderRequest, "before_update")
def _keep_derived_keys(_mapper: Any, _connection: Any, request: ReorderRequest) -> None:
    """Search text and address key follow the columns they come from on every write."""
    request.search_text = fingerprints.search_text(
        request.reference,
        request.order_name,
        request.email,
        request.customer_name,
        request.tracking_numbers,
    )
    request.address_key = fingerprints.address_key(request.shipping_address)


def new_photo(
    *, photo_id: str, content_type: str, width: int, height: int, sha256: str, phash: str | None
) -> RequestPhoto:
    """A photo row, with the bands of its perceptual hash when it has one."""
    bands = [PhotoBand(band_key=k) for k in fingerprints.photo_band_keys(phash)] if phash else []
    return RequestPhoto(
        photo_id=photo_id,
        content_type=content_type,
        width=width,
        height=height,
        sha256=sha256,
        phash=phash,
        bands=bands,
    )


class OrderSnapshot(Base):
    """The order as Shopify last answered for it, kept for the pages and jobs that read it next
    (``portal.reorders.snapshots``). ``changed_at`` is when a webhook last said it changed: a
    read begun before then is never kept."""

    __tablename__ = "shopper_order_snapshots"

    store_id: Mapped[int] = mapped_column(
        ForeignKey("stores.id", ondelete="CASCADE"), primary_key=True
    )
    shopify_order_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    data: Mapped[str | None] = mapped_column(Text, nullable=True)
    read_at: Mapped[datetime | None] = mapped_column(nullable=True)
    changed_at: Mapped[datetime | None] = mapped_column(nullable=True)
