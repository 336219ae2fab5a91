"""The reconciliation report of an emergency as a page's parts, CSV and PDF.

The reads are emergencies.selectors (ReportScope, report_summary, release_times,
consignment_rows). One list of columns, COLUMNS, is the consignment table of the
page, the CSV and the PDF: a column added there is in all three.

The PDF is drawn with reportlab (pure Python, pinned in pyproject.toml) in Bitstream
Vera, the font reportlab ships, embedded: it covers Latin scripts; names written in
other scripts need a font covering them registered in `_fonts`.
"""

import csv
import io
from collections.abc import Callable
from dataclasses import dataclass

from django.conf import settings
from django.utils import timezone

from core.pages import spreadsheet_safe
from emergencies.selectors import (
    LANES,
    ConsignmentRow,
    ReleaseTimes,
    ReportScope,
    ReportSummary,
)
from risk.charts import bar_chart, grouped_bars


def duration(seconds: float | None) -> str:
    """A time to release as people read it: 45 s, 12 min, 5 h 03 min, 3.2 days."""
    if seconds is None:
        return "—"
    if seconds < 60:
        return f"{seconds:.0f} s"
    if seconds < 3600:
        return f"{seconds / 60:.0f} min"
    if seconds < 48 * 3600:
        hours, rest = divmod(round(seconds / 60), 60)
        return f"{hours} h {rest:02d} min"
    return f"{seconds / 86400:.1f} days"


def _when(value) -> str:
    return timezone.localtime(value).strftime("%Y-%m-%d %H:%M") if value else "—"


def _iso(value) -> str:
    return timezone.localtime(value).isoformat(timespec="seconds") if value else ""


def _consignee(row: ConsignmentRow) -> str:
    d = row.declaration
    if d.importer_tax_id:
        return f"{d.importer_name} ({d.importer_tax_id})"
    return f"{d.company.name} ({d.company.tax_id})"


def _lowered(row: ConsignmentRow) -> str:
    if row.lane_lowered_from:
        return f"from {row.lane_lowered_from}"
    if "forced by rule" in row.lane_note:
        return "no: a rule forced red"
    if "green already" in row.lane_note:
        return "no: green already"
    return f"no ({row.lane_note})" if row.lane_note else "no"


def _hours(seconds: float | None) -> str:
    return "" if seconds is None else f"{seconds / 3600:.2f}"


@dataclass(frozen=True)
class Column:
    header: str
    # What the page and the PDF show, and what the CSV holds (plain values).
    text: Callable[[ConsignmentRow], str]
    csv: Callable[[ConsignmentRow], object] | None = None
    # Shown only once the platform records provisional declarations (selectors.documents_owed).
    documents: bool = False
    # Its share of the PDF's width, against the others'.
    weight: float = 1.0


COLUMNS = (
    Column("Declaration", lambda r: r.declaration.reference, weight=1.9),
    Column("Consignee", _consignee, weight=2.2),
    Column("Declarant", lambda r: r.declaration.company.name, weight=1.6),
    Column("Office", lambda r: r.declaration.office_of_entry, weight=1.1),
    Column(
        "Lodged",
        lambda r: _when(r.declaration.lodged_at),
        csv=lambda r: _iso(r.declaration.lodged_at),
        weight=1.4,
    ),
    Column(
        "Released",
        lambda r: _when(r.declaration.released_at),
        csv=lambda r: _iso(r.declaration.released_at),
        weight=1.4,
    ),
    Column("Status", lambda r: r.declaration.get_status_display(), weight=1.3),
    Column("Lane", lambda r: r.declaration.lane or "—", csv=lambda r: r.declaration.lane),
    Column("Priority", lambda r: "yes" if r.declaration.priority else "no", weight=1.1),
    Column("Lane lowered", _lowered, weight=1.8),
    Column(
        f"Duties relieved ({settings.NATIONAL_CURRENCY})",
        lambda r: f"{r.declaration.duties_relieved:,.2f}",
        csv=lambda r: f"{r.declaration.duties_relieved:.2f}",
        weight=1.8,
    ),
    Column(
        "Provisional",
        lambda r: "yes" if r.owed and r.owed.provisional else "no",
        documents=True,
    ),
    Column(
        "Documents still missing",
        lambda r: ", ".join(r.owed.missing) if r.owed else "",
        documents=True,
        weight=2.0,
    ),
    Column(
        "Inspections and findings",
        lambda r: "; ".join(r.inspections) or "none",
        weight=2.4,
    ),
    Column(
        "Lodgement to release",
        lambda r: duration(r.seconds_to_release),
        csv=lambda r: _hours(r.seconds_to_release),
        weight=1.6,
    ),
)


def columns(*, documents_tracked: bool) -> list[Column]:
    return [c for c in COLUMNS if documents_tracked or not c.documents]


def table(rows: list[ConsignmentRow], *, documents_tracked: bool) -> tuple[list, list]:
    """Headers and each row's cells as the page and the PDF show them."""
    shown = columns(documents_tracked=documents_tracked)
    return [c.header for c in shown], [[c.text(row) for c in shown] for row in rows]


