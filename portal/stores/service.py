"""Reading and writing stores."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from portal.sealing import Sealer
from portal.stores.models import Store, TokenKind


@dataclass(frozen=True)
class StoreSpec:
    """Everything needed to create or update a store row; secrets in the clear (they are
    sealed on the way in)."""

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
    token_kind: TokenKind = TokenKind.STATIC
    access_token_expires_at: datetime | None = None
    refresh_token: str | None = None
    refresh_token_expires_at: datetime | None = None
    granted_scopes: frozenset[str] = frozenset()
    webhook_secret: str | None = None
    claim_windows: dict[str, int] = field(default_factory=dict)
    extra: dict[str, str] = field(default_factory=dict)


_SECRETS = ("access_token", "refresh_token", "corso_client_secret", "webhook_secret")


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


async def upsert_store(session: AsyncSession, spec: StoreSpec, sealer: Sealer) -> Store:
    """Create the store named by ``spec.slug``, or bring an existing one up to date."""
    store = await get_by_slug(session, spec.slug) or Store(slug=spec.slug)
    for name in StoreSpec.__dataclass_fields__:
        if name in _SECRETS or name in ("extra", "granted_scopes", "token_kind"):
            continue
        setattr(store, name, getattr(spec, name))
    store.token_kind = spec.token_kind.value
    store.granted_scopes = ",".join(sorted(spec.granted_scopes))
    store.sealed_access_token = sealer.seal(spec.access_token)
    store.sealed_refresh_token = sealer.seal_optional(spec.refresh_token)
    store.sealed_corso_client_secret = sealer.seal_optional(spec.corso_client_secret)
    store.sealed_webhook_secret = sealer.seal_optional(spec.webhook_secret)
    store.token_version = (store.token_version or 0) + 1
    session.add(store)
    await session.flush()
    return store


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
