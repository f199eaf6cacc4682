"""Faithful stand-ins for Shopify and Corso, used by the demo and the tests."""
