"""A SheetLayout written into a workbook package (what a sync does) or rendered with
openpyxl: the reopened workbook has the values, formats, panes and charts, each chart's
references point at the layout's cells, and writing again changes only what moved."""

from __future__ import annotations

import datetime as dt
import html
import re
import zipfile

import pytest
from helpers_xlsx import write_workbook
from openpyxl import Workbook, load_workbook
from openpyxl.utils import get_column_letter
from test_agenda import ROWS, make_leads
from test_summary import NOW, QUALITY, SCHEMAS, TODAY, find, frames

from sheetcrm.backends.xlsx import XlsxBackend
from sheetcrm.backends.xlsx_layout import render_layout
from sheetcrm.changes import ChangeSet, ChartSpec, SheetLayout
from sheetcrm.sync.agenda import build_agenda
from sheetcrm.sync.summary import build_overview, labels, layout_matches

L = labels("vi")


def _ref(tab: str, r1: int, c1: int, r2: int, c2: int) -> str:
    a = f"${get_column_letter(c1)}${r1}"
    b = f"${get_column_letter(c2)}${r2}"
    return f"'{tab}'!{a}" if (r1, c1) == (r2, c2) else f"'{tab}'!{a}:{b}"


def _package(path, *layouts):
    """Write each layout in turn into the workbook at `path` as a sync does."""
    return [XlsxBackend(path).apply(ChangeSet(replacements=[lay])) for lay in layouts]


@pytest.fixture(scope="module", params=["package", "openpyxl"])
def saved(tmp_path_factory, request):
    layout = build_overview(*frames(), QUALITY, SCHEMAS, TODAY, NOW)
    agenda = build_agenda(make_leads(ROWS), SCHEMAS, TODAY)
    path = tmp_path_factory.mktemp("xlsx") / "overview.xlsx"
    if request.param == "package":
        write_workbook(path, {"Khách hàng": [["Tên khách hàng"], ["An"]]})
        _package(path, layout, layout, agenda)  # a second sync rewrites; charts must not pile up
        return layout, agenda, path
    wb = Workbook()
    ws = wb.active
    ws.title = layout.tab
    render_layout(ws, layout)
    render_layout(ws, layout)
    render_layout(wb.create_sheet(agenda.tab), agenda)
    wb.save(path)
    return layout, agenda, path


def test_charts_exist_once_and_point_at_the_blocks(saved):
    layout, _, path = saved
    ws = load_workbook(path)[layout.tab]
    assert len(ws._charts) == len(layout.charts) == 3
    by_title = {}
    for ch in ws._charts:
        title = "".join(r.t for p in ch.title.tx.rich.p for r in (p.r or []))
        by_title[title] = ch
    for spec in layout.charts:
        ch = by_title[spec.title]
        assert [s.val.numRef.f for s in ch.series] == [_ref(layout.tab, r1 + 1, c1, r2, c2) for r1, c1, r2, c2 in spec.series]
        assert [s.tx.strRef.f.replace("$", "") for s in ch.series] == [
            _ref(layout.tab, r1, c1, r1, c1).replace("$", "") for r1, c1, _, _ in spec.series
        ]
        cat = ch.series[0].cat
        f = (cat.strRef or cat.numRef).f
        assert f == _ref(layout.tab, *spec.categories)
        assert (ch.anchor._from.row + 1, ch.anchor._from.col + 1) == spec.anchor
    funnel = by_title[L["funnel_chart"]]
    assert funnel.type == "bar"
    owners = by_title[L["owner_chart"]]
    assert owners.type == "col" and owners.grouping == "stacked" and owners.overlap == 100
    # the funnel's categories are the stage names in the sheet
    r1, c1, r2, _ = next(s for s in layout.charts if s.key == "funnel").categories
    assert [ws.cell(r, c1).value for r in range(r1, r2 + 1)] == ["Mới", "Đã tìm hiểu", "Tiềm năng", "Nóng", "Chốt"]


def test_chart_xml_in_the_file(saved):
    layout, _, path = saved
    with zipfile.ZipFile(path) as z:
        charts = [n for n in z.namelist() if re.match(r"xl/charts/chart\d+\.xml", n)]
        xml = "".join(z.read(n).decode() for n in charts)
    assert len(charts) == 3
    xml = html.unescape(xml)  # openpyxl writes the chart namespace as the default: <f>, not <c:f>
    for spec in layout.charts:
        for r1, c1, r2, c2 in spec.series:
            assert f"<f>{_ref(layout.tab, r1 + 1, c1, r2, c2)}</f>" in xml
        assert f"<f>{_ref(layout.tab, *spec.categories)}</f>" in xml


