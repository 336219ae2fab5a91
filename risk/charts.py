"""Small server-rendered SVG bar charts: no JavaScript, no CDN, readable by screen readers.

No style attribute (the Content-Security-Policy refuses inline styles): `.chart` in
static/css/app.css caps their width at the 560 px they are drawn for.
"""

from django.utils.html import escape
from django.utils.safestring import mark_safe

COLOURS = ["#2f6f4f", "#e0a800", "#b3261e", "#3b6ea8", "#7a5195", "#6c757d"]


def bar_chart(values: dict, *, title: str, unit: str = "", label_width: int = 200) -> str:
    width, row, label_w = 560, 26, label_width
    peak = max(values.values(), default=0) or 1
    height = row * max(len(values), 1) + 10
    bars = []
    for index, (label, value) in enumerate(values.items()):
        y = 5 + index * row
        w = (width - label_w - 80) * value / peak
        bars.append(
            f'<text x="{label_w - 8}" y="{y + 16}" text-anchor="end">{escape(label)}</text>'
            f'<rect x="{label_w}" y="{y + 3}" width="{w:.1f}" height="{row - 8}" '
            f'fill="{COLOURS[3]}"><title>{escape(label)}: {value:g}{unit}</title></rect>'
            f'<text x="{label_w + w + 6:.1f}" y="{y + 16}">{value:g}{unit}</text>'
        )
    return mark_safe(
        f'<svg role="img" aria-label="{escape(title)}" viewBox="0 0 {width} {height}" '
        f'width="100%" class="chart" font-size="13">'
        f"<title>{escape(title)}</title>{''.join(bars)}</svg>"
    )


def grouped_bars(
    categories: list[str], series: list[tuple[str, dict]], *, title: str, unit: str = ""
):
    width, height, bottom = 560, 220, 40
    peak = max((v for _, values in series for v in values.values()), default=0) or 1
    group_w = (width - 40) / max(len(categories), 1)
    bar_w = (group_w - 20) / max(len(series), 1)
    parts = []
    for ci, category in enumerate(categories):
        x0 = 30 + ci * group_w
        parts.append(
            f'<text x="{x0 + group_w / 2 - 10:.1f}" y="{height - bottom + 18}" '
            f'text-anchor="middle">{escape(category)}</text>'
        )
        for si, (name, values) in enumerate(series):
            value = values.get(category, 0) or 0
            h = (height - bottom - 20) * value / peak
            x = x0 + si * bar_w
            y = height - bottom - h
            parts.append(
                f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar_w - 2:.1f}" height="{h:.1f}" '
                f'fill="{COLOURS[3 + si]}"><title>{escape(name)}, {escape(category)}: '
                f"{value:g}{unit}</title></rect>"
                f'<text x="{x + bar_w / 2:.1f}" y="{y - 3:.1f}" text-anchor="middle" '
                f'font-size="11">{value:g}</text>'
            )
    legend = "".join(
        f'<rect x="{30 + i * 150}" y="{height - 14}" width="10" height="10" '
        f'fill="{COLOURS[3 + i]}"/><text x="{44 + i * 150}" y="{height - 5}">{escape(name)}</text>'
        for i, (name, _) in enumerate(series)
    )
    return mark_safe(
        f'<svg role="img" aria-label="{escape(title)}" viewBox="0 0 {width} {height}" '
        f'width="100%" class="chart" font-size="13">'
        f"<title>{escape(title)}</title>{''.join(parts)}{legend}</svg>"
    )
