"""The shopper's answer to a question can carry photos, checked by the same rules and the same
photo checker as the request's, stored the same way, and shown to the agent."""

from __future__ import annotations

import io

import httpx
import pytest
from PIL import Image
from sqlalchemy import select, update

from portal.reorders.models import ReorderRequest, RequestEvent, RequestPhoto, RequestStatus
from tests.helpers.environment import PortalEnvironment, database
from tests.helpers.shopper_flow import ShopperFlow, csrf_of


def jpeg(colour: tuple[int, int, int] = (200, 30, 30)) -> tuple[str, bytes, str]:
    buffer = io.BytesIO()
    Image.new("RGB", (64, 48), colour).save(buffer, "JPEG")
    return ("label.jpg", buffer.getvalue(), "image/jpeg")


@pytest.fixture
def asked(env: PortalEnvironment, shopper: ShopperFlow) -> httpx.Response:
    """A filed request whose agent asked a question: its status page."""
    order = env.shop.order()
    form = shopper.verify(order.name, "jane@example.com")
    status = shopper.submit(
        shopper.file(form, issue="Lost", quantities={shopper.quantity_fields(form)[0]: 1})
    )
    with database(env) as db:
        db.execute(update(ReorderRequest).values(status=RequestStatus.NEEDS_INFO))
        db.commit()
    page = shopper.client.get(status.url.path)
    assert 'enctype="multipart/form-data"' in page.text and 'name="photos"' in page.text
    return page


def answer(
    shopper: ShopperFlow, page: httpx.Response, text: str, photos: list[tuple[str, bytes, str]]
) -> httpx.Response:
    files = [("photos", p) for p in photos] or None
    data = {"csrf_token": csrf_of(page), "answer": text}
    return shopper.client.post(page.url.path, data=data, files=files)


def recorded(env: PortalEnvironment) -> tuple[str, list[str], list[dict[str, object]]]:
    with database(env) as db:
        status = db.scalars(select(ReorderRequest.status)).one()
        photos = list(db.scalars(select(RequestPhoto.photo_id).order_by(RequestPhoto.id)))
        answers = [
            e.data
            for e in db.scalars(select(RequestEvent).where(RequestEvent.kind == "shopper_answered"))
        ]
        return status, photos, answers


def test_an_answer_carries_photos_stored_like_the_requests(
    env: PortalEnvironment, shopper: ShopperFlow, asked: httpx.Response
) -> None:
    page = answer(shopper, asked, "Here is the label.", [jpeg(), jpeg((0, 0, 200))])
    assert page.status_code == 200 and "Here is the label." in page.text
    assert "(2 photos)" in page.text
    status, photos, answers = recorded(env)
    assert status == RequestStatus.IN_REVIEW and len(photos) == 2
    assert answers == [{"photos": photos}]
    assert all((env.settings.upload_dir / f"{p}.jpg").exists() for p in photos)


def test_a_photo_alone_is_an_answer(
    env: PortalEnvironment, shopper: ShopperFlow, asked: httpx.Response
) -> None:
    page = answer(shopper, asked, "", [jpeg()])
    assert page.status_code == 200 and "(1 photo)" in page.text
    assert recorded(env)[0] == RequestStatus.IN_REVIEW


@pytest.mark.parametrize(
    ("text", "photos", "message"),
    [
        ("", [], "Write your answer."),
        ("See photo", [("label.jpg", b"not a photo at all", "image/jpeg")], "is not a JPEG, PNG"),
        ("See photos", [jpeg((i * 40, 0, 0)) for i in range(6)], "Attach at most 5 photos"),
    ],
)
def test_an_answer_the_rules_refuse_changes_nothing(
    env: PortalEnvironment,
    shopper: ShopperFlow,
    asked: httpx.Response,
    text: str,
    photos: list[tuple[str, bytes, str]],
    message: str,
) -> None:
    page = answer(shopper, asked, text, photos)
    assert page.status_code in (400, 413) and message in page.text
    assert recorded(env) == (RequestStatus.NEEDS_INFO, [], [])
    upload_dir = env.settings.upload_dir
    assert not upload_dir.exists() or not list(upload_dir.glob("*.jpg"))
