"""Reorder request portal for shipping protection."""
