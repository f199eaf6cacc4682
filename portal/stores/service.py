"""Reading and writing stores: creating them (``upsert_store``), changing their settings
(``checked_changes`` then ``apply_changes``), choosing their protection product, and sealing
their secrets again under the newest key (``reseal_all``)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TypeVar

from sqlalchemy import func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from portal.db import escape_like
from portal.errors import StoreRefused
from portal.integrations.shopify.app_config import scope_list
from portal.integrations.shopify.models import ProductWithVariants
from portal.sealing import Sealer
from portal.stores import rules
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
    default_locale: str = "en"  # the shopper pages' language when no other is asked for
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
    protection_product_id: str | None = None
    lost_after_quiet_days: int = 7
    lost_after_estimate_days: int = 3


T = TypeVar("T")
_SECRETS = ("access_token", "refresh_token", "corso_client_secret", "webhook_secret")


async def get_by_slug(session: AsyncSession, slug: str) -> Store | None:
    result: Store | None = await session.scalar(select(Store).where(Store.slug == slug))
    return result


async def list_stores(session: AsyncSession) -> Sequence[Store]:
    return (await session.scalars(select(Store).order_by(Store.name))).all()


async def search_stores(session: AsyncSession, text: str, limit: int = 20) -> Sequence[Store]:
    """Stores whose name or slug contains ``text`` (case-insensitive)."""
    pattern = f"%{escape_like(text.strip().lower())}%"
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
        if name in _SECRETS or name in ("granted_scopes", "token_kind"):
            continue
        setattr(store, name, getattr(spec, name))
    store.token_kind = spec.token_kind.value
    store.granted_scopes = scope_list(spec.granted_scopes)
    store.sealed_access_token = sealer.seal(spec.access_token)
    store.sealed_refresh_token = sealer.seal_optional(spec.refresh_token)
    store.sealed_corso_client_secret = sealer.seal_optional(spec.corso_client_secret)
    store.sealed_webhook_secret = sealer.seal_optional(spec.webhook_secret)
    store.token_version = (store.token_version or 0) + 1
    session.add(store)
    await session.flush()
    return store


async def get_by_domain(session: AsyncSession, shop_domain: str) -> Store | None:
    found: Store | None = await session.scalar(
        select(Store).where(Store.shop_domain == shop_domain)
    )
    return found


# --- settings ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class StoreChanges:
    """Settings to change; ``None`` leaves a setting as it is."""

    support_email: str | None = None
    support_phone: str | None = None  # "" removes it
    claim_window_days: int | None = None
    claim_windows: dict[str, int] | None = None  # every override (issue type name -> days)
    lost_after_quiet_days: int | None = None
    lost_after_estimate_days: int | None = None
    brand_color: str | None = None
    corso_client_id: str | None = None  # "" removes the Corso client, its secret too
    corso_client_secret: str | None = None  # None or "" keeps the secret that is set
    protected_order_email: bool | None = None
    default_locale: str | None = None  # a supported language code (portal.i18n)
    logo_path: str | None = None  # the id of a logo already stored (``portal.stores.logos``)
    remove_logo: bool = False


def checked_changes(changes: StoreChanges, store: Store) -> StoreChanges:
    """``changes`` with every value cleaned, or ``StoreRefused`` naming the first bad one."""
    secret = changes.corso_client_secret or None
    cleaned = StoreChanges(
        support_email=_maybe(rules.email, changes.support_email),
        support_phone=_removable(rules.phone, changes.support_phone),
        claim_window_days=_maybe(rules.claim_days, changes.claim_window_days),
        claim_windows=_maybe(rules.claim_windows, changes.claim_windows),
        lost_after_quiet_days=_maybe(rules.lost_after_quiet_days, changes.lost_after_quiet_days),
        lost_after_estimate_days=_maybe(
            rules.lost_after_estimate_days, changes.lost_after_estimate_days
        ),
        brand_color=_maybe(rules.color, changes.brand_color),
        corso_client_id=_removable(rules.corso_client_id, changes.corso_client_id),
        corso_client_secret=_maybe(lambda v: rules.secret(v, "corso_client_secret"), secret),
        protected_order_email=changes.protected_order_email,
        default_locale=_maybe(rules.locale, changes.default_locale),
        logo_path=changes.logo_path,
        remove_logo=changes.remove_logo,
    )
    _check_lost_window(cleaned, store)
    client_id = cleaned.corso_client_id
    client_after = store.corso_client_id if client_id is None else client_id
    if cleaned.corso_client_secret and not client_after:
        raise StoreRefused("corso_client_secret", "Give the Corso client id with its secret.")
    return cleaned


def _check_lost_window(changes: StoreChanges, store: Store) -> None:
    """Lost must stay reachable with the settings as they will stand."""
    default = (
        store.claim_window_days
        if changes.claim_window_days is None
        else (changes.claim_window_days)
    )
    windows = store.claim_windows if changes.claim_windows is None else changes.claim_windows
    quiet = changes.lost_after_quiet_days or store.lost_after_quiet_days or 1
    rules.lost_reachable(quiet, windows.get("LOST", default))


def apply_changes(store: Store, changes: StoreChanges, sealer: Sealer) -> list[str]:
    """Write checked ``changes`` onto the row; returns the names of the settings changed (a
    secret is named, never shown)."""
    changed: list[str] = []

    def put(name: str, value: object) -> None:
        if getattr(store, name) != value:
            setattr(store, name, value)
            changed.append(name)

    plain = (
        "support_email",
        "claim_window_days",
        "claim_windows",
        "lost_after_quiet_days",
        "lost_after_estimate_days",
        "brand_color",
        "default_locale",
    )
    for name in plain:
        if getattr(changes, name) is not None:
            put(name, getattr(changes, name))
    if changes.protected_order_email is not None:
        put("protected_order_email", changes.protected_order_email)
    if changes.support_phone is not None:
        put("support_phone", changes.support_phone or None)
    if changes.corso_client_id is not None:
        put("corso_client_id", changes.corso_client_id or None)
        if not changes.corso_client_id and store.sealed_corso_client_secret is not None:
            store.sealed_corso_client_secret = None
            changed.append("corso_client_secret")
    if changes.corso_client_secret:
        store.sealed_corso_client_secret = sealer.seal(changes.corso_client_secret)
        changed.append("corso_client_secret")
    if changes.logo_path is not None or changes.remove_logo:
        put("logo_path", changes.logo_path)
    return changed


def set_protection_product(store: Store, product: ProductWithVariants) -> None:
    """The store's protection product is ``product``: every one of its variants counts."""
    if not product.variants:
        raise StoreRefused("product_id", "That product has no variants to recognise.")
    store.protection_product_id = product.id
    store.protection_variant_ids = product.variant_ids


