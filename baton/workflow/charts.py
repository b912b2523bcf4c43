"""Geometry for the stage-analytics charts, drawn as inline SVG by the templates.

The page draws no chart in the browser (no chart library, no script): these
functions turn per-step figures into rectangles and labels in SVG user units, and
the template only prints them. Pure functions, so the layout is unit-tested.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

# Layout in SVG user units; the SVG scales to its container through its viewBox.
CHART_WIDTH = 640.0
LABEL_WIDTH = 170.0
VALUE_WIDTH = 70.0
BAR_HEIGHT = 16.0
BAR_GAP = 3.0
ROW_GAP = 10.0
PADDING = 4.0


@dataclass(frozen=True, slots=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    # Which series the bar belongs to (0 = first); the stylesheet colours it.
    series: int
    value_text: str
    text_x: float
    text_y: float


@dataclass(frozen=True, slots=True)
class RowLabel:
    text: str
    x: float
    y: float


@dataclass(frozen=True, slots=True)
class BarChart:
    width: float
    height: float
    labels: tuple[RowLabel, ...]
    bars: tuple[Bar, ...]
    series_names: tuple[str, ...]
    # Nothing to draw: every value is missing or zero.
    empty: bool


def horizontal_bars(
    rows: Sequence[tuple[str, Sequence[float | None]]],
    series_names: Sequence[str],
    format_value: Callable[[float], str],
    width: float = CHART_WIDTH,
) -> BarChart:
    """One row per label, one bar per series in it, all scaled to the largest value.

    A missing value (None) draws no bar and prints "—"; a zero draws no bar and
    prints its formatted zero, so "nobody entered" and "no data" read differently.
    """
    series = len(series_names)
    if any(len(values) != series for _, values in rows):
        raise ValueError("every row needs one value per series")
    if any(value is not None and value < 0 for _, values in rows for value in values):
        raise ValueError("values must not be negative")
    present = [value for _, values in rows for value in values if value is not None]
    largest = max(present, default=0.0)
    track = max(width - LABEL_WIDTH - VALUE_WIDTH, 1.0)
    row_height = series * BAR_HEIGHT + (series - 1) * BAR_GAP
    labels: list[RowLabel] = []
    bars: list[Bar] = []
    y = PADDING
    for label, values in rows:
        labels.append(RowLabel(label, LABEL_WIDTH - 8, y + row_height / 2))
        for index, value in enumerate(values):
            top = y + index * (BAR_HEIGHT + BAR_GAP)
            length = track * value / largest if value and largest else 0.0
            bars.append(
                Bar(
                    x=LABEL_WIDTH,
                    y=top,
                    width=round(length, 2),
                    height=BAR_HEIGHT,
                    series=index,
                    value_text="—" if value is None else format_value(value),
                    text_x=round(LABEL_WIDTH + length + 6, 2),
                    text_y=top + BAR_HEIGHT / 2,
                )
            )
        y += row_height + ROW_GAP
    height = y - ROW_GAP + PADDING if rows else 2 * PADDING
    return BarChart(
        width=width,
        height=height,
        labels=tuple(labels),
        bars=tuple(bars),
        series_names=tuple(series_names),
        empty=largest == 0,
    )


def funnel(steps: Sequence[tuple[str, int]]) -> BarChart:
    """Entries per step, in step order."""
    return horizontal_bars(
        [(name, [float(entries)]) for name, entries in steps],
        ("Entries",),
        lambda value: f"{value:.0f}",
    )


def time_in_step(steps: Sequence[tuple[str, float | None, float | None]]) -> BarChart:
    """Median and 90th-percentile seconds in each step, as two bars per step."""
    return horizontal_bars(
        [(name, [median, p90]) for name, median, p90 in steps],
        ("Median", "90th percentile"),
        duration,
    )


def duration(seconds: float) -> str:
    """A compact human duration, truncated (never rounded up): 40s, 12m, 5.5h, 3.2d.

    Truncated so that it reads the same for every duration of one bucket of the
    stage-conversion rollup (`baton_duration_bucket`): the report's percentiles,
    exact to these units, show exactly what the ledger's durations would."""
    if seconds < 60:
        return f"{math.floor(max(seconds, 0))}s"
    if seconds < 3600:
        return f"{math.floor(seconds / 60)}m"
    if seconds < 86400:
        return f"{math.floor(seconds / 360) / 10:.1f}h"
    return f"{math.floor(seconds / 8640) / 10:.1f}d"
