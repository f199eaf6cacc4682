"""A faithful, stateful stand-in for Shopify's Admin GraphQL API.

world = ShopifyWorld()                       # see state.py for the seeding API
world.add_shop("maple-and-moss.myshopify.com", access_token="shpat_demo")
world.register_app("client-id", "secret", redirect_urls=["https://app.example/callback"])
app = create_shopify_sandbox(world)          # POST /{shop}/admin/api/{version}/graphql.json
                                             # and /{shop}/admin/oauth/... (see oauth.py)
world.faults(domain).fail_next(status=503)   # see faults.py
"""

from sandbox.shopify.app import create_shopify_sandbox
from sandbox.shopify.faults import Faults
from sandbox.shopify.state import (
    Address,
    CustomerSeed,
    LineItemSeed,
    ShopifyWorld,
    TransactionSeed,
    VariantSeed,
)

__all__ = [
    "Address",
    "CustomerSeed",
    "Faults",
    "LineItemSeed",
    "ShopifyWorld",
    "TransactionSeed",
    "VariantSeed",
    "create_shopify_sandbox",
]
