"""A workbook with what office programs put in a file goes through a changed sync and a
second one: parts the sync does not own keep their bytes, the leads part differs only in
owned cells, formulas keep their formulas and cached values."""

from __future__ import annotations

import re
import zipfile

import pytest
from helpers_xlsx import (
    F_EMAIL,
    F_OWNER,
    F_STATUS,
    F_UNCACHED,
    FEATURE_ROWS,
    LEADS,
    MAIN_NS,
    TODAY_S,
    schemas,
    write_feature_workbook,
)
from lxml import etree
from python_calamine import CalamineWorkbook

from sheetcrm import api
from sheetcrm.a1 import col_letter
from sheetcrm.backends.xlsx import XlsxBackend
from sheetcrm.changes import CellUpdate, ChangeSet

M = f"{{{MAIN_NS}}}"
LEADS_PART = "xl/worksheets/sheet1.xml"
# What a sync may edit besides the sheets of the tabs it writes.
PACKAGE_PARTS = {"xl/workbook.xml", "xl/_rels/workbook.xml.rels", "[Content_Types].xml", "xl/styles.xml"}
FORMULA_CELLS = [F_STATUS, F_OWNER, F_EMAIL, F_UNCACHED] + [(r, 14) for r in range(2, len(FEATURE_ROWS) + 2)]


