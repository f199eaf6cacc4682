"""Duplicates and risk on a request's page, over HTTP: each signal fires when it should, with
its reason and a link to what it found, stays quiet when it should not, and can be marked
reviewed (who and when, in the timeline), which the queue's column and filter follow."""

from __future__ import annotations

import io
import random
import re
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from PIL import Image, ImageDraw, ImageFilter

from portal.reorders.service import PhotoRecord
from portal.shopper.photos import PhotoRules, process_photo
from sandbox.corso.samples import bare_claim
from sandbox.shopify.records import Order
from tests.helpers.environment import CORSO_STORE, PortalEnvironment
from tests.helpers.factories import address_form
from tests.helpers.requests import file_request, load_request
from tests.helpers.shopper_flow import ShopperFlow
from tests.helpers.staff import StaffBrowser, create_user


@pytest.fixture
def agent(env: PortalEnvironment, database_url: str) -> Iterator[StaffBrowser]:
    create_user(database_url, "agent@example.com", "agent")
    browser = StaffBrowser(env.base_url)
    assert browser.sign_in(email="agent@example.com").status_code == 303
    yield browser
    browser.close()


def signals_of(agent: StaffBrowser, reference: str) -> str:
    page = agent.get(f"/support/requests/{reference}")
    assert page.status_code == 200, page.text
    start = page.text.index('id="risk-panel"')
    return page.text[start : page.text.index("</section>", start)]


def _line(order: Order, index: int = 0) -> dict[str, object]:
    line = order.line_items[index]
    return {
        "sourceLineItem": {
            "lineItemId": 1,
            "sourceLineItemId": str(line.id),
            "variantId": None,
            "sku": "SKU",
            "name": "Claimed item",
            "quantity": 1,
        },
        "claimLineItemId": 70 + index,
        "customFields": [],
        "quantity": 1,
        "isShopNow": False,
        "amount": 24,
        "requestedAmount": 24,
        "reason": "Lost",
        "status": "Open",
        "statusDetail": "Awaiting_Review",
        "requestedResolutionMethod": "Refund",
    }


def corso_claim(
    claim_id: int,
    *,
    order: Order | None = None,
    lines: list[dict[str, object]] | None = None,
    created_on: datetime | None = None,
    email: str = "jane@example.com",
) -> dict[str, Any]:
    claim = bare_claim(
        claim_id,
        store_id=CORSO_STORE,
        customer_email=email,
        external_id=f"{order.number if order else 1}-{claim_id}",
        created_on=(created_on or datetime(2025, 3, 1, tzinfo=UTC)).strftime("%Y-%m-%dT%H:%M:%SZ"),
    )
    if order is not None:
        claim["order"] = {"sourceOrderId": str(order.id), "orderName": f"#{order.number}"}
    claim["claimLineItems"] = lines or []
    return claim


# --- the same order line ----------------------------------------------------------------------


def test_a_corso_claim_for_the_same_order_line_warns_and_links_the_claim(
    env: PortalEnvironment, agent: StaffBrowser
) -> None:
    order = env.shop.order(lines=[(env.shop.mug, 2), (env.shop.shirt, 1)])
    request = file_request(env, order)
    env.corso.add_claim(corso_claim(501, order=order, lines=[_line(order, 0)]))

    panel = signals_of(agent, request.reference)

    assert 'data-signal="corso_line"' in panel
    assert "is already claimed in Corso" in panel
    assert f'href="#corso-claim-{order.number}-501"' in panel


def test_a_corso_claim_for_another_line_or_order_does_not_warn(
    env: PortalEnvironment, agent: StaffBrowser
) -> None:
    order = env.shop.order(lines=[(env.shop.mug, 2), (env.shop.shirt, 1)])
    other = env.shop.order(lines=[(env.shop.mug, 1)])
    request = file_request(env, order)
    env.corso.add_claim(corso_claim(502, order=order, lines=[_line(order, 1)]))  # the shirt
    same_line_id_elsewhere = _line(order, 0)
    env.corso.add_claim(corso_claim(503, order=other, lines=[same_line_id_elsewhere]))

    panel = signals_of(agent, request.reference)

    assert 'data-signal="corso_line"' not in panel


