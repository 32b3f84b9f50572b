"""Charts drawn on the server as inline SVG: no script, no network, readable on a phone.

Drawn by hand rather than with a plotting library: two small chart kinds, a few dozen
elements each, rendered in well under a millisecond on every request, and sized by a
viewBox so they scale to the screen with text about the size of the page's small print.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from html import escape

from markupsafe import Markup

WIDTH = 360
ACCENT = "#0b6e4f"
INK = "#1d2330"
MUTED = "#4a5262"
GRID = "#dfe3ea"
HIGHLIGHT = "#0a4d8c"


def _svg(height: float, label: str, body: list[str]) -> Markup:
    return Markup(
        f'<svg class="chart" viewBox="0 0 {WIDTH} {height:.0f}" role="img" '
        f'aria-label="{escape(label)}" xmlns="http://www.w3.org/2000/svg" '
        'font-family="system-ui, sans-serif" font-size="11">'
        f"<title>{escape(label)}</title>{''.join(body)}</svg>"
    )


def _ticks(low: float, high: float, count: int = 4) -> list[float]:
    if high - low < 1e-9:
        return [low]
    step = (high - low) / (count - 1)
    return [low + i * step for i in range(count)]


def line_chart(points: Sequence[tuple[dt.date, float]], *, label: str, unit: str = "") -> Markup:
    """Draw values over dates (e.g. a PTI history) as a line with a dot per value."""
    height, left, right, top, bottom = 200, 40, 12, 12, 30
    if not points:
        return Markup("")
    dates = [d.toordinal() for d, _ in points]
    values = [v for _, v in points]
    low, high = min(values), max(values)
    pad = max((high - low) * 0.1, 0.5)
    low, high = low - pad, high + pad
    first, last = min(dates), max(dates)

    def x(day: int) -> float:
        if last == first:
            return left + (WIDTH - left - right) / 2
        return left + (day - first) / (last - first) * (WIDTH - left - right)

    def y(value: float) -> float:
        return top + (high - value) / (high - low) * (height - top - bottom)

    body = []
    for tick in _ticks(low + pad, high - pad) if high - low > 2 * pad else [values[0]]:
        body.append(
            f'<line x1="{left}" x2="{WIDTH - right}" y1="{y(tick):.1f}" y2="{y(tick):.1f}" '
            f'stroke="{GRID}"/><text x="{left - 4}" y="{y(tick) + 4:.1f}" text-anchor="end" '
            f'fill="{MUTED}">{tick:.1f}</text>'
        )
    shown = sorted({points[0][0], points[-1][0]})
    for day in shown:
        anchor = (
            "start" if day == shown[0] and len(shown) > 1 else "end" if len(shown) > 1 else "middle"
        )
        body.append(
            f'<text x="{x(day.toordinal()):.1f}" y="{height - 10}" text-anchor="{anchor}" '
            f'fill="{MUTED}">{day.strftime("%b %-d, %Y")}</text>'
        )
    path = " ".join(f"{x(d):.1f},{y(v):.1f}" for d, v in zip(dates, values, strict=True))
    if len(points) > 1:
        body.append(f'<polyline points="{path}" fill="none" stroke="{ACCENT}" stroke-width="2"/>')
    for (day, value), ordinal in zip(points, dates, strict=True):
        body.append(
            f'<circle cx="{x(ordinal):.1f}" cy="{y(value):.1f}" r="3.5" fill="{ACCENT}">'
            f"<title>{day.isoformat()}: {value:.1f}{unit}</title></circle>"
        )
    return _svg(height, label, body)


def bar_chart(
    bars: Sequence[tuple[str, float]], *, label: str, highlight: int | None = None
) -> Markup:
    """Draw one horizontal bar per item (e.g. points per team), its value at the bar's end."""
    if not bars:
        return Markup("")
    row, top, name_width, right = 24, 6, 150, 34
    height = top * 2 + row * len(bars)
    most = max((value for _, value in bars), default=0) or 1
    span = WIDTH - name_width - right
    body = []
    for i, (name, value) in enumerate(bars):
        y = top + i * row
        short = name if len(name) <= 24 else name[:23] + "…"
        color = HIGHLIGHT if i == highlight else ACCENT
        width = max(value, 0) / most * span
        body.append(
            f'<text x="{name_width - 6}" y="{y + 15}" text-anchor="end" fill="{INK}">'
            f"{escape(short)}</text>"
            f'<rect x="{name_width}" y="{y + 4}" width="{width:.1f}" height="{row - 8}" '
            f'rx="2" fill="{color}"/>'
            f'<text x="{name_width + width + 4:.1f}" y="{y + 15}" fill="{INK}">{value:g}</text>'
        )
    return _svg(height, label, body)