def parts(path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as z:
        return {n: z.read(n) for n in z.namelist()}


def cells(xml: bytes) -> dict[str, bytes]:
    root = etree.fromstring(xml)
    return {c.get("r"): etree.tostring(c, method="c14n") for c in root.iter(M + "c")}


def skeleton(xml: bytes) -> bytes:
    """The part without its rows and its dimension (a new column widens it)."""
    xml = re.sub(rb"<sheetData>.*</sheetData>", b"", xml, flags=re.S)
    return re.sub(rb'<dimension ref="[^"]*"/>', b"", xml)


def ref(rc: tuple[int, int]) -> str:
    return f"{col_letter(rc[1])}{rc[0]}"


@pytest.fixture
def synced(tmp_path):
    path = write_feature_workbook(tmp_path / "team.xlsx")
    before = parts(path)
    first = api.sync(workbook=path, today=TODAY_S)
    return path, before, parts(path), first


def test_parts_not_owned_keep_their_bytes(synced):
    path, before, after, first = synced
    assert first.applied.wrote and first.cells_written > 0
    titles = set(first.tabs.values())
    with zipfile.ZipFile(path) as z:
        from sheetcrm.backends.xlsx_patch import Package

        tab_parts = {p for t, p in Package(z).sheet_paths().items() if t in titles}
    kept = [n for n in before if n not in PACKAGE_PARTS | tab_parts]
    assert {"xl/sharedStrings.xml", "xl/comments/comment1.xml", "xl/tables/table1.xml", "docProps/app.xml",
            "xl/pivotCache/pivotCacheDefinition1.xml", "xl/worksheets/sheet2.xml"} <= set(kept)
    for name in kept:
        assert after[name] == before[name], name
    assert b"<Company>Cty TNHH Minh" in after["docProps/app.xml"]
    with zipfile.ZipFile(path) as z, zipfile.ZipFile(path) as z2:
        assert [i.CRC for i in z.infolist() if i.filename in kept] == [
            z2.getinfo(n).CRC for n in kept]


def test_leads_part_differs_only_in_owned_cells(synced):
    _, before, after, first = synced
    assert skeleton(after[LEADS_PART]) == skeleton(before[LEADS_PART])  # extLst, validations, formats, table
    assert b"x14:sparklineGroups" in after[LEADS_PART]
    owned = {ref((u.row, u.col)) for u in first.changes.updates if u.tab == LEADS}
    owned |= {f"{col_letter(a.first_col + i)}1" for a in first.changes.add_columns for i in range(len(a.headers))}
    old, new = cells(before[LEADS_PART]), cells(after[LEADS_PART])
    changed = {r for r in old.keys() | new.keys() if old.get(r) != new.get(r)}
    assert changed and changed <= owned
    for rc in FORMULA_CELLS:
        assert new[ref(rc)] == old[ref(rc)], ref(rc)  # formula and cached value as they were


def test_formulas_are_read_as_their_cached_values_and_never_written(synced):
    path, _, _, first = synced
    grid = CalamineWorkbook.from_path(str(path)).get_sheet_by_name(LEADS).to_python()
    header = grid[0]
    status, owner = header.index("Trạng thái"), header.index("Người phụ trách")
    issues = header.index("Lỗi dữ liệu")
    assert grid[F_STATUS[0] - 1][status] == "Tiềm năng"
    assert grid[F_OWNER[0] - 1][owner] == "Lan"
    assert grid[F_EMAIL[0] - 1][issues] == ""  # the email formula's cached value is a good address
    msg = schemas().messages["vi"]["formula_uncalculated"]
    assert msg in grid[F_UNCACHED[0] - 1][issues]
    assert grid[F_UNCACHED[0] - 1][header.index("Mã KH")] == ""  # the row is left alone
    assert grid[F_UNCACHED[0] - 2][header.index("Mã KH")] != ""


def test_an_update_aimed_at_a_formula_cell_is_skipped(tmp_path):
    path = write_feature_workbook(tmp_path / "team.xlsx")
    before = parts(path)
    r, c = F_STATUS
    changes = ChangeSet(updates=[CellUpdate(LEADS, r, c, "Mới"), CellUpdate(LEADS, 2, 13, "gọi lại")])
    result = XlsxBackend(path).apply(changes)
    assert result.cells_written == 1
    assert result.skipped == [f"{LEADS}!{ref(F_STATUS)}: holds a formula"]
    old, new = cells(before[LEADS_PART]), cells(parts(path)[LEADS_PART])
    assert new[ref(F_STATUS)] == old[ref(F_STATUS)]
    assert {k for k in old if old[k] != new.get(k)} == {"M2"}
    grid = CalamineWorkbook.from_path(str(path)).get_sheet_by_name(LEADS).to_python()
    assert grid[1][12] == "gọi lại" and grid[r - 1][c - 1] == "Tiềm năng"


def test_second_sync_logs_no_history_and_leaves_the_leads_part(synced):
    path, _, after, first = synced
    wb = CalamineWorkbook.from_path(str(path))
    history = first.tabs.get("history")
    rows_before = len(wb.get_sheet_by_name(history).to_python()) if history in wb.sheet_names else 0
    second = api.sync(workbook=path, today=TODAY_S)
    again = parts(path)
    assert again[LEADS_PART] == after[LEADS_PART]
    assert second.report.transitions == 0
    wb = CalamineWorkbook.from_path(str(path))
    rows_after = len(wb.get_sheet_by_name(history).to_python()) if history in wb.sheet_names else 0
    assert rows_after == rows_before
    assert not [u for u in second.changes.updates if u.tab == LEADS]


def test_workbook_part_only_gains_the_new_tabs(synced):
    _, before, after, first = synced
    old, new = etree.fromstring(before["xl/workbook.xml"]), etree.fromstring(after["xl/workbook.xml"])
    old_sheets, new_sheets = old.find(M + "sheets"), new.find(M + "sheets")
    assert [etree.tostring(s) for s in new_sheets][:len(old_sheets)] == [etree.tostring(s) for s in old_sheets]
    added = {s.get("name") for s in new_sheets[len(old_sheets):]}
    assert added == {t.tab for t in first.changes.ensure_tabs} | {lay.tab for lay in first.changes.replacements}
    new.remove(new_sheets)
    old.remove(old_sheets)
    assert etree.tostring(new, method="c14n") == etree.tostring(old, method="c14n")  # names, pivot caches
    assert b"definedName" in after["xl/workbook.xml"] and b"pivotCache" in after["xl/workbook.xml"]


def test_a_workbook_saved_by_openpyxl_has_its_formulas_uncalculated_and_those_rows_left_alone(tmp_path):
    """openpyxl (and scripts built on it) saves a formula with an empty `<v></v>`: no result
    yet. Such a row gets its issue once and nothing derived from cells nobody could read."""
    from openpyxl import Workbook, load_workbook

    wb = Workbook()
    ws = wb.active
    ws.title = LEADS
    ws.append(["Tên khách hàng", "Số điện thoại", "Email", "Trạng thái", "Người phụ trách", "Ngày tạo"])
    ws.append(["Nguyễn Văn A", "0912345678", '=LOWER("A@X.VN")', '=IF(1>0,"Tiềm năng","Mới")', '="Lan"',
               "01/01/2026"])
    ws.append(["Trần Thị B", "0987654321", "b@x.vn", "Mới", "Lan", "02/01/2026"])
    path = tmp_path / "script.xlsx"
    wb.save(path)
    api.sync(workbook=path, today=TODAY_S)
    book = load_workbook(path)
    rows = list(book[LEADS].iter_rows(values_only=True))
    header = rows[0]
    first = dict(zip(header, rows[1]))
    assert (first["Email"], first["Trạng thái"], first["Người phụ trách"]) == (
        '=LOWER("A@X.VN")', '=IF(1>0,"Tiềm năng","Mới")', '="Lan"')
    assert first["Lỗi dữ liệu"] == schemas().messages["vi"]["formula_uncalculated"]  # once, not per cell
    assert first["Mã KH"] is None and first["Ngày liên hệ lại"] is None
    history = [r for r in book["Lịch sử"].iter_rows(min_row=2, values_only=True) if any(r)]
    assert [r[0] for r in history] == [dict(zip(header, rows[2]))["Mã KH"]]  # the readable row only


def test_an_uncalculated_row_is_logged_once_when_it_can_be_read(tmp_path):
    """A readable status beside a formula nobody computed: no history row for an id the row
    never got; once the file is recalculated the next sync logs the lead once, under its id."""
    from openpyxl import Workbook, load_workbook

    wb = Workbook()
    ws = wb.active
    ws.title = LEADS
    ws.append(["Tên khách hàng", "Số điện thoại", "Trạng thái", "Ghi chú"])
    ws.append(["Nguyễn Văn A", "0912345678", "Tiềm năng", "ok"])
    ws.append(["Lê Văn C", "0987654321", "Chưa chốt", "=1+1"])
    path = tmp_path / "notes-formula.xlsx"
    wb.save(path)
    api.sync(workbook=path, today=TODAY_S)

    def history(book):
        return [r for r in book["Lịch sử"].iter_rows(min_row=2, values_only=True) if any(r)]

    book = load_workbook(path)
    first_id = book[LEADS]["A2"].value if book[LEADS]["A1"].value == "Mã KH" else None
    logged = [r[0] for r in history(book)]
    assert len(logged) == 1 and (first_id is None or logged == [first_id])
    header = [c.value for c in book[LEADS][1]]
    book[LEADS].cell(3, header.index("Ghi chú") + 1, "đã tính")  # as after opening and saving in Excel
    book.save(path)
    api.sync(workbook=path, today=TODAY_S)
    book = load_workbook(path)
    header = [c.value for c in book[LEADS][1]]
    c_id = book[LEADS].cell(3, header.index("Mã KH") + 1).value
    assert c_id
    assert [r[0] for r in history(book)].count(c_id) == 1
    assert len(history(book)) == 2


def test_a_formula_whose_result_is_empty_text_is_read_as_empty_not_uncalculated(tmp_path):
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.title = LEADS
    ws.append(["Tên khách hàng", "Số điện thoại", "Email", "Trạng thái"])
    ws.append(["Nguyễn Văn A", "0912345678", "", "Mới"])
    path = tmp_path / "empty-result.xlsx"
    wb.save(path)
    with zipfile.ZipFile(path) as z:  # as Excel saves =IF(...,"",...) giving "": t="str", empty <v>
        parts = {n: z.read(n) for n in z.namelist()}
    sheet = "xl/worksheets/sheet1.xml"
    parts[sheet] = re.sub(rb'<c r="C2"[^>]*/>|<c r="C2"[^>]*>.*?</c>',
                          b'<c r="C2" t="str"><f>IF(1&gt;0,"","x")</f><v></v></c>', parts[sheet])
    with zipfile.ZipFile(path, "w") as z:
        for n, data in parts.items():
            z.writestr(n, data)
    assert b'<c r="C2" t="str">' in zipfile.ZipFile(path).read(sheet)
    res = api.sync(workbook=path, today=TODAY_S, dry_run=True)
    assert "formula_uncalculated" not in set(res.report.problems["kind"])
