"""The xlsx backend: typed reads, no write on an empty change set, atomic save (even under
SIGKILL), office lock files, one sync at a time."""

from __future__ import annotations

import datetime as dt
import glob
import os
import signal
import subprocess
import time

import pytest
from filelock import FileLock
from helpers_xlsx import CLEAN, LEADS, SHEETCRM, TODAY, TODAY_S, H, column_values, sha, write_leads
from openpyxl import Workbook, load_workbook

from sheetcrm import api
from sheetcrm.backends import xlsx_patch
from sheetcrm.backends.xlsx import XlsxBackend
from sheetcrm.changes import AppendRows, CellUpdate, ChangeSet, EnsureTab
from sheetcrm.demo import generate_leads
from sheetcrm.errors import LockHeldError, OfficeLockError, WorkbookError


@pytest.fixture
def wb_path(tmp_path):
    return write_leads(tmp_path / "leads.xlsx")


def test_read_keeps_types(wb_path):
    sheets = XlsxBackend(wb_path).read()
    g = sheets[LEADS].values
    assert g[0][:3] == ["Mã KH", "Tên khách hàng", "Công ty"]
    row = g[1]
    assert row[4] == "0912345678"  # text phone keeps its 0
    d = row[9]
    assert isinstance(d, dt.date) and (d.date() if isinstance(d, dt.datetime) else d) == dt.date(2026, 1, 5)
    assert g[3][3] == ""  # a blank cell reads as '', as the Sheets API gives it


def _with_error_cells(path):
    """Error cells as a broken formula leaves them (data type 'e'), not text."""
    wb = load_workbook(path)
    ws = wb[LEADS]
    for ref, err in (("C3", "#REF!"), ("E4", "#N/A")):
        ws[ref] = err
        ws[ref].data_type = "e"
    wb.save(path)
    return path


def test_read_keeps_spreadsheet_error_cells(wb_path):
    # python-calamine reads error cells as '' (dimastbk/python-calamine#105): they must not
    # arrive as blanks, or validation can never report them
    _with_error_cells(wb_path)
    g = XlsxBackend(wb_path).read()[LEADS].values
    assert g[2][2] == "#REF!"
    assert g[3][4] == "#N/A"
    assert g[1][2] == CLEAN[0]["company"]


def test_error_cells_are_reported_by_sync(wb_path):
    _with_error_cells(wb_path)
    res = api.check(workbook=wb_path, today=TODAY)
    pf = res.report.problems
    assert set(pf.loc[pf["kind"] == "sheet_error", "cell"]) == {f"{LEADS}!C3", f"{LEADS}!E4"}


def test_empty_change_set_writes_nothing(wb_path):
    st, h = os.stat(wb_path), sha(wb_path)
    res = XlsxBackend(wb_path).apply(ChangeSet())
    assert not res.wrote and res.cells_written == 0
    assert sha(wb_path) == h and os.stat(wb_path).st_mtime_ns == st.st_mtime_ns


def test_apply_writes_text_as_text_and_dates_as_dates(wb_path):
    cs = ChangeSet(updates=[CellUpdate(LEADS, 2, 13, "=1+2"), CellUpdate(LEADS, 3, 10, dt.date(2026, 3, 1))])
    res = XlsxBackend(wb_path).apply(cs)
    assert res.wrote and res.cells_written == 2
    wb = load_workbook(wb_path)
    ws = wb[LEADS]
    assert (ws.cell(2, 13).value, ws.cell(2, 13).data_type) == ("=1+2", "s")
    assert ws.cell(3, 10).value == dt.datetime(2026, 3, 1) and ws.cell(3, 10).number_format == "dd/mm/yyyy"
    assert not glob.glob(str(wb_path.parent / ".leads.*.tmp"))


def test_failed_save_leaves_original_and_no_temp_file(wb_path, monkeypatch):
    h = sha(wb_path)

    def boom(self, filename):
        with open(filename, "wb") as fh:
            fh.write(b"PK half a workbook")
        raise OSError("disk full")

    monkeypatch.setattr(xlsx_patch.Package, "save", boom)
    with pytest.raises(OSError):
        XlsxBackend(wb_path).apply(ChangeSet(updates=[CellUpdate(LEADS, 2, 13, "x")]))
    assert sha(wb_path) == h
    assert os.listdir(wb_path.parent) == ["leads.xlsx"]


