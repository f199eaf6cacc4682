"""ShopifyClient against the sandbox Shopify over real HTTP on loopback.

The sandbox's clock is the test's clock: the client's injected ``sleep`` advances it, so the
leaky bucket refills exactly as far as the client waited, without real waiting.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest

from portal.errors import (
    InventoryClaimFailed,
    ShopifyAuthError,
    ShopifyUnavailable,
)
from portal.integrations.shopify import (
    NewOrder,
    NewOrderLine,
    RefundLine,
    RefundTransaction,
    ShopifyClient,
)
from sandbox.shopify import (
    CustomerSeed,
    LineItemSeed,
    ShopifyWorld,
    VariantSeed,
    create_shopify_sandbox,
)
from sandbox.shopify.state import Order as SandboxOrder
from sandbox.shopify.state import Variant as SandboxVariant
from tests.helpers.factories import IN_OREGON, sandbox_address, shopify_address
from tests.helpers.servers import serve

pytestmark = pytest.mark.anyio

DOMAIN = "maple-and-moss.myshopify.com"
TOKEN = "shpat_sandbox_token"
PLACED = datetime(2026, 10, 1, 12, 0, tzinfo=UTC)


@dataclass
class SharedClock:
    """One clock for the client and the sandbox; sleeping moves it forward."""

    now: float = 5000.0
    sleeps: list[float] = field(default_factory=list)
    on_sleep: list[Any] = field(default_factory=list)

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds
        for callback in self.on_sleep:
            callback()


@dataclass
class Traffic:
    """Every request the client sent and every answer it got, in order."""

    sent: list[dict[str, Any]] = field(default_factory=list)
    answers: list[tuple[int, Any]] = field(default_factory=list)

    async def on_request(self, request: httpx.Request) -> None:
        self.sent.append(json.loads(request.content))

    async def on_response(self, response: httpx.Response) -> None:
        body = await response.aread()
        try:
            self.answers.append((response.status_code, json.loads(body)))
        except ValueError:
            self.answers.append((response.status_code, body))

    def operations(self) -> list[str]:
        return [body["operationName"] for body in self.sent]

    def throttled_answers(self) -> int:
        return sum(
            1
            for _, body in self.answers
            if isinstance(body, dict)
            and any(
                e.get("extensions", {}).get("code") == "THROTTLED"
                for e in body.get("errors") or []
                if isinstance(e, dict)
            )
        )


@dataclass
class Sandbox:
    world: ShopifyWorld
    base_url: str
    http: httpx.AsyncClient
    time: SharedClock
    traffic: Traffic
    shirt: SandboxVariant
    scarf: SandboxVariant

    def client(self, **options: Any) -> ShopifyClient:
        settings: dict[str, Any] = {
            "shop_domain": DOMAIN,
            "access_token": TOKEN,
            "api_version": "2025-04",
            "endpoint": f"{self.base_url}/{{shop}}/admin/api/{{version}}/graphql.json",
            "sleep": self.time.sleep,
            "clock": self.time.clock,
            "rng": lambda: 0.5,
        }
        settings.update(options)
        return ShopifyClient(self.http, **settings)

    def place_order(self, *, number: int | None = None, **changes: Any) -> SandboxOrder:
        values: dict[str, Any] = {
            "created_at": PLACED,
            "email": "jane@example.com",
            "line_items": [
                LineItemSeed(variant=self.shirt, quantity=2),
                LineItemSeed(variant=self.scarf, quantity=1),
            ],
            "customer": CustomerSeed("Jane", "Doe"),
            "shipping_address": sandbox_address(**IN_OREGON),
            "shipping_price": "4.95",
            "tags": ("protected",),
            "number": number,
        }
        values.update(changes)
        return self.world.add_order(DOMAIN, **values)

    def orders_with(self, source_identifier: str) -> list[SandboxOrder]:
        return [o for o in self.world.orders(DOMAIN) if o.source_identifier == source_identifier]


@pytest.fixture
def time() -> SharedClock:
    return SharedClock()


@pytest.fixture
def world(time: SharedClock) -> ShopifyWorld:
    world = ShopifyWorld(monotonic=time.clock)
    world.add_shop(
        DOMAIN, access_token=TOKEN, name="Maple & Moss", bucket_size=1000, restore_rate=50
    )
    return world


@pytest.fixture
def base_url(world: ShopifyWorld) -> Iterator[str]:
    with serve(create_shopify_sandbox(world)) as url:
        yield url


@pytest.fixture
async def sandbox(world: ShopifyWorld, base_url: str, time: SharedClock) -> AsyncIterator[Sandbox]:
    shirt = world.add_product(
        DOMAIN,
        title="Linen shirt",
        variants=[
            VariantSeed(
                title="M", sku="LS-M", price="49.00", inventory=12, options=(("Size", "M"),)
            ),
        ],
    ).variants[0]
    scarf = world.add_product(
        DOMAIN,
        title="Wool scarf",
        variants=[
            VariantSeed(title="Default Title", sku="WS", price="25.00", inventory=1),
        ],
    ).variants[0]
    traffic = Traffic()
    hooks: dict[str, list[Callable[..., Any]]] = {
        "request": [traffic.on_request],
        "response": [traffic.on_response],
    }
    async with httpx.AsyncClient(timeout=5.0, event_hooks=hooks) as http:
        yield Sandbox(world, base_url, http, time, traffic, shirt, scarf)


def replacement(sandbox: Sandbox, source_identifier: str, quantity: int = 1) -> NewOrder:
    return NewOrder(
        source_identifier=source_identifier,
        email="jane@example.com",
        currency="USD",
        lines=[NewOrderLine(sandbox.shirt.gid, quantity, Decimal("49.00"))],
        shipping_address=shopify_address(**IN_OREGON),
        note="Replacement for a lost parcel, paid by the protection service",
        tags=("reorder",),
    )


# --- reading ---------------------------------------------------------------------------------


async def test_find_order_reads_the_whole_order(sandbox: Sandbox) -> None:
    placed = sandbox.place_order(number=1001)
    sandbox.world.add_fulfillment(
        DOMAIN,
        placed.id,
        tracking_company="UPS",
        tracking_number="1Z999",
        display_status="IN_TRANSIT",
    )
    sandbox.world.add_refund(
        DOMAIN, placed.id, line_items=[(placed.line_items[1].id, 1)], note="Scarf damaged"
    )

    order = await sandbox.client().find_order(name="#1001", email="JANE@example.com")

    assert order is not None
    assert (order.id, order.name, order.legacy_id) == (placed.gid, "#1001", placed.id)
    assert order.created_at == PLACED
    assert order.customer_name == "Jane Doe"
    assert order.total.amount == Decimal("127.95") and order.total.currency == "USD"
    assert [li.sku for li in order.line_items] == ["LS-M", "WS"]
    assert order.line_items[0].variant_id == sandbox.shirt.gid
    assert order.line_items[1].refundable_quantity == 0
    assert order.fulfillments[0].tracking[0].number == "1Z999"
    assert order.refunds[0].note == "Scarf damaged"
    assert order.refunds[0].total.amount == Decimal("25.00")
    assert order.total_refunded.amount == Decimal("25.00")


async def test_find_order_accepts_the_number_without_hash_and_checks_email(
    sandbox: Sandbox,
) -> None:
    sandbox.place_order(number=1001)
    client = sandbox.client()
    assert (await client.find_order(name="1001")) is not None
    assert await client.find_order(name="1001", email="someone@else.com") is None
    assert await client.find_order(name="#9999") is None


async def test_an_order_with_many_lines_comes_back_with_every_line(sandbox: Sandbox) -> None:
    many = [
        LineItemSeed(variant=None, quantity=1, price="1.00", title=f"Item {n}") for n in range(45)
    ]
    placed = sandbox.place_order(line_items=many)

    order = await sandbox.client().get_order(order_id=placed.gid)

    assert order is not None
    assert [li.title for li in order.line_items] == [f"Item {n}" for n in range(45)]
    assert "OrderLineItems" in sandbox.traffic.operations()


async def test_order_listing_pages_through_every_matching_order(sandbox: Sandbox) -> None:
    protected = [sandbox.place_order(created_at=PLACED + timedelta(hours=n)) for n in range(7)]
    sandbox.place_order(tags=("unprotected",))

    listed = sandbox.client().iter_billable_orders(query="tag:protected", page_size=3)
    found = [o.id async for o in listed]

    assert found == [o.gid for o in protected]
    pages = [b for b in sandbox.traffic.sent if b["operationName"] == "BillableOrders"]
    assert len(pages) > 2
    assert [p["variables"]["after"] is None for p in pages] == [True] + [False] * (len(pages) - 1)
    assert sandbox.traffic.throttled_answers() == 0
    assert all(status == 200 and "errors" not in body for status, body in sandbox.traffic.answers)


async def test_get_variants_reads_stock_by_location(sandbox: Sandbox) -> None:
    variants = await sandbox.client().get_variants(
        variant_ids=[sandbox.scarf.gid, "gid://shopify/ProductVariant/999999", sandbox.shirt.gid]
    )
    assert [v.id for v in variants] == [sandbox.scarf.gid, sandbox.shirt.gid]
    scarf, shirt = variants
    assert scarf.inventory_quantity == 1 and scarf.tracked and scarf.inventory_policy == "DENY"
    assert shirt.levels[0].location_name == "Main warehouse" and shirt.levels[0].available == 12
    assert shirt.price == Decimal("49.00") and shirt.selected_options == (("Size", "M"),)


async def test_shop_info(sandbox: Sandbox) -> None:
    info = await sandbox.client().shop()
    assert (info.name, info.domain, info.currency) == ("Maple & Moss", DOMAIN, "USD")


# --- throttling ------------------------------------------------------------------------------


async def test_throttled_query_waits_for_its_points_and_succeeds(sandbox: Sandbox) -> None:
    sandbox.world.bucket(DOMAIN).drain()

    variants = await sandbox.client().get_variants(variant_ids=[sandbox.shirt.gid])

    assert [v.id for v in variants] == [sandbox.shirt.gid]
    assert sandbox.traffic.throttled_answers() >= 1
    _, first = sandbox.traffic.answers[0]
    requested = first["extensions"]["cost"]["requestedQueryCost"]
    assert sandbox.time.sleeps[0] == pytest.approx(requested / 50)  # empty bucket, 50 points/s


async def test_a_known_low_bucket_is_waited_for_before_sending(sandbox: Sandbox) -> None:
    client = sandbox.client()
    sandbox.world.bucket(DOMAIN).drain(990)
    await client.shop()  # answers with the bucket's state: 9 points left
    _, answer = sandbox.traffic.answers[0]
    left = answer["extensions"]["cost"]["throttleStatus"]["currentlyAvailable"]

    await client.get_variants(variant_ids=[sandbox.shirt.gid])

    assert sandbox.traffic.operations() == ["Shop", "Variants"]
    assert sandbox.traffic.throttled_answers() == 0
    _, variants_answer = sandbox.traffic.answers[1]
    needed = variants_answer["extensions"]["cost"]["requestedQueryCost"]
    assert sandbox.time.sleeps == [pytest.approx((needed - left) / 50)]


# --- transient failures ----------------------------------------------------------------------


async def test_429_retry_after_is_honoured(sandbox: Sandbox) -> None:
    sandbox.world.faults(DOMAIN).fail_next(status=429, retry_after=2.5)
    assert (await sandbox.client().shop()).name == "Maple & Moss"
    assert sandbox.time.sleeps == [2.5]
    assert [status for status, _ in sandbox.traffic.answers] == [429, 200]


@pytest.mark.parametrize("status", [503, 500])
async def test_server_errors_are_retried_then_succeed(sandbox: Sandbox, status: int) -> None:
    sandbox.world.faults(DOMAIN).fail_next(status=status, times=2)
    assert (await sandbox.client().shop()).name == "Maple & Moss"
    assert [s for s, _ in sandbox.traffic.answers] == [status, status, 200]
    assert sandbox.time.sleeps == [0.375, 0.75]  # jittered exponential backoff, rng() = 0.5


async def test_exhausted_retries_raise_shopify_unavailable(sandbox: Sandbox) -> None:
    faults = sandbox.world.faults(DOMAIN)
    faults.fail_next(status=503, times=10)
    with pytest.raises(ShopifyUnavailable):
        await sandbox.client(max_retries=3).shop()
    assert len(sandbox.traffic.sent) == 4
    assert faults.pending_failures == 6


async def test_timeouts_are_retried(sandbox: Sandbox) -> None:
    faults = sandbox.world.faults(DOMAIN)
    faults.latency = 1.0
    sandbox.time.on_sleep.append(lambda: setattr(faults, "latency", 0.0))
    async with httpx.AsyncClient(timeout=0.25) as impatient:
        client = ShopifyClient(
            impatient,
            shop_domain=DOMAIN,
            access_token=TOKEN,
            api_version="2025-04",
            endpoint=f"{sandbox.base_url}/{{shop}}/admin/api/{{version}}/graphql.json",
            sleep=sandbox.time.sleep,
            clock=sandbox.time.clock,
            rng=lambda: 0.5,
        )
        assert (await client.shop()).name == "Maple & Moss"
    # the first attempt timed out and was retried after the first backoff step
    assert sandbox.time.sleeps[0] == 0.375


async def test_wrong_token_is_an_auth_error_without_retry(sandbox: Sandbox) -> None:
    with pytest.raises(ShopifyAuthError):
        await sandbox.client(access_token="shpat_wrong").shop()
    assert [s for s, _ in sandbox.traffic.answers] == [401]
    assert sandbox.time.sleeps == []


# --- replacement orders ----------------------------------------------------------------------


async def test_create_order_makes_a_paid_order(sandbox: Sandbox) -> None:
    order = await sandbox.client().create_order(order=replacement(sandbox, "reorder-1"))

    [created] = sandbox.orders_with("reorder-1")
    assert order.id == created.gid
    assert order.financial_status == "PAID"
    assert order.note and order.note.startswith("Replacement")
    assert order.tags == ("reorder",)
    assert order.shipping_address is not None and order.shipping_address.city == "Springfield"
    assert [(t.kind, t.status, t.amount) for t in created.transactions] == [
        ("SALE", "SUCCESS", Decimal("49.00"))
    ]
    assert sandbox.shirt.inventory_quantity == 11  # stock claimed


async def test_lost_order_create_answer_leaves_exactly_one_order(sandbox: Sandbox) -> None:
    sandbox.world.faults(DOMAIN).drop_after_mutation(times=1)

    order = await sandbox.client().create_order(order=replacement(sandbox, "reorder-2"))

    assert len(sandbox.orders_with("reorder-2")) == 1
    assert order.id == sandbox.orders_with("reorder-2")[0].gid
    assert sandbox.traffic.operations().count("OrderCreate") == 1
    assert sandbox.world.faults(DOMAIN).pending_drops == 0


async def test_create_order_twice_for_one_request_creates_one_order(sandbox: Sandbox) -> None:
    client = sandbox.client()
    first = await client.create_order(order=replacement(sandbox, "reorder-3"))
    again = await client.create_order(order=replacement(sandbox, "reorder-3"))
    assert first.id == again.id
    assert len(sandbox.orders_with("reorder-3")) == 1


async def test_short_stock_is_inventory_claim_failed(sandbox: Sandbox) -> None:
    with pytest.raises(InventoryClaimFailed) as raised:
        await sandbox.client().create_order(order=replacement(sandbox, "reorder-4", quantity=13))
    assert "INVENTORY_CLAIM_FAILED" in raised.value.codes
    assert sandbox.orders_with("reorder-4") == []
    assert sandbox.shirt.inventory_quantity == 12


# --- refunds ---------------------------------------------------------------------------------


async def refund_scarf(sandbox: Sandbox, client: ShopifyClient, order: SandboxOrder) -> Any:
    lines = [RefundLine(order.line_items[1].gid, 1)]
    suggested = await client.suggest_refund(order_id=order.gid, lines=lines)
    assert suggested.amount.amount == Decimal("25.00")
    return await client.create_refund(
        order_id=order.gid,
        lines=lines,
        transactions=[RefundTransaction.from_suggestion(t) for t in suggested.transactions],
        note="Scarf lost in transit",
        notify=True,
        idempotency_key=f"refund-{order.id}",
    )


@pytest.mark.parametrize("version", ["2025-04", "2026-01"])
async def test_refund_returns_money_to_the_original_payment(sandbox: Sandbox, version: str) -> None:
    placed = sandbox.place_order()
    refund = await refund_scarf(sandbox, sandbox.client(api_version=version), placed)

    [stored] = sandbox.world.order(DOMAIN, placed.id).refunds  # type: ignore[union-attr]
    assert refund.id == stored.gid
    assert refund.money_returned and refund.total.amount == Decimal("25.00")
    assert refund.transactions[0].parent_id == placed.transactions[0].gid


@pytest.mark.parametrize("version", ["2025-04", "2026-01"])
async def test_lost_refund_answer_leaves_exactly_one_refund(sandbox: Sandbox, version: str) -> None:
    placed = sandbox.place_order()
    sandbox.world.faults(DOMAIN).drop_after_mutation(times=1)

    refund = await refund_scarf(sandbox, sandbox.client(api_version=version), placed)

    refunds = sandbox.world.order(DOMAIN, placed.id).refunds  # type: ignore[union-attr]
    assert [r.gid for r in refunds] == [refund.id]
    assert sandbox.world.faults(DOMAIN).pending_drops == 0
    sends = sandbox.traffic.operations().count("RefundCreate")
    # with @idempotent the same request is replayed; without it, the note shows it was applied
    assert sends == (2 if version == "2026-01" else 1)


async def test_search_products_finds_by_part_of_the_title(sandbox: Sandbox) -> None:
    found = await sandbox.client().search_products(query="scarf")
    assert [(p.title, p.status) for p in found] == [("Wool scarf", "ACTIVE")]
    assert [v.id for v in found[0].variants] == [sandbox.scarf.gid]
    assert await sandbox.client().search_products(query="nothing like it") == []


async def test_get_product_variants_reads_every_page_of_variants(sandbox: Sandbox) -> None:
    many = sandbox.world.add_product(
        DOMAIN,
        title="Shipping Protection",
        variants=[
            VariantSeed(title=f"Tier {n}", sku=f"SP-{n}", price="1.00", tracked=False)
            for n in range(260)
        ],
    )
    product = await sandbox.client().get_product_variants(product_id=str(many.id))
    assert product is not None and product.title == "Shipping Protection"
    assert product.variant_ids == [v.gid for v in many.variants]
    assert sandbox.traffic.operations().count("ProductVariantIds") >= 2
    missing = await sandbox.client().get_product_variants(product_id="gid://shopify/Product/1")
    assert missing is None
