"""Forgetting a person, exporting their data, do-not-contact (docs/privacy.md), on .xlsx."""

from __future__ import annotations

import json
import shutil

import pytest
from helpers_xlsx import run_cli, sha, write_workbook
from openpyxl import load_workbook
from privacy_helpers import (DAY1, DAY2, MAI_EMAIL, MAI_NAMES, MAI_PHONE, MAI_SPELLINGS, forms_csv, leads_grid,
                             mai_cells)

from sheetcrm import api
from sheetcrm.backends.xlsx import XlsxBackend
from sheetcrm.changes import ChangeSet

LEADS, LOG, PRIVACY, SUPP, OVERVIEW, AGENDA = ("Khách hàng", "Nhập liệu", "Quyền riêng tư", "Danh sách chặn",
                                               "Tổng quan", "Lịch liên hệ lại")
MAI_IDS = ["KH-000001", "KH-000003", "KH-000005"]


def tabs(path) -> dict[str, list[list]]:
    wb = load_workbook(path)
    return {ws.title: [list(r) for r in ws.iter_rows(values_only=True)] for ws in wb}


def rows_of(path, tab):
    grid = tabs(path)[tab]
    return [dict(zip(grid[0], r)) for r in grid[1:] if any(v is not None for v in r)]


def overview_counts(grid):
    """The overview without its 'updated at' line."""
    return [r for r in grid if r and r[0] != "Cập nhật lúc"]


@pytest.fixture(scope="module")
def worked(tmp_path_factory):
    """A workbook worked for a few days: synced, an import (Mai came back), synced again."""
    d = tmp_path_factory.mktemp("worked")
    book = write_workbook(d / "crm.xlsx", {LEADS: leads_grid()})
    api.sync(workbook=book, today=DAY1)
    (d / "forms.csv").write_text(forms_csv(), encoding="utf-8")
    assert api.import_leads([d / "forms.csv"], workbook=book, today=DAY2).plan.counts == {"returning": 1}
    api.sync(workbook=book, today=DAY2)
    return book


@pytest.fixture
def book(worked, tmp_path):
    return shutil.copy(worked, tmp_path / "crm.xlsx")


def test_the_scenario_has_mai_in_five_tabs_under_three_spellings(book):
    t = tabs(book)
    where = {c.split("!")[0] for c in mai_cells(t)}
    ids = {title for title, g in t.items() if any(i in map(str, r) for r in g for i in MAI_IDS)}
    assert {LEADS, "Từ chối", "Nuôi dưỡng", AGENDA} <= where
    assert {LEADS, "Từ chối", "Nuôi dưỡng", "Lịch sử", LOG, AGENDA} <= ids
    phones = {r["Số điện thoại"] for r in rows_of(book, LEADS) if r["Mã KH"] in MAI_IDS}
    assert phones == set(MAI_SPELLINGS)


def test_forget_by_phone_erases_every_copy_keeps_ids_statuses_dates_and_the_overview(book):
    before = tabs(book)
    res = api.forget(phone="+84 339-123-456", workbook=book)
    after = tabs(book)
    assert mai_cells(after) == []
    assert res.plan.lead_ids == MAI_IDS
    assert overview_counts(after[OVERVIEW]) == overview_counts(before[OVERVIEW])
    keep = ["Mã KH", "Trạng thái", "Ngày tạo", "Ngày liên hệ cuối", "Ngày liên hệ lại", "Trùng với", "Người phụ trách"]
    old, new = rows_of_grid(before[LEADS]), rows_of_grid(after[LEADS])
    assert [[r[k] for k in keep] for r in old] == [[r[k] for k in keep] for r in new]
    mai = [r for r in new if r["Mã KH"] in MAI_IDS]
    assert {r["Tên khách hàng"] for r in mai} == {"[đã xoá]"}
    assert [r["Lý do"] for r in mai if r["Lý do"]] == ["Chưa cần ngay", "Chưa cần ngay"]  # the category, not the words
    others = [r for r in new if r["Mã KH"] not in MAI_IDS]
    assert others == [r for r in old if r["Mã KH"] not in MAI_IDS]
    for title in ("Lịch sử", LOG):
        assert after[title] == before[title]  # ids and dates only
    log = rows_of(book, PRIVACY)
    assert len(log) == 1
    assert log[0]["Loại định danh"] == "phone" and log[0]["Các mã KH"] == ", ".join(MAI_IDS)
    assert len(log[0]["Mã băm định danh"]) == 32
    supp = rows_of(book, SUPP)
    assert [r["Loại"] for r in supp] == ["salt", "phone", "email"]
    assert len({r["Mã băm"] for r in supp}) == 3