def test_another_request_for_the_same_order_line_warns_and_links_it(
    env: PortalEnvironment, agent: StaffBrowser
) -> None:
    order = env.shop.order(lines=[(env.shop.mug, 2), (env.shop.shirt, 1)])
    first = file_request(env, order, quantities={order.line_items[0].id: 1})
    second = file_request(env, order, quantities={order.line_items[0].id: 1})

    panel = signals_of(agent, second.reference)

    assert 'data-signal="same_line"' in panel
    assert f'/support/requests/{first.reference}"' in panel
    assert "is already claimed in another request here" in panel


def test_another_request_for_another_line_of_the_order_does_not_warn(
    env: PortalEnvironment, agent: StaffBrowser
) -> None:
    order = env.shop.order(lines=[(env.shop.mug, 2), (env.shop.shirt, 1)])
    file_request(env, order, quantities={order.line_items[0].id: 1})
    second = file_request(env, order, quantities={order.line_items[1].id: 1})

    panel = signals_of(agent, second.reference)

    assert 'data-signal="same_line"' not in panel


# --- claim counts -----------------------------------------------------------------------------


def test_many_claims_in_a_month_across_portal_and_corso_are_flagged(
    env: PortalEnvironment, agent: StaffBrowser
) -> None:
    order = env.shop.order()
    request = file_request(env, order)
    recent = datetime.now(UTC) - timedelta(days=5)
    for claim_id in (601, 602, 603, 604):
        env.corso.add_claim(corso_claim(claim_id, created_on=recent))

    panel = signals_of(agent, request.reference)

    assert 'data-signal="many_claims"' in panel
    assert "5 claims in the last 30 days" in panel
    assert "5 in 30 days, 5 in 90 days, 5 in 365 days" in panel


def test_old_claims_are_counted_but_not_flagged(
    env: PortalEnvironment, agent: StaffBrowser
) -> None:
    order = env.shop.order()
    request = file_request(env, order)
    for claim_id in (611, 612, 613, 614):  # March 2025: more than a year ago
        env.corso.add_claim(corso_claim(claim_id))

    panel = signals_of(agent, request.reference)

    assert 'data-signal="many_claims"' not in panel
    assert "1 in 30 days, 1 in 90 days, 1 in 365 days" in panel


# --- the same photo ---------------------------------------------------------------------------


def _picture(seed: int) -> Image.Image:
    chance = random.Random(seed)
    image = Image.new("RGB", (900, 700), (chance.randrange(256),) * 3)
    draw = ImageDraw.Draw(image)
    for _ in range(40):
        x, y = chance.randrange(900), chance.randrange(700)
        box = (x, y, x + chance.randrange(20, 250), y + chance.randrange(20, 250))
        draw.ellipse(box, fill=tuple(chance.randrange(256) for _ in range(3)))
    return image.filter(ImageFilter.GaussianBlur(2))


def _jpeg(image: Image.Image, *, size: tuple[int, int] | None = None, quality: int = 90) -> bytes:
    out = io.BytesIO()
    (image.resize(size) if size else image).save(out, "JPEG", quality=quality)
    return out.getvalue()


def _record(data: bytes, photo_id: str) -> PhotoRecord:
    photo = process_photo(data, filename="photo.jpg", rules=PhotoRules())
    return PhotoRecord(
        photo_id, photo.content_type, photo.width, photo.height, photo.sha256, photo.phash
    )


