"""A whole portal on loopback for end-to-end tests: a small sandbox shop, sandbox Corso, a real
SMTP server, the database under test, and the portal itself with its in-process worker."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy
from sqlalchemy.orm import Session
from starlette.applications import Starlette
from starlette.routing import Mount

from portal.db import create_engine, session_factory, sync_url
from portal.settings import Settings
from portal.stores.service import StoreSpec, upsert_store
from sandbox.corso import CorsoWorld, create_corso_sandbox
from sandbox.mailbox import Mailbox, SentEmail
from sandbox.shopify import create_shopify_sandbox
from sandbox.shopify.state import (
    Address,
    CustomerSeed,
    LineItemSeed,
    Order,
    ShopifyWorld,
    Variant,
    VariantSeed,
)
from tests.helpers.factories import SEALER
from tests.helpers.portal import portal_settings, running_portal
from tests.helpers.servers import loopback_socket, running
from tests.helpers.smtp import smtp_server

SHOP = "test-goods.myshopify.com"
TOKEN = "shpat_test_goods"
CORSO_STORE = 4242
CORSO_CLIENT = ("portal-test", "corso-secret")  # the test store's own Corso client
ADDRESS = Address(
    first_name="Jane",
    last_name="Doe",
    address1="1 Main St",
    city="Springfield",
    province="Illinois",
    province_code="IL",
    zip="62704",
    country="United States",
    country_code="US",
)


@dataclass
class TestShop:
    world: ShopifyWorld
    protection: Variant
    mug: Variant
    shirt: Variant
    lamp: Variant  # out of stock

    def order(
        self,
        *,
        email: str = "jane@example.com",
        lines: Sequence[tuple[Variant, int]] | None = None,
        protected: bool = True,
        shipped_days_ago: int | None = 8,
        created_days_ago: float = 10,
        note: str | None = None,
        tags: Sequence[str] = (),
    ) -> Order:
        now = datetime.now(UTC)
        seeds = [LineItemSeed(variant=v, quantity=q) for v, q in (lines or [(self.mug, 2)])]
        if protected:
            seeds.append(LineItemSeed(variant=self.protection, quantity=1))
        order = self.world.add_order(
            SHOP,
            created_at=now - timedelta(days=created_days_ago),
            email=email,
            customer=CustomerSeed("Jane", "Doe"),
            shipping_address=ADDRESS,
            line_items=seeds,
            note=note,
            tags=tags,
        )
        if shipped_days_ago is not None:
            self.world.add_fulfillment(
                SHOP,
                order.id,
                tracking_company="UPS",
                tracking_number="1Z999",
                created_at=now - timedelta(days=shipped_days_ago),
            )
        return order


def build_test_shop(mailbox: Mailbox) -> TestShop:
    world = ShopifyWorld(mailbox=mailbox)
    world.add_shop(SHOP, access_token=TOKEN, name="Test Goods", bucket_size=2000, restore_rate=1000)
    protection = world.add_product(
        SHOP,
        title="Shipping Protection",
        variants=[VariantSeed(title="Standard", sku="GSP", price="2.95", tracked=False)],
    )
    mug = world.add_product(
        SHOP,
        title="Stoneware Mug",
        variants=[VariantSeed(title="Sage", sku="MUG-S", price="24.00", inventory=50)],
    )
    shirt = world.add_product(
        SHOP,
        title="Linen Shirt",
        variants=[VariantSeed(title="M", sku="LS-M", price="58.00", inventory=20)],
    )
    lamp = world.add_product(
        SHOP,
        title="Brass Lamp",
        variants=[VariantSeed(title="Default Title", sku="LAMP", price="189.00", inventory=0)],
    )
    return TestShop(
        world, protection.variants[0], mug.variants[0], shirt.variants[0], lamp.variants[0]
    )


def store_spec(shop: TestShop) -> StoreSpec:
    return StoreSpec(
        name="Test Goods",
        slug="test-goods",
        shop_domain=SHOP,
        access_token=TOKEN,
        api_version="2026-01",
        protection_variant_ids=[shop.protection.gid],
        support_email="help@test-goods.example",
        corso_store_id=CORSO_STORE,
        corso_client_id=CORSO_CLIENT[0],
        corso_client_secret=CORSO_CLIENT[1],
    )


@dataclass
class PortalEnvironment:
    base_url: str
    mailbox: Mailbox
    shop: TestShop
    corso: CorsoWorld
    settings: Settings
    slug: str = "test-goods"
    extra: dict[str, Any] = field(default_factory=dict)

    def url(self, path: str) -> str:
        return f"{self.base_url}/{self.slug}{path}"

    def wait_for_email(self, to: str, subject_contains: str, timeout: float = 15) -> SentEmail:
        """Bounded wait for the worker to deliver (not a timing assertion)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for email in reversed(self.mailbox.to(to)):
                if subject_contains in email.subject:
                    return email
            time.sleep(0.05)
        raise AssertionError(f"no email to {to} about {subject_contains!r}")

    def code_for(self, to: str, subject_contains: str = "is your code") -> str:
        email = self.wait_for_email(to, subject_contains)
        found = re.search(r"\b(\d{6})\b", email.text)
        assert found is not None
        return found.group(1)