def rows_of_grid(grid):
    return [dict(zip(grid[0], r)) for r in grid[1:] if any(v is not None for v in r)]


def test_forget_by_lead_takes_its_duplicates_and_by_email_any_case(book, tmp_path):
    other = shutil.copy(book, tmp_path / "other.xlsx")
    a = api.forget(lead="KH-000001", workbook=book)
    b = api.forget(email="  Mai.Nguyen@Example.COM ", workbook=other)
    assert a.plan.lead_ids == b.plan.lead_ids == MAI_IDS
    assert mai_cells(tabs(book)) == [] and mai_cells(tabs(other)) == []


def test_dry_run_from_the_cli_lists_the_cells_and_writes_nothing(book):
    before = sha(book)
    r = run_cli("forget", "--phone", MAI_PHONE, "--workbook", str(book), "--dry-run")
    assert r.returncode == 0, r.stderr
    assert sha(book) == before
    assert "Khách hàng!B2 (Tên khách hàng) -> [đã xoá]" in r.stdout
    assert "Nuôi dưỡng!B2 (Tên khách hàng) -> [đã xoá]" in r.stdout
    assert "Lịch liên hệ lại!" in r.stdout
    assert "append 1 row(s) to 'Quyền riêng tư'" in r.stdout
    for secret in (*MAI_NAMES, "339123456", "339 123", "mai.nguyen", "Cầu Giấy"):
        assert secret not in r.stdout + r.stderr


def test_a_later_import_of_the_same_person_is_refused(book, tmp_path):
    api.forget(phone=MAI_PHONE, workbook=book)
    n = len(rows_of(book, LEADS))
    f = tmp_path / "again.csv"
    f.write_text(forms_csv(email="new-address@example.com", phone="0339.123.456", name="Mai"), encoding="utf-8")
    g = tmp_path / "email.csv"
    g.write_text(forms_csv(email=MAI_EMAIL, phone="", name="Mai"), encoding="utf-8")
    assert api.import_leads([f, g], workbook=book, today=DAY2).plan.counts == {"erased": 2}
    assert len(rows_of(book, LEADS)) == n
    log = rows_of(book, LOG)
    assert [r["Kết quả"] for r in log[-2:]] == ["đã yêu cầu xoá"] * 2
    assert not any(r["Mã KH"] for r in log[-2:])
    r = run_cli("import", str(f), "--workbook", str(book), "--today", DAY2, "--dry-run")
    assert r.returncode == 0 and "imported before" in r.stdout


def test_export_person_returns_exactly_that_persons_records(book, tmp_path):
    r = run_cli("export-person", "--email", MAI_EMAIL, "--workbook", str(book), "--out", str(tmp_path / "out"))
    assert r.returncode == 0, r.stderr
    data = json.loads((tmp_path / "out" / "person.json").read_text(encoding="utf-8"))
    got = {(rec["tab"], rec["row"]) for rec in data["records"]}
    t = tabs(book)
    want = set()
    for title, grid in t.items():
        if title in (OVERVIEW, "Nhật ký đồng bộ", "Nhân viên"):
            continue
        for i, row in enumerate(grid[1:], start=2):
            if any(str(v).strip() in MAI_IDS for v in row if v is not None):
                want.add((title, i))
    assert got == want
    assert {tab for tab, _ in got} >= {LEADS, "Từ chối", "Nuôi dưỡng", "Lịch sử", LOG, AGENDA}
    text = json.dumps(data, ensure_ascii=False)
    assert "Trần Văn Hoà" not in text and "Lê Văn Nam" not in text and "Phạm Thu Hà" not in text
    assert all(name in text for name in MAI_NAMES)
    csv_text = (tmp_path / "out" / "person.csv").read_text(encoding="utf-8-sig")
    assert csv_text.splitlines()[0] == "tab,row,column,value"
    assert len(csv_text.splitlines()) - 1 == sum(len(rec["values"]) for rec in data["records"])


