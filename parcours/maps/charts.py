"""Small inline SVG charts for the reports (no JavaScript, no external file).

A report must open offline and print well: its charts are plain SVG written here, sized
in the page's own units, with the numbers printed on the bars (a committee reads values,
not only lengths) and a ``<title>`` per bar for screen readers and tooltips.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from html import escape

__all__ = ["bar_chart"]

_WIDTH = 720
_LABEL_W = 260
_BAR_H = 14
_GAP = 6


def _number(value: float, percent: bool, decimal: str) -> str:
    if not math.isfinite(value):
        return "–"
    text = f"{value * 100:.0f} %" if percent else f"{value:,.0f}".replace(",", "\u202f")
    return text.replace(".", decimal)


def bar_chart(
    categories: Sequence[str],
    series: Mapping[str, Sequence[float]],
    *,
    title: str,
    percent: bool = True,
    colors: Sequence[str] = ("#2c7fb8", "#f03b20", "#7fcdbb", "#fdae61"),
    decimal: str = ",",
) -> str:
    """A horizontal grouped bar chart as an inline ``<svg>`` element.

    Parameters
    ----------
    categories
        One group of bars per category (rows), in the order given.
    series
        Series name -> one value per category (NaN: no bar, a dash).
    title
        The chart's title (also its accessible name).
    percent
        Values are shares (0-1), printed as percentages; else counts.
    colors
        One colour per series.
    decimal
        The decimal mark of the language (``","`` in French).
    """
    names = list(series)
    values = [[float(v) for v in series[name]] for name in names]
    finite = [v for row in values for v in row if math.isfinite(v)]
    top = max([1e-9, *finite]) if not percent else max(1.0, *finite) if finite else 1.0
    group_h = len(names) * (_BAR_H + 2) + _GAP
    legend_h = 22
    height = 28 + legend_h + len(categories) * group_h
    plot_w = _WIDTH - _LABEL_W - 60
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" class="chart" '
        f'viewBox="0 0 {_WIDTH} {height}" width="100%" aria-label="{escape(title)}">',
        f'<text x="0" y="16" font-weight="bold" font-size="14">{escape(title)}</text>',
    ]
    x = _LABEL_W
    for k, name in enumerate(names):
        color = colors[k % len(colors)]
        parts.append(f'<rect x="{x}" y="26" width="12" height="12" fill="{color}"/>')
        parts.append(f'<text x="{x + 16}" y="37" font-size="12">{escape(name)}</text>')
        x += 24 + 7 * len(name)
    y0 = 28 + legend_h
    for i, category in enumerate(categories):
        y = y0 + i * group_h
        middle = y + (len(names) * (_BAR_H + 2)) / 2 + 4
        parts.append(
            f'<text x="{_LABEL_W - 8}" y="{middle:.0f}" font-size="12" text-anchor="end">'
            f"{escape(category)}</text>"
        )
        for k, name in enumerate(names):
            value = values[k][i]
            by = y + k * (_BAR_H + 2)
            text = _number(value, percent, decimal)
            width = plot_w * value / top if math.isfinite(value) else 0.0
            color = colors[k % len(colors)]
            parts.append(
                f'<rect x="{_LABEL_W}" y="{by}" width="{max(width, 0.0):.1f}" '
                f'height="{_BAR_H}" fill="{color}"><title>{escape(name)} : {text}</title></rect>'
            )
            parts.append(
                f'<text x="{_LABEL_W + width + 4:.1f}" y="{by + _BAR_H - 3}" '
                f'font-size="11">{text}</text>'
            )
    parts.append("</svg>")
    return "".join(parts)
