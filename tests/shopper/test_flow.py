"""The shopper's whole flow over HTTP against the sandbox shop, for each issue type and each
preferred resolution, and each rule on the way."""

from __future__ import annotations

import io
import re
import time

import httpx
import pytest
from PIL import Image
from sqlalchemy import select, update

from portal.reorders.models import ReorderRequest, RequestStatus
from portal.shopper.models import OrderVerification
from tests.helpers.environment import PortalEnvironment, database
from tests.helpers.portal import LOOKUP_FLOOR
from tests.helpers.shopper_flow import ShopperFlow, csrf_of


def status_link(page: httpx.Response) -> tuple[str, str, str]:
    """Where a status page was reached, less the moment its link was signed: the token is
    ``payload.timestamp.signature`` and two links to one request signed a second apart differ
    in the last two parts only."""
    path, token = page.url.path.rsplit("/", 1)
    payload = token.split(".", 1)[0]
    return path, payload, page.url.query.decode()


def jpeg(width: int = 64, height: int = 48) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), (200, 30, 30)).save(buffer, "JPEG")
    return buffer.getvalue()


def qty_field(line_item_gid: str) -> str:
    return "qty_" + line_item_gid.rsplit("/", 1)[-1]


CASES = [
    ("Lost", "reorder", False),
    ("Stolen", "refund", False),
    ("Damaged", "alternative", True),
    ("Wrong_Item", "reorder", True),
    ("Missing_Item", "refund", False),
]


@pytest.mark.parametrize(("issue", "resolution", "with_photo"), CASES)
def test_a_shopper_files_a_request_and_follows_it(
    env: PortalEnvironment, shopper: ShopperFlow, issue: str, resolution: str, with_photo: bool
) -> None:
    order = env.shop.order(lines=[(env.shop.mug, 2), (env.shop.shirt, 1)])
    form = shopper.verify(order.name, "JANE@example.com")
    assert form.status_code == 200
    assert "Stoneware Mug" in form.text and "Shipping Protection" not in form.text
    mug_line = order.line_items[0]
    photos = [("damage.jpg", jpeg(), "image/jpeg")] if with_photo else None
    extra = {"alternative_wish": "The blue mug instead"} if resolution == "alternative" else {}
    review = shopper.file(
        form,
        issue=issue,
        quantities={qty_field(mug_line.gid): 1},
        resolution=resolution,
        photos=photos,
        **extra,
    )
    assert review.status_code == 200, review.text
    assert "Check your request" in review.text and "1 \u00d7 Stoneware Mug" in review.text
    status = shopper.submit(review)
    assert status.status_code == 200
    reference = re.search(r"RR-[2-9A-HJ-NP-Z]{6}", status.text)
    assert reference and "Request received" in status.text
    with database(env) as db:
        filed = db.scalars(select(ReorderRequest)).one()
        assert filed.reference == reference.group(0)
        assert (filed.issue_type, filed.resolution, filed.status) == (
            issue,
            resolution,
            "submitted",
        )
        assert [(i.title, i.quantity, str(i.unit_price)) for i in filed.items] == [
            ("Stoneware Mug", 1, "24.00")
        ]
        assert len(filed.photos) == (1 if with_photo else 0)
        assert (filed.shipping_address is not None) == (resolution == "reorder")
    confirmation = env.wait_for_email("jane@example.com", reference.group(0))
    assert confirmation.html and reference.group(0) in confirmation.html
    link = re.search(r"(http://\S+/s/\S+)", confirmation.text)
    assert link, confirmation.text
    followed = httpx.get(link.group(1))
    assert followed.status_code == 200 and reference.group(0) in followed.text
    assert 'hx-trigger="every 10s"' in followed.text