def test_append_with_event_key_is_exactly_once(tmp_path):
    path = tmp_path / "log.xlsx"
    wb = Workbook()
    wb.active.title = "Log"
    wb["Log"].append(["key", "v"])
    wb.save(path)
    cs = ChangeSet(appends=[AppendRows("Log", (("e1", 1), ("e2", 2)), key_col=0)])
    r = XlsxBackend(path).apply(cs)
    assert (r.cells_written, r.rows_appended) == (4, 2)
    cs2 = ChangeSet(appends=[AppendRows("Log", (("e2", 2), ("e3", 3)), key_col=0)])
    assert XlsxBackend(path).apply(cs2).rows_appended == 1
    assert [r[0].value for r in load_workbook(path)["Log"].iter_rows(min_row=2)] == ["e1", "e2", "e3"]


def test_ensure_tab_headers_freeze_dropdowns(tmp_path):
    path = tmp_path / "new.xlsx"
    cs = ChangeSet(ensure_tabs=[EnsureTab("T", ("A", "Trạng thái"), 1, (("Trạng thái", ("Mới", "Chốt")),))])
    assert XlsxBackend(path, create=True).apply(cs).wrote
    ws = load_workbook(path)["T"]
    assert [c.value for c in ws[1]] == ["A", "Trạng thái"]
    assert ws.freeze_panes == "A2"
    assert ws["A1"].font.b
    dv = ws.data_validations.dataValidation
    assert len(dv) == 1 and dv[0].formula1 == '"Mới,Chốt"' and "B2" in str(dv[0].sqref)


# ------------------------------------------------------------------ refusals

@pytest.mark.parametrize("lock_name", [".~lock.leads.xlsx#", "~$leads.xlsx"])
def test_office_lock_file_refuses_to_write(wb_path, lock_name):
    (wb_path.parent / lock_name).write_text("someone,host,01.01.2026")
    h = sha(wb_path)
    with pytest.raises(OfficeLockError) as ei:
        XlsxBackend(wb_path).apply(ChangeSet(updates=[CellUpdate(LEADS, 2, 13, "x")]))
    assert ei.value.exit_code == 4
    assert lock_name in str(ei.value) and "leads.xlsx" in str(ei.value)
    assert sha(wb_path) == h


def test_not_a_workbook(tmp_path):
    p = tmp_path / "x.xlsx"
    p.write_text("hello, I am text")
    with pytest.raises(WorkbookError) as ei:
        XlsxBackend(p).read()
    assert "x.xlsx" in str(ei.value)


def test_missing_file_and_wrong_suffix(tmp_path):
    with pytest.raises(WorkbookError, match="not found"):
        XlsxBackend(tmp_path / "nope.xlsx").read()
    (tmp_path / "a.csv").write_text("a,b")
    with pytest.raises(WorkbookError, match="a.csv"):
        XlsxBackend(tmp_path / "a.csv").read()


def test_lock_is_exclusive_and_released(wb_path):
    b = XlsxBackend(wb_path)
    with FileLock(str(wb_path.with_name(".leads.xlsx.sheetcrm.lock")), timeout=0):
        with pytest.raises(LockHeldError):
            with b.lock():
                pass
        with pytest.raises(LockHeldError):
            api.sync(workbook=wb_path, today=TODAY)
    with b.lock():
        pass
    with b.lock():  # released, and reusable
        pass


# ------------------------------------------------------------------ SIGKILL during the write

def _big_workbook(path, leads=400, archive_rows=9000):
    """Leads plus a large archive tab (keeps planning quick and the write long enough)."""
    wb = Workbook(write_only=True)
    ws = wb.create_sheet(LEADS)
    for r in generate_leads(leads, 5, TODAY):
        ws.append(r)
    arch = wb.create_sheet("Lưu trữ")
    for i in range(archive_rows):
        arch.append([f"KH-{i:06d}", f"Khách {i}", f"09{i:08d}", i * 1.5, "Ghi chú lưu trữ", dt.date(2025, 1, 1)])
    wb.save(path)
    return path


