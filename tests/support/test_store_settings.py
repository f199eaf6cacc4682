"""The store settings page: admins change a store's look, contact, claim windows, Corso client,
protection product and emails, and the shopper's pages follow; agents and merchant users only
look (a merchant user at its own store alone); bad input is refused beside its field with
nothing written."""

from __future__ import annotations

import asyncio
import io
import re
from collections.abc import Iterator

import httpx
import pytest
from PIL import Image
from PIL.PngImagePlugin import PngInfo
from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session

from portal.db import sync_url
from portal.stores.models import Store
from sandbox.shopify.state import VariantSeed
from tests.helpers import factories
from tests.helpers.environment import PortalEnvironment
from tests.helpers.factories import SEALER
from tests.helpers.shopper_flow import ShopperFlow
from tests.helpers.staff import StaffBrowser, create_user

ADMIN = "admin@example.com"
AGENT = "agent@example.com"
OWNER = "owner@test-goods.example"
SETTINGS = "/support/stores/test-goods/settings"
CHOOSE = "/support/stores/test-goods/protection-product"


def _png(size: tuple[int, int] = (40, 20), color: tuple[int, ...] = (200, 30, 30, 255)) -> bytes:
    buffer = io.BytesIO()
    image = Image.new("RGBA", size, color)
    image.save(buffer, "PNG", pnginfo=_with_text())
    return buffer.getvalue()


def _with_text() -> PngInfo:
    info = PngInfo()
    info.add_text("Comment", "secret location")
    return info


def _valid(**changes: str) -> dict[str, str]:
    values = {
        "brand_color": "#1f5c4a",
        "support_email": "help@test-goods.example",
        "support_phone": "",
        "claim_window_days": "30",
        "lost_after_quiet_days": "7",
        "lost_after_estimate_days": "3",
        "corso_client_id": "portal-test",
        "corso_client_secret": "",
        "protected_order_email": "",
    }
    values.update(changes)
    return {k: v for k, v in values.items() if v != "" or k in ("support_phone",)}


def _store(env: PortalEnvironment) -> Store:
    engine = create_engine(sync_url(env.settings.database_url))
    try:
        with Session(engine) as db:
            store = db.scalars(select(Store).where(Store.slug == env.slug)).one()
            db.expunge(store)
            return store
    finally:
        engine.dispose()


@pytest.fixture
def staff(env: PortalEnvironment) -> Iterator[dict[str, StaffBrowser]]:
    url = env.settings.database_url
    create_user(url, ADMIN, "admin")
    create_user(url, AGENT, "agent")
    create_user(url, OWNER, "merchant", store="test-goods")
    browsers = {}
    for email in (ADMIN, AGENT, OWNER):
        browser = StaffBrowser(env.base_url)
        assert browser.sign_in(email=email).status_code == 303
        browsers[email] = browser
    yield browsers
    for browser in browsers.values():
        browser.close()


def _post_settings(
    browser: StaffBrowser, data: dict[str, str], logo: bytes | None = None
) -> httpx.Response:
    files = {"logo": ("logo.png", logo, "image/png")} if logo is not None else None
    return browser.client.post(SETTINGS, data={"csrf_token": browser.csrf(), **data}, files=files)


def test_admin_changes_the_look_and_contact_and_the_shopper_pages_follow(
    env: PortalEnvironment, staff: dict[str, StaffBrowser]
) -> None:
    admin = staff[ADMIN]
    page = admin.get(SETTINGS)
    assert page.status_code == 200 and 'name="brand_color"' in page.text
    answer = _post_settings(
        admin,
        _valid(
            brand_color="#AA3300",
            support_email="care@test-goods.example",
            support_phone="+1 555 0100",
            corso_client_secret="new-corso-secret",
        ),
        logo=_png(),
    )
    assert answer.status_code == 303, answer.text
    assert admin.get(answer.headers["location"]).text.count("The settings are saved.") == 1

    theme = httpx.get(env.url("/theme.css"))
    assert "--accent: #aa3300;" in theme.text
    lookup = httpx.get(env.url("/"))
    assert 'class="store-logo"' in lookup.text
    assert "care@test-goods.example" in lookup.text and "+1 555 0100" in lookup.text
    logo = httpx.get(env.url("/logo"))
    assert logo.status_code == 200 and logo.headers["content-type"] == "image/png"
    with Image.open(io.BytesIO(logo.content)) as image:
        assert image.format == "PNG" and image.size == (40, 20)
        assert "Comment" not in image.info
    store = _store(env)
    assert store.sealed_corso_client_secret is not None
    assert SEALER.open(store.sealed_corso_client_secret) == "new-corso-secret"

    # A blank secret keeps the one that is set; the page says "set" and never shows it.
    assert _post_settings(admin, _valid(brand_color="#aa3300")).status_code == 303
    assert SEALER.open(_store(env).sealed_corso_client_secret or "") == "new-corso-secret"
    page = admin.get(SETTINGS)
    assert 'data-secret="set"' in page.text and "new-corso-secret" not in page.text

    # A new logo replaces the old; removing it leaves the pages without one.
    old = store.logo_path
    assert _post_settings(admin, _valid(), logo=_png((10, 10))).status_code == 303
    assert _store(env).logo_path not in (None, old)
    assert _post_settings(admin, _valid(remove_logo="y")).status_code == 303
    assert _store(env).logo_path is None
    assert httpx.get(env.url("/logo")).status_code == 404