@pytest.mark.settings(lookup_min_seconds=LOOKUP_FLOOR)
def test_the_lookup_answer_is_the_same_whether_or_not_the_order_matches(
    env: PortalEnvironment, shopper: ShopperFlow
) -> None:
    order = env.shop.order()
    pages, took = [], []
    for name, email in [
        (order.name, "jane@example.com"),
        (order.name, "someone.else@example.com"),
        ("#999999", "jane@example.com"),
    ]:
        started = time.monotonic()
        pages.append(shopper.look_up(name, email))
        took.append(time.monotonic() - started)
    bodies = {re.sub(r'value="[^"]*"', "", p.text) for p in pages}
    assert [p.status_code for p in pages] == [200, 200, 200]
    assert min(took) >= LOOKUP_FLOOR, took  # no answer comes sooner than the floor
    assert len(bodies) == 1
    env.code_for("jane@example.com")
    assert env.mailbox.to("someone.else@example.com") == []
    assert len(env.mailbox.to("jane@example.com")) == 1


def test_five_wrong_codes_lock_the_code(env: PortalEnvironment, shopper: ShopperFlow) -> None:
    order = env.shop.order()
    page = shopper.look_up(order.name, "jane@example.com")
    code = env.code_for("jane@example.com")
    wrong = "000000" if code != "000000" else "111111"
    answers = [shopper.enter_code(page, wrong) for _ in range(5)]
    assert [a.status_code for a in answers] == [400] * 5
    assert "4 tries left" in answers[0].text
    assert "Too many wrong codes" in answers[4].text
    locked = shopper.enter_code(page, code)
    assert locked.status_code == 400 and "Too many wrong codes" in locked.text


def test_an_expired_code_and_a_reused_code_are_refused(
    env: PortalEnvironment, shopper: ShopperFlow
) -> None:
    order = env.shop.order()
    page = shopper.look_up(order.name, "jane@example.com")
    code = env.code_for("jane@example.com")
    with database(env) as db:
        db.execute(update(OrderVerification).values(expires_at=OrderVerification.created_at))
        db.commit()
    expired = shopper.enter_code(page, code)
    assert expired.status_code == 400 and "expired" in expired.text
    env.mailbox.clear()
    fresh_page = shopper.look_up(order.name, "jane@example.com")
    fresh = env.code_for("jane@example.com")
    assert shopper.enter_code(fresh_page, fresh).status_code == 200
    verification_id = re.search(
        r'name="verification" type="hidden" value="([^"]*)"', fresh_page.text
    )
    assert verification_id
    other = ShopperFlow(env)  # another browser, with its own CSRF token, tries the same code
    other_page = other.get(f"/verify?v={verification_id.group(1)}")
    reused = other.enter_code(other_page, fresh)
    other.close()
    assert reused.status_code == 400 and "already used" in reused.text


def test_signed_order_link_needs_a_post_and_refuses_tampering(
    env: PortalEnvironment, shopper: ShopperFlow
) -> None:
    from portal.links import order_link
    from portal.signing import Signer

    order = env.shop.order()
    signer = Signer(str(env.settings.secret_key))
    url = order_link(
        signer, base_url=env.base_url, store_slug="test-goods", store_id=1, order_id=order.gid
    )
    page = shopper.client.get(url)
    assert page.status_code == 200 and "Continue to my order" in page.text
    assert shopper.get("/request").url.path == "/test-goods/"  # GET verified nothing
    form = shopper.client.post(url, data={"csrf_token": csrf_of(page)})
    assert form.status_code == 200 and "Stoneware Mug" in form.text
    tampered = shopper.client.get(url[:-3] + ("abc" if not url.endswith("abc") else "xyz"))
    assert tampered.status_code == 400 and "expired or is not valid" in tampered.text


def test_an_expired_order_link_is_refused(env: PortalEnvironment, shopper: ShopperFlow) -> None:
    from itsdangerous import TimestampSigner, URLSafeTimedSerializer

    class LongAgo(TimestampSigner):
        def get_timestamp(self) -> int:
            return super().get_timestamp() - 61 * 24 * 3600

    order = env.shop.order()
    token = URLSafeTimedSerializer(
        str(env.settings.secret_key), salt="portal:order-link", signer=LongAgo
    ).dumps({"s": 1, "o": order.gid.rsplit("/", 1)[-1]})
    page = shopper.get(f"/r/{token}")
    assert page.status_code == 400 and "expired or is not valid" in page.text