def test_sigkill_during_write_leaves_original_intact_then_rerun_converges(tmp_path):
    path = _big_workbook(tmp_path / "big.xlsx")
    h = sha(path)
    proc = subprocess.Popen([SHEETCRM, "sync", "--workbook", str(path), "--today", TODAY_S],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=tmp_path)
    pattern = str(tmp_path / ".big.*.xlsx.tmp")
    deadline = time.monotonic() + 120
    tmp = []
    try:
        while proc.poll() is None and time.monotonic() < deadline:
            tmp = glob.glob(pattern)
            if tmp:
                time.sleep(0.05)  # let it write part of the temp file
                proc.send_signal(signal.SIGKILL)
                break
            time.sleep(0.002)
    finally:
        if proc.poll() is None and not tmp:
            proc.kill()
        proc.wait(30)
    assert tmp, f"the sync finished (rc {proc.returncode}) before its temp file was seen"
    assert proc.returncode == -signal.SIGKILL

    assert sha(path) == h  # not one byte changed
    wb = load_workbook(path, read_only=True)
    assert wb.sheetnames == [LEADS, "Lưu trữ"]
    wb.close()

    # the next run converges (no stale lock, the crash's temp file does not get in the way)
    res = api.sync(workbook=path, today=TODAY)
    assert res.applied.wrote and res.report.rows_read == 400
    ids = column_values(path, H["lead_id"])
    assert all(isinstance(i, str) and i.startswith("KH-") for i in ids)
    assert H["issues"] in [c for c in snapshot_headers(path)]


def snapshot_headers(path):
    wb = load_workbook(path, read_only=True)
    row = next(wb[LEADS].iter_rows(min_row=1, max_row=1, values_only=True))
    wb.close()
    return row


def test_a_teams_image_in_another_tab_survives_a_sync(tmp_path):
    from openpyxl import Workbook, load_workbook
    from openpyxl.drawing.image import Image
    from PIL import Image as Picture

    from sheetcrm import api

    Picture.new("RGB", (20, 20), "red").save(tmp_path / "logo.png")
    wb = Workbook()
    ws = wb.active
    ws.title = "Khách hàng"
    ws.append(["Tên khách hàng", "Email", "Số điện thoại", "Trạng thái"])
    ws.append(["Lan", "lan@example.com", "0912345678", "Mới"])
    wb.create_sheet("Logo").add_image(Image(str(tmp_path / "logo.png")), "B2")
    wb.save(tmp_path / "team.xlsx")
    api.sync(workbook=tmp_path / "team.xlsx", today="2026-03-12")
    assert len(load_workbook(tmp_path / "team.xlsx")["Logo"]._images) == 1


def test_a_save_by_someone_else_during_the_sync_is_never_overwritten(tmp_path):
    import hashlib
    import os

    import pytest

    from sheetcrm.backends.xlsx import XlsxBackend
    from sheetcrm.changes import CellUpdate, ChangeSet
    from sheetcrm.demo import write_demo_workbook
    from sheetcrm.errors import BackendError

    path = write_demo_workbook(tmp_path / "w.xlsx", 20, 1, None)
    backend = XlsxBackend(path)
    backend.read()
    # A person saves in Excel between our read and our write.
    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))
    theirs = hashlib.sha256(path.read_bytes()).hexdigest()
    with pytest.raises(BackendError) as err:
        backend.apply(ChangeSet(updates=[CellUpdate("Khách hàng", 2, 2, "x")]))
    assert "run again" in str(err.value) and err.value.exit_code == 3
    assert hashlib.sha256(path.read_bytes()).hexdigest() == theirs
    assert not list(tmp_path.glob("*.tmp"))


def test_a_sheet_written_with_a_namespace_prefix_is_patched(wb_path):
    """Some programs write every element with a prefix (<x:row>, <x:c>)."""
    import zipfile

    from lxml import etree

    from sheetcrm.backends.xlsx_patch import MAIN, R_NS

    with zipfile.ZipFile(wb_path) as z:
        members = {n: z.read(n) for n in z.namelist()}
    root = etree.fromstring(members["xl/worksheets/sheet1.xml"])
    prefixed = etree.Element(root.tag, nsmap={"x": MAIN, "r": R_NS})
    prefixed[:] = list(root)
    members["xl/worksheets/sheet1.xml"] = etree.tostring(prefixed)
    assert b"<x:row" in members["xl/worksheets/sheet1.xml"]
    with zipfile.ZipFile(wb_path, "w") as z:
        for name, data in members.items():
            z.writestr(name, data)
    cs = ChangeSet(updates=[CellUpdate(LEADS, 2, 13, "gọi lại"), CellUpdate(LEADS, 9, 2, "Mới thêm")])
    assert XlsxBackend(wb_path).apply(cs).cells_written == 2
    grid = XlsxBackend(wb_path).read()[LEADS].values
    assert grid[1][12] == "gọi lại" and grid[8][1] == "Mới thêm"
    assert grid[1][1] == CLEAN[0]["name"]
