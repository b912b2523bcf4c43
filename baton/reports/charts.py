"""The Home charts: report figures as `workflow.charts` bar charts (inline SVG).

Each function takes a report as the service answers it and returns a `Chart`: the
geometry, a title and a one-sentence description for screen readers (the SVG's
`<title>` and `<desc>`); the table beside each chart holds the same figures.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from functools import partial
from typing import Any

from baton.core.locales import DEFAULT_LOCALE
from baton.web.formatting import money, whole_number
from baton.workflow.charts import BarChart, duration
from baton.workflow.charts import horizontal_bars as _bars

__all__ = ["Chart", "duration"]


# Narrower than the workflow page's charts: Home's sit two abreast and on phones,
# where a wide viewBox would shrink the labels below reading size.
WIDTH = 480.0


def horizontal_bars(
    rows: Sequence[tuple[str, Sequence[float | None]]],
    series_names: Sequence[str],
    format_value: Callable[[float], str],
) -> BarChart:
    return _bars(rows, series_names, format_value, width=WIDTH)


@dataclass(frozen=True)
class Chart:
    bars: BarChart
    title: str
    description: str


def _whole(locale: str) -> Callable[[float], str]:
    """A bar's label: whole units of the currency the chart's title names, grouped as
    the locale groups (a scale reading; the description and the table beside the
    chart give the amounts)."""
    return partial(whole_number, locale=locale)


def _amount(value: Any, currency: str, locale: str) -> str:
    return money(Decimal(str(value)), currency, locale)


def _count(value: float) -> str:
    return f"{value:.0f}"


def _percent(value: float) -> str:
    return f"{value:.0f} %"


def pipeline_chart(report: dict[str, Any], locale: str = DEFAULT_LOCALE) -> Chart:
    """Open amount and weighted amount per stage; money in the organization's locale."""
    stages = report["stages"]
    bars = horizontal_bars(
        [(s["name"], [float(s["amount"]), float(s["weighted"])]) for s in stages],
        ("Amount", "Weighted"),
        _whole(locale),
    )
    total = report["total"]
    currency = report["currency"]
    return Chart(
        bars,
        f"Open pipeline by stage ({currency})",
        f"{total['count']} open deals worth {_amount(total['amount'], currency, locale)},"
        f" {_amount(total['weighted'], currency, locale)} weighted by probability.",
    )


def forecast_chart(report: dict[str, Any], locale: str = DEFAULT_LOCALE) -> Chart:
    """Commit, best case and pipeline per expected close month, in the locale."""
    months = report["months"]
    bars = horizontal_bars(
        [
            (m["month"], [float(m["commit"]), float(m["best_case"]), float(m["pipeline"])])
            for m in months
        ],
        ("Commit", "Best case", "Pipeline"),
        _whole(locale),
    )
    total = report["total"]
    currency = report["currency"]
    return Chart(
        bars,
        f"Forecast by expected close month ({currency})",
        f"Commit {_amount(total['commit'], currency, locale)}, best case"
        f" {_amount(total['best_case'], currency, locale)},"
        f" pipeline {_amount(total['pipeline'], currency, locale)}"
        f" over {len(months)} months.",
    )


def reasons_chart(reasons: list[dict[str, Any]], what: str) -> Chart:
    bars = horizontal_bars([(r["label"], [float(r["count"])]) for r in reasons], (what,), _count)
    listed = ", ".join(f"{r['label']} {r['count']}" for r in reasons) or "none"
    return Chart(bars, f"{what} by reason", f"{what} by reason: {listed}.")


def conversion_chart(steps: list[dict[str, Any]]) -> Chart:
    rows = [
        (s["name"], [None if s["conversion_to_next"] is None else s["conversion_to_next"] * 100])
        for s in steps
        if s["conversion_to_next"] is not None or s["entries"]
    ]
    bars = horizontal_bars(rows, ("Moved on",), _percent)
    return Chart(
        bars,
        "Stage conversion",
        "Share of each stage's entries in the period that moved on to the next stage.",
    )


def time_in_step_chart(steps: list[dict[str, Any]]) -> Chart:
    bars = horizontal_bars(
        [(s["name"], [s["median_seconds_in_step"], s["p90_seconds_in_step"]]) for s in steps],
        ("Median", "90th percentile"),
        duration,
    )
    return Chart(bars, "Time in stage", "Median and 90th-percentile time spent in each stage.")


def lead_funnel_chart(report: dict[str, Any]) -> Chart:
    stages = report["stages"]
    bars = horizontal_bars(
        [(s["key"].title(), [float(s["count"])]) for s in stages], ("Leads",), _count
    )
    return Chart(
        bars,
        "Lead funnel",
        "Leads created in the period, and how many were qualified, claimed and converted: "
        + ", ".join(f"{s['key']} {s['count']}" for s in stages)
        + ".",
    )


def sources_chart(report: dict[str, Any]) -> Chart:
    rows = [
        (s["source"] or "No source", [float(s["created"]), float(s["qualified"])])
        for s in report["sources"]
    ]
    bars = horizontal_bars(rows, ("Created", "Qualified"), _count)
    return Chart(
        bars,
        "Leads by source",
        "Leads created in the period per source, and how many of them were qualified.",
    )


def as_float(value: Decimal | float | None) -> float | None:
    return None if value is None else float(value)
