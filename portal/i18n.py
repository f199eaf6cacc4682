"""All copy goes through one translation function, in the shopper's language.

Catalogues: ``portal/locale/<lang>/LC_MESSAGES/messages.po``, extracted from the code and the
templates by ``make messages`` (babel.cfg says which files) and compiled to ``.mo`` by
``make compile`` (``make install`` runs it). The templates' ``_()`` / ``ngettext()`` and the
code's ``gettext()`` / ``lazy_gettext()`` all read the language held in a context variable.

The language of a page, first found wins:

1. the shopper's choice: ``?lang=xx`` on any page (the switcher's buttons, no JavaScript needed),
   remembered in the ``portal_lang`` cookie;
2. the browser's Accept-Language;
3. the store's default language, set by the view that loads the store (``prefer_store_default``),
   so no query is made here.

Staff pages (``/support``, the Shopify install pages) are in English.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from functools import cache, lru_cache
from http.cookies import CookieError, SimpleCookie
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from babel import Locale
from babel.dates import format_date, format_skeleton, format_time
from babel.support import LazyProxy, NullTranslations, Translations
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from wtforms.i18n import get_translations as wtforms_translations

LOCALE_DIR = Path(__file__).parent / "locale"
DOMAIN = "messages"
DEFAULT_LOCALE = "en"
SUPPORTED_LOCALES = ("en", "es", "fr", "de")
COOKIE = "portal_lang"
COOKIE_MAX_AGE = 365 * 24 * 3600
QUERY = "lang"
ENGLISH_ONLY_PREFIXES = ("/support", "/shopify")
KEPT_PARAMETERS = ("v", "draft", "q")
MAX_KEPT_VALUE = 128
MAX_HEADER = 512  # an Accept-Language longer than this is cut (nobody sends more)


@dataclass(frozen=True)
class Choice:
    """The language of the current page, and whether the shopper or browser asked for it."""

    locale: str
    explicit: bool


NO_CHOICE = Choice(DEFAULT_LOCALE, explicit=False)
_choice: ContextVar[Choice] = ContextVar("locale", default=NO_CHOICE)


class CatalogueMissing(RuntimeError):
    """A language is supported but its compiled catalogue is not there: run ``make compile``."""


@cache
def translations(locale: str) -> NullTranslations:
    """The portal's catalogue for ``locale``, then WTForms' own for its built-in messages
    ("Field must be at most 254 characters long.")."""
    if locale == DEFAULT_LOCALE:
        return NullTranslations()
    if not (LOCALE_DIR / locale / "LC_MESSAGES" / f"{DOMAIN}.mo").is_file():
        raise CatalogueMissing(f"no compiled catalogue for {locale!r}: run `make compile`")
    catalogue = Translations.load(str(LOCALE_DIR), [locale], domain=DOMAIN)
    catalogue.add_fallback(wtforms_translations([locale]))
    return catalogue


def current_locale() -> str:
    return _choice.get().locale


def text_direction(locale: str | None = None) -> str:
    """``ltr`` or ``rtl``, for ``<html dir>``."""
    order = Locale.parse(locale or current_locale()).character_order
    return "rtl" if order == "right-to-left" else "ltr"


@cache
def language_name(locale: str, shown_in: str | None = None) -> str:
    """A language in its own words, as a switcher offers it ("Français"), or in the language
    ``shown_in`` ("French")."""
    name = Locale.parse(locale).get_display_name(shown_in or locale) or locale
    return name[:1].upper() + name[1:]


def languages() -> list[tuple[str, str]]:
    """(code, name in its own words) of every supported language."""
    return [(code, language_name(code)) for code in SUPPORTED_LOCALES]


@dataclass(frozen=True)
class LanguageOption:
    code: str
    name: str
    current: bool


@dataclass(frozen=True)
class Switcher:
    """What the language switcher needs: the page, its other query parameters, the choices."""

    action: str
    kept: list[tuple[str, str]]
    options: list[LanguageOption]


def language_switcher(path: str, query: str) -> Switcher:
    """The switcher keeps only the query parameters that say which page this is (the code
    page's verification, the request form's draft, the store search); others (an email
    address prefilled from a link) are not echoed into the page again."""
    kept = [(k, v[:MAX_KEPT_VALUE]) for k, v in parse_qsl(query[:2048]) if k in KEPT_PARAMETERS]
    here = current_locale()
    options = [LanguageOption(code, name, code == here) for code, name in languages()]
    return Switcher(path, kept, options)


def gettext(message: str, **variables: Any) -> str:
    text = translations(current_locale()).ugettext(message)
    return text % variables if variables else text


def ngettext(singular: str, plural: str, n: int, **variables: Any) -> str:
    text = translations(current_locale()).ungettext(singular, plural, n)
    return text % {"num": n, **variables}


def N_(message: str) -> str:
    """Marks a message for the catalogues where it is defined; it is translated where shown."""
    return message


def lazy_gettext(message: str, **variables: Any) -> LazyProxy:
    """For messages defined at import time (form field labels, validators, error classes)."""
    return LazyProxy(gettext, message, enable_cache=False, **variables)


@lru_cache(maxsize=256)
def _zone(name: str) -> tzinfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return UTC


def _local(moment: datetime, time_zone: str) -> tuple[datetime, str]:
    """``moment`` (naive means UTC, as stored) in ``time_zone``, and the zone's short name."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    local = moment.astimezone(_zone(time_zone))
    zone = local.tzname() or time_zone
    return local, f"UTC{zone}" if zone[:1] in "+-" else zone


