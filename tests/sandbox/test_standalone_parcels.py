"""`portal sandbox`'s own page moves a demo parcel along too, guarded by the page's form token."""

from __future__ import annotations

import re

import httpx
import pytest

from portal.clock import utcnow
from sandbox.demo import build_demo_world
from sandbox.standalone import create_sandbox_app

pytestmark = pytest.mark.anyio
TOKEN = re.compile(r'name="form_token" value="([^"]+)"')


async def test_the_standalone_page_moves_a_parcel_along() -> None:
    world, specs = build_demo_world(now=utcnow(), base_url="http://portal")
    transport = httpx.ASGITransport(app=create_sandbox_app(world, smtp_port=2525))
    async with httpx.AsyncClient(transport=transport, base_url="http://sandbox") as client:
        page = await client.get("/sandbox/")
        token = TOKEN.search(page.text)
        assert page.status_code == 200 and token is not None
        orders = (await client.get("/sandbox/orders.json")).json()["orders"]
        moving = next(o for o in orders if o["parcel"] == "in_transit" and not o["cancelled"])
        shop = next(s.shop_domain for s in specs if s.slug == moving["store"])
        path = f"/sandbox/shops/{shop}/orders/{moving['number'].lstrip('#')}/parcel"

        forged = await client.post(path, data={"form_token": "guess", "step": "delivered"})
        assert forged.status_code == 403
        moved = await client.post(path, data={"form_token": token.group(1), "step": "delivered"})
        assert moved.status_code == 303
        after = (await client.get("/sandbox/orders.json")).json()["orders"]
        assert next(o for o in after if o["number"] == moving["number"])["parcel"] == "delivered"
        again = await client.post(path, data={"form_token": token.group(1), "step": "stuck"})
        assert again.status_code == 409
