"""Cells of the CSV files staff download, made safe for spreadsheets: text that a spreadsheet
would run as a formula (it starts with = + - @, a tab or a line break, after spaces or not)
gets a leading apostrophe, which shows it as text."""

from __future__ import annotations

FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\n")


def safe_cell(value: str) -> str:
    """Text a spreadsheet must not run as a formula."""
    runs = value.startswith(FORMULA_START) or value.lstrip().startswith(FORMULA_START)
    return "'" + value if runs else value
