"""Render a `SheetLayout` (a whole summary tab) into an openpyxl worksheet.

The sheet is cleared first (values, styles, merges, charts), so rendering the same
layout again leaves exactly one copy of each chart. Charts are real openpyxl bar charts
whose series point at the layout's own cells.
"""

from __future__ import annotations

import datetime as dt
import math

from openpyxl.chart import BarChart, Reference
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.page import PageMargins
from openpyxl.worksheet.pagebreak import Break
from openpyxl.worksheet.worksheet import Worksheet

from ..changes import ChartSpec, SheetLayout

NUMBER_FORMATS = {
    "percent": "0.0%",
    "date": "dd/mm/yyyy",
    "integer": "#,##0",
    "decimal": "0.0",
}
DATETIME_FORMAT = "dd/mm/yyyy hh:mm"
_HEADER_FILL = PatternFill("solid", start_color="DCE6F1", end_color="DCE6F1")
_HEADER_BORDER = Border(bottom=Side(style="thin", color="8EA9DB"))
_FONT = "Calibri"  # the workbook default; naming it keeps LibreOffice from a serif fallback
_TITLE_FONT = Font(name=_FONT, bold=True, size=15, color="1F3864")
_SUBTITLE_FONT = Font(name=_FONT, bold=True, size=12, color="1F3864")
_NOTE_FONT = Font(name=_FONT, italic=True, color="595959")
_BOLD = Font(name=_FONT, bold=True)
_ROW_PT = 15.0  # default row height, points
_PX_PER_PT = 96 / 72
_PX_PER_CM = 96 / 2.54
_SERIES_COLOURS = (
    "4472C4", "70AD47", "FFC000", "ED7D31", "5B9BD5", "A5A5A5", "264478", "9E480E", "636363", "997300", "43682B",
)


def _clear(ws: Worksheet) -> None:
    for rng in list(ws.merged_cells.ranges):
        ws.unmerge_cells(str(rng))
    if ws.max_row:
        ws.delete_rows(1, ws.max_row)
    ws._charts = []  # openpyxl keeps charts in this list; there is no public remover
    ws.freeze_panes = None
    ws.row_breaks.brk = []
    for dim in list(ws.row_dimensions):
        del ws.row_dimensions[dim]


def _chart(ws: Worksheet, spec: ChartSpec) -> BarChart:
    chart = BarChart()
    chart.type = "bar" if spec.kind == "bar" else "col"
    chart.title = spec.title
    chart.style = 10
    chart.width = spec.width / _PX_PER_CM
    chart.height = spec.height / _PX_PER_CM
    for r1, c1, r2, c2 in spec.series:
        chart.add_data(Reference(ws, min_col=c1, min_row=r1, max_col=c2, max_row=r2), titles_from_data=True)
    r1, c1, r2, c2 = spec.categories
    chart.set_categories(Reference(ws, min_col=c1, min_row=r1, max_col=c2, max_row=r2))
    for i, s in enumerate(chart.series):
        colour = _SERIES_COLOURS[i % len(_SERIES_COLOURS)]
        s.graphicalProperties.solidFill = colour
        s.graphicalProperties.line.solidFill = colour
    if spec.kind == "stacked_column":
        chart.grouping = "stacked"
        chart.overlap = 100
        chart.legend.position = "r"
    else:
        chart.legend = None  # one series: its name is the title
        chart.gapWidth = 60
    if spec.kind == "bar":
        # horizontal bars read top-down in the table's order
        chart.x_axis.scaling.orientation = "maxMin"
        chart.y_axis.crosses = "max"  # keep the value axis at the bottom
    # openpyxl 3.1 hides axes unless told otherwise
    chart.x_axis.delete = False
    chart.y_axis.delete = False
    chart.y_axis.majorGridlines = None
    chart.y_axis.numFmt = "0"
    return chart