def test_claim_window_per_issue_type_refuses_a_late_report(
    env: PortalEnvironment, staff: dict[str, StaffBrowser]
) -> None:
    answer = _post_settings(
        staff[ADMIN], _valid(claim_window_days="30", window_lost="3", lost_after_quiet_days="2")
    )
    assert answer.status_code == 303, answer.text
    assert _store(env).claim_windows == {"LOST": 3}
    order = env.shop.order(shipped_days_ago=5)
    shopper = ShopperFlow(env)
    try:
        form = shopper.verify(order.name, "jane@example.com")
        line = "qty_" + order.line_items[0].gid.rsplit("/", 1)[-1]
        late = shopper.file(form, issue="Lost", quantities={line: 1})
        assert late.status_code == 400 and "within 3 days of shipping" in late.text
        in_time = shopper.file(shopper.get("/request"), issue="Stolen", quantities={line: 1})
        assert in_time.status_code == 200 and "/review/" in str(in_time.url)
    finally:
        shopper.close()


def test_the_protection_product_is_found_in_shopify_and_saved_with_every_variant(
    env: PortalEnvironment, staff: dict[str, StaffBrowser]
) -> None:
    admin = staff[ADMIN]
    extra = env.shop.world.add_product(
        "test-goods.myshopify.com",
        title="Shipping Protection Plus",
        variants=[
            VariantSeed(title=f"Tier {n}", sku=f"SPP-{n}", price="4.95", tracked=False)
            for n in range(3)
        ],
    )
    page = admin.get(f"{SETTINGS}?q=protection+plus")
    assert page.status_code == 200 and "<html" in page.text
    assert "Shipping Protection Plus" in page.text and "Stoneware Mug" not in page.text
    partial = admin.client.get(SETTINGS, params={"q": "protect"}, headers={"HX-Request": "true"})
    assert partial.status_code == 200 and "<html" not in partial.text
    assert 'id="product-results"' in partial.text and "Shipping Protection" in partial.text
    assert "No product matches" in admin.get(f"{SETTINGS}?q=zzz").text

    chosen = admin.post_form(CHOOSE, {"product_id": extra.gid})
    assert chosen.status_code == 303, chosen.text
    store = _store(env)
    assert store.protection_product_id == extra.gid
    assert store.protection_variant_ids == [v.gid for v in extra.variants]

    missing = admin.post_form(CHOOSE, {"product_id": "gid://shopify/Product/999999"})
    assert missing.status_code == 400 and "no such product" in missing.text
    for bad in ("gid://shopify/ProductVariant/1", "1 OR 1", ""):
        assert admin.post_form(CHOOSE, {"product_id": bad}).status_code == 400
    assert _store(env).protection_variant_ids == [v.gid for v in extra.variants]


def test_agents_and_merchant_users_look_but_do_not_change(
    env: PortalEnvironment, staff: dict[str, StaffBrowser], portal_store: None
) -> None:
    agent, owner = staff[AGENT], staff[OWNER]
    for browser in (agent, owner):
        page = browser.get(SETTINGS)
        assert page.status_code == 200 and 'data-read-only="true"' in page.text
        assert 'name="brand_color"' not in page.text and "Find the product" not in page.text
        assert _post_settings(browser, _valid(brand_color="#000000")).status_code == 403
        assert browser.post_form(CHOOSE, {"product_id": env.shop.mug.gid}).status_code == 403
    assert _store(env).brand_color == "#1f5c4a"

    other = "/support/stores/elsewhere/settings"
    assert agent.get(other).status_code == 200
    assert owner.get(other).status_code == 404
    assert _post_settings_to(owner, other).status_code == 404
    listing = owner.get("/support/stores/")
    assert "Test Goods" in listing.text and "Elsewhere" not in listing.text
    assert "Elsewhere" in agent.get("/support/stores/").text


def _post_settings_to(browser: StaffBrowser, path: str) -> httpx.Response:
    return browser.client.post(path, data={"csrf_token": browser.csrf(), **_valid()})


