"""The premiums ledger: what each protected order contributes to its store's invoice.

The premium of an order is what its protection line(s) cost after discounts, minus the
protection units refunded since (each at its discounted unit price); a cancelled order earns
nothing. It belongs to the month the order was created in, on the store's calendar.

Orders reach the ledger from the nightly or command-line sync and from Shopify webhooks; both
read the order from Shopify and write its premium here, so however often and in whatever order
they arrive, an order is counted once, as Shopify has it now. When the premium of an order in a
closed month changes, the difference is booked as an adjustment in the first open month after.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from portal.billing.models import ClosedInvoice, Premium, PremiumAdjustment, PremiumMonth
from portal.billing.months import month_of, next_month
from portal.billing.seen import SeenPremium
from portal.errors import CurrencyMismatch
from portal.integrations.shopify.client import BillableLine, BillableOrder
from portal.stores.models import Store

CENT = Decimal("0.01")
ZERO = Decimal("0.00")


@dataclass(frozen=True)
class OrderPremium:
    order_id: str
    order_name: str
    ordered_at: datetime
    changed_at: datetime | None
    """When Shopify last changed the order: an older reading never overwrites a newer one."""
    currency: str
    charged: Decimal
    """The protection line(s) after discounts."""
    refunded: Decimal
    refunded_quantity: int
    cancelled: bool

    @property
    def amount(self) -> Decimal:
        """What the invoice counts: nothing when cancelled, never below zero."""
        return ZERO if self.cancelled else max(ZERO, self.charged - self.refunded)


def premium_of(
    order: BillableOrder, protection_variant_ids: Collection[str]
) -> OrderPremium | None:
    """The premium ``order`` earns, or None when it carries no protection item."""
    lines = [line for line in order.line_items if line.variant_id in protection_variant_ids]
    if not lines:
        return None
    return OrderPremium(
        order_id=order.id,
        order_name=order.name,
        ordered_at=order.created_at,
        changed_at=order.updated_at,
        currency=lines[0].charged.currency,
        charged=_cents(sum((_charged(line) for line in lines), ZERO)),
        refunded=_cents(sum((_refunded(line) for line in lines), ZERO)),
        refunded_quantity=sum(_refunded_quantity(line) for line in lines),
        cancelled=order.cancelled_at is not None,
    )


def _charged(line: BillableLine) -> Decimal:
    return line.charged.amount


def _refunded(line: BillableLine) -> Decimal:
    """The refunded units' share of what the line was charged."""
    if line.quantity <= 0:
        return ZERO
    return line.charged.amount * _refunded_quantity(line) / line.quantity


def _refunded_quantity(line: BillableLine) -> int:
    return max(0, line.quantity - line.current_quantity)


def _cents(amount: Decimal) -> Decimal:
    return amount.quantize(CENT)


async def record_premium(
    session: AsyncSession, store: Store, premium: OrderPremium, *, now: datetime
) -> Decimal:
    """Write ``premium`` into the ledger (in the caller's transaction); returns by how much the
    store's premiums changed. Raises CurrencyMismatch for an order in another currency."""
    if premium.currency != store.currency:
        raise CurrencyMismatch(
            f"order {premium.order_name} is in {premium.currency}; {store.slug} bills in "
            f"{store.currency}"
        )
    await lock_store(session, store.id)
    row = await _premium_row(session, store.id, premium.order_id)
    if row is not None and _is_older(premium, row):
        return ZERO
    before = ZERO if row is None else row.amount
    booked_in = None if row is None else row.month
    if row is None:
        row = Premium(store_id=store.id, shopify_order_id=premium.order_id)
        session.add(row)
    _fill(row, premium, month_of(premium.ordered_at, store.time_zone), now)
    change = premium.amount - before
    if booked_in is not None and booked_in != row.month:  # the store's time zone changed
        await _add_to_month(session, store.id, booked_in, -before)
        await _add_to_month(session, store.id, row.month, premium.amount)
    elif change:
        await _add_to_month(session, store.id, row.month, change)
    if change:
        await _adjust_if_closed(session, row, change, now)
    await session.flush()
    return change