SEALED_COLUMNS = (
    "sealed_access_token",
    "sealed_refresh_token",
    "sealed_webhook_secret",
    "sealed_corso_client_secret",
)


async def reseal_all(session: AsyncSession, sealer: Sealer) -> int:
    """Seal every stored secret again under the first key (key rotation); returns how many
    values were resealed. Each store is written with a compare-and-set on ``token_version``, so
    a token refreshed meanwhile by another process is never overwritten with the old one (that
    store is read again and resealed). Commits per store. ``SealBroken`` if a value opens under
    no key."""
    count = 0
    ids = (await session.scalars(select(Store.id).order_by(Store.id))).all()
    for store_id in ids:
        count += await _reseal_one(session, sealer, store_id)
    return count


async def _reseal_one(session: AsyncSession, sealer: Sealer, store_id: int) -> int:
    while True:
        row = (
            await session.execute(
                select(Store.token_version, *(getattr(Store, c) for c in SEALED_COLUMNS)).where(
                    Store.id == store_id
                )
            )
        ).one_or_none()
        if row is None:
            return 0
        version, *sealed = row
        values = {c: sealer.reseal(v) for c, v in zip(SEALED_COLUMNS, sealed, strict=True) if v}
        if not values:
            return 0
        result = await session.execute(
            update(Store)
            .where(Store.id == store_id, Store.token_version == version)
            .values(**values)
            .execution_options(synchronize_session=False)
        )
        await session.commit()
        if result.rowcount:  # type: ignore[attr-defined]
            return len(values)


def _maybe(check: Callable[[T], T], value: T | None) -> T | None:
    """``value`` checked; None (leave the setting as it is) stays None."""
    return None if value is None else check(value)


def _removable(check: Callable[[str], str | None], value: str | None) -> str | None:
    """Like ``_maybe`` for a setting that may be removed: a blank value becomes ""."""
    return None if value is None else check(value) or ""
