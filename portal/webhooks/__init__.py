"""Shopify's webhooks: one endpoint, a table of topics (``deliveries.TOPICS``)."""