def test_a_cut_off_erase_run_again_finishes_with_one_privacy_log_row(book):
    plan = api.forget(phone=MAI_PHONE, workbook=book, dry_run=True).plan
    # The intent reached the workbook and only the leads tab's cells did.
    XlsxBackend(book).apply(plan.intent)
    XlsxBackend(book).apply(ChangeSet(updates=[u for u in plan.erase.updates if u.tab == LEADS]))
    assert mai_cells(tabs(book)) and not any(MAI_NAMES[0] == v for r in tabs(book)[LEADS] for v in r)
    again = api.forget(phone=MAI_PHONE, workbook=book)
    assert again.plan.logged and again.plan.cells
    assert mai_cells(tabs(book)) == []
    assert len(rows_of(book, PRIVACY)) == 1 and len(rows_of(book, SUPP)) == 3
    third = api.forget(phone=MAI_PHONE, workbook=book)
    assert third.plan.cells == [] and third.cells_written == 0
    assert len(rows_of(book, PRIVACY)) == 1


def test_cut_off_before_the_log_row_is_finished_too(book):
    plan = api.forget(phone=MAI_PHONE, workbook=book, dry_run=True).plan
    XlsxBackend(book).apply(ChangeSet(updates=[u for u in plan.erase.updates if u.tab == LEADS]))
    api.forget(phone=MAI_PHONE, workbook=book)
    assert mai_cells(tabs(book)) == []
    log = rows_of(book, PRIVACY)
    assert len(log) == 1 and "KH-000001" in log[0]["Các mã KH"]  # found again through the other tabs


def test_sync_after_forget_keeps_the_tombstones_and_flags_nothing(book):
    api.forget(phone=MAI_PHONE, workbook=book)
    erased = tabs(book)
    res = api.sync(workbook=book, today=DAY2)
    assert [u for u in res.changes.updates if u.tab in (LEADS, "Từ chối", "Nuôi dưỡng")] == []
    after = tabs(book)
    for title in (LEADS, "Từ chối", "Nuôi dưỡng", "Lịch sử", PRIVACY, SUPP):
        assert after[title] == erased[title]
    assert mai_cells(after) == []
    assert not [p for p in api.check(workbook=book, today=DAY2).report.problems.itertuples()
                if p.cell.split("!")[1][1:] in ("2", "4", "6")]
    # The statuses, funnel and reasons are as they were; only the data-quality block lost
    # the erased rows' old issues (docs/privacy.md).
    block = [r[0] for r in after[OVERVIEW]].index("Dòng có lỗi dữ liệu")
    assert overview_counts(after[OVERVIEW])[:block - 1] == overview_counts(erased[OVERVIEW])[:block - 1]


def test_do_not_contact_is_left_out_of_the_agenda_and_refused_by_imports(tmp_path):
    grid = leads_grid()
    grid[0].append("Không liên hệ")
    for r in grid[1:]:
        r.append("")
    grid[2][-1] = "x"  # Trần Văn Hoà, due for a call on 02/12
    control = write_workbook(tmp_path / "control.xlsx", {LEADS: leads_grid()})
    api.sync(workbook=control, today=DAY1)
    assert any("KH-000002" in map(str, r) for r in tabs(control)[AGENDA])
    book = write_workbook(tmp_path / "crm.xlsx", {LEADS: grid})
    api.sync(workbook=book, today=DAY1)
    assert not any("KH-000002" in map(str, r) for r in tabs(book)[AGENDA])
    f = tmp_path / "f.csv"
    f.write_text(forms_csv(email="other@example.com", phone="0987 654 321", name="Hoà"), encoding="utf-8")
    res = api.import_leads([f], workbook=book, today=DAY2)
    assert res.plan.counts == {"do_not_contact": 1}
    assert rows_of(book, LOG)[-1]["Kết quả"] == "không liên hệ"
    assert len(rows_of(book, LEADS)) == 6