def _fill(row: Premium, premium: OrderPremium, month: str, now: datetime) -> None:
    row.order_name = premium.order_name
    row.ordered_at = premium.ordered_at
    row.month = month
    row.currency = premium.currency
    row.charged = premium.charged
    row.amount = premium.amount
    row.cancelled = premium.cancelled
    row.refunded_quantity = premium.refunded_quantity
    row.shopify_updated_at = premium.changed_at
    row.updated_at = now


def _is_older(premium: OrderPremium, row: Premium) -> bool:
    known = row.shopify_updated_at
    return known is not None and premium.changed_at is not None and premium.changed_at < known


async def booked_as(session: AsyncSession, store_id: int, order_id: str, seen: SeenPremium) -> bool:
    """Whether the ledger holds ``order_id``'s premium with exactly the protection facts a
    webhook showed (then reading the order again would change nothing)."""
    row = await _premium_row(session, store_id, order_id)
    if row is None:
        return False
    return (row.charged, row.refunded_quantity, row.cancelled) == (
        seen.charged,
        seen.refunded_quantity,
        seen.cancelled,
    )


async def _premium_row(session: AsyncSession, store_id: int, order_id: str) -> Premium | None:
    query = select(Premium).where(
        Premium.store_id == store_id, Premium.shopify_order_id == order_id
    )
    row: Premium | None = await session.scalar(query)
    return row


async def _adjust_if_closed(
    session: AsyncSession, row: Premium, change: Decimal, now: datetime
) -> None:
    closed = await closed_months(session, row.store_id)
    if row.month not in closed:
        return
    adjustment = PremiumAdjustment(
        store_id=row.store_id,
        shopify_order_id=row.shopify_order_id,
        order_name=row.order_name,
        order_month=row.month,
        month=first_open_month_after(row.month, closed),
        amount=change,
        recorded_at=now,
    )
    session.add(adjustment)
    await _add_to_month(session, row.store_id, adjustment.month, change)


async def _add_to_month(session: AsyncSession, store_id: int, month: str, amount: Decimal) -> None:
    """Keep ``premium_months`` the sum of the month's premiums and adjustments (the caller
    holds the store's lock, so no other writer adds to the same row meanwhile)."""
    query = select(PremiumMonth).where(
        PremiumMonth.store_id == store_id, PremiumMonth.month == month
    )
    total: PremiumMonth | None = await session.scalar(query)
    if total is None:
        session.add(PremiumMonth(store_id=store_id, month=month, amount=amount))
    else:
        total.amount += amount


async def closed_months(session: AsyncSession, store_id: int) -> set[str]:
    query = select(ClosedInvoice.month).where(ClosedInvoice.store_id == store_id)
    return set((await session.scalars(query)).all())


def first_open_month_after(month: str, closed: Collection[str]) -> str:
    candidate = next_month(month)
    while candidate in closed:
        candidate = next_month(candidate)
    return candidate


async def lock_store(session: AsyncSession, store_id: int) -> None:
    """Serialise ledger writes and closing for one store: the store row's lock on PostgreSQL;
    on SQLite, which has one writer, a write first, so the transaction holds the write lock
    before it reads (two jobs booking one order at once would otherwise both insert it)."""
    if session.get_bind().dialect.name == "postgresql":
        await session.execute(select(Store.id).where(Store.id == store_id).with_for_update())
    else:
        await session.execute(
            update(Store).where(Store.id == store_id).values(token_version=Store.token_version)
        )


async def book_order(
    session: AsyncSession, store: Store, order: BillableOrder, *, now: datetime
) -> Decimal | None:
    """Put ``order`` into the ledger if it carries protection; returns the change, or None for
    an order without protection."""
    premium = premium_of(order, store.protection_variant_ids)
    if premium is None:
        return None
    return await record_premium(session, store, premium, now=now)
