"""Photos attached to a draft stay through "Change something": shown as attached, each with a
way to remove it, and counted by the photo rules with any new ones."""

from __future__ import annotations

import html
import io
import re

import httpx
import pytest
from PIL import Image
from sqlalchemy import select

from portal.reorders.models import RequestPhoto
from tests.helpers.environment import PortalEnvironment, database
from tests.helpers.shopper_flow import ShopperFlow


def jpeg(colour: tuple[int, int, int] = (200, 30, 30)) -> tuple[str, bytes, str]:
    buffer = io.BytesIO()
    Image.new("RGB", (64, 48), colour).save(buffer, "JPEG")
    return ("damage.jpg", buffer.getvalue(), "image/jpeg")


def change_link(review: httpx.Response) -> str:
    found = re.search(r'href="([^"]*/request\?draft=[^"]+)"', review.text)
    assert found, "the review page has no Change link"
    return html.unescape(found.group(1))


def reopened_fields(page: httpx.Response) -> dict[str, object]:
    """What the reopened form sends back as it is: the draft it came from and the photos
    left ticked."""
    draft = re.search(r'name="from_draft" type="hidden" value="([^"]*)"', page.text)
    ticked = re.findall(r'checked[^>]*name="keep_photo"[^>]*value="([^"]+)"', page.text)
    ticked += re.findall(r'name="keep_photo"[^>]*value="([^"]+)"[^>]*checked', page.text)
    assert draft
    return {"from_draft": draft.group(1), "keep_photo": sorted(set(ticked))}


@pytest.fixture
def review(env: PortalEnvironment, shopper: ShopperFlow) -> httpx.Response:
    order = env.shop.order()
    form = shopper.verify(order.name, "jane@example.com")
    line = shopper.quantity_fields(form)[0]
    page = shopper.file(form, issue="Damaged", quantities={line: 1}, photos=[jpeg()])
    assert page.status_code == 200 and "1 photo attached" in page.text
    return page


def test_change_something_keeps_the_photos_and_the_next_review_still_has_them(
    env: PortalEnvironment, shopper: ShopperFlow, review: httpx.Response
) -> None:
    reopened = shopper.client.get(change_link(review))
    assert "Photos you attached (untick one to remove it)" in reopened.text
    assert "Photo 1 (64 by 48 pixels)" in reopened.text
    fields = reopened_fields(reopened)
    assert len(fields["keep_photo"]) == 1  # type: ignore[arg-type]
    line = shopper.quantity_fields(reopened)[0]
    again = shopper.file(reopened, issue="Damaged", quantities={line: 2}, **fields)
    assert again.status_code == 200 and "1 photo attached" in again.text
    more = shopper.file(
        shopper.client.get(change_link(again)),
        issue="Damaged",
        quantities={line: 2},
        photos=[jpeg((10, 200, 10))],
        **reopened_fields(shopper.client.get(change_link(again))),
    )
    assert "2 photos attached" in more.text
    shopper.submit(more)
    with database(env) as db:
        stored = list(db.scalars(select(RequestPhoto.photo_id)))
    assert len(stored) == 2 and fields["keep_photo"][0] in stored  # type: ignore[index]


def test_a_photo_unticked_is_removed_and_damage_then_asks_for_one(
    env: PortalEnvironment, shopper: ShopperFlow, review: httpx.Response
) -> None:
    reopened = shopper.client.get(change_link(review))
    fields = {**reopened_fields(reopened), "keep_photo": []}
    line = shopper.quantity_fields(reopened)[0]
    answer = shopper.file(reopened, issue="Damaged", quantities={line: 1}, **fields)
    assert answer.status_code == 400 and "Add at least one photo" in answer.text


def test_photos_of_another_draft_cannot_be_claimed(
    env: PortalEnvironment, shopper: ShopperFlow, review: httpx.Response
) -> None:
    fields = reopened_fields(shopper.client.get(change_link(review)))
    other = ShopperFlow(env)
    try:
        order = env.shop.order(email="sam@example.com")
        form = other.verify(order.name, "sam@example.com")
        line = other.quantity_fields(form)[0]
        answer = other.file(form, issue="Damaged", quantities={line: 1}, **fields)
        assert answer.status_code == 400 and "Add at least one photo" in answer.text
    finally:
        other.close()


def test_more_photos_than_the_rules_allow_counting_those_kept_are_refused(
    env: PortalEnvironment, shopper: ShopperFlow, review: httpx.Response
) -> None:
    reopened = shopper.client.get(change_link(review))
    line = shopper.quantity_fields(reopened)[0]
    answer = shopper.file(
        reopened,
        issue="Damaged",
        quantities={line: 1},
        photos=[jpeg((i * 40, 0, 0)) for i in range(5)],
        **reopened_fields(reopened),
    )
    assert answer.status_code == 400 and "Attach at most 5 photos" in answer.text