def test_values_formats_and_panes(saved):
    layout, agenda, path = saved
    wb = load_workbook(path)
    ws = wb[layout.tab]
    assert ws.freeze_panes == f"A{layout.freeze_rows + 1}"
    assert ws["A1"].value == L["overview_title"] and ws["A1"].font.b
    assert ws["B3"].value == dt.datetime(2025, 6, 18) and ws["B3"].number_format == "dd/mm/yyyy"
    r, c = find(layout, L["kpi_win_rate"])
    assert ws.cell(r, c + 1).number_format == "0.0%"
    assert ws.cell(r, c + 1).value == pytest.approx(0.5)
    r, c = find(layout, L["kpi_cycle_avg"])
    assert ws.cell(r, c + 1).number_format == "0.0"
    r, c = find(layout, L["funnel_stage"])
    assert ws.cell(r, c).font.b and ws.cell(r, c).fill.start_color.rgb.endswith("DCE6F1")
    for i, w in enumerate(layout.col_widths, start=1):
        assert ws.column_dimensions[get_column_letter(i)].width == pytest.approx(w)
    assert ws.page_setup.orientation == "landscape" and ws.page_setup.fitToWidth == 1
    # the agenda's dates are real dates with a date format
    wa = wb[agenda.tab]
    row = next(r for r in wa.iter_rows() if r[1].value == "KH-1")
    assert row[0].value == dt.datetime(2025, 5, 1) and row[0].number_format == "dd/mm/yyyy"


def test_what_xlsx_reads_back_matches_the_layout(saved):
    layout, agenda, path = saved
    wb = load_workbook(path)
    for lay in (layout, agenda):
        grid = [list(r) for r in wb[lay.tab].iter_rows(values_only=True)]
        assert layout_matches(grid, lay)


def test_rerender_replaces_everything():
    wb = Workbook()
    ws = wb.active
    big = SheetLayout(
        tab="T",
        cells=(("a", 1), ("b", 2), ("c", 3)),
        charts=(ChartSpec("k", "column", "t", (1, 1, 3, 1), ((1, 2, 3, 2),), (1, 4)),),
        merges=((1, 1, 1, 2),),
    )
    small = SheetLayout(tab="T", cells=(("x",),))
    render_layout(ws, big)
    render_layout(ws, small)
    assert [list(r) for r in ws.iter_rows(values_only=True)] == [["x"]]
    assert ws._charts == [] and not ws.merged_cells.ranges


def _members(path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as z:
        return {n: z.read(n) for n in z.namelist()}


def test_package_rewrite_changes_only_what_moved(tmp_path):
    layout = build_overview(*frames(), QUALITY, SCHEMAS, TODAY, NOW)
    path = write_workbook(tmp_path / "w.xlsx", {"Khách hàng": [["Tên khách hàng"], ["An"]]})
    first, again = _package(path, layout, layout)
    assert first.cells_written == sum(v not in (None, "") for row in layout.cells for v in row)
    assert not again.wrote and again.cells_written == 0  # same layout: the file is left alone
    before = _members(path)
    r, c = find(layout, L["kpi_win_rate"])
    cells = [list(row) for row in layout.cells]
    cells[r - 1][c] = 0.75
    moved = SheetLayout(**{**layout.__dict__, "cells": tuple(map(tuple, cells))})
    (third,) = _package(path, moved)
    assert third.cells_written == 1
    after = _members(path)
    assert {n for n in after if after[n] != before.get(n)} == {"xl/worksheets/sheet2.xml"}
    assert load_workbook(path)[layout.tab].cell(r, c + 1).value == pytest.approx(0.75)


def test_package_rewrite_drops_charts_and_merges_no_longer_wanted(tmp_path):
    big = SheetLayout(
        tab="T",
        cells=(("a", 1), ("b", 2), ("c", 3)),
        charts=(ChartSpec("k", "column", "t", (1, 1, 3, 1), ((1, 2, 3, 2),), (1, 4)),),
        merges=((1, 1, 1, 2),),
    )
    path = write_workbook(tmp_path / "w.xlsx", {"Khách hàng": [["Tên khách hàng"], ["An"]]})
    _package(path, big)
    assert any(n.startswith("xl/charts/") for n in _members(path))
    _package(path, SheetLayout(tab="T", cells=(("x",),)))
    ws = load_workbook(path)["T"]
    assert [list(r) for r in ws.iter_rows(values_only=True)] == [["x"]]
    assert ws._charts == [] and not ws.merged_cells.ranges
    assert not any(n.startswith(("xl/charts/", "xl/drawings/")) for n in _members(path))


def test_a_persons_formula_in_a_summary_tab_survives_its_rewrite(tmp_path):
    from lxml import etree

    from sheetcrm.backends.xlsx_patch import Package, q

    layout = SheetLayout(tab="T", cells=(("a", 1), ("b", 2)))
    path = write_workbook(tmp_path / "w.xlsx", {"Khách hàng": [["Tên khách hàng"], ["An"]]})
    _package(path, layout)
    members = _members(path)
    with zipfile.ZipFile(path) as z:
        part = Package(z).sheet_paths()["T"]
    root = etree.fromstring(members[part])
    row = root.find(f"{q('sheetData')}/{q('row')}")
    cell = etree.SubElement(row, q("c"), r="D1")
    etree.SubElement(cell, q("f")).text = "SUM(B1:B2)"
    etree.SubElement(cell, q("v")).text = "3"
    members[part] = etree.tostring(root)
    with zipfile.ZipFile(path, "w") as z:
        for name, data in members.items():
            z.writestr(name, data)
    (r,) = _package(path, SheetLayout(tab="T", cells=(("a", 5), ("b", 2), ("c", 3, None, "x"))))
    assert r.cells_written == 4  # B1, A3, B3 and D3; D1 is the person's
    ws = load_workbook(path)["T"]
    assert ws["D1"].value == "=SUM(B1:B2)" and ws["B1"].value == 5 and ws["D3"].value == "x"