def test_the_same_photo_resized_and_saved_again_on_another_request_is_flagged(
    env: PortalEnvironment, agent: StaffBrowser
) -> None:
    picture = _picture(1)
    original = _record(_jpeg(picture), "a" * 22)
    copy = _record(_jpeg(picture, size=(450, 350), quality=45), "b" * 22)
    first = file_request(env, env.shop.order(email="ann@example.com"), photos=[original])
    second = file_request(env, env.shop.order(email="bob@example.com"), photos=[copy])

    panel = signals_of(agent, second.reference)

    assert 'data-signal="same_photo"' in panel
    assert f'/support/requests/{first.reference}"' in panel


def test_a_different_photo_is_not_flagged(env: PortalEnvironment, agent: StaffBrowser) -> None:
    first_photo = _record(_jpeg(_picture(1)), "c" * 22)
    other_photo = _record(_jpeg(_picture(2)), "d" * 22)
    file_request(env, env.shop.order(email="ann@example.com"), photos=[first_photo])
    second = file_request(env, env.shop.order(email="bob@example.com"), photos=[other_photo])

    panel = signals_of(agent, second.reference)

    assert 'data-signal="same_photo"' not in panel


# --- address and device -----------------------------------------------------------------------


def test_the_same_address_behind_another_customer_is_flagged(
    env: PortalEnvironment, agent: StaffBrowser
) -> None:
    first = file_request(env, env.shop.order(email="ann@example.com"))
    messy = address_form(address1="1 MAIN STREET", city="springfield ")
    second = file_request(env, env.shop.order(email="bob@example.com"), address=messy)

    panel = signals_of(agent, second.reference)

    assert 'data-signal="same_address"' in panel
    assert "1 other customer" in panel
    assert f'/support/requests/{first.reference}"' in panel


def test_the_same_customer_at_the_same_address_is_not_flagged(
    env: PortalEnvironment, agent: StaffBrowser
) -> None:
    file_request(env, env.shop.order(email="ann@example.com"))
    second = file_request(env, env.shop.order(email="ann@example.com"))
    elsewhere = file_request(
        env, env.shop.order(email="cy@example.com"), address=address_form(address1="9 Elm St")
    )

    assert 'data-signal="same_address"' not in signals_of(agent, second.reference)
    assert 'data-signal="same_address"' not in signals_of(agent, elsewhere.reference)


def test_the_same_device_behind_another_customer_is_flagged(
    env: PortalEnvironment, agent: StaffBrowser
) -> None:
    first = file_request(env, env.shop.order(email="ann@example.com"), device_key="k" * 64)
    second = file_request(env, env.shop.order(email="bob@example.com"), device_key="k" * 64)
    third = file_request(env, env.shop.order(email="cy@example.com"), device_key="z" * 64)

    panel = signals_of(agent, second.reference)

    assert 'data-signal="same_device"' in panel
    assert f'/support/requests/{first.reference}"' in panel
    assert 'data-signal="same_device"' not in signals_of(agent, third.reference)


def test_shopper_pages_set_a_long_lived_device_cookie_and_staff_pages_do_not(
    env: PortalEnvironment,
) -> None:
    import httpx

    with httpx.Client(base_url=env.base_url) as browser:
        shopper = browser.get(f"/{env.slug}/")
        staff = browser.get("/support/login")
    cookie = shopper.headers.get("set-cookie", "")
    assert "portal_device=" in shopper.headers.get_list("set-cookie").__str__()
    assert "Max-Age=63072000" in str(shopper.headers.get_list("set-cookie"))
    assert "portal_device=" not in str(staff.headers.get_list("set-cookie"))
    assert cookie is not None


def test_a_shipping_address_that_differs_from_the_order_is_flagged(
    env: PortalEnvironment, agent: StaffBrowser
) -> None:
    moved = file_request(env, env.shop.order(), address=address_form(address1="77 Dock Rd"))
    same = file_request(env, env.shop.order(email="bob@example.com"))

    panel = signals_of(agent, moved.reference)

    assert 'data-signal="address_changed"' in panel
    assert "77 Dock Rd" in panel and "1 Main St" in panel
    assert 'data-signal="address_changed"' not in signals_of(agent, same.reference)


