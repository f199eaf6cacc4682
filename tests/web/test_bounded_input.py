"""Values from URLs, tokens and forms are parsed into bounded types at the edge."""

from __future__ import annotations

import pytest
from starlette.datastructures import Headers, MultiDict

from portal import links
from portal.billing.export import _text
from portal.db import MAX_ROW_ID
from portal.errors import InvalidToken, MalformedDelivery, PortalError
from portal.security import has_nul
from portal.signing import Purpose, Signer
from portal.support.forms import AlternativeForm, NoteForm
from portal.webhooks.deliveries import delivery_of, fingerprint

SIGNER = Signer("s" * 40)


@pytest.mark.parametrize("request_id", [0, -1, MAX_ROW_ID + 1, 10**30, True, 1.5, "7"])
def test_a_status_token_with_an_absurd_id_is_invalid(request_id: object) -> None:
    token = SIGNER.sign(Purpose.STATUS_LINK, {"r": request_id})
    with pytest.raises(InvalidToken):
        links.read_status_token(SIGNER, token)


def test_a_status_token_with_a_real_id_reads() -> None:
    token = links.status_token(SIGNER, request_id=MAX_ROW_ID)
    assert links.read_status_token(SIGNER, token) == MAX_ROW_ID


@pytest.mark.parametrize(
    "payload", [{"s": 10**30, "o": "1"}, {"s": 1, "o": "9" * 40}, {"s": 0, "o": "1"}]
)
def test_an_order_link_with_an_absurd_id_is_invalid(payload: dict[str, object]) -> None:
    token = SIGNER.sign(Purpose.ORDER_LINK, payload)
    with pytest.raises(InvalidToken):
        links.read_order_link(SIGNER, token)


@pytest.mark.parametrize("value", ["=1+1", " =1+1", "\n=HYPERLINK(1)", "\t+1", "@SUM(A1)", "  -2"])
def test_csv_text_that_a_spreadsheet_would_run_is_quoted(value: str) -> None:
    assert _text(value).startswith("'")


def test_csv_plain_text_is_left_alone() -> None:
    assert _text("Blue mug, 2 of them") == "Blue mug, 2 of them"


@pytest.mark.parametrize("amount", ["sNaN", "NaN", "Infinity", "-inf", "1e999999"])
def test_an_amount_that_is_not_a_number_is_a_form_error(amount: str) -> None:
    data = MultiDict({"order_name": "#1001", "description": "a lamp", "amount": amount})
    form = AlternativeForm(formdata=data, meta={"csrf": False})
    assert not form.validate()
    assert form.errors.get("amount")


def test_bounded_errors_are_portal_errors() -> None:
    assert issubclass(InvalidToken, PortalError)


def test_a_webhook_nested_beyond_the_parser_is_malformed() -> None:
    body = b'{"id": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    with pytest.raises(MalformedDelivery):
        delivery_of(_webhook_headers(), body)


@pytest.mark.parametrize(
    "changes",
    [
        {"X-Shopify-Shop-Domain": "evil.example"},
        {"X-Shopify-Shop-Domain": "x" * 300 + ".myshopify.com"},
        {"X-Shopify-Webhook-Id": "id\nwith a line break"},
        {"X-Shopify-Webhook-Id": "x" * 129},
        {"X-Shopify-Topic": "orders/create; drop"},
    ],
)
def test_webhook_headers_are_bounded(changes: dict[str, str]) -> None:
    with pytest.raises(MalformedDelivery):
        delivery_of(_webhook_headers(**changes), b'{"id": 1}')


def test_a_well_formed_delivery_reads() -> None:
    delivery = delivery_of(_webhook_headers(), b'{"id": 5001}')
    assert delivery.order_id == "gid://shopify/Order/5001"
    assert delivery.shop_domain == "maple-and-moss.myshopify.com"


def test_log_lines_carry_fingerprints_not_values() -> None:
    assert fingerprint("evil\nvalue") == fingerprint("evil\nvalue")
    assert "\n" not in fingerprint("evil\nvalue") and len(fingerprint("x" * 10_000)) == 12


def _webhook_headers(**changes: str) -> Headers:
    values = {
        "X-Shopify-Webhook-Id": "b54557e4-bdd9-4b37-8a5f-bf7d70bcd043",
        "X-Shopify-Shop-Domain": "maple-and-moss.myshopify.com",
        "X-Shopify-Topic": "orders/create",
        **changes,
    }
    return Headers(values)


@pytest.mark.parametrize(
    ("path", "query"),
    [("/\x00/", b""), ("/support/queue", b"q=a%00b"), ("/x", b"next=\x00"), ("/x", b"a=%00")],
)
def test_a_nul_anywhere_in_the_url_is_seen(path: str, query: bytes) -> None:
    assert has_nul(path, query)


def test_a_url_without_nul_passes() -> None:
    assert not has_nul("/test-goods/requests/RR-ABCDEF", b"q=%2500&after=abc")


def test_a_form_value_with_nul_is_a_form_error() -> None:
    form = NoteForm(formdata=MultiDict({"text": "a\x00b"}), meta={"csrf": False})
    assert not form.validate()
    assert "Remove the NUL character." in form.errors["text"]