async def _load_store(database_url: str, spec: StoreSpec) -> None:
    engine = create_engine(database_url)
    try:
        async with session_factory(engine)() as db, db.begin():
            await upsert_store(db, spec, SEALER)
    finally:
        await engine.dispose()


def sandbox_services(shop: TestShop, corso: CorsoWorld) -> Starlette:
    """Sandbox Shopify at /shopify and sandbox Corso at /corso, to serve on loopback."""
    return Starlette(
        routes=[
            Mount("/shopify", app=create_shopify_sandbox(shop.world)),
            Mount("/corso", app=create_corso_sandbox(corso)),
        ]
    )


def environment_settings(
    database_url: str,
    *,
    sandbox: str,
    smtp_port: int,
    port: int,
    tmp_path: Any,
    **overrides: Any,
) -> Settings:
    """The portal's settings against the sandboxes at ``sandbox`` and the SMTP server."""
    values: dict[str, Any] = {
        "shopify_endpoint": sandbox + "/shopify/{shop}/admin/api/{version}/graphql.json",
        "shopify_oauth_url": sandbox + "/shopify/{shop}/admin/oauth",
        "corso_api_url": sandbox + "/corso/v1",
        "corso_auth_url": sandbox + "/corso/oauth/token",
        "base_url": f"http://127.0.0.1:{port}",
        "smtp_host": "127.0.0.1",
        "smtp_port": smtp_port,
        "upload_dir": tmp_path / "uploads",
        "shopify_max_retries": 2,
    }
    return portal_settings(database_url, **{**values, **overrides})


@contextmanager
def portal_environment(
    database_url: str, tmp_path: Any, **overrides: Any
) -> Iterator[PortalEnvironment]:
    mailbox = Mailbox()
    shop = build_test_shop(mailbox)
    corso = CorsoWorld()
    corso.add_client(*CORSO_CLIENT, store_id=CORSO_STORE)
    services = sandbox_services(shop, corso)
    asyncio.run(_load_store(database_url, store_spec(shop)))
    with ExitStack() as stack:
        sandbox = stack.enter_context(running(services))
        smtp_port = stack.enter_context(smtp_server(mailbox))
        portal_socket = stack.enter_context(loopback_socket())
        port = portal_socket.getsockname()[1]
        settings = environment_settings(
            database_url,
            sandbox=sandbox.url,
            smtp_port=smtp_port,
            port=port,
            tmp_path=tmp_path,
            **{"run_worker": True, **overrides},
        )
        base_url = stack.enter_context(running_portal(settings, sock=portal_socket))
        stack.callback(sandbox.begin_stopping)  # first on the way out: it stops with the portal
        yield PortalEnvironment(base_url, mailbox, shop, corso, settings)


@contextmanager
def database(env: PortalEnvironment) -> Iterator[Session]:
    """A synchronous session on the environment's database, for tests to look inside."""
    engine = sqlalchemy.create_engine(sync_url(env.settings.database_url))
    try:
        with Session(engine) as db:
            yield db
    finally:
        engine.dispose()