def test_a_session_is_bound_to_its_order(env: PortalEnvironment) -> None:
    mine = env.shop.order(email="jane@example.com")
    theirs = env.shop.order(email="sam@example.com")
    sam = ShopperFlow(env)
    form = sam.verify(theirs.name, "sam@example.com")
    review = sam.file(form, issue="Lost", quantities={qty_field(theirs.line_items[0].gid): 1})
    status = sam.submit(review)
    reference = re.search(r"RR-\w{6}", status.text)
    assert reference
    jane = ShopperFlow(env)
    jane.verify(mine.name, "jane@example.com")
    assert jane.get(f"/requests/{reference.group(0)}").status_code == 404
    draft_path = re.search(r'/test-goods(/review/[^"]+)"', review.text)
    assert draft_path and jane.get(draft_path.group(1)).status_code == 404
    sam.close()
    jane.close()


def test_quantities_beyond_what_is_claimable_are_refused(
    env: PortalEnvironment, shopper: ShopperFlow
) -> None:
    order = env.shop.order(lines=[(env.shop.mug, 2)])
    env.shop.world.add_refund(
        "test-goods.myshopify.com", order.id, line_items=[(order.line_items[0].id, 1)]
    )
    form = shopper.verify(order.name, "jane@example.com")
    answer = shopper.file(form, issue="Lost", quantities={qty_field(order.line_items[0].gid): 2})
    assert answer.status_code == 400
    assert "Choose between 0 and 1" in answer.text
    assert 'aria-invalid="true"' in answer.text and 'class="error-summary"' in answer.text


@pytest.mark.parametrize(
    ("photo", "message"),
    [
        (("notes.jpg", b"this is not a photo at all", "image/jpeg"), "is not a JPEG, PNG"),
        (("huge.jpg", b"\xff\xd8" + b"0" * (10 * 1024 * 1024 + 10), "image/jpeg"), "larger than"),
    ],
)
def test_fake_and_oversized_photos_are_refused(
    env: PortalEnvironment, shopper: ShopperFlow, photo: tuple[str, bytes, str], message: str
) -> None:
    order = env.shop.order()
    form = shopper.verify(order.name, "jane@example.com")
    answer = shopper.file(
        form, issue="Damaged", photos=[photo], quantities={qty_field(order.line_items[0].gid): 1}
    )
    assert answer.status_code == 400 and message in answer.text
    assert (
        not list((env.settings.upload_dir).glob("*")) if env.settings.upload_dir.exists() else True
    )


def test_damage_needs_a_photo(env: PortalEnvironment, shopper: ShopperFlow) -> None:
    order = env.shop.order()
    form = shopper.verify(order.name, "jane@example.com")
    answer = shopper.file(form, issue="Damaged", quantities={qty_field(order.line_items[0].gid): 1})
    assert answer.status_code == 400 and "Add at least one photo" in answer.text


def test_outside_the_claim_window_the_shopper_is_told_why(
    env: PortalEnvironment, shopper: ShopperFlow
) -> None:
    order = env.shop.order(shipped_days_ago=45, created_days_ago=50)
    page = shopper.verify(order.name, "jane@example.com")
    assert page.status_code == 200
    assert "within 30 days of shipping" in page.text and "Review my request" not in page.text


def test_lost_needs_a_shipped_order(env: PortalEnvironment, shopper: ShopperFlow) -> None:
    order = env.shop.order(shipped_days_ago=None)
    form = shopper.verify(order.name, "jane@example.com")
    answer = shopper.file(form, issue="Lost", quantities={qty_field(order.line_items[0].gid): 1})
    assert answer.status_code == 400 and "once the order has shipped" in answer.text


def test_a_double_submit_creates_one_request(env: PortalEnvironment, shopper: ShopperFlow) -> None:
    order = env.shop.order()
    form = shopper.verify(order.name, "jane@example.com")
    review = shopper.file(form, issue="Lost", quantities={qty_field(order.line_items[0].gid): 1})
    first = shopper.submit(review)
    second = shopper.submit(review)
    assert status_link(first) == status_link(second)
    with database(env) as db:
        assert len(db.scalars(select(ReorderRequest)).all()) == 1


