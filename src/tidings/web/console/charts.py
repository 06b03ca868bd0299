"""Small inline-SVG charts for the dashboard, as geometry the template draws.

Pure functions: figures in, rectangles and labels out; no markup is built from
strings, so the template's escaping covers every label.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    label: str  # for the <title> tooltip and screen readers
    value: int


@dataclass(frozen=True, slots=True)
class BarChart:
    width: int
    height: int
    bars: tuple[Bar, ...]
    maximum: int
    summary: str  # the chart in words (aria-label)


def bar_chart(
    points: Sequence[tuple[str, int]], *, width: int = 480, height: int = 120, what: str = ""
) -> BarChart:
    """Bars scaled to the largest value; an all-zero series draws a flat baseline."""
    count = max(len(points), 1)
    slot = width / count
    gap = min(2.0, slot / 4)
    top = max((v for _label, v in points), default=0)
    bars: list[Bar] = []
    for index, (label, value) in enumerate(points):
        scaled = 0.0 if top == 0 else (height - 1) * value / top
        bar_height = max(scaled, 1.0)  # a 1px stub keeps empty slots visible
        bars.append(
            Bar(
                x=round(index * slot + gap / 2, 2),
                y=round(height - bar_height, 2),
                width=round(slot - gap, 2),
                height=round(bar_height, 2),
                label=f"{label}: {value}",
                value=value,
            )
        )
    total = sum(v for _label, v in points)
    summary = f"{what}: {total} in total, at most {top} per bar" if what else f"total {total}"
    return BarChart(width, height, tuple(bars), top, summary)


def share_chart(parts: Sequence[tuple[str, int]], *, width: int = 480) -> BarChart:
    """One horizontal stacked bar (e.g. principals by kind)."""
    total = sum(v for _label, v in parts)
    x = 0.0
    bars: list[Bar] = []
    for label, value in parts:
        w = 0.0 if total == 0 else width * value / total
        bars.append(Bar(round(x, 2), 0.0, round(w, 2), 24.0, f"{label}: {value}", value))
        x += w
    summary = ", ".join(f"{label} {value}" for label, value in parts)
    return BarChart(width, 24, tuple(bars), max((v for _l, v in parts), default=0), summary)
