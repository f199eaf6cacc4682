"""Reorder requests: what a shopper asked for, where it stands, and its timeline."""