def test_an_unprotected_order_gets_a_page_that_says_so(
    env: PortalEnvironment, shopper: ShopperFlow
) -> None:
    order = env.shop.order(protected=False)
    page = shopper.verify(order.name, "jane@example.com")
    assert page.status_code == 200
    assert "does not include shipping protection" in page.text
    assert "help@test-goods.example" in page.text


def test_the_shopper_answers_a_request_for_more_information(
    env: PortalEnvironment, shopper: ShopperFlow
) -> None:
    order = env.shop.order()
    form = shopper.verify(order.name, "jane@example.com")
    status = shopper.submit(
        shopper.file(form, issue="Lost", quantities={qty_field(order.line_items[0].gid): 1})
    )
    with database(env) as db:
        db.execute(update(ReorderRequest).values(status=RequestStatus.NEEDS_INFO))
        db.commit()
    page = shopper.client.get(status.url.path)
    assert "Send my answer" in page.text
    answered = shopper.client.post(
        status.url.path,
        data={"csrf_token": csrf_of(page), "answer": "It was left at the back door."},
    )
    assert answered.status_code == 200 and "It was left at the back door." in answered.text
    with database(env) as db:
        assert db.scalars(select(ReorderRequest.status)).one() == RequestStatus.IN_REVIEW


def test_htmx_gets_only_the_form_back_with_its_errors(
    env: PortalEnvironment, shopper: ShopperFlow
) -> None:
    order = env.shop.order()
    form = shopper.verify(order.name, "jane@example.com")
    partial = shopper.file(form, issue="", quantities={}, headers={"HX-Request": "true"})
    assert partial.status_code == 400
    assert "<html" not in partial.text and 'id="request-form"' in partial.text
    assert "Choose what happened" in partial.text


def test_posts_need_a_csrf_token_and_pages_carry_security_headers(
    env: PortalEnvironment, shopper: ShopperFlow
) -> None:
    page = shopper.get("/")
    headers = page.headers
    assert "'unsafe-inline'" not in headers["content-security-policy"]
    assert "frame-ancestors 'none'" in headers["content-security-policy"]
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["referrer-policy"] == "no-referrer"
    refused = shopper.client.post("/test-goods/", data={"order_number": "#1", "email": "a@b.co"})
    assert refused.status_code == 400 and "form has expired" in refused.text
    cross_site = shopper.client.post(
        "/test-goods/",
        data={"csrf_token": csrf_of(page)},
        headers={"Origin": "https://evil.example"},
    )
    assert cross_site.status_code == 403


