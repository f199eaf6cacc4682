"""The language of a shopper's page: their choice (the switcher, remembered in a cookie), then
the browser's Accept-Language, then the store's default. Staff pages stay English."""

from __future__ import annotations

import re

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from portal import i18n
from portal.stores import service
from tests.helpers.factories import SEALER
from tests.helpers.factories import store_spec as spec
from tests.helpers.portal import Portal

pytestmark = pytest.mark.anyio

HTML_LANG = re.compile(r'<html lang="(\w+)" dir="(\w+)">')
SWITCHER = re.compile(r'<form class="languages".*?</form>', re.DOTALL)
H1 = re.compile(r"<h1>(.*?)</h1>", re.DOTALL)
HEADINGS = {
    "en": "Report a lost, stolen or damaged parcel",
    "es": "Notifique un paquete perdido, robado o dañado",
    "fr": "Signaler un colis perdu, volé ou endommagé",
    "de": "Verlorenes, gestohlenes oder beschädigtes Paket melden",
}


def language_of(page: httpx.Response) -> tuple[str, str, str]:
    """(lang, dir, h1) of a page."""
    found = HTML_LANG.search(page.text)
    heading = H1.search(page.text)
    assert found and heading, page.text[:300]
    return found.group(1), found.group(2), heading.group(1).strip()


async def _store(db: AsyncSession, default_locale: str = "en") -> None:
    store = spec("Maple & Moss", "maple", default_locale=default_locale)
    await service.upsert_store(db, store, SEALER)
    await db.commit()


@pytest.mark.parametrize("locale", ["en", "es", "fr", "de"])
async def test_the_browser_language_is_used(db: AsyncSession, portal: Portal, locale: str) -> None:
    await _store(db)
    header = {"en": "en-US,en;q=0.9", "es": "es-MX", "fr": "fr-FR,fr;q=0.9,es;q=0.8"}
    async with httpx.AsyncClient(base_url=portal.base_url) as client:
        page = await client.get("/maple/", headers={"Accept-Language": header.get(locale, "de")})
    assert page.status_code == 200
    assert language_of(page) == (locale, "ltr", HEADINGS[locale])
    assert "Accept-Language" in page.headers["vary"]


async def test_the_first_supported_language_of_the_browser_wins(
    db: AsyncSession, portal: Portal
) -> None:
    await _store(db)
    async with httpx.AsyncClient(base_url=portal.base_url) as client:
        page = await client.get("/maple/", headers={"Accept-Language": "ja,pt-BR;q=0.9,de;q=0.5"})
        refused = await client.get("/maple/", headers={"Accept-Language": "fr;q=0,es;q=0.1"})
        nonsense = await client.get(
            "/maple/", headers={"Accept-Language": ("x" * 5000 + ";q=\xe1").encode("latin-1")}
        )
    assert language_of(page)[0] == "de"
    assert language_of(refused)[0] == "es"
    assert nonsense.status_code == 200 and language_of(nonsense)[0] == "en"


async def test_without_a_browser_language_the_store_default_is_used(
    db: AsyncSession, portal: Portal
) -> None:
    await _store(db, default_locale="fr")
    async with httpx.AsyncClient(base_url=portal.base_url) as client:
        nothing = await client.get("/maple/")
        unsupported = await client.get("/maple/", headers={"Accept-Language": "ja"})
        english = await client.get("/maple/", headers={"Accept-Language": "en-GB"})
    assert language_of(nothing) == ("fr", "ltr", HEADINGS["fr"])
    assert language_of(unsupported)[0] == "fr"
    assert language_of(english)[0] == "en"


async def test_the_switcher_choice_beats_the_browser_and_is_remembered(
    db: AsyncSession, portal: Portal
) -> None:
    await _store(db)
    french = {"Accept-Language": "fr-FR"}
    async with httpx.AsyncClient(base_url=portal.base_url) as client:
        page = await client.get("/maple/", headers=french)
        switcher = SWITCHER.search(page.text)
        assert switcher, "the page has no language switcher"
        buttons = re.findall(r'name="lang" value="(\w+)" lang="\w+"', switcher.group(0))
        assert buttons == ["en", "es", "fr", "de"]
        assert 'value="fr" lang="fr" aria-current="true">Français<' in switcher.group(0)
        chosen = await client.get("/maple/", params={"lang": "de"}, headers=french)
        assert language_of(chosen)[2] == HEADINGS["de"]
        assert "portal_lang=de" in chosen.headers["set-cookie"]
        later = await client.get("/maple/", headers=french)
    assert language_of(later)[0] == "de"


async def test_the_switcher_keeps_the_page_and_its_other_parameters(
    db: AsyncSession, portal: Portal
) -> None:
    await _store(db)
    async with httpx.AsyncClient(base_url=portal.base_url) as client:
        page = await client.get("/maple/verify", params={"v": "abc", "lang": "es"})
    assert language_of(page)[2] == "Revise su correo"
    switcher = SWITCHER.search(page.text)
    assert switcher and 'action="/maple/verify"' in switcher.group(0)
    assert '<input type="hidden" name="v" value="abc">' in switcher.group(0)
    assert 'type="hidden" name="lang"' not in switcher.group(0)


async def test_an_unknown_choice_is_ignored(db: AsyncSession, portal: Portal) -> None:
    await _store(db)
    async with httpx.AsyncClient(base_url=portal.base_url) as client:
        page = await client.get("/maple/", params={"lang": "xx<script>"})
        cookie = await client.get("/maple/", headers={"Cookie": 'portal_lang="x;y'})
    assert page.status_code == 200 and language_of(page)[0] == "en"
    assert "set-cookie" not in page.headers or "portal_lang" not in page.headers["set-cookie"]
    assert cookie.status_code == 200 and language_of(cookie)[0] == "en"


async def test_staff_pages_stay_english(db: AsyncSession, portal: Portal) -> None:
    async with httpx.AsyncClient(base_url=portal.base_url) as client:
        page = await client.get(
            "/support/login", headers={"Accept-Language": "fr", "Cookie": "portal_lang=de"}
        )
    assert page.status_code == 200
    assert HTML_LANG.search(page.text).group(1) == "en"  # type: ignore[union-attr]
    assert 'class="languages"' not in page.text


async def test_error_pages_speak_the_shoppers_language(portal: Portal) -> None:
    async with httpx.AsyncClient(base_url=portal.base_url) as client:
        page = await client.get(
            "/no-such-store/", headers={"Accept": "text/html", "Accept-Language": "es"}
        )
    assert page.status_code == 404
    assert language_of(page) == ("es", "ltr", "Página no encontrada")


def test_negotiation_reads_tags_in_any_case_and_region() -> None:
    assert i18n.negotiate("FR-ca") == "fr"
    assert i18n.negotiate("de_AT;q=0.8, en;q=0.7") == "de"
    assert i18n.negotiate("*") is None
    assert i18n.negotiate("") is None
    assert i18n.supported("pt") is None


def _scope(path: str, accept_language: bytes = b"fr") -> dict[str, object]:
    return {
        "type": "http",
        "path": path,
        "query_string": b"",
        "headers": [(b"accept-language", accept_language)],
    }


def test_only_staff_paths_are_english_not_a_store_named_like_one() -> None:
    assert i18n.choose(_scope("/support/queue"))[0].locale == "en"
    assert i18n.choose(_scope("/shopify/install"))[0].locale == "en"
    assert i18n.choose(_scope("/supportive-goods/"))[0].locale == "fr"
    assert i18n.choose(_scope("/shopifyish/verify"))[0].locale == "fr"
