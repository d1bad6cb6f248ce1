"""A `SheetLayout` (a whole summary tab) as sheet XML, or in an openpyxl worksheet.

`write_layout` writes the tab straight into a workbook package: the sheet part, its
formats (added to styles.xml once), its drawing and charts. The part is produced the
same way each run, so a summary whose values did not change leaves its bytes alone and
a changed one differs only in the cells that moved. `render_layout` draws the same
layout into an openpyxl worksheet (images for the docs). Charts are bar charts whose
series point at the layout's own cells.
"""

from __future__ import annotations

import copy
import datetime as dt
import math
import numbers
import re
from typing import Any

import numpy as np
from lxml import etree
from openpyxl.chart import BarChart, Reference
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.page import PageMargins
from openpyxl.worksheet.pagebreak import Break
from openpyxl.worksheet.worksheet import Worksheet

from ..a1 import col_letter
from ..changes import ChartSpec, SheetLayout
from .xlsx_patch import (
    MAIN,
    PKG_RELS,
    R_NS,
    Package,
    Styles,
    _serial,
    _xml_safe,
    col_index,
    dump,
    num_text,
    parse,
    q,
)

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


def _cell_formats(layout: SheetLayout) -> dict[tuple[int, int], dict[str, Any]]:
    """(row, col) → format parts, as `render_layout` sets them, for every styled cell."""
    out: dict[tuple[int, int], dict[str, Any]] = {}
    for r, row in enumerate(layout.cells, start=1):
        for c, v in enumerate(row, start=1):
            if isinstance(v, dt.datetime):
                out[(r, c)] = {"numfmt": DATETIME_FORMAT}
            elif isinstance(v, dt.date):
                out[(r, c)] = {"numfmt": NUMBER_FORMATS["date"]}
    for r, c, style in layout.styles:
        f = out.setdefault((r, c), {})
        if style in NUMBER_FORMATS:
            f["numfmt"] = NUMBER_FORMATS[style]
            if style == "date":
                f["align"] = {"horizontal": "center"}
        elif style in ("title", "subtitle", "bold", "note"):
            f["font"] = style
        elif style == "header":
            below = layout.cells[r][c - 1] if r < len(layout.cells) and c <= len(layout.cells[r]) else None
            numeric = isinstance(below, (int, float)) and not isinstance(below, bool)
            f.update(font="bold", fill="header", border="header",
                     align={"wrapText": "1", "vertical": "center", "horizontal": "right" if numeric else "left"})
    for r1, c1, _, _ in layout.merges:
        out.setdefault((r1, c1), {})["align"] = {"horizontal": "left"}
    return out


_FONTS = {  # name → (bold, italic, size, colour)
    "title": (True, False, 15, "1F3864"), "subtitle": (True, False, 12, "1F3864"),
    "bold": (True, False, 11, None), "note": (False, True, 11, "595959"),
}


def _font(name: str) -> etree._Element:
    bold, italic, size, colour = _FONTS[name]
    el = etree.Element(q("font"))
    if bold:
        etree.SubElement(el, q("b"))
    if italic:
        etree.SubElement(el, q("i"))
    etree.SubElement(el, q("sz"), val=str(size))
    if colour:
        etree.SubElement(el, q("color"), rgb="FF" + colour)
    etree.SubElement(el, q("name"), val=_FONT)
    return el


def _header_fill() -> etree._Element:
    fill = etree.Element(q("fill"))
    pf = etree.SubElement(fill, q("patternFill"), patternType="solid")
    etree.SubElement(pf, q("fgColor"), rgb="FFDCE6F1")
    etree.SubElement(pf, q("bgColor"), rgb="FFDCE6F1")
    return fill


def _header_border() -> etree._Element:
    b = etree.Element(q("border"))
    for side in ("left", "right", "top"):
        etree.SubElement(b, q(side))
    bottom = etree.SubElement(b, q("bottom"), style="thin")
    etree.SubElement(bottom, q("color"), rgb="FF8EA9DB")
    etree.SubElement(b, q("diagonal"))
    return b


