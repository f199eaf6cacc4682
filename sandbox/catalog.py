"""The demo's fixed cast: stores, their products, customers and addresses.

Plain data only; ``sandbox.demo`` turns it into sandbox shops, orders and claims.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class DemoProduct:
    title: str
    image: str  # file name under static/demo/
    price: str
    variants: tuple[str, ...] = ("Default Title",)
    option: str = "Title"
    out_of_stock: tuple[str, ...] = ()  # variant titles with no stock left
    sku: str = ""


@dataclass(frozen=True)
class DemoStore:
    name: str
    slug: str
    currency: str
    time_zone: str
    corso_store_id: int
    brand_color: str
    api_version: str
    order_count: int
    first_order_number: int
    products: tuple[DemoProduct, ...]

    @property
    def shop_domain(self) -> str:
        return f"{self.slug}.myshopify.com"

    @property
    def support_email(self) -> str:
        return f"support@{self.slug}.example"


# Shipping protection is priced by cart value, like Corso's tiers.
PROTECTION_TIERS: tuple[tuple[str, str], ...] = (
    ("50.00", "0.98"),
    ("100.00", "1.95"),
    ("200.00", "2.95"),
    ("1000000.00", "4.95"),
)

STORES: tuple[DemoStore, ...] = (
    DemoStore(
        name="Maple & Moss",
        slug="maple-and-moss",
        currency="USD",
        time_zone="America/New_York",
        corso_store_id=1101,
        brand_color="#1f5c4a",
        api_version="2025-04",
        order_count=200,
        first_order_number=1001,
        products=(
            DemoProduct(
                "Linen Button-Down Shirt",
                "shirt.svg",
                "58.00",
                ("S", "M", "L", "XL"),
                "Size",
                out_of_stock=("XL",),
                sku="LBS",
            ),
            DemoProduct(
                "Stoneware Mug", "mug.svg", "24.00", ("Sage", "Sand", "Slate"), "Color", sku="MUG"
            ),
            DemoProduct("Beeswax Candle", "candle.svg", "32.00", sku="CNDL"),
            DemoProduct(
                "Wool Throw Blanket",
                "blanket.svg",
                "129.00",
                ("Oat", "Forest"),
                "Color",
                out_of_stock=("Forest",),
                sku="THRW",
            ),
            DemoProduct(
                "Ceramic Planter", "planter.svg", "42.00", ("Small", "Large"), "Size", sku="PLNT"
            ),
            DemoProduct(
                "Brass Desk Lamp", "lamp.svg", "189.00", out_of_stock=("Default Title",), sku="LAMP"
            ),
            DemoProduct("Cotton Tote Bag", "tote.svg", "18.00", sku="TOTE"),
            DemoProduct(
                "Merino Beanie", "beanie.svg", "36.00", ("Charcoal", "Rust"), "Color", sku="BEAN"
            ),
        ),
    ),
    DemoStore(
        name="Harbor Outfitters",
        slug="harbor-outfitters",
        currency="USD",
        time_zone="America/Los_Angeles",
        corso_store_id=2202,
        brand_color="#0b4f8a",
        api_version="2026-01",
        order_count=180,
        first_order_number=5001,
        products=(
            DemoProduct(
                "Trail Backpack 28L",
                "backpack.svg",
                "149.00",
                ("Black", "Ember"),
                "Color",
                out_of_stock=("Ember",),
                sku="BP28",
            ),
            DemoProduct(
                "Insulated Bottle", "bottle.svg", "34.00", ("500 ml", "750 ml"), "Size", sku="BTL"
            ),
            DemoProduct(
                "Rain Shell Jacket", "jacket.svg", "219.00", ("S", "M", "L"), "Size", sku="RSJ"
            ),
            DemoProduct("Camp Lantern", "lantern.svg", "59.00", sku="LNTN"),
            DemoProduct(
                "Hiking Socks (3 pack)", "socks.svg", "27.00", ("M", "L"), "Size", sku="SOCK"
            ),
            DemoProduct(
                "Packable Hammock",
                "hammock.svg",
                "79.00",
                out_of_stock=("Default Title",),
                sku="HMCK",
            ),
            DemoProduct("Trail Cap", "cap.svg", "29.00", sku="CAP"),
        ),
    ),
)

# A store the portal does not know yet: visitors install the portal app on it from /sandbox.
NEW_STORE = DemoStore(
    name="Juniper & Jay",
    slug="juniper-and-jay",
    currency="USD",
    time_zone="America/Chicago",
    corso_store_id=3303,
    brand_color="#6b3fa0",
    api_version="2026-01",
    order_count=12,
    first_order_number=3001,
    products=(
        DemoProduct(
            "Hand-Poured Candle", "candle.svg", "28.00", ("Fig", "Cedar"), "Scent", sku="HPC"
        ),
        DemoProduct("Market Tote", "tote.svg", "22.00", sku="MKT"),
        DemoProduct(
            "Speckled Mug",
            "mug.svg",
            "19.00",
            ("Cream", "Ink"),
            "Color",
            out_of_stock=("Ink",),
            sku="SPM",
        ),
        DemoProduct("Terracotta Planter", "planter.svg", "36.00", sku="TCP"),
    ),
)

FIRST_NAMES = (
    "Ava",
    "Liam",
    "Olivia",
    "Noah",
    "Emma",
    "Mateo",
    "Sophia",
    "Lucas",
    "Amara",
    "Ethan",
    "Isabella",
    "Kai",
    "Mia",
    "Leo",
    "Chloe",
    "Arjun",
    "Grace",
    "Diego",
    "Hana",
    "Owen",
    "Zoe",
    "Samuel",
    "Nora",
    "Elijah",
    "Priya",
    "Jonah",
    "Lucia",
    "Felix",
    "Maya",
    "Theo",
)
LAST_NAMES = (
    "Thompson",
    "Nguyen",
    "Martinez",
    "Okafor",
    "Schmidt",
    "Rossi",
    "Patel",
    "Kim",
    "Walker",
    "Haddad",
    "Lopez",
    "Andersson",
    "Murphy",
    "Tanaka",
    "Cohen",
    "Silva",
    "Baker",
    "Ibrahim",
    "Novak",
    "Reyes",
)

# (address1, city, province, province code, zip)
ADDRESSES = (
    ("1428 Elm Street", "Springfield", "Illinois", "IL", "62704"),
    ("77 Harbor View Rd", "Portland", "Maine", "ME", "04101"),
    ("2100 Pine Ave", "Boulder", "Colorado", "CO", "80302"),
    ("9 Magnolia Court", "Savannah", "Georgia", "GA", "31401"),
    ("350 Mission St", "San Francisco", "California", "CA", "94105"),
    ("48 Lakeshore Dr", "Madison", "Wisconsin", "WI", "53703"),
    ("1201 Congress Ave", "Austin", "Texas", "TX", "78701"),
    ("615 Pike St", "Seattle", "Washington", "WA", "98101"),
    ("22 Beacon St", "Boston", "Massachusetts", "MA", "02108"),
    ("5 Orchard Lane", "Burlington", "Vermont", "VT", "05401"),
    ("880 Desert Bloom Way", "Tucson", "Arizona", "AZ", "85701"),
    ("31 Bayou Rd", "New Orleans", "Louisiana", "LA", "70116"),
)

CARRIERS = (
    ("UPS", "1Z{digits:16}", "https://www.ups.com/track?tracknum={number}"),
    ("USPS", "9400{digits:18}", "https://tools.usps.com/go/TrackConfirmAction?tLabels={number}"),
    ("FedEx", "{digits:12}", "https://www.fedex.com/fedextrack/?trknbr={number}"),
)