def report_csv(rows: list[ConsignmentRow], *, documents_tracked: bool) -> str:
    """One line per relief consignment; times in the administration's zone (ISO 8601),
    amounts without separators, lodgement to release in hours."""
    shown = columns(documents_tracked=documents_tracked)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(
        [
            "Lodgement to release (hours)" if c.header == "Lodgement to release" else c.header
            for c in shown
        ]
    )
    for row in rows:
        writer.writerow([spreadsheet_safe((c.csv or c.text)(row)) for c in shown])
    return out.getvalue()


TIME_HEADER = (
    "Lane",
    "Relief: released / lodged",
    "median",
    "p90",
    "Ordinary: released / lodged",
    "median",
    "p90",
)


def time_table(times: ReleaseTimes) -> tuple[tuple, list[list[str]]]:
    """Lodgement to release by lane, relief against ordinary, as the page and PDF show it."""
    rows = [
        [
            lane,
            f"{relief.released} / {relief.lodged}",
            duration(relief.median),
            duration(relief.p90),
            f"{ordinary.released} / {ordinary.lodged}",
            duration(ordinary.median),
            duration(ordinary.p90),
        ]
        for lane, relief, ordinary in times.rows()
    ]
    return TIME_HEADER, rows


def _unit(times: ReleaseTimes) -> tuple[float, str]:
    peak = max(
        (
            value
            for figures in (times.relief, times.ordinary)
            for lane in figures.values()
            for value in (lane.median, lane.p90)
            if value is not None
        ),
        default=0,
    )
    if peak < 2 * 3600:
        return 60, "min"
    if peak < 72 * 3600:
        return 3600, "h"
    return 86400, "days"


def charts(summary: ReportSummary, times: ReleaseTimes) -> dict:
    """Server-rendered SVG (no script: the CSP allows none inline)."""
    divisor, unit = _unit(times)

    def series(measure: str) -> list[tuple[str, dict]]:
        return [
            (
                name,
                {
                    lane: round(getattr(f, measure) / divisor, 1)
                    for lane, f in figures.items()
                    if getattr(f, measure) is not None
                },
            )
            for name, figures in (("relief", times.relief), ("ordinary", times.ordinary))
        ]

    lanes = ["all", *LANES]
    findings = {}
    for kind, finding, count, _ in summary.inspections:
        label = f"{kind}: {finding.lower() if finding else 'not recorded yet'}"
        findings[label] = findings.get(label, 0) + count
    return {
        "unit": unit,
        "median_chart": grouped_bars(
            lanes,
            series("median"),
            unit=f" {unit}",
            title=f"Median lodgement to release ({unit}), relief and ordinary, by lane",
        ),
        "p90_chart": grouped_bars(
            lanes,
            series("p90"),
            unit=f" {unit}",
            title=f"90th percentile lodgement to release ({unit}), by lane",
        ),
        "lane_chart": bar_chart(
            {lane: summary.lanes[lane] for lane in LANES}, title="Relief consignments by lane"
        ),
        "findings_chart": (
            bar_chart(findings, title="Inspections and findings", label_width=300)
            if findings
            else ""
        ),
    }


# ---- PDF ----------------------------------------------------------------------------


def _fonts() -> tuple[str, str]:
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont

    if "Vera" not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(TTFont("Vera", "Vera.ttf"))
        pdfmetrics.registerFont(TTFont("VeraBd", "VeraBd.ttf"))
    return "Vera", "VeraBd"


def _time_chart(times: ReleaseTimes, *, font: str):
    from reportlab.graphics.charts.barcharts import VerticalBarChart
    from reportlab.graphics.charts.legends import Legend
    from reportlab.graphics.shapes import Drawing, String
    from reportlab.lib import colors

    divisor, unit = _unit(times)
    lanes = ["all", *LANES]
    drawing = Drawing(460, 190)
    chart = VerticalBarChart()
    chart.x, chart.y, chart.width, chart.height = 45, 30, 300, 130
    chart.data = [
        [round((figures[lane].median or 0) / divisor, 1) for lane in lanes]
        for figures in (times.relief, times.ordinary)
    ]
    chart.categoryAxis.categoryNames = lanes
    chart.categoryAxis.labels.fontName = font
    chart.valueAxis.labels.fontName = font
    chart.valueAxis.valueMin = 0
    chart.bars[0].fillColor = colors.HexColor("#3b6ea8")
    chart.bars[1].fillColor = colors.HexColor("#7a5195")
    drawing.add(chart)
    legend = Legend()
    legend.x, legend.y = 360, 150
    legend.fontName = font
    legend.colorNamePairs = [
        (colors.HexColor("#3b6ea8"), "relief"),
        (colors.HexColor("#7a5195"), "ordinary"),
    ]
    drawing.add(legend)
    drawing.add(String(45, 172, f"Median lodgement to release ({unit}), by lane", fontName=font))
    return drawing


