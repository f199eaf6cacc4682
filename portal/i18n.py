"""All copy goes through one translation function, so another language can be added.

Catalogues live in ``portal/locale/<lang>/LC_MESSAGES/messages.mo`` (extract with
``pybabel extract -F babel.cfg -o messages.pot .``). The locale is chosen per request from
Accept-Language among the supported ones and held in a context variable, which the templates'
``_()`` / ``ngettext()`` and Python code's ``gettext()`` both read.
"""

from __future__ import annotations

from contextvars import ContextVar
from functools import cache
from pathlib import Path
from typing import Any

from babel.support import LazyProxy, NullTranslations, Translations
from starlette.types import ASGIApp, Receive, Scope, Send

LOCALE_DIR = Path(__file__).parent / "locale"
DEFAULT_LOCALE = "en"
_OTHER_LOCALES = sorted(p.name for p in LOCALE_DIR.glob("*") if p.is_dir())
SUPPORTED_LOCALES = (DEFAULT_LOCALE, *(name for name in _OTHER_LOCALES if name != DEFAULT_LOCALE))

_locale: ContextVar[str] = ContextVar("locale", default=DEFAULT_LOCALE)


@cache
def translations(locale: str) -> NullTranslations:
    if locale == DEFAULT_LOCALE:
        return NullTranslations()
    return Translations.load(str(LOCALE_DIR), [locale], domain="messages")


def current_locale() -> str:
    return _locale.get()


def gettext(message: str, **variables: Any) -> str:
    text = translations(current_locale()).ugettext(message)
    return text % variables if variables else text


def ngettext(singular: str, plural: str, n: int, **variables: Any) -> str:
    text = translations(current_locale()).ungettext(singular, plural, n)
    return text % {"num": n, **variables}


def lazy_gettext(message: str, **variables: Any) -> LazyProxy:
    """For messages defined at import time (form field labels, validators)."""
    return LazyProxy(gettext, message, enable_cache=False, **variables)


def negotiate(accept_language: str) -> str:
    """The best supported locale for an Accept-Language header."""
    ranked: list[tuple[float, str]] = []
    for part in accept_language.split(","):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                quality = 0.0
        ranked.append((quality, tag.strip().lower()))
    for _, tag in sorted(ranked, key=lambda r: -r[0]):
        for candidate in (tag, tag.split("-")[0]):
            if candidate in SUPPORTED_LOCALES:
                return candidate
    return DEFAULT_LOCALE


class LocaleMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        header = dict(scope.get("headers", [])).get(b"accept-language", b"").decode("latin-1")
        token = _locale.set(negotiate(header))
        try:
            await self.app(scope, receive, send)
        finally:
            _locale.reset(token)
