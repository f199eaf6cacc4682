"""Order links for emails: the usual ones live 60 days from signing; one that names its own end
(the "your order is protected" email's) lives until then, at most ``LONGEST_ORDER_LINK``."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from portal import links
from portal.errors import ExpiredToken, InvalidToken
from portal.signing import Purpose, Signer

SIGNER = Signer("s" * 40)
ORDER = "gid://shopify/Order/5001"


def test_a_link_without_an_end_lives_sixty_days_from_signing() -> None:
    token = links.order_link_token(SIGNER, store_id=1, order_id=ORDER)
    now = datetime.now(UTC)
    assert links.read_order_link(SIGNER, token, now=now + timedelta(days=59)).order_id == ORDER
    with pytest.raises(ExpiredToken):
        links.read_order_link(SIGNER, token, now=now + timedelta(days=61))


def test_a_link_with_an_end_lives_until_it_even_past_sixty_days() -> None:
    end = datetime.now(UTC) + timedelta(days=90)
    token = links.order_link_token(SIGNER, store_id=1, order_id=ORDER, expires_at=end)
    read = links.read_order_link(SIGNER, token, now=end - timedelta(seconds=5))
    assert (read.store_id, read.order_id) == (1, ORDER)
    with pytest.raises(ExpiredToken):
        links.read_order_link(SIGNER, token, now=end + timedelta(seconds=1))


@pytest.mark.parametrize("end", ["soon", -1, 0, 2**41, 1.5, None, True])
def test_a_link_with_an_absurd_end_is_invalid(end: object) -> None:
    token = SIGNER.sign(Purpose.ORDER_LINK, {"s": 1, "o": "5001", "x": end})
    with pytest.raises(InvalidToken):
        links.read_order_link(SIGNER, token)


def test_the_link_url_carries_the_store_and_token() -> None:
    url = links.order_link(
        SIGNER, base_url="https://r.example/", store_slug="maple", store_id=3, order_id=ORDER
    )
    assert url.startswith("https://r.example/maple/r/")
    assert links.read_order_link(SIGNER, url.rsplit("/", 1)[-1]).store_id == 3