def report_pdf(
    scope: ReportScope,
    summary: ReportSummary,
    times: ReleaseTimes,
    rows: list[ConsignmentRow],
    *,
    documents_tracked: bool,
) -> bytes:
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4, landscape
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.lib.units import mm
    from reportlab.platypus import (
        LongTable,
        Paragraph,
        SimpleDocTemplate,
        Spacer,
        Table,
        TableStyle,
    )

    regular, bold = _fonts()
    body = ParagraphStyle("body", fontName=regular, fontSize=9, leading=12)
    small = ParagraphStyle("small", fontName=regular, fontSize=7, leading=9)
    heading = ParagraphStyle("heading", fontName=bold, fontSize=12, leading=16, spaceBefore=8)
    title = ParagraphStyle("title", fontName=bold, fontSize=16, leading=20)
    emergency = scope.emergency
    grid = TableStyle(
        [
            ("FONTNAME", (0, 0), (-1, -1), regular),
            ("FONTNAME", (0, 0), (-1, 0), bold),
            ("FONTSIZE", (0, 0), (-1, -1), 8),
            ("GRID", (0, 0), (-1, -1), 0.25, colors.grey),
            ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e8eeea")),
            ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ]
    )

    def p(text: str, style=body):
        from xml.sax.saxutils import escape

        return Paragraph(escape(text), style)

    story = [
        p(f"Reconciliation report: {emergency.name}", title),
        p(
            f"{emergency.get_status_display()}, {_when(emergency.starts_at)} to "
            f"{_when(emergency.ends_at)}. Offices of entry: {', '.join(scope.offices)}"
            f"{'' if scope.whole else ' (those you oversee)'}. Listed goods (HS): "
            f"{', '.join(emergency.hs_prefixes)}. Measures: "
            f"{'; '.join(emergency.measures) or 'none'}."
        ),
        p(f"Drawn up {_when(timezone.now())} ({settings.TIME_ZONE})."),
        p("Summary", heading),
        p(
            f"{summary.lodged} relief consignments lodged: {summary.released} released, "
            f"{summary.waiting} still in clearance, {summary.stopped} rejected, cancelled or "
            f"seized. Lanes: "
            + ", ".join(f"{lane} {summary.lanes[lane]}" for lane in LANES)
            + f". Priority in the queues: {summary.priority}. Lane lowered: "
            f"{summary.lane_lowered}. Duties and taxes relieved: "
            f"{summary.duties_relieved:,.2f} {settings.NATIONAL_CURRENCY}."
        ),
        p("Lodgement to release, by lane", heading),
    ]
    time_header, time_rows = time_table(times)
    story += [
        Table([time_header, *time_rows], style=grid, hAlign="LEFT"),
        p(
            "Ordinary: imports lodged at the same offices during the emergency that are not "
            "relief consignments. Declarations not released yet count as lodged only.",
            small,
        ),
    ]
    if any(f.median for f in (*times.relief.values(), *times.ordinary.values())):
        story += [Spacer(1, 4 * mm), _time_chart(times, font=regular)]
    story.append(p("Inspections and findings", heading))
    if summary.inspections:
        findings = [["Inspection", "Finding", "Count", f"Revenue ({settings.NATIONAL_CURRENCY})"]]
        for kind, finding, count, revenue in summary.inspections:
            findings.append([kind, finding or "not recorded yet", str(count), f"{revenue:,.2f}"])
        story.append(Table(findings, style=grid, hAlign="LEFT"))
    else:
        story.append(p("No relief consignment was inspected."))
    story.append(p("Relief consignments", heading))
    shown = columns(documents_tracked=documents_tracked)
    headers, cells = table(rows, documents_tracked=documents_tracked)
    if cells:
        width = landscape(A4)[0] - 24 * mm
        total = sum(c.weight for c in shown)
        widths = [width * c.weight / total for c in shown]
        # A Paragraph wraps but costs ~0.5 ms a cell: only text too long for its column
        # gets one (a Vera character at 7 pt is at most ~4.4 pt wide; 6 pt of padding).
        fits = [int((w - 6) / 4.4) for w in widths]
        wrapped = [[p(h, small) for h in headers]]
        wrapped += [
            [
                cell if len(cell) <= fit else p(cell, small)
                for cell, fit in zip(line, fits, strict=True)
            ]
            for line in cells
        ]
        story.append(
            LongTable(
                wrapped,
                colWidths=widths,
                style=TableStyle([*grid.getCommands(), ("FONTSIZE", (0, 0), (-1, -1), 7)]),
                repeatRows=1,
                hAlign="LEFT",
            )
        )
    else:
        story.append(p("None lodged."))

    def footer(canvas, document):
        canvas.saveState()
        canvas.setFont(regular, 7)
        canvas.drawRightString(
            landscape(A4)[0] - 12 * mm,
            7 * mm,
            f"{emergency.name}: reconciliation report, page {document.page}",
        )
        canvas.restoreState()

    out = io.BytesIO()
    SimpleDocTemplate(
        out,
        pagesize=landscape(A4),
        leftMargin=12 * mm,
        rightMargin=12 * mm,
        topMargin=12 * mm,
        bottomMargin=12 * mm,
        title=f"Reconciliation report: {emergency.name}",
        author="Single Window",
    ).build(story, onFirstPage=footer, onLaterPages=footer)
    return out.getvalue()
