"""The register's chart: each need's progress towards its target, drawn on the server
as SVG (no script, no CDN; the Content-Security-Policy allows neither inline styles
nor scripts, so colours are presentation attributes, as in risk/charts.py)."""

from decimal import Decimal

from django.utils.html import escape
from django.utils.safestring import mark_safe

RECEIVED, PLEDGED, TARGET = "#2f6f4f", "#9cc3ad", "#0f2a47"


def needs_progress_chart(needs, *, title: str) -> str:
    """One bar per need: received (dark) and pledged still to come (light), as a share
    of the target; the target is the vertical line at 100 %."""
    width, row, label_w, right = 760, 34, 200, 200
    plot_w = width - label_w - right
    scale = max([Decimal(100), *(p.percent + p.pledged_percent for p in needs)])
    x_of = lambda percent: label_w + float(percent) * plot_w / float(scale)  # noqa: E731
    height = row * max(len(needs), 1) + 46
    parts = []
    for index, progress in enumerate(needs):
        y = 8 + index * row
        need = progress.need
        received_w = x_of(progress.percent) - label_w
        pledged_w = x_of(progress.pledged_percent) - label_w
        summary = (
            f"{need.label}: {progress.received:,f} of {need.target_quantity:,f} {need.unit} "
            f"received ({progress.percent}%), {progress.pledged:,f} pledged"
        ).replace(".000 ", " ")
        parts.append(
            f'<text x="{label_w - 8}" y="{y + 18}" text-anchor="end">{escape(need.label)}</text>'
            f'<rect x="{label_w}" y="{y + 4}" width="{received_w:.1f}" height="{row - 12}" '
            f'fill="{RECEIVED}"><title>{escape(summary)}</title></rect>'
            f'<rect x="{label_w + received_w:.1f}" y="{y + 4}" width="{pledged_w:.1f}" '
            f'height="{row - 12}" fill="{PLEDGED}"><title>{escape(summary)}</title></rect>'
            f'<text x="{max(label_w + received_w + pledged_w, x_of(100)) + 8:.1f}" '
            f'y="{y + 18}">'
            f"{progress.percent}%"
            + (f" (+{progress.pledged_percent}% pledged)" if progress.pledged else "")
            + "</text>"
        )
    target_x = x_of(100)
    bottom = 8 + row * max(len(needs), 1)
    parts.append(
        f'<line x1="{target_x:.1f}" y1="4" x2="{target_x:.1f}" y2="{bottom}" stroke="{TARGET}" '
        'stroke-width="2" stroke-dasharray="4 3"/>'
        f'<text x="{target_x:.1f}" y="{bottom + 14}" text-anchor="middle" font-size="11">'
        "target</text>"
    )
    legend_y = height - 10
    parts.append(
        f'<rect x="{label_w}" y="{legend_y - 10}" width="10" height="10" fill="{RECEIVED}"/>'
        f'<text x="{label_w + 14}" y="{legend_y}">received (released)</text>'
        f'<rect x="{label_w + 170}" y="{legend_y - 10}" width="10" height="10" fill="{PLEDGED}"/>'
        f'<text x="{label_w + 184}" y="{legend_y}">pledged, still to come</text>'
    )
    return mark_safe(
        f'<svg role="img" aria-label="{escape(title)}" viewBox="0 0 {width} {height}" '
        f'width="100%" class="chart wide" font-size="13" data-testid="supplies-chart">'
        f"<title>{escape(title)}</title>{''.join(parts)}</svg>"
    )
