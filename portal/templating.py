"""The one way a Jinja environment is made here: templates beside the package, strict about
undefined names, translated through ``portal.i18n``, knowing the status words. Pages
(``portal.web``) and emails (``portal.mail.messages``) each add what only they need."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import jinja2
from babel.numbers import format_currency, format_decimal

from portal import i18n
from portal.reorders import addresses
from portal.reorders.labels import (
    issue_label,
    resolution_label,
    shopper_status_label,
    status_label,
)


def environment(
    directory: Path, *, escaped: tuple[str, ...], escape_strings: bool
) -> jinja2.Environment:
    """Templates whose names end in ``escaped`` (and, with ``escape_strings``, templates made
    from strings) escape what they print."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(directory),
        autoescape=jinja2.select_autoescape(escaped, default_for_string=escape_strings),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        extensions=["jinja2.ext.i18n"],
    )
    env.install_gettext_callables(  # type: ignore[attr-defined]
        i18n.gettext, i18n.ngettext, newstyle=True
    )
    env.globals["current_locale"] = i18n.current_locale
    env.globals["text_direction"] = i18n.text_direction
    env.globals["language_name"] = i18n.language_name
    env.globals["status_label"] = status_label
    env.globals["address_lines"] = address_lines
    env.globals["shopper_status_label"] = shopper_status_label
    env.globals["money"] = money
    env.globals["issue_label"] = issue_label
    env.globals["resolution_label"] = resolution_label
    env.filters["store_time"] = store_time
    env.filters["store_date"] = store_date
    return env


def address_lines(address: dict[str, object]) -> list[str]:
    """A delivery address as the lines of a label, the country by its name."""
    return addresses.describe(address, i18n.current_locale())


def money(amount: Decimal | float | str | None, currency: str | None) -> str:
    """An amount as people read it in the current language, with the currency's own number of
    decimals: "$24.00", "24,00 $US", "¥2,400", "KWD 1.250"."""
    if amount is None:
        return ""
    value = Decimal(str(amount))
    if not currency:
        return format_decimal(value, format="#,##0.00", locale=i18n.current_locale())
    return format_currency(value, currency.upper(), locale=i18n.current_locale())


def store_time(moment: datetime | None, store: Any) -> str:
    """A moment in the store's time zone and the reader's language, the zone named:
    "Nov 30, 2026, 5:05 PM EST", "30 nov. 2026, 17:05 EST". ``store`` is a store (its
    ``time_zone``) or a zone's name."""
    return "" if moment is None else i18n.local_time(moment, _zone_of(store))


def store_date(moment: datetime | None, store: Any) -> str:
    """The day of a moment in the store's time zone: "November 30, 2026", "30 novembre 2026"."""
    return "" if moment is None else i18n.local_day(moment, _zone_of(store))


def _zone_of(store: Any) -> str:
    name = store if isinstance(store, str) else getattr(store, "time_zone", None)
    return name or "UTC"