@pytest.fixture
def portal_store(env: PortalEnvironment) -> None:
    asyncio.run(factories.create_store(env.settings.database_url, "Elsewhere", "elsewhere"))


BAD = [
    ({"brand_color": "red"}, "brand_color", "six hex digits"),
    ({"brand_color": "#12345g"}, "brand_color", "six hex digits"),
    ({"support_email": "not an email"}, "support_email", "not an email address"),
    ({"support_phone": "call me"}, "support_phone", "phone number"),
    ({"claim_window_days": "0"}, "claim_window_days", "1 to 365 days"),
    ({"claim_window_days": "9" * 30}, "claim_window_days", ""),
    ({"window_damaged": "400"}, "window_damaged", "1 to 365 days"),
    ({"lost_after_quiet_days": "0"}, "lost_after_quiet_days", "1 to 365"),
    ({"lost_after_quiet_days": ""}, "lost_after_quiet_days", "without a tracking update"),
    ({"lost_after_estimate_days": "-1"}, "lost_after_estimate_days", "0 to 365"),
    ({"lost_after_estimate_days": "soon"}, "lost_after_estimate_days", ""),
    ({"window_lost": "5"}, "lost_after_quiet_days", "could never be reported"),
    ({"corso_client_id": "has spaces"}, "corso_client_id", "without spaces"),
    ({"corso_client_id": "", "corso_client_secret": "s3cret"}, "corso_client_secret", "client id"),
]


def test_bad_input_is_refused_beside_its_field_with_nothing_written(
    env: PortalEnvironment, staff: dict[str, StaffBrowser]
) -> None:
    admin = staff[ADMIN]
    before = _store(env)
    for changes, field, words in BAD:
        data = _valid(**{"brand_color": "#000000", **changes})
        if changes.get("corso_client_id") == "":
            data.pop("corso_client_id", None)
        answer = _post_settings(admin, data)
        assert answer.status_code == 400, (changes, answer.status_code)
        assert f'id="{field}-error"' in answer.text, (changes, field)
        assert words in answer.text, (changes, words)
    for logo in (b"GIF89a" + b"\x00" * 50, b"not an image", _png((6000, 6000))[:2000]):
        answer = _post_settings(admin, _valid(brand_color="#000000"), logo=logo)
        assert answer.status_code == 400 and 'id="logo-error"' in answer.text
    big = b"\x89PNG" + b"\x00" * (2 * 1024 * 1024 + 10)
    assert _post_settings(admin, _valid(brand_color="#000000"), logo=big).status_code == 400
    no_csrf = admin.client.post(SETTINGS, data=_valid(brand_color="#000000"))
    assert no_csrf.status_code == 400
    after = _store(env)
    for name in (
        "brand_color",
        "support_email",
        "claim_window_days",
        "claim_windows",
        "lost_after_quiet_days",
        "lost_after_estimate_days",
        "corso_client_id",
        "sealed_corso_client_secret",
        "logo_path",
    ):
        assert getattr(after, name) == getattr(before, name), name
    assert (
        not list((env.settings.upload_dir / "logos").glob("*.png"))
        if (env.settings.upload_dir / "logos").exists()
        else True
    )


def test_the_page_shows_the_snippet_for_the_order_confirmation(
    env: PortalEnvironment, staff: dict[str, StaffBrowser]
) -> None:
    page = staff[AGENT].get(SETTINGS).text
    expected = (
        f"{env.base_url}/test-goods/?order={{{{ order.name | url_encode }}}}"
        "&amp;email={{ order.email | url_encode }}"
    )
    assert expected in page
    assert re.search(r"&lt;a href=&#34;" + re.escape(env.base_url), page)


def test_the_default_language_is_used_when_the_browser_asks_for_none_of_ours(
    env: PortalEnvironment, staff: dict[str, StaffBrowser]
) -> None:
    admin = staff[ADMIN]
    assert 'name="default_locale"' in admin.get(SETTINGS).text
    assert _post_settings(admin, _valid(default_locale="de")).status_code == 303
    assert _store(env).default_locale == "de"
    assert "<dd>Deutsch</dd>" in staff[AGENT].get(SETTINGS).text  # read-only for agents

    nothing = httpx.get(env.url("/"))
    japanese = httpx.get(env.url("/"), headers={"Accept-Language": "ja-JP"})
    french = httpx.get(env.url("/"), headers={"Accept-Language": "fr-FR"})
    assert '<html lang="de"' in nothing.text and "Bestellnummer" in nothing.text
    assert '<html lang="de"' in japanese.text
    assert '<html lang="fr"' in french.text and "Numéro de commande" in french.text

    refused = _post_settings(admin, _valid(default_locale="tlh"))
    assert refused.status_code == 400 and _store(env).default_locale == "de"
