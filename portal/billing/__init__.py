"""The monthly shipping-protection invoice of each store: premiums collected on protected orders
(kept current by Shopify webhooks and a nightly sync), minus primary reorders and refunds."""
