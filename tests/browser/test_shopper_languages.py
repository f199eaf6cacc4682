"""A shopper whose browser speaks French files a request in French and is written to in French,
by the portal and later by an agent; the language switcher works with JavaScript off."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, expect

from tests.browser.conftest import ARTIFACTS, PHONE
from tests.browser.support import ShopperBrowser
from tests.browser.test_agent_workspace import off_the_loop
from tests.browser.test_shopper_keyboard import EMAIL, REFERENCE
from tests.helpers.environment import PortalEnvironment
from tests.helpers.staff import StaffBrowser, create_user

WAIT = 10_000
NBSP = "\u00a0"
APOSTROPHE = "\u2019"  # French typography


@pytest.fixture
def french_shopper(
    browser: Browser, env: PortalEnvironment, javascript_enabled: bool
) -> Iterator[ShopperBrowser]:
    """A phone whose browser asks for French (Accept-Language: fr-FR)."""
    context = browser.new_context(
        java_script_enabled=javascript_enabled, viewport=PHONE, locale="fr-FR", is_mobile=True
    )
    context.set_default_timeout(WAIT)
    try:
        shots = ("js-on" if javascript_enabled else "js-off") + "/french"
        page = context.new_page()
        yield ShopperBrowser(page, env, javascript_enabled, ARTIFACTS / shots)
    finally:
        context.close()


def test_a_french_browser_files_in_french_and_gets_its_emails_in_french(
    env: PortalEnvironment, french_shopper: ShopperBrowser, database_url: str
) -> None:
    shopper, page = french_shopper, french_shopper.page
    order = env.shop.order()
    shopper.open(env.url("/"))
    shopper.expect_h1("Signaler un colis perdu, volé ou endommagé")
    expect(page.locator("html")).to_have_attribute("lang", "fr")
    expect(page.locator("html")).to_have_attribute("dir", "ltr")
    shopper.check_page()
    page.get_by_label("Numéro de commande").fill(order.name)
    page.get_by_label("Adresse e-mail").fill(EMAIL)
    page.get_by_role("button", name=f"M{APOSTROPHE}envoyer un code").click()

    shopper.expect_h1("Consultez vos e-mails")
    code_email = env.wait_for_email(EMAIL, "est votre code pour Test Goods")
    assert code_email.text.startswith("Bonjour,")
    assert f"Votre code de vérification pour la commande {order.name}" in code_email.text
    code = re.search(r"\b(\d{6})\b", code_email.text)
    assert code is not None
    page.get_by_label("Code à 6 chiffres").fill(code.group(1))
    page.get_by_role("button", name="Continuer").click()

    shopper.expect_h1(f"Quel problème avec la commande {order.name}{NBSP}?")
    shopper.check_page()
    page.locator("input.qty").first.fill("1")
    page.get_by_label(re.compile(r"^Perdu")).check()
    expect(page.get_by_label("Renvoyer les mêmes articles")).to_be_checked()
    page.get_by_role("button", name="Vérifier ma demande").click()

    shopper.expect_h1("Vérifiez votre demande")
    expect(page.locator("dl.summary")).to_contain_text("Perdu")
    expect(page.locator("dl.summary")).to_contain_text(f"24,00{NBSP}$US")
    shopper.check_page()
    page.get_by_role("button", name="Envoyer ma demande").click()

    shopper.expect_h1("Demande reçue")
    shopper.check_page()
    reference = REFERENCE.search(page.locator(".notice").inner_text())
    assert reference is not None
    received = env.wait_for_email(EMAIL, "nous avons bien reçu votre demande")
    assert (
        received.subject == f"Test Goods{NBSP}: nous avons bien reçu votre demande {reference[0]}"
    )
    assert received.text.startswith("Bonjour Jane Doe,")
    assert f"Nous avons bien reçu votre demande concernant la commande {order.name}" in (
        received.text
    )
    assert received.html is not None and '<html lang="fr" dir="ltr">' in received.html

    # Later, an agent (whose pages are in English) asks a question: the email is in French.
    off_the_loop(lambda: create_user(database_url, "agent@example.com", "agent"))
    agent = StaffBrowser(env.base_url)
    try:
        assert agent.sign_in("agent@example.com").status_code == 303
        workspace = agent.get(f"/support/requests/{reference[0]}").text
        assert '<html lang="en"' in workspace and "emails in French" in workspace
        asked = agent.post_form(
            f"/support/requests/{reference[0]}/ask", {"question": "La boîte était-elle ouverte ?"}
        )
        assert asked.status_code == 303
    finally:
        agent.close()
    question = env.wait_for_email(
        EMAIL, f"nous avons besoin d{APOSTROPHE}un peu plus d{APOSTROPHE}informations"
    )
    assert "La boîte était-elle ouverte ?" in question.text
    assert "Veuillez répondre sur la page de votre demande" in question.text


@pytest.mark.parametrize("javascript_enabled", [False], ids=["js-off"])
def test_the_switcher_changes_the_language_without_javascript(
    env: PortalEnvironment, shopper_browser: ShopperBrowser
) -> None:
    shopper, page = shopper_browser, shopper_browser.page
    shopper.open(env.url("/"))
    shopper.expect_h1("Report a lost, stolen or damaged parcel")
    switcher = page.get_by_role("form", name="Language")
    expect(switcher.get_by_role("button", name="English")).to_have_attribute("aria-current", "true")

    switcher.get_by_role("button", name="Deutsch").click()
    shopper.expect_h1("Verlorenes, gestohlenes oder beschädigtes Paket melden")
    expect(page.locator("html")).to_have_attribute("lang", "de")
    expect(page.get_by_label("Bestellnummer")).to_be_visible()
    shopper.check_page()

    # The choice is remembered: a fresh visit, and a form with errors, stay German.
    shopper.open(env.url("/"))
    shopper.expect_h1("Verlorenes, gestohlenes oder beschädigtes Paket melden")
    shopper.expect_status(400, f"/{env.slug}/")
    page.get_by_role("button", name="Code per E-Mail senden").click()
    expect(page.locator("#error-summary")).to_contain_text("Es gibt ein Problem")
    expect(page.locator("#order_number-error")).to_contain_text(
        "Geben Sie Ihre Bestellnummer ein, zum Beispiel #1001."
    )

    page.get_by_role("form", name="Sprache").get_by_role("button", name="Español").click()
    shopper.expect_h1("Notifique un paquete perdido, robado o dañado")
    expect(page.locator("html")).to_have_attribute("lang", "es")