def test_portal_link_prints_a_link_that_opens_the_order(
    env: PortalEnvironment,
    shopper: ShopperFlow,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from portal.cli import main

    order = env.shop.order()
    settings = env.settings
    for name, value in {
        "PORTAL_MODE": "development",
        "PORTAL_SECRET_KEY": str(settings.secret_key),
        "PORTAL_ENCRYPTION_KEYS": str(settings.encryption_keys),
        "PORTAL_DATABASE_URL": settings.database_url,
        "PORTAL_BASE_URL": settings.base_url,
        "PORTAL_SHOPIFY_ENDPOINT": settings.shopify_endpoint,
    }.items():
        monkeypatch.setenv(name, value)
    assert main(["link", "--store", "test-goods", "--order", order.name]) == 0
    url = capsys.readouterr().out.strip()
    assert url.startswith(f"{env.base_url}/test-goods/r/")
    page = shopper.client.get(url)
    entered = shopper.client.post(url, data={"csrf_token": csrf_of(page)})
    assert entered.status_code == 200 and "Stoneware Mug" in entered.text
    assert main(["link", "--store", "test-goods", "--order", "#424242"]) == 1


def test_a_body_beyond_the_upload_limit_is_refused_before_it_is_read(
    env: PortalEnvironment, shopper: ShopperFlow
) -> None:
    import socket
    from urllib.parse import urlsplit

    from portal.limits import DEFAULT_MAX_BODY_BYTES

    page = shopper.get("/")
    megabyte = b"x" * 1024 * 1024
    part = b'--b\r\nContent-Disposition: form-data; name="photos"; filename="a.jpg"\r\n\r\n'
    chunks = iter([part, *(megabyte for _ in range(DEFAULT_MAX_BODY_BYTES // len(megabyte) + 2))])
    streamed = shopper.client.post(
        "/test-goods/",
        content=chunks,
        headers={"Content-Type": "multipart/form-data; boundary=b", "X-CSRF-Token": csrf_of(page)},
    )
    assert streamed.status_code == 413 and "too large" in streamed.text
    address = urlsplit(env.base_url)
    with socket.create_connection((address.hostname, address.port), timeout=10) as raw:
        raw.sendall(
            f"POST /test-goods/ HTTP/1.1\r\nHost: {address.netloc}\r\n".encode()
            + b"Content-Type: application/x-www-form-urlencoded\r\n"
            + f"Content-Length: {DEFAULT_MAX_BODY_BYTES + 1}\r\n\r\n".encode()
        )
        assert raw.recv(64).startswith(b"HTTP/1.1 413")


def test_a_same_origin_browser_post_is_accepted_even_with_a_null_origin(
    env: PortalEnvironment, shopper: ShopperFlow
) -> None:
    """Chrome sends Origin: null under Referrer-Policy: no-referrer; Sec-Fetch-Site decides."""
    order = env.shop.order()
    page = shopper.get("/")
    answer = shopper.client.post(
        "/test-goods/",
        data={"csrf_token": csrf_of(page), "order_number": order.name, "email": "jane@example.com"},
        headers={"Origin": "null", "Sec-Fetch-Site": "same-origin"},
    )
    assert answer.status_code == 200 and "Check your email" in answer.text
    refused = shopper.client.post(
        "/test-goods/",
        data={"csrf_token": csrf_of(page)},
        headers={"Origin": "null", "Sec-Fetch-Site": "cross-site"},
    )
    assert refused.status_code == 403


def test_htmx_is_sent_to_the_review_page_with_hx_redirect(
    env: PortalEnvironment, shopper: ShopperFlow
) -> None:
    order = env.shop.order()
    form = shopper.verify(order.name, "jane@example.com")
    shopper.client.follow_redirects = False
    answer = shopper.file(
        form,
        issue="Lost",
        quantities={qty_field(order.line_items[0].gid): 1},
        headers={"HX-Request": "true"},
    )
    assert answer.status_code == 204
    assert "/test-goods/review/" in answer.headers["HX-Redirect"]


def test_a_session_idle_for_more_than_30_minutes_has_ended(
    env: PortalEnvironment, shopper: ShopperFlow
) -> None:
    from itsdangerous import TimestampSigner, URLSafeTimedSerializer

    from portal.shopper.session import COOKIE, IDLE_SECONDS

    class IdleTooLong(TimestampSigner):
        def get_timestamp(self) -> int:
            return super().get_timestamp() - IDLE_SECONDS - 60

    order = env.shop.order()
    secret = str(env.settings.secret_key)
    salt = "portal:shopper-session"
    payload = {"s": 1, "o": order.gid, "i": "a" * 22, "t": int(time.time())}
    shopper.client.cookies.clear()
    shopper.client.cookies.set(COOKIE, URLSafeTimedSerializer(secret, salt=salt).dumps(payload))
    assert "Stoneware Mug" in shopper.get("/request").text  # a fresh session opens the order
    stale = URLSafeTimedSerializer(secret, salt=salt, signer=IdleTooLong).dumps(payload)
    shopper.client.cookies.clear()
    shopper.client.cookies.set(COOKIE, stale)
    back_at_start = shopper.get("/request")
    assert back_at_start.url.path == "/test-goods/" and "Stoneware Mug" not in back_at_start.text
