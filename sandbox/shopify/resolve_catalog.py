"""Resolvers of the catalogue: shop, products, variants, inventory and locations."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from graphql import GraphQLError

from sandbox.shopify.connections import SortKey, paginate
from sandbox.shopify.fields import Info, context, field, image
from sandbox.shopify.ids import gid
from sandbox.shopify.product_search import parse_product_search
from sandbox.shopify.state import Location, Product, Shop, Variant, money_str

QUANTITY_NAMES = (
    "available",
    "committed",
    "damaged",
    "incoming",
    "on_hand",
    "quality_control",
    "reserved",
    "safety_stock",
)


@dataclass(frozen=True)
class InventoryItemView:
    variant: Variant

    @property
    def id(self) -> int:
        return self.variant.inventory_item_id

    @property
    def gid(self) -> str:
        return gid("InventoryItem", self.id)


@dataclass(frozen=True)
class InventoryLevelView:
    variant: Variant
    location: Location

    @property
    def gid(self) -> str:
        item = self.variant.inventory_item_id
        return f"{gid('InventoryLevel', self.location.id)}?inventory_item_id={item}"

    @property
    def available(self) -> int:
        return self.variant.levels.get(self.location.id, 0)


def by_id(node: Any) -> SortKey:
    return (node.id,)


# --- shop --------------------------------------------------------------------------------------


@field("Shop", "myshopifyDomain")
def shop_domain(shop: Shop, info: Info) -> str:
    return shop.domain


@field("Shop", "currencyCode")
def shop_currency(shop: Shop, info: Info) -> str:
    return shop.currency


@field("Shop", "email", "contactEmail")
def shop_email(shop: Shop, info: Info) -> str:
    return shop.email or f"owner@{shop.domain}"


# --- products ----------------------------------------------------------------------------------

PRODUCT_SORT_KEYS: dict[str, Callable[[Product], SortKey]] = {
    "ID": lambda p: (p.id,),
    "RELEVANCE": lambda p: (p.id,),
    "TITLE": lambda p: (p.title.casefold(), p.id),
    "VENDOR": lambda p: (p.vendor.casefold(), p.id),
    "PRODUCT_TYPE": lambda p: (p.product_type.casefold(), p.id),
    "CREATED_AT": lambda p: (p.id,),
    "UPDATED_AT": lambda p: (p.id,),
    "PUBLISHED_AT": lambda p: (p.id,),
    "INVENTORY_TOTAL": lambda p: (sum(v.inventory_quantity for v in p.variants), p.id),
}


@field("QueryRoot", "products")
def products(
    root: Any,
    info: Info,
    query: str | None = None,
    sortKey: str = "ID",
    reverse: bool = False,
    **page: Any,
) -> dict[str, Any]:
    matches = parse_product_search(query)
    found = [p for p in context(info).shop.products.values() if matches(p)]
    return paginate(found, PRODUCT_SORT_KEYS[sortKey], reverse=reverse, **page).as_connection()


@field("Product", "hasOnlyDefaultVariant")
def has_only_default_variant(product: Product, info: Info) -> bool:
    return len(product.variants) == 1 and product.variants[0].title == "Default Title"


@field("Product", "totalInventory")
def total_inventory(product: Product, info: Info) -> int:
    return sum(v.inventory_quantity for v in product.variants)


@field("Product", "tracksInventory")
def tracks_inventory(product: Product, info: Info) -> bool:
    return any(v.tracked for v in product.variants)


@field("Product", "createdAt", "updatedAt")
@field("ProductVariant", "createdAt", "updatedAt")
def catalogue_timestamp(node: Product | Variant, info: Info) -> Any:
    return node.created_at or context(info).world.now()


@field("Product", "variants")
def product_variants(product: Product, info: Info, **page: Any) -> dict[str, Any]:
    return paginate(product.variants, by_id, **page).as_connection()


# --- variants ----------------------------------------------------------------------------------


@field("ProductVariant", "product")
def variant_product(variant: Variant, info: Info) -> Product:
    return context(info).shop.products[variant.product_id]


@field("ProductVariant", "displayName")
def variant_display_name(variant: Variant, info: Info) -> str:
    product = variant_product(variant, info)
    if variant.title == "Default Title":
        return product.title
    return f"{product.title} - {variant.title}"


@field("ProductVariant", "price")
def variant_price(variant: Variant, info: Info) -> str:
    return money_str(variant.price)


@field("ProductVariant", "image")
def variant_image(variant: Variant, info: Info) -> dict[str, Any] | None:
    return image(variant.image_url, variant.title)


@field("ProductVariant", "selectedOptions")
def selected_options(variant: Variant, info: Info) -> list[dict[str, str]]:
    return [{"name": name, "value": value} for name, value in variant.selected_options]


@field("ProductVariant", "inventoryItem")
@field("InventoryLevel", "item")
def inventory_item(source: Variant | InventoryLevelView, info: Info) -> Any:
    variant = source.variant if isinstance(source, InventoryLevelView) else source
    return InventoryItemView(variant)


# --- inventory ---------------------------------------------------------------------------------


@field("InventoryItem", "tracked", "sku", "requiresShipping")
def inventory_item_attribute(item: InventoryItemView, info: Info) -> Any:
    attribute = {"requiresShipping": "requires_shipping"}.get(info.field_name, info.field_name)
    return getattr(item.variant, attribute)


@field("InventoryItem", "inventoryLevels")
def inventory_levels(item: InventoryItemView, info: Info, **page: Any) -> Any:
    locations = {location.id: location for location in context(info).shop.locations}
    levels = [InventoryLevelView(item.variant, locations[i]) for i in item.variant.levels]
    return paginate(levels, lambda level: (level.location.id,), **page).as_connection()


@field("InventoryLevel", "quantities")
def quantities(level: InventoryLevelView, info: Info, names: list[str]) -> list[dict[str, Any]]:
    unknown = [name for name in names if name not in QUANTITY_NAMES]
    if unknown:
        raise GraphQLError(f"Invalid quantity names: {', '.join(unknown)}.")
    return [_quantity(level, name) for name in names]


def _quantity(level: InventoryLevelView, name: str) -> dict[str, Any]:
    amount = level.available if name in ("available", "on_hand") else 0
    item = level.variant.inventory_item_id
    quantity_id = f"{gid('InventoryQuantity', level.location.id)}?inventory_item_id={item}"
    return {"id": f"{quantity_id}&name={name}", "name": name, "quantity": amount}


@field("Location", "isActive")
def location_is_active(location: Location, info: Info) -> bool:
    return True
