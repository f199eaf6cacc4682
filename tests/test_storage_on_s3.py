"""The whole portal keeping uploads in S3-compatible object storage (moto's server on
loopback): a shopper's photo goes into the bucket, never onto the disk; the agent sees it on
the request page through the portal; customers/redact deletes it from the bucket."""

from __future__ import annotations

import asyncio
import io
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image
from starlette.datastructures import Secret

from portal.compliance.models import ComplianceRequest
from tests.billing.portal_helpers import WEBHOOK_SECRET, eventually
from tests.helpers.environment import SHOP, PortalEnvironment, portal_environment
from tests.helpers.factories import create_store
from tests.helpers.s3 import S3Server, s3_server
from tests.helpers.shopper_flow import ShopperFlow
from tests.helpers.staff import StaffBrowser, create_user
from tests.webhooks.helpers import all_rows, deliver

SHOPPER = "jane@example.com"
PREFIX = "portal/"


@pytest.fixture(scope="module")
def s3() -> Iterator[S3Server]:
    with s3_server() as server:
        yield server


@pytest.fixture
def bucket(request: pytest.FixtureRequest, s3: S3Server) -> str:
    """A new bucket, or the name a test gives (indirect parametrisation)."""
    return str(getattr(request, "param", "")) or s3.new_bucket()


@pytest.fixture
def env(
    database_url: str, tmp_path: Path, s3: S3Server, bucket: str
) -> Iterator[PortalEnvironment]:
    with portal_environment(
        database_url,
        tmp_path,
        shopify_client_secret=Secret(WEBHOOK_SECRET),
        **s3.settings(bucket, prefix=PREFIX),
    ) as environment:
        asyncio.run(create_store(database_url, "Elsewhere", "elsewhere"))
        create_user(database_url, "agent@example.com", "agent")
        yield environment


def objects(s3: S3Server, bucket: str) -> dict[str, bytes]:
    listed = s3.client.list_objects_v2(Bucket=bucket).get("Contents", [])
    return {
        o["Key"]: s3.client.get_object(Bucket=bucket, Key=o["Key"])["Body"].read() for o in listed
    }


def jpeg() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (32, 32), (200, 10, 10)).save(buffer, "JPEG")
    return buffer.getvalue()


def test_a_photo_goes_to_the_bucket_is_shown_to_the_agent_and_redacted(
    env: PortalEnvironment, s3: S3Server, bucket: str
) -> None:
    order = env.shop.order()
    shopper = ShopperFlow(env)
    form = shopper.verify(order.name, SHOPPER)
    line = "qty_" + order.line_items[0].gid.rsplit("/", 1)[-1]
    status = shopper.submit(
        shopper.file(
            form, issue="Damaged", quantities={line: 1}, photos=[("d.jpg", jpeg(), "image/jpeg")]
        )
    )
    shopper.close()
    reference = re.search(r"RR-\w{6}", status.text)
    assert reference

    stored = objects(s3, bucket)
    assert len(stored) == 1
    [(name, data)] = stored.items()
    assert re.fullmatch(PREFIX + r"[\w-]{22}\.jpg", name)
    assert not (env.settings.upload_dir).exists()  # nothing on this host's disk

    agent = StaffBrowser(env.base_url)
    try:
        assert agent.sign_in(email="agent@example.com").status_code == 303
        page = agent.get(f"/support/requests/{reference.group(0)}")
        photo = re.search(r"/support/photos/([\w-]+)", page.text)
        assert photo and name == f"{PREFIX}{photo.group(1)}.jpg"
        shown = agent.get(photo.group(0))
        assert shown.status_code == 200 and shown.headers["content-type"] == "image/jpeg"
        assert shown.content == data
        assert shown.headers["cache-control"] == "private, no-store"

        payload = {"shop_id": 1, "shop_domain": SHOP, "customer": {"id": 7, "email": SHOPPER}}
        assert deliver(env.base_url, "customers/redact", payload, webhook_id="cr-s3").is_success
        eventually(
            lambda: [
                r
                for r in all_rows(env.settings.database_url, ComplianceRequest)
                if r.completed_at is not None
            ]
        )
        assert objects(s3, bucket) == {}
        assert agent.get(photo.group(0)).status_code == 404
    finally:
        agent.close()


@pytest.mark.parametrize("bucket", ["no-such-bucket"], indirect=True)
def test_storage_that_fails_answers_503_and_keeps_nothing(
    env: PortalEnvironment, s3: S3Server, bucket: str
) -> None:
    order = env.shop.order()
    shopper = ShopperFlow(env)
    form = shopper.verify(order.name, SHOPPER)
    line = "qty_" + order.line_items[0].gid.rsplit("/", 1)[-1]
    answer = shopper.file(
        form, issue="Damaged", quantities={line: 1}, photos=[("d.jpg", jpeg(), "image/jpeg")]
    )
    shopper.close()
    assert answer.status_code == 503 and answer.headers["retry-after"] == "30"
    assert "Traceback" not in answer.text
    assert not (env.settings.upload_dir).exists()
