"""What a store's settings may hold: every value an admin (settings page) or an operator
(``portal stores``) gives is checked here, so both refuse the same things with the same words.
Each check returns the cleaned value or raises ``StoreRefused`` naming the field."""

from __future__ import annotations

import re

from email_validator import EmailNotValidError, validate_email

from portal import i18n
from portal.errors import StoreRefused
from portal.integrations.shopify.oauth import is_shop_domain
from portal.reorders.models import IssueType

MIN_CLAIM_DAYS = 1
MAX_CLAIM_DAYS = 365
MAX_EMAIL = 254
MAX_PHONE = 32
MAX_CORSO_CLIENT_ID = 255
MAX_SECRET = 1000
MAX_NAME = 200

_COLOR = re.compile(r"#[0-9a-fA-F]{6}")
_PHONE = re.compile(r"[0-9+()./ -]+")
_CLIENT_ID = re.compile(r"[\x21-\x7e]+")  # printable ASCII, no spaces
_SLUG = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?")
_API_VERSION = re.compile(r"\d{4}-(01|04|07|10)")
_TOKEN = re.compile(r"shp(at|ca|ss)_[A-Za-z0-9_-]{8,200}")
# First path segments of the portal's own pages: no store may be called that.
RESERVED_SLUGS = frozenset(
    {"support", "static", "webhooks", "healthz", "readyz", "sandbox", "shopify"}
)


def color(value: str) -> str:
    value = value.strip()
    if not _COLOR.fullmatch(value):
        raise StoreRefused("brand_color", "Give the colour as # and six hex digits, e.g. #1f5c4a.")
    return value.lower()


def email(value: str, field: str = "support_email") -> str:
    value = value.strip()
    if not value:
        raise StoreRefused(field, "Give an email address.")
    if len(value) > MAX_EMAIL:
        raise StoreRefused(field, f"An email address has at most {MAX_EMAIL} characters.")
    try:
        checked = validate_email(value, check_deliverability=False)
    except EmailNotValidError as exc:
        raise StoreRefused(field, "That is not an email address like help@example.com.") from exc
    return str(checked.normalized)


def locale(value: str) -> str:
    """One of the shopper's languages, by its code (``fr``)."""
    if value not in i18n.SUPPORTED_LOCALES:
        names = ", ".join(i18n.SUPPORTED_LOCALES)
        raise StoreRefused("default_locale", f"Choose one of the languages: {names}.")
    return value


def phone(value: str | None) -> str | None:
    """A phone number to show shoppers, or None to show none."""
    value = (value or "").strip()
    if not value:
        return None
    digits = sum(ch.isdigit() for ch in value)
    if len(value) > MAX_PHONE or not _PHONE.fullmatch(value) or digits < 5:
        raise StoreRefused(
            "support_phone",
            f"Give a phone number of digits, spaces and + ( ) - . (at most {MAX_PHONE}).",
        )
    return value


def claim_days(value: int, field: str = "claim_window_days") -> int:
    if not MIN_CLAIM_DAYS <= value <= MAX_CLAIM_DAYS:
        raise StoreRefused(
            field, f"A claim window is {MIN_CLAIM_DAYS} to {MAX_CLAIM_DAYS} days long."
        )
    return value


def lost_after_quiet_days(value: int) -> int:
    """Days without a tracking update after which a parcel may be reported lost."""
    if not MIN_CLAIM_DAYS <= value <= MAX_CLAIM_DAYS:
        raise StoreRefused(
            "lost_after_quiet_days",
            f"Days without a tracking update are {MIN_CLAIM_DAYS} to {MAX_CLAIM_DAYS}.",
        )
    return value


def lost_after_estimate_days(value: int) -> int:
    """Days past the carrier's estimated delivery after which a parcel may be reported lost
    (0: as soon as the estimate has passed)."""
    if not 0 <= value <= MAX_CLAIM_DAYS:
        raise StoreRefused(
            "lost_after_estimate_days",
            f"Days past the estimated delivery are 0 to {MAX_CLAIM_DAYS}.",
        )
    return value


def lost_reachable(quiet_days: int, lost_window: int) -> None:
    """A parcel must be able to go quiet long enough before the Lost window closes."""
    if quiet_days >= lost_window:
        raise StoreRefused(
            "lost_after_quiet_days",
            f"Lost parcels could never be reported: make the days without a tracking update "
            f"fewer than the Lost window ({lost_window} days after shipping).",
        )


def issue_type_key(value: str) -> str:
    """The key of an issue type in ``Store.claim_windows``: its name, e.g. ``LOST``."""
    wanted = value.strip().upper().replace("-", "_")
    if wanted not in IssueType.__members__:
        names = ", ".join(IssueType.__members__)
        raise StoreRefused("claim_windows", f"{value!r} is not an issue type: one of {names}.")
    return wanted


def claim_windows(values: dict[str, int]) -> dict[str, int]:
    return {issue_type_key(k): claim_days(v, "claim_windows") for k, v in values.items()}


def corso_client_id(value: str | None) -> str | None:
    value = (value or "").strip()
    if not value:
        return None
    if len(value) > MAX_CORSO_CLIENT_ID or not _CLIENT_ID.fullmatch(value):
        raise StoreRefused(
            "corso_client_id",
            f"A Corso client id is printable characters without spaces (at most "
            f"{MAX_CORSO_CLIENT_ID}).",
        )
    return value


def secret(value: str, field: str) -> str:
    value = value.strip()
    if not value or len(value) > MAX_SECRET or not _CLIENT_ID.fullmatch(value):
        raise StoreRefused(
            field, f"A secret is printable characters without spaces (at most {MAX_SECRET})."
        )
    return value


def shop_domain(value: str) -> str:
    value = value.strip().lower()
    if not is_shop_domain(value):
        raise StoreRefused("shop", "Give the shop as its myshopify domain, e.g. x.myshopify.com.")
    return value


def slug(value: str) -> str:
    value = value.strip()
    if not _SLUG.fullmatch(value) or value in RESERVED_SLUGS:
        raise StoreRefused(
            "slug", "A slug is lowercase letters, digits and dashes (at most 64), e.g. maple-moss."
        )
    return value


def slug_from_domain(domain: str) -> str:
    return slug(domain.split(".", 1)[0])


def api_version(value: str) -> str:
    value = value.strip()
    if not _API_VERSION.fullmatch(value):
        raise StoreRefused("api_version", "Give a Shopify API version like 2025-04.")
    return value


def access_token(value: str) -> str:
    value = value.strip()
    if not _TOKEN.fullmatch(value):
        raise StoreRefused("token", "Give the custom app's Admin API access token (shpat_...).")
    return value


def product_id(value: str) -> str:
    value = value.strip()
    if not re.fullmatch(r"gid://shopify/Product/[0-9]{1,20}", value):
        raise StoreRefused("product_id", "Choose a product from the search results.")
    return value