def _style_ids(layout: SheetLayout, styles: Styles) -> dict[tuple[int, int], int]:
    cache: dict[str, int] = {}
    out = {}
    for rc, f in _cell_formats(layout).items():
        key = repr(sorted(f.items()))
        if key not in cache:
            cache[key] = styles.xf(0, numfmt=f.get("numfmt"), font=_font(f["font"]) if "font" in f else None,
                                   fill=_header_fill() if "fill" in f else None,
                                   border=_header_border() if "border" in f else None, align=f.get("align"))
        out[rc] = cache[key]
    return out


_C, _V, _IS, _T = q("c"), q("v"), q("is"), q("t")
_SPACE = "{http://www.w3.org/XML/1998/namespace}space"


def _value_cell(row: etree._Element, ref: str, v: Any, s: int) -> None:
    c = etree.SubElement(row, _C, {"r": ref, "s": str(s)} if s else {"r": ref})
    kind = type(v)
    if kind is str:  # names and companies come from people: text, never a formula
        if not v:
            return
        c.set("t", "inlineStr")
        t = etree.SubElement(etree.SubElement(c, _IS), _T)
        t.text = _xml_safe(v)
        if v[0].isspace() or v[-1].isspace() or "\n" in v:
            t.set(_SPACE, "preserve")
    elif v is None:
        return
    elif kind is bool or kind is np.bool_:
        c.set("t", "b")
        etree.SubElement(c, _V).text = str(int(v))
    elif kind is int or (kind is float and v == v) or (isinstance(v, numbers.Real) and v == v):
        etree.SubElement(c, _V).text = num_text(v)
    elif isinstance(v, dt.date):
        etree.SubElement(c, _V).text = num_text(_serial(v))
    elif kind is not float:
        _value_cell_text(c, str(v))


def _value_cell_text(c: etree._Element, text: str) -> None:
    if not text:
        return
    c.set("t", "inlineStr")
    t = etree.SubElement(etree.SubElement(c, _IS), _T)
    t.text = _xml_safe(text)
    if text != text.strip() or "\n" in text:
        t.set(_SPACE, "preserve")


def layout_xml(layout: SheetLayout, styles: Styles, with_drawing: bool) -> bytes:
    """The whole sheet part for `layout`."""
    ws = etree.Element(q("worksheet"), nsmap={None: MAIN, "r": R_NS})
    etree.SubElement(etree.SubElement(ws, q("sheetPr")), q("pageSetUpPr"), fitToPage="1")
    ncols = max((len(r) for r in layout.cells), default=1) or 1
    etree.SubElement(ws, q("dimension"), ref=f"A1:{col_letter(ncols)}{max(len(layout.cells), 1)}")
    view = etree.SubElement(etree.SubElement(ws, q("sheetViews")), q("sheetView"), workbookViewId="0")
    if layout.freeze_rows:
        n = layout.freeze_rows
        etree.SubElement(view, q("pane"), ySplit=str(n), topLeftCell=f"A{n + 1}", activePane="bottomLeft",
                         state="frozen")
        etree.SubElement(view, q("selection"), pane="bottomLeft")
    etree.SubElement(ws, q("sheetFormatPr"), defaultRowHeight="15")
    if layout.col_widths:
        cols = etree.SubElement(ws, q("cols"))
        for i, w in enumerate(layout.col_widths, start=1):
            etree.SubElement(cols, q("col"), min=str(i), max=str(i), width=repr(float(w)), customWidth="1")
    data = etree.SubElement(ws, q("sheetData"))
    style = _style_ids(layout, styles)
    heights = _row_heights(layout)
    styled: dict[int, set[int]] = {}
    for r, c in style:
        styled.setdefault(r, set()).add(c)
    for r, cells in enumerate(layout.cells, start=1):
        filled = {c for c, v in enumerate(cells, start=1) if v is not None and v != ""}
        cols_here = sorted(filled | styled.get(r, set()))
        if not cols_here and r not in heights:
            continue
        row = etree.SubElement(data, q("row"), r=str(r))
        if r in heights:
            row.set("ht", repr(float(heights[r])))
            row.set("customHeight", "1")
        for c in cols_here:
            v = cells[c - 1] if c <= len(cells) else None
            _value_cell(row, f"{col_letter(c)}{r}", v, style.get((r, c), 0))
    _layout_tail(ws, layout, heights, with_drawing)
    return dump(ws)


