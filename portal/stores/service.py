"""Reading and writing stores."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field

from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from portal.stores.models import Store


@dataclass(frozen=True)
class StoreSpec:
    """Everything needed to create or update a store row."""

    name: str
    slug: str
    shop_domain: str
    access_token: str
    api_version: str
    protection_variant_ids: list[str]
    support_email: str
    time_zone: str = "UTC"
    currency: str = "USD"
    claim_window_days: int = 30
    support_phone: str | None = None
    corso_store_id: int | None = None
    corso_client_id: str | None = None
    corso_client_secret: str | None = None
    brand_color: str = "#1f5c4a"
    extra: dict[str, str] = field(default_factory=dict)


async def get_by_slug(session: AsyncSession, slug: str) -> Store | None:
    result: Store | None = await session.scalar(select(Store).where(Store.slug == slug))
    return result


async def list_stores(session: AsyncSession) -> Sequence[Store]:
    return (await session.scalars(select(Store).order_by(Store.name))).all()


async def search_stores(session: AsyncSession, text: str, limit: int = 20) -> Sequence[Store]:
    """Stores whose name or slug contains ``text`` (case-insensitive)."""
    pattern = f"%{_escape_like(text.strip().lower())}%"
    query = (
        select(Store)
        .where(
            or_(
                func.lower(Store.name).like(pattern, escape="\\"),
                Store.slug.like(pattern, escape="\\"),
            )
        )
        .order_by(Store.name)
        .limit(limit)
    )
    return (await session.scalars(query)).all()


async def upsert_store(session: AsyncSession, spec: StoreSpec) -> Store:
    """Create the store named by ``spec.slug``, or bring an existing one up to date."""
    store = await get_by_slug(session, spec.slug) or Store(slug=spec.slug)
    values = asdict(spec)
    values.pop("extra")
    for name, value in values.items():
        setattr(store, name, value)
    session.add(store)
    await session.flush()
    return store


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
