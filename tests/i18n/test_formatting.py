"""Amounts and moments as the reader expects them: the store's currency with its own decimals in
the reader's language, the store's time zone named; what is stored stays Decimal and UTC."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from portal import i18n
from portal.mail.messages import render_email
from portal.templating import money, store_date, store_time

NOON_UTC = datetime(2026, 11, 30, 17, 5, tzinfo=UTC)


@pytest.mark.parametrize(
    ("locale", "amount", "currency", "shown"),
    [
        ("en", "24", "USD", "$24.00"),
        ("en", "1234.5", "EUR", "€1,234.50"),
        ("fr", "1234.5", "EUR", "1\u202f234,50\u00a0€"),
        ("de", "24", "EUR", "24,00\u00a0€"),
        ("es", "24", "EUR", "24,00\u00a0€"),
        ("en", "2400", "JPY", "¥2,400"),
        ("fr", "2400", "JPY", "2\u202f400\u00a0JPY"),
        ("en", "1.25", "KWD", "KWD1.250"),
        ("de", "1.25", "KWD", "1,250\u00a0KWD"),
    ],
)
def test_amounts_follow_the_currency_and_the_language(
    locale: str, amount: str, currency: str, shown: str
) -> None:
    with i18n.using(locale):
        assert money(Decimal(amount), currency) == shown


def test_an_amount_without_currency_keeps_two_decimals() -> None:
    with i18n.using("fr"):
        assert money(Decimal("1234.5"), None) == "1\u202f234,50"
    assert money(None, "USD") == ""


def test_a_moment_is_shown_in_the_store_time_zone_with_the_zone_named() -> None:
    with i18n.using("en"):
        assert store_time(NOON_UTC, "America/New_York") == "Nov 30, 2026, 12:05\u202fPM EST"
        assert store_time(NOON_UTC, "Asia/Kolkata") == "Nov 30, 2026, 10:35\u202fPM IST"
        assert store_time(NOON_UTC.replace(tzinfo=None), "UTC") == "Nov 30, 2026, 5:05\u202fPM UTC"
    with i18n.using("fr"):
        assert store_time(NOON_UTC, "Europe/Paris") == "30 nov. 2026, 18:05 CET"
    with i18n.using("de"):
        assert store_time(NOON_UTC, "America/New_York") == "30.11.2026, 12:05 EST"
        assert store_date(NOON_UTC, "Pacific/Kiritimati") == "1. Dezember 2026"


def test_a_zone_without_an_abbreviation_is_named_by_its_offset() -> None:
    with i18n.using("en"):
        assert store_time(NOON_UTC, "America/Sao_Paulo").endswith(" UTC-03")


def test_an_unknown_zone_falls_back_to_utc() -> None:
    with i18n.using("en"):
        assert store_time(NOON_UTC, "Mars/Olympus") == "Nov 30, 2026, 5:05\u202fPM UTC"


class _Reorder:
    reference = "RR-ABC234"
    order_name = "#1001"
    customer_name = "Jeanne"
    currency = "EUR"
    email = "jeanne@example.com"


class _Store:
    name = "Maison Test"
    support_email = "aide@maison.example"
    time_zone = "Europe/Paris"


@pytest.mark.parametrize(
    ("locale", "subject", "greeting"),
    [
        ("fr", "Maison Test\u00a0: votre remboursement de 24,00\u00a0€ (RR-ABC234)", "Bonjour"),
        ("es", "Maison Test: su reembolso de 24,00\u00a0€ (RR-ABC234)", "Hola, Jeanne:"),
        ("de", "Maison Test: Ihre Erstattung über 24,00\u00a0€ (RR-ABC234)", "Hallo Jeanne,"),
        ("en", "Maison Test: your refund of €24.00 (RR-ABC234)", "Hello Jeanne,"),
    ],
)
def test_an_email_is_written_in_the_language_it_is_given(
    locale: str, subject: str, greeting: str
) -> None:
    context = {
        "store": _Store(),
        "reorder": _Reorder(),
        "status_link": "https://portal.example/s/x",
        "amount": Decimal("24.00"),
    }
    email = render_email("refund_issued", context, to="jeanne@example.com", locale=locale)
    assert email.subject == subject
    assert email.text.startswith(greeting)
    assert email.html is not None and f'<html lang="{locale}" dir="ltr">' in email.html
    assert i18n.current_locale() == "en", "the email's language leaks into the caller"