# --- reviewing --------------------------------------------------------------------------------


def test_an_agent_marks_a_signal_reviewed_and_the_timeline_and_queue_follow(
    env: PortalEnvironment, agent: StaffBrowser
) -> None:
    order = env.shop.order(lines=[(env.shop.mug, 2)])
    file_request(env, order, quantities={order.line_items[0].id: 1})
    second = file_request(env, order, quantities={order.line_items[0].id: 1})
    assert 'data-reference="' + second.reference in agent.get("/support/queue?risk=1").text
    panel = signals_of(agent, second.reference)
    key = panel.split('name="signal" value="', 1)[1].split('"', 1)[0]

    answer = agent.post_form(
        f"/support/requests/{second.reference}/signals/review", {"signal": key}
    )

    assert answer.status_code == 303
    panel = signals_of(agent, second.reference)
    assert "Reviewed by agent@example.com" in panel
    assert 'name="signal"' not in panel
    events = load_request(env, second.id).events
    assert [e.actor for e in events if e.kind == "risk_reviewed"] == ["agent@example.com"]
    assert 'data-reference="' + second.reference not in agent.get("/support/queue?risk=1").text
    again = agent.post_form(f"/support/requests/{second.reference}/signals/review", {"signal": key})
    assert again.status_code == 409
    unknown = agent.post_form(
        f"/support/requests/{second.reference}/signals/review", {"signal": "same_line:nothing"}
    )
    assert unknown.status_code == 409


def test_photos_uploaded_by_shoppers_are_hashed_and_one_browser_behind_two_customers_shows(
    env: PortalEnvironment, agent: StaffBrowser
) -> None:
    picture = _picture(3)
    same_browser = ShopperFlow(env)
    filed = []
    for email, data in (
        ("ann@example.com", _jpeg(picture)),
        ("bob@example.com", _jpeg(picture, size=(600, 466), quality=50)),
    ):
        order = env.shop.order(email=email)
        form = same_browser.verify(f"#{order.number}", email)
        line = "qty_" + order.line_items[0].gid.rsplit("/", 1)[-1]
        status = same_browser.submit(
            same_browser.file(
                form,
                issue="Damaged",
                quantities={line: 1},
                photos=[("parcel.jpg", data, "image/jpeg")],
            )
        )
        found = re.search(r"RR-[0-9A-Z]{6}", status.text)
        assert found, status.text
        filed.append(found.group(0))
    same_browser.close()

    panel = signals_of(agent, filed[1])

    assert 'data-signal="same_photo"' in panel
    assert 'data-signal="same_device"' in panel
    assert f'/support/requests/{filed[0]}"' in panel


def test_a_filed_request_with_a_corso_duplicate_is_flagged_in_the_queue_unopened(
    env: PortalEnvironment, agent: StaffBrowser
) -> None:
    order = env.shop.order(lines=[(env.shop.mug, 2), (env.shop.shirt, 1)])
    env.corso.add_claim(corso_claim(701, order=order, lines=[_line(order, 0)]))
    shopper = ShopperFlow(env)
    form = shopper.verify(f"#{order.number}", "jane@example.com")
    line = "qty_" + order.line_items[0].gid.rsplit("/", 1)[-1]
    status = shopper.submit(shopper.file(form, issue="Lost", quantities={line: 1}))
    shopper.close()
    found = re.search(r"RR-[0-9A-Z]{6}", status.text)
    assert found, status.text

    deadline = time.monotonic() + 20
    flagged = ""
    while time.monotonic() < deadline:
        flagged = agent.get("/support/queue?risk=1&status=any").text
        if f'data-reference="{found.group(0)}"' in flagged:
            break
        time.sleep(0.2)
    assert f'data-reference="{found.group(0)}"' in flagged
    row = flagged[flagged.index(f'data-reference="{found.group(0)}"') :]
    assert 'data-risk="1"' in row[: row.index("</tr>")]
