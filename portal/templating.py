"""The one way a Jinja environment is made here: templates beside the package, strict about
undefined names, translated through ``portal.i18n``, knowing the status words. Pages
(``portal.web``) and emails (``portal.mail.messages``) each add what only they need."""

from __future__ import annotations

from datetime import UTC, datetime, tzinfo
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import jinja2
from babel.numbers import format_currency

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
    env.globals["status_label"] = status_label
    env.globals["address_lines"] = address_lines
    env.globals["shopper_status_label"] = shopper_status_label
    env.globals["money"] = money
    env.globals["issue_label"] = issue_label
    env.globals["resolution_label"] = resolution_label
    env.filters["store_time"] = store_time
    return env


def address_lines(address: dict[str, object]) -> list[str]:
    """A delivery address as the lines of a label, the country by its name."""
    return addresses.describe(address, i18n.current_locale())


def money(amount: Decimal | float | str | None, currency: str | None) -> str:
    """An amount as people read it in the current language: "$24.00", "24,00 €"."""
    if amount is None:
        return ""
    if not currency:
        return f"{Decimal(str(amount)):.2f}"
    return format_currency(Decimal(str(amount)), currency, locale=i18n.current_locale())


@lru_cache(maxsize=256)
def _zone(name: str) -> tzinfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return UTC


def store_time(moment: datetime | None, store: Any, pattern: str = "%Y-%m-%d %H:%M") -> str:
    """A moment in the store's time zone, the zone named: "2026-11-30 17:05 EST". ``store`` is
    a store (its ``time_zone``) or a zone's name."""
    if moment is None:
        return ""
    name = store if isinstance(store, str) else getattr(store, "time_zone", "UTC")
    local = moment.astimezone(_zone(name or "UTC"))
    return f"{local.strftime(pattern)} {local.tzname() or name}"