def local_time(moment: datetime, time_zone: str) -> str:
    """A moment in ``time_zone`` (an IANA name) and the current language, the zone named."""
    local, zone = _local(moment, time_zone)
    locale = current_locale()
    day = format_date(local, "medium", locale=locale)
    return f"{day}, {format_time(local, 'short', locale=locale)} {zone}"


def local_day(moment: datetime, time_zone: str, *, year: bool = True) -> str:
    """The day of a moment in ``time_zone``, in the current language: "November 30, 2026",
    "30 novembre 2026"; without the year, in the same language's order: "November 30",
    "30 novembre"."""
    local = _local(moment, time_zone)[0]
    if year:
        return format_date(local, "long", locale=current_locale())
    return format_skeleton("MMMMd", local, locale=current_locale())


def supported(tag: str | None) -> str | None:
    """``tag`` (``fr``, ``fr-FR``, ``FR_ca``) as a supported locale, or None."""
    if not tag:
        return None
    tag = tag.strip().lower().replace("_", "-")[:35]
    for candidate in (tag, tag.split("-")[0]):
        if candidate in SUPPORTED_LOCALES:
            return candidate
    return None


def negotiate(accept_language: str) -> str | None:
    """The best supported locale for an Accept-Language header, or None when none fits."""
    ranked: list[tuple[float, int, str]] = []
    for position, part in enumerate(accept_language[:MAX_HEADER].split(",")):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                quality = 0.0
        if quality > 0:
            ranked.append((-quality, position, tag))
    for _q, _p, tag in sorted(ranked):
        found = supported(tag)
        if found is not None:
            return found
    return None


def prefer_store_default(store_locale: str | None) -> None:
    """The store's default language, for a page where neither the shopper nor the browser chose
    one. Called by the view that has loaded the store."""
    if _choice.get().explicit:
        return
    _choice.set(Choice(supported(store_locale) or DEFAULT_LOCALE, False))


@contextmanager
def using(locale: str | None) -> Iterator[str]:
    """Render in ``locale`` (an email in the language its request remembers)."""
    chosen = supported(locale) or DEFAULT_LOCALE
    token = _choice.set(Choice(chosen, True))
    try:
        yield chosen
    finally:
        _choice.reset(token)


def _headers(scope: Scope) -> dict[bytes, bytes]:
    return {name.lower(): value for name, value in scope.get("headers", [])}


def _cookie_locale(headers: dict[bytes, bytes]) -> str | None:
    raw = headers.get(b"cookie", b"")[:4096].decode("latin-1")
    try:
        morsel = SimpleCookie(raw).get(COOKIE)
    except CookieError:  # a malformed cookie header is no choice at all
        return None
    return supported(morsel.value) if morsel is not None else None


def _query_locale(scope: Scope) -> str | None:
    query = scope.get("query_string", b"")[:2048].decode("latin-1")
    for key, value in parse_qsl(query):
        if key == QUERY:
            return supported(value)
    return None


def _is_staff(path: str) -> bool:
    return any(path == p or path.startswith(p + "/") for p in ENGLISH_ONLY_PREFIXES)


def choose(scope: Scope) -> tuple[Choice, str | None]:
    """The language of this request, and the one to remember in the cookie (if newly chosen)."""
    path: str = scope.get("path", "")
    if _is_staff(path):
        return Choice(DEFAULT_LOCALE, True), None
    picked = _query_locale(scope)
    if picked is not None:
        return Choice(picked, True), picked
    headers = _headers(scope)
    remembered = _cookie_locale(headers)
    if remembered is not None:
        return Choice(remembered, True), None
    accepted = negotiate(headers.get(b"accept-language", b"").decode("latin-1"))
    if accepted is not None:
        return Choice(accepted, True), None
    return NO_CHOICE, None


def remember_cookie(locale: str, *, secure: bool) -> str:
    flags = f"; Max-Age={COOKIE_MAX_AGE}; Path=/; SameSite=Lax"
    return f"{COOKIE}={locale}{flags}{'; Secure' if secure else ''}"


class LocaleMiddleware:
    """Sets the page's language (see the module docstring); a ``?lang=`` choice is remembered
    in a cookie. Responses say they vary by language."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        choice, remember = choose(scope)
        secure = scope.get("scheme") == "https"
        static = scope.get("path", "").startswith("/static/")

        async def send_with_language(message: Message) -> None:
            if message["type"] == "http.response.start" and not static:
                headers = MutableHeaders(scope=message)
                headers.add_vary_header("Accept-Language")
                headers.add_vary_header("Cookie")
                if remember is not None:
                    headers.append("Set-Cookie", remember_cookie(remember, secure=secure))
            await send(message)

        token = _choice.set(choice)
        try:
            await self.app(scope, receive, send_with_language)
        finally:
            _choice.reset(token)