def _layout_tail(ws: etree._Element, layout: SheetLayout, heights: dict[int, float], with_drawing: bool) -> None:
    if layout.merges:
        merges = etree.SubElement(ws, q("mergeCells"), count=str(len(layout.merges)))
        for r1, c1, r2, c2 in layout.merges:
            etree.SubElement(merges, q("mergeCell"), ref=f"{col_letter(c1)}{r1}:{col_letter(c2)}{r2}")
    etree.SubElement(ws, q("printOptions"), gridLines="0")
    etree.SubElement(ws, q("pageMargins"), left="0.4", right="0.4", top="0.5", bottom="0.5", header="0.2",
                     footer="0.2")
    etree.SubElement(ws, q("pageSetup"), paperSize="9", orientation="landscape", fitToWidth="1",
                     fitToHeight="0")
    breaks = _page_breaks(layout, heights)
    if breaks:
        rb = etree.SubElement(ws, q("rowBreaks"), count=str(len(breaks)), manualBreakCount=str(len(breaks)))
        for r in breaks:
            etree.SubElement(rb, q("brk"), id=str(r), max="16383", man="1")
    if with_drawing:
        etree.SubElement(ws, q("drawing")).set(f"{{{R_NS}}}id", "rId1")


class _Tab:
    """What openpyxl's chart references need of a worksheet: its title."""

    def __init__(self, title: str):
        self.title = title


def chart_parts(layout: SheetLayout, drawing_no: int, chart_nos: list[int]) -> dict[str, bytes]:
    """Drawing, its relationships and one part per chart, under the given numbers."""
    from openpyxl.drawing.spreadsheet_drawing import SpreadsheetDrawing
    from openpyxl.xml.functions import tostring

    drawing = SpreadsheetDrawing()
    drawing._id = drawing_no
    out = {}
    for spec, n in zip(layout.charts, chart_nos):
        chart = _chart(_Tab(layout.tab), spec)
        r, c = spec.anchor
        chart.anchor = f"{get_column_letter(c)}{r}"
        chart._id = n
        drawing.charts.append(chart)
        out[chart.path.lstrip("/")] = tostring(chart._write())
    name = drawing.path.lstrip("/")
    out[name] = tostring(drawing._write())
    out[f"xl/drawings/_rels/drawing{drawing_no}.xml.rels"] = tostring(drawing._write_rels())
    return out


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


CHART_CT = "application/vnd.openxmlformats-officedocument.drawingml.chart+xml"
DRAWING_CT = "application/vnd.openxmlformats-officedocument.drawing+xml"
_NUM = re.compile(r"(\d+)\.xml$")


def write_layout(pkg: Package, styles: Styles, layout: SheetLayout, index: int | None = None) -> int:
    """Put `layout` in the package as tab `layout.tab`; returns the cells whose value or
    format changed (every cell for a new tab). Parts that come out the same keep their
    bytes."""
    part = pkg.sheet_paths().get(layout.tab)
    drawing, charts = _old_drawing(pkg, part) if part else (None, [])
    xml = layout_xml(layout, styles, bool(layout.charts))
    if part is None:
        part = pkg.add_sheet(layout.tab, xml, index)
        written = sum(1 for row in layout.cells for v in row if v is not None and v != "")
    else:
        old = pkg.read(part)
        xml = keep_formulas(old, xml)
        written = changed_cells(old, xml)
        if old != xml:
            pkg.put(part, xml)
    reuse = drawing is not None and len(charts) == len(layout.charts) and all(_NUM.search(c) for c in charts)
    if not reuse:
        for name in ([drawing] if drawing else []) + charts:
            _drop_with_rels(pkg, name)
    if not layout.charts:
        _set_sheet_rels(pkg, part, None)
        return written
    d_no = int(_NUM.search(drawing).group(1)) if reuse else _free_number(pkg, "xl/drawings/drawing{}.xml", 1)[0]
    c_nos = [int(_NUM.search(c).group(1)) for c in charts] if reuse else _free_number(
        pkg, "xl/charts/chart{}.xml", len(layout.charts))
    for name, data in chart_parts(layout, d_no, c_nos).items():
        if not pkg.has(name) or pkg.read(name) != data:
            kind = CHART_CT if name.startswith("xl/charts/") else DRAWING_CT if "_rels" not in name else None
            pkg.put(name, data, kind)
    _set_sheet_rels(pkg, part, f"../drawings/drawing{d_no}.xml")
    return written


