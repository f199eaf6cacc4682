from __future__ import annotations

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from portal.stores import service
from tests.helpers.factories import SEALER
from tests.helpers.factories import store_spec as spec
from tests.helpers.portal import Portal

pytestmark = pytest.mark.anyio


async def test_landing_page_finds_a_store_by_name_and_htmx_gets_only_the_results(
    db: AsyncSession, portal: Portal
) -> None:
    await service.upsert_store(db, spec("Maple & Moss", "maple-and-moss"), SEALER)
    await service.upsert_store(db, spec("Harbor Outfitters", "harbor-outfitters"), SEALER)
    await db.commit()
    async with httpx.AsyncClient(base_url=portal.base_url) as client:
        page = await client.get("/", params={"q": "harbor"})
        partial = await client.get("/", params={"q": "harbor"}, headers={"HX-Request": "true"})
    assert page.status_code == 200
    assert "<html" in page.text and 'href="/harbor-outfitters/"' in page.text
    assert "maple-and-moss" not in page.text
    assert partial.status_code == 200
    assert "<html" not in partial.text
    assert 'href="/harbor-outfitters/"' in partial.text


async def test_an_unknown_page_gets_a_friendly_404(portal: Portal) -> None:
    async with httpx.AsyncClient(base_url=portal.base_url) as client:
        page = await client.get("/no-such-store/", headers={"Accept": "text/html"})
        plain = await client.get("/no-such-store/")
    assert page.status_code == 404 and "Page not found" in page.text and "<html" in page.text
    assert plain.status_code == 404 and "<html" not in plain.text