def render_layout(ws: Worksheet, layout: SheetLayout) -> None:
    """Replace everything on `ws` with `layout`: values, formats, widths, panes, charts."""
    _clear(ws)
    for r, row in enumerate(layout.cells, start=1):
        for c, v in enumerate(row, start=1):
            if v is None or v == "":
                continue
            cell = ws.cell(row=r, column=c, value=v)
            if isinstance(v, str):
                cell.data_type = "s"  # names and companies come from people: never a formula
            elif isinstance(v, dt.datetime):
                cell.number_format = DATETIME_FORMAT
            elif isinstance(v, dt.date):
                cell.number_format = NUMBER_FORMATS["date"]
    for r, c, style in layout.styles:
        cell = ws.cell(row=r, column=c)
        if style in NUMBER_FORMATS:
            cell.number_format = NUMBER_FORMATS[style]
            if style == "date":  # centred: clear of a left-aligned neighbour
                cell.alignment = Alignment(horizontal="center")
        elif style == "title":
            cell.font = _TITLE_FONT
        elif style == "subtitle":
            cell.font = _SUBTITLE_FONT
        elif style == "header":
            cell.font = _BOLD
            cell.fill = _HEADER_FILL
            cell.border = _HEADER_BORDER
            below = layout.cells[r][c - 1] if r < len(layout.cells) and c <= len(layout.cells[r]) else None
            numeric = isinstance(below, (int, float)) and not isinstance(below, bool)
            # a header sits over its numbers: right-aligned like them
            cell.alignment = Alignment(wrap_text=True, vertical="center", horizontal="right" if numeric else "left")
        elif style == "bold":
            cell.font = _BOLD
        elif style == "note":
            cell.font = _NOTE_FONT
    for i, w in enumerate(layout.col_widths, start=1):
        ws.column_dimensions[get_column_letter(i)].width = w
    for r1, c1, r2, c2 in layout.merges:
        ws.merge_cells(start_row=r1, start_column=c1, end_row=r2, end_column=c2)
        ws.cell(row=r1, column=c1).alignment = Alignment(horizontal="left")
    heights = _row_heights(layout)
    for r, h in heights.items():
        ws.row_dimensions[r].height = h
    if layout.freeze_rows:
        ws.freeze_panes = f"A{layout.freeze_rows + 1}"
    for spec in layout.charts:
        r, c = spec.anchor
        ws.add_chart(_chart(ws, spec), f"{get_column_letter(c)}{r}")
    # one page wide, as many tall as needed, landscape: what a manager prints
    ws.page_setup.orientation = "landscape"
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.page_margins = PageMargins(left=0.4, right=0.4, top=0.5, bottom=0.5, header=0.2, footer=0.2)
    ws.print_options.gridLines = False
    for r in _page_breaks(layout, heights):
        ws.row_breaks.append(Break(id=r))


def _col_px(width_chars: float) -> float:
    return width_chars * 8 + 5  # LibreOffice renders Calibri (Carlito) a little wider than 7 px


def _row_heights(layout: SheetLayout) -> dict[int, float]:
    """Header rows tall enough for their wrapped text (openpyxl cannot auto-fit)."""
    widths = layout.col_widths
    out: dict[int, float] = {}
    for r, c, style in layout.styles:
        if style != "header":
            continue
        text = layout.cells[r - 1][c - 1] if c <= len(layout.cells[r - 1]) else None
        if not text:
            continue
        w = widths[c - 1] if c <= len(widths) else 8.43
        lines = math.ceil(len(str(text)) / max(w - 1, 1))
        out[r] = max(out.get(r, _ROW_PT), min(lines, 4) * _ROW_PT)
    for r, _, style in layout.styles:
        if style == "title":
            out[r] = max(out.get(r, 0), 21.0)
        elif style == "subtitle":
            out[r] = max(out.get(r, 0), 17.0)
    return out


def _page_breaks(layout: SheetLayout, heights: dict[int, float]) -> list[int]:
    """Rows after which to break pages so that a block (a titled table, with any chart
    beside or under it) is not cut in two when it fits on one page.

    Mirrors fit-to-width scaling on A4 landscape with the margins set above; a block
    longer than a page is left to break where it must."""
    widths = list(layout.col_widths)
    ncols = max((len(r) for r in layout.cells), default=0)
    widths += [8.43] * (ncols - len(widths))
    right = sum(_col_px(w) for w in widths[:ncols])
    for ch in layout.charts:
        left = sum(_col_px(w) for w in widths[: ch.anchor[1] - 1])
        right = max(right, left + ch.width)
    page_w = (11.69 - 0.8) * 96
    page_h = (8.27 - 1.0 - 0.4) * 96 * 0.95
    scale = min(1.0, page_w / right) if right else 1.0
    nrows = len(layout.cells)
    # an unset row is 0.45 cm (17 px) tall in LibreOffice and Excel at 100 %
    row_px = [(heights[r] * _PX_PER_PT if r in heights else 17.0) * scale for r in range(1, nrows + 1)]
    chart_end: dict[int, int] = {}
    for ch in layout.charts:
        rows = math.ceil(ch.height / 17.0)
        chart_end[ch.anchor[0]] = max(chart_end.get(ch.anchor[0], 0), ch.anchor[0] + rows)
    starts = sorted({r for r, _, s in layout.styles if s == "subtitle"})
    # a block starting inside a chart's rows belongs to the block that owns the chart
    covered: set[int] = set()
    for top, end in chart_end.items():
        covered.update(range(top + 1, end))
    starts = [r for r in starts if r not in covered]
    blocks: list[tuple[int, int]] = []
    for i, r in enumerate(starts):
        end = (starts[i + 1] - 1) if i + 1 < len(starts) else nrows
        for top, cend in chart_end.items():
            if r <= top <= end:
                end = max(end, min(cend, nrows))
        blocks.append((r, end))
    breaks: list[int] = []
    used = sum(row_px[: (starts[0] - 1) if starts else 0])
    for r, end in blocks:
        size = sum(row_px[r - 1 : end])
        if used + size > page_h and used > 0 and size <= page_h:
            breaks.append(r - 2)  # the blank row above goes too: no sliver of the block above
            used = 0
        used += size
        while used > page_h:  # a block longer than a page
            used -= page_h
    return breaks
