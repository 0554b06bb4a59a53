"""Server-rendered SVG bar charts: no script, no asset fetched, every label escaped as text."""

from __future__ import annotations

from markupsafe import Markup, escape

ROW = 22
LABEL = 180
WIDTH = 560


def bar_chart(title: str, bars: list[tuple[str, float, str]], unit: str = "") -> Markup:
    """Horizontal bars: (label, value, #rrggbb colour). The value is printed too: never colour alone."""
    top = max((v for _, v, _ in bars), default=0) or 1
    height = ROW * max(len(bars), 1) + 8
    parts = [
        f'<svg class="chart" role="img" viewBox="0 0 {WIDTH} {height}" width="100%" '
        f'preserveAspectRatio="xMinYMin meet" aria-label="{escape(title)}">',
        f"<title>{escape(title)}</title>",
    ]
    span = WIDTH - LABEL - 70
    for i, (label, value, color) in enumerate(bars):
        y = 4 + i * ROW
        width = 0 if value <= 0 else max(2, round(span * value / top))
        shown = f"{value:g}{unit}" if isinstance(value, float) else f"{value}{unit}"
        parts.append(
            f'<text x="{LABEL - 6}" y="{y + 15}" text-anchor="end">{escape(label[:28])}</text>'
            f'<rect x="{LABEL}" y="{y + 3}" width="{width}" height="{ROW - 6}" rx="3" '
            f'fill="{escape(color)}"/>'
            f'<text x="{LABEL + width + 6}" y="{y + 15}">{escape(shown)}</text>'
        )
    if not bars:
        parts.append(f'<text x="{LABEL}" y="18">nothing in this period</text>')
    parts.append("</svg>")
    return Markup("".join(parts))
