"""The geometry of the overview's charts, drawn by templates as SVG.

The templates draw rectangles and text where these say; colours come from classes in the
stylesheet, so the charts need neither scripts nor inline styles (the Content-Security-Policy
allows neither). A chart's viewBox is about as wide as a phone, so its text stays legible at
390 px and grows with the figure on a wider screen.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal

from babel.numbers import format_compact_decimal

from portal import i18n

WIDTH = 360
ROW_HEIGHT = 30


@dataclass(frozen=True)
class Rect:
    x: float
    y: float
    width: float
    height: float
    series: str  # a class name: the stylesheet colours each series
    title: str  # what a pointer hovering the bar reads, with ``value``
    value: Decimal | int


@dataclass(frozen=True)
class Tick:
    y: float
    label: str


@dataclass(frozen=True)
class Label:
    x: float
    y: float
    text: str


@dataclass(frozen=True)
class ColumnChart:
    """Columns side by side per month, one per series, over a value axis."""

    width: int
    height: int
    left: float
    right: float
    baseline: float
    bars: tuple[Rect, ...]
    ticks: tuple[Tick, ...]
    labels: tuple[Label, ...]


@dataclass(frozen=True)
class BarRow:
    label: Label
    bars: tuple[Rect, ...]
    value: Label


@dataclass(frozen=True)
class BarChart:
    """Horizontal bars, one row per item: this period's thick, the previous period's thin."""

    width: int
    height: int
    rows: tuple[BarRow, ...]


def compact(value: Decimal | int) -> str:
    """A short axis label in the reader's language: "1.2K"."""
    return format_compact_decimal(value, locale=i18n.current_locale(), fraction_digits=1)


def nice_ceiling(value: Decimal | float) -> float:
    """The smallest of 1, 2, 2.5 or 5 times a power of ten at or above ``value``."""
    if value <= 0:
        return 1.0
    power = 10.0 ** math.floor(math.log10(float(value)))
    steps = (1.0, 2.0, 2.5, 5.0)
    return next((s * power for s in steps if float(value) <= s * power), 10.0 * power)


def column_chart(
    groups: Sequence[tuple[str, Sequence[tuple[str, Decimal, str]]]], *, height: int = 220
) -> ColumnChart:
    """``groups``: ("Oct 2026", [(series, value, title), ...]) from left to right; the year is
    written under the first column and under each one that starts a year."""
    left, right, top, bottom = 44.0, WIDTH - 6.0, 10.0, height - 28.0
    top_value = nice_ceiling(max((v for _, s in groups for _, v, _ in s), default=Decimal(0)))
    scale = (bottom - top) / top_value
    slot = (right - left) / max(1, len(groups))
    per_group = max((len(s) for _, s in groups), default=1)
    bar = max(1.0, slot * 0.8 / per_group)
    bars, labels = [], []
    every = 1 if len(groups) <= 12 else 3  # 24 months: a label every quarter
    for index, (label, series) in enumerate(groups):
        x = left + index * slot + slot * 0.1
        for n, (name, value, title) in enumerate(series):
            h = float(value) * scale if value > 0 else 0.0
            bars.append(Rect(x + n * bar, bottom - h, bar, h, name, title, value))
        if index % every == 0:
            month, _, year = label.partition(" ")
            centre = left + index * slot + slot / 2
            labels.append(Label(centre, height - 15.0, month))
            if index == 0 or month_starts_year(index, groups):
                labels.append(Label(centre, height - 3.0, year))
    ticks = tuple(
        Tick(bottom - (bottom - top) * k / 4, compact(Decimal(str(top_value * k / 4))))
        for k in range(5)
    )
    return ColumnChart(WIDTH, height, left, right, bottom, tuple(bars), ticks, tuple(labels))


def month_starts_year(index: int, groups: Sequence[tuple[str, object]]) -> bool:
    """Whether the column at ``index`` is in another year than the one before it."""
    return index > 0 and groups[index][0].split(" ")[-1] != groups[index - 1][0].split(" ")[-1]


def bar_chart(
    rows: Sequence[tuple[str, int | Decimal, int | Decimal]],
    *,
    describe: Callable[[str, int | Decimal, int | Decimal], str],
    label_width: float = 120.0,
) -> BarChart:
    """``rows``: (label, this period, previous period); ``describe`` gives a bar's title."""
    top_value = nice_ceiling(max((max(c, p) for _, c, p in rows), default=0))
    span = WIDTH - label_width - 48.0
    drawn = []
    for index, (label, current, previous) in enumerate(rows):
        y = index * ROW_HEIGHT + 4.0
        now_width = span * float(current) / top_value
        before_width = span * float(previous) / top_value
        title = describe(label, current, previous)
        drawn.append(
            BarRow(
                label=Label(label_width - 6.0, y + 13.0, _shortened(label)),
                bars=(
                    Rect(label_width, y, now_width, 14.0, "current", title, current),
                    Rect(label_width, y + 16.0, before_width, 5.0, "previous", title, previous),
                ),
                value=Label(label_width + now_width + 4.0, y + 12.0, f"{current:,}"),
            )
        )
    return BarChart(WIDTH, max(1, len(rows)) * ROW_HEIGHT + 4, tuple(drawn))


def _shortened(text: str, limit: int = 18) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"