def keep_formulas(old: bytes, new: bytes) -> bytes:
    """`new` with every formula cell of `old` put back as it was: a formula a person put in a
    summary tab is theirs, even there."""
    if b"<f" not in old and b":f" not in old:
        return new
    kept = {c.get("r"): c for c in parse(old).iter(q("c")) if c.find(q("f")) is not None}
    if not kept:
        return new
    root = parse(new)
    data = root.find(q("sheetData"))
    rows = {r.get("r"): r for r in data.findall(q("row"))}
    for ref, cell in kept.items():
        m = re.match(r"([A-Z]+)(\d+)$", ref or "")
        if not m:
            continue
        row = rows.get(m.group(2))
        if row is None:
            row = rows[m.group(2)] = etree.SubElement(data, q("row"), r=m.group(2))
            data[:] = sorted(data, key=lambda r: int(r.get("r")))
        by_col = {col_index(re.match(r"[A-Z]+", c.get("r")).group(0)): c for c in row.findall(q("c"))}
        col = col_index(m.group(1))
        if col in by_col:
            by_col[col].getparent().replace(by_col[col], copy.deepcopy(cell))
        else:
            after = [k for k in by_col if k > col]
            (by_col[min(after)].addprevious if after else row.append)(copy.deepcopy(cell))
    return dump(root)


def _old_drawing(pkg: Package, part: str) -> tuple[str | None, list[str]]:
    for _, kind, name in pkg.targets(part):
        if kind.endswith("/drawing") and pkg.has(name):
            return name, [n for _, k, n in pkg.targets(name) if k.endswith("/chart")]
    return None, []


def _drop_with_rels(pkg: Package, name: str) -> None:
    """Drop a drawing or chart part and what only it uses (its rels, a chart's style and
    colour parts)."""
    rels, _ = pkg.rels_of(name)
    if not name.startswith("xl/drawings/"):
        for _, _, target in pkg.targets(name):
            if pkg.has(target):
                pkg.drop(target)
    if pkg.has(rels):
        pkg.drop(rels)
    if pkg.has(name):
        pkg.drop(name)


def _free_number(pkg: Package, pattern: str, k: int) -> list[int]:
    out, n = [], 1
    while len(out) < k:
        if not pkg.has(pattern.format(n)) and pattern.format(n) not in pkg.names:
            out.append(n)
        n += 1
    return out


def _set_sheet_rels(pkg: Package, part: str, drawing: str | None) -> None:
    path, rels = pkg.rels_of(part)
    for el in list(rels):
        if el.get("Type", "").endswith("/drawing"):
            rels.remove(el)
    if drawing is not None:
        etree.SubElement(rels, f"{{{PKG_RELS}}}Relationship", Id="rId1", Type=R_NS + "/drawing", Target=drawing)
    data = dump(rels)
    if len(rels) == 0:
        if pkg.has(path):
            pkg.drop(path)
    elif not pkg.has(path) or pkg.read(path) != data:
        pkg.put(path, data, None)


def changed_cells(old: bytes, new: bytes) -> int:
    """Cells whose value differs between two versions of a sheet part. A cell whose
    format alone differs is rewritten with its row but not counted: after a person's
    program renumbers the styles table, every format index moves without any change."""
    if old == new:
        return 0
    a, b = _values(old), _values(new)
    return sum(1 for k in a.keys() | b.keys() if a.get(k, ("n", "")) != b.get(k, ("n", "")))


def _values(xml: bytes) -> dict[str, tuple[str, str]]:
    out = {}
    for c in parse(xml).iter(_C):
        v = c.find(_V)
        out[c.get("r", "")] = (c.get("t") or "n", v.text or "" if v is not None else "".join(c.itertext()))
    return out
