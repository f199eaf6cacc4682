"""Clients for the outside services the portal talks to, one module per service."""