@pytest.mark.parametrize("fmt", ["text", "json"])
def test_logs_and_log_tabs_never_carry_the_identifier(book, tmp_path, fmt):
    out = ""
    for args in (["export-person", "--phone", MAI_PHONE, "--out", str(tmp_path / "x")],
                 ["forget", "--phone", MAI_PHONE, "--dry-run"], ["forget", "--phone", MAI_PHONE],
                 ["forget", "--email", MAI_EMAIL], ["forget", "--lead", "KH-000001"],
                 ["export-person", "--email", MAI_EMAIL, "--out", str(tmp_path / "y")],
                 ["forget", "--phone", "12"], ["forget", "--phone", MAI_PHONE, "--email", MAI_EMAIL]):
        r = run_cli(*args, "--workbook", str(book), "--log-format", fmt, "-vv")
        out += r.stdout + r.stderr
        assert r.returncode in (0, 2), r.stderr
    assert "exactly one of --phone" in out and "not a valid phone" in out
    assert "forget finished" in out and "export-person finished" in out
    if fmt == "json":
        assert '"level": "info", "message": "forget finished' in out
    for secret in (*MAI_NAMES, "339123456", "339 123 456", "1639123456", "mai.nguyen", "MAI.NGUYEN"):
        assert secret not in out, secret
    t = tabs(book)
    for title in ("Nhật ký đồng bộ", PRIVACY, SUPP, LOG):
        cells = " ".join(str(v) for r in t.get(title, []) for v in r if v is not None)
        for secret in (*MAI_NAMES, "339123456", "mai.nguyen", "KH-000001" if title == SUPP else "\0"):
            assert secret not in cells, (title, secret)


def test_text_a_person_typed_stays_text_in_the_export_and_the_tombstone(tmp_path):
    grid = leads_grid()
    grid[1][10] = '=HYPERLINK("http://x.vn","bấm")'
    book = write_workbook(tmp_path / "crm.xlsx", {LEADS: grid})
    res = api.export_person(tmp_path / "out", lead="KH-000001", workbook=book)
    lead = next(r for r in res.records if r["tab"] == LEADS and r["row"] == 2)
    assert lead["values"]["Ghi chú"] == grid[1][10]
    csv_text = (tmp_path / "out" / "person.csv").read_text(encoding="utf-8-sig")
    assert "'=HYPERLINK" in csv_text and "+84339123456" in csv_text  # a phone is not a formula
    api.forget(lead="KH-000001", workbook=book)
    ws = load_workbook(book)[LEADS]
    assert ws["K2"].value == "[đã xoá]" and ws["K2"].data_type == "s"


def test_the_sync_log_counts_the_erased_duplicates_as_before(book):
    before = api.sync(workbook=book, today=DAY2, dry_run=True).report.duplicates
    api.forget(phone=MAI_PHONE, workbook=book)
    assert api.sync(workbook=book, today=DAY2, dry_run=True).report.duplicates == before == 2


def test_retention_is_off_by_default_and_erases_closed_leads_inactive_past_it(tmp_path):
    import datetime as dt

    grid = leads_grid()
    grid[4][7], grid[4][8], grid[4][9] = dt.date(2024, 1, 2), "đắt quá", dt.date(2024, 2, 1)  # rejected long ago
    book = write_workbook(tmp_path / "crm.xlsx", {LEADS: grid})
    api.sync(workbook=book, today=DAY1)
    assert PRIVACY not in tabs(book) and any(r["Tên khách hàng"] == "Lê Văn Nam" for r in rows_of(book, LEADS))
    res = api.sync(workbook=book, today=DAY2, retention_days=365)
    assert res.report.rows_read == 6
    t = tabs(book)
    nam = next(r for r in rows_of_grid(t[LEADS]) if r["Mã KH"] == "KH-000004")
    assert nam["Tên khách hàng"] == "[đã xoá]" and nam["Số điện thoại"] == "[đã xoá]"
    assert nam["Trạng thái"] == "Từ chối" and nam["Lý do"] == "Giá quá cao"
    assert not any("Lê Văn Nam" in str(v) or "nam@example.com" in str(v) or "901234567" in str(v)
                   for g in t.values() for r in g for v in r)
    assert any(r["Tên khách hàng"] == "Trần Văn Hoà" for r in rows_of_grid(t[LEADS]))  # active: kept
    log = rows_of(book, PRIVACY)
    assert len(log) == 1 and log[0]["Loại định danh"] == "retention" and log[0]["Các mã KH"] == "KH-000004"
    api.sync(workbook=book, today=DAY2, retention_days=365)
    assert len(rows_of(book, PRIVACY)) == 1 and SUPP not in tabs(book)


