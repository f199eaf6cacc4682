"""Stores: the merchants whose shoppers file reorder requests."""
