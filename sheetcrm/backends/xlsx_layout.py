"""Render a `SheetLayout` (a whole summary tab) into an openpyxl worksheet.

The sheet is cleared first (values, styles, merges, charts), so rendering the same
layout again leaves exactly one copy of each chart. Charts are real openpyxl bar charts
whose series point at the layout's own cells.
"""

from __future__ import annotations

import datetime as dt

from openpyxl.chart import BarChart, Reference
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter
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
_TITLE_FONT = Font(bold=True, size=15, color="1F3864")
_SUBTITLE_FONT = Font(bold=True, size=12, color="1F3864")
_NOTE_FONT = Font(italic=True, color="595959")
_BOLD = Font(bold=True)
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
            if isinstance(v, dt.datetime):
                cell.number_format = DATETIME_FORMAT
            elif isinstance(v, dt.date):
                cell.number_format = NUMBER_FORMATS["date"]
    for r, c, style in layout.styles:
        cell = ws.cell(row=r, column=c)
        if style in NUMBER_FORMATS:
            cell.number_format = NUMBER_FORMATS[style]
        elif style == "title":
            cell.font = _TITLE_FONT
        elif style == "subtitle":
            cell.font = _SUBTITLE_FONT
        elif style == "header":
            cell.font = _BOLD
            cell.fill = _HEADER_FILL
            cell.border = _HEADER_BORDER
            cell.alignment = Alignment(wrap_text=True, vertical="center")
        elif style == "bold":
            cell.font = _BOLD
        elif style == "note":
            cell.font = _NOTE_FONT
    for i, w in enumerate(layout.col_widths, start=1):
        ws.column_dimensions[get_column_letter(i)].width = w
    for r1, c1, r2, c2 in layout.merges:
        ws.merge_cells(start_row=r1, start_column=c1, end_row=r2, end_column=c2)
        ws.cell(row=r1, column=c1).alignment = Alignment(horizontal="left")
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
    ws.print_options.gridLines = False
    ws.sheet_view.showGridLines = True