def test_retention_on_a_first_sync_erases_the_rows_that_sync_appends_and_the_agenda(tmp_path):
    """The rejection this very sync logs for an old closed lead holds no personal data,
    and this run's agenda does not dial the erased number."""
    import datetime as dt

    grid = leads_grid()
    grid[4][7], grid[4][8], grid[4][9] = dt.date(2024, 1, 2), "đắt quá", dt.date(2024, 2, 1)
    book = write_workbook(tmp_path / "crm.xlsx", {LEADS: grid})
    api.sync(workbook=book, today=DAY1, retention_days=365)
    t = tabs(book)
    hits = [(title, v) for title, g in t.items() for r in g for v in r
            if any(s in str(v) for s in ("Lê Văn Nam", "nam@example.com", "901234567", "đắt quá"))]
    assert hits == []
    rej = next(r for r in rows_of_grid(t["Từ chối"]) if r["Mã KH"] == "KH-000004")
    assert rej["Tên khách hàng"] == "[đã xoá]" and rej["Công ty"] is None  # empty stays empty
    agenda = next(r for r in t[AGENDA] if "KH-000004" in map(str, r))
    assert "[đã xoá]" in agenda and None in agenda[:5]  # the empty company stays empty
    log = rows_of(book, PRIVACY)
    assert len(log) == 1 and log[0]["Các tab"] == f"{LEADS}, Từ chối"
    assert rows_of(book, "Lịch sử")  # the history is kept: ids and dates only


def test_an_export_is_on_record_in_the_privacy_log_by_its_hash_never_the_identifier(book, tmp_path):
    assert PRIVACY not in tabs(book)
    first = api.export_person(tmp_path / "a", email=MAI_EMAIL.upper(), workbook=book)
    log = rows_of(book, PRIVACY)
    assert len(log) == 1
    row = log[0]
    assert row["Yêu cầu"] == "xuất dữ liệu" and row["Loại định danh"] == "email"
    assert row["Mã băm định danh"] == first.request_hash and len(first.request_hash) == 32
    assert row["Các mã KH"] == ", ".join(MAI_IDS) and row["Thời gian"] is not None
    assert set(row["Các tab"].split(", ")) == {r["tab"] for r in first.records}
    assert [r["Loại"] for r in rows_of(book, SUPP)] == ["salt"]  # the salt only: nobody is suppressed
    cells = " ".join(str(v) for r in tabs(book)[PRIVACY] for v in r if v is not None)
    for secret in (*MAI_NAMES, "339123456", "mai.nguyen", "MAI.NGUYEN"):
        assert secret not in cells
    # Each request is one row; an erasure of the same person later carries the same hash.
    api.export_person(tmp_path / "b", phone=MAI_PHONE, workbook=book)
    gone = api.forget(email=MAI_EMAIL, workbook=book)
    log = rows_of(book, PRIVACY)
    assert [r["Yêu cầu"] for r in log] == ["xuất dữ liệu", "xuất dữ liệu", "xoá"]
    assert log[2]["Mã băm định danh"] == gone.plan.identifier_hash == first.request_hash
    assert log[1]["Loại định danh"] == "phone" and log[1]["Mã băm định danh"] != first.request_hash
    assert len(rows_of(book, SUPP)) == 3  # the salt the export made is the one forget used


def test_a_dry_run_sync_prints_no_ones_name_phone_email_or_typed_words(tmp_path):
    """`sync --dry-run` lists cells: in a personal column it shows the tombstone, never
    what was typed; a quoted value inside an issue message is masked."""
    import datetime as dt

    grid = leads_grid()
    grid[4][7], grid[4][8], grid[4][9] = dt.date(2024, 1, 2), "đắt quá", dt.date(2024, 2, 1)  # past retention
    grid[6][6], grid[6][8] = "Từ chối", "zxqw hỏi Phúc Lâm"  # a reason nobody can read, quoting a name
    book = write_workbook(tmp_path / "crm.xlsx", {LEADS: grid})
    cfg = tmp_path / "sheetcrm.toml"
    cfg.write_text("retention_days = 365\n", encoding="utf-8")
    before = sha(book)
    r = run_cli("sync", "--workbook", str(book), "--config", str(cfg), "--today", DAY1, "--dry-run", "-vv")
    assert r.returncode == 0, r.stderr
    assert sha(book) == before
    out = r.stdout + r.stderr
    assert "Khách hàng!B5: (personal data) -> '[đã xoá]'" in out
    assert "Khách hàng!I7: (personal data) -> (personal data)" in out or "Khách hàng!I7" not in out
    assert "'…'" in out  # the issue naming the unknown reason, its quote masked
    for secret in ("Lê Văn Nam", "nam@example.com", "901234567", "đắt quá", "Phúc Lâm", "zxqw", *MAI_NAMES,
                   "339123456", "mai.nguyen", "Trần Văn Hoà", "987654321", "hoa@example"):
        assert secret not in out, secret
