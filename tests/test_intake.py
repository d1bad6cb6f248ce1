"""`sheetcrm import` on an .xlsx workbook: each format, nothing twice, nothing lost."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest
from helpers_xlsx import run_cli, sha, write_workbook
from intake_helpers import TODAY, fb_file, fb_rows, leads_grid
from openpyxl import load_workbook

from sheetcrm import api
from sheetcrm.changes import ChangeSet
from sheetcrm.intake.sample import forms_text

LEADS, LOG, TEAM, NURTURE = "Khách hàng", "Nhập liệu", "Nhân viên", "Nuôi dưỡng"


def rows_of(path, tab):
    ws = load_workbook(path)[tab]
    header = [c.value for c in ws[1]]
    return [dict(zip(header, r)) for r in ws.iter_rows(min_row=2, values_only=True) if any(v is not None for v in r)]


@pytest.fixture
def book(tmp_path):
    return write_workbook(tmp_path / "crm.xlsx", {LEADS: leads_grid()})


def test_facebook_csv_appends_new_leads_with_source_date_status_owner_and_due_date(tmp_path, book):
    rows = fb_rows(6)
    rows[5][1] = "2026-12-04T16:30:00+07:00"  # after the 15:00 cut-off
    res = api.import_leads([fb_file(tmp_path / "fb.csv", rows)], workbook=book, today=TODAY)
    assert res.plan.counts == {"new": 6}
    leads = rows_of(book, LEADS)
    assert len(leads) == 8
    first, last = leads[2], leads[7]
    assert first["Mã KH"] == "KH-000003" and first["Tên khách hàng"] == rows[0][12]
    assert first["Số điện thoại"] == rows[0][13][2:]  # "p:" dropped, "+84…" kept as text
    assert first["Trạng thái"] == "Mới"
    assert first["Nguồn"].startswith(("Facebook · ", "Instagram · "))
    assert first["Ngày tạo"].date() == dt.date(2026, 12, 4)
    assert first["Ngày liên hệ lại"].date() == dt.date(2026, 12, 4)  # before the cut-off: today
    assert last["Ngày liên hệ lại"].date() == dt.date(2026, 12, 7)  # after it, Friday: Monday
    assert "thời gian liên hệ thuận tiện?" in first["Ghi chú"]  # a question with no column
    assert first["Sản phẩm quan tâm"] and "_" not in first["Sản phẩm quan tâm"]
    assert {r["Người phụ trách"] for r in leads[2:]} == {"Minh", "Thảo"}  # the owners found
    log = rows_of(book, LOG)
    assert [r["Kết quả"] for r in log] == ["mới"] * 6
    assert [r["Dòng"] for r in log] == [str(i) for i in range(2, 8)]
    assert log[0]["Mã bên ngoài"] == "fb:" + rows[0][0][2:]
    assert all("@" not in str(v) and "+84" not in str(v) for r in log for v in r.values())
    team = rows_of(book, TEAM)
    assert [t["Tên"] for t in team] == ["Minh", "Thảo"]


def test_utf16_tsv_export_reads_like_the_csv(tmp_path, book):
    rows = fb_rows(5)
    a = api.import_leads([fb_file(tmp_path / "a.tsv", rows, utf16=True)], workbook=book, today=TODAY,
                         dry_run=True)
    b = api.import_leads([fb_file(tmp_path / "b.csv", rows)], workbook=book, today=TODAY, dry_run=True)
    assert a.plan.counts == b.plan.counts == {"new": 5}
    assert a.plan.changes.appends[-1].rows == b.plan.changes.appends[-1].rows


def test_reimport_and_overlap_append_nothing_twice(tmp_path, book):
    first = fb_file(tmp_path / "fb1.csv", fb_rows(8))
    api.import_leads([first], workbook=book, today=TODAY)
    before = sha(book)
    again = api.import_leads([first], workbook=book, today=TODAY)
    assert again.plan.counts == {"already_imported": 8} and sha(book) == before
    # A later export that repeats the last 4 people and adds 3.
    rows = fb_rows(8)[4:] + fb_rows(3, seed=9, first_id=100)
    res = api.import_leads([fb_file(tmp_path / "fb2.csv", rows)], workbook=book, today=TODAY)
    assert res.plan.counts == {"duplicate": 4, "new": 3}
    assert len(rows_of(book, LEADS)) == 2 + 8 + 3
    log = rows_of(book, LOG)
    assert len(log) == 8 + 7  # one row per input row of each run
    assert [r["Mã KH"] for r in log[8:12]] == [r["Mã KH"] for r in log[4:8]]


def test_a_person_already_in_the_sheet_is_not_appended_and_a_returning_one_is_flagged(tmp_path, book):
    rows = fb_rows(3)
    rows[0][13] = "p:+84912345678"  # Lan, rejected: returning
    rows[1][14] = ""
    rows[1][13] = "p:+84987654321"  # Hoà, hot: already there
    before = rows_of(book, LEADS)
    res = api.import_leads([fb_file(tmp_path / "fb.csv", rows)], workbook=book, today=TODAY)
    assert res.plan.counts == {"returning": 1, "duplicate": 1, "new": 1}
    out = res.plan.outcomes.set_index("line")
    assert out.loc[2, "lead_id"] == "KH-000001" and out.loc[3, "lead_id"] == "KH-000002"
    after = rows_of(book, LEADS)
    assert len(after) == 3
    person = ["Mã KH", "Tên khách hàng", "Email", "Số điện thoại", "Người phụ trách", "Trạng thái", "Lý do"]
    for a, b in zip(before, after[:2]):
        assert {k: a[k] for k in person} == {k: b[k] for k in person}
    assert after[0]["Ngày liên hệ lại"].date() == dt.date(2026, 12, 4)
    assert [r["Kết quả"] for r in rows_of(book, LOG)] == ["quay lại", "trùng", "mới"]


def test_returning_person_in_nurture_gets_the_nurture_row_reactivated(tmp_path):
    grid = leads_grid()
    grid[1][5], grid[1][7] = "Nuôi dưỡng", "Chưa cần ngay"
    nurture = [["Mã KH", "Tên khách hàng", "Tình trạng nuôi dưỡng"], ["KH-000001", "Lê Thị Lan", "Đang nuôi dưỡng"]]
    book = write_workbook(tmp_path / "crm.xlsx", {LEADS: grid, NURTURE: nurture})
    rows = fb_rows(1)
    rows[0][14] = "LAN@example.com "
    res = api.import_leads([fb_file(tmp_path / "fb.csv", rows)], workbook=book, today=TODAY)
    assert res.plan.counts == {"returning": 1}
    assert rows_of(book, NURTURE)[0]["Tình trạng nuôi dưỡng"] == "Đã kích hoạt lại"


def test_cut_off_import_rerun_logs_each_row_once_and_appends_the_missing_leads(tmp_path, book):
    path = fb_file(tmp_path / "fb.csv", fb_rows(5))
    plan = api.import_leads([path], workbook=book, today=TODAY, dry_run=True).plan
    # Only what precedes the lead rows reached the workbook (the intake rows go first).
    log_append = next(a for a in plan.changes.appends if a.tab == LOG)
    from sheetcrm.backends.xlsx import XlsxBackend

    XlsxBackend(book).apply(ChangeSet(ensure_tabs=[t for t in plan.changes.ensure_tabs if t.tab == LOG],
                                      add_columns=plan.changes.add_columns, appends=[log_append]))
    assert len(rows_of(book, LEADS)) == 2 and len(rows_of(book, LOG)) == 5
    res = api.import_leads([path], workbook=book, today=TODAY)
    assert res.plan.counts == {"completed": 5}
    leads = rows_of(book, LEADS)
    log = rows_of(book, LOG)
    assert len(log) == 5 and len({r["Mã sự kiện"] for r in log}) == 5
    assert [r["Mã KH"] for r in leads[2:]] == [r["Mã KH"] for r in log]
    assert api.import_leads([path], workbook=book, today=TODAY).plan.counts == {"already_imported": 5}


def test_invalid_rows_are_kept_with_their_issue_and_empty_rows_skipped(tmp_path, book):
    rows = fb_rows(3)
    rows[0][13], rows[0][14] = "p:+8412", ""  # no usable contact
    rows[1][12:15] = ["", "", ""]
    rows[1][15:] = ["", ""]
    res = api.import_leads([fb_file(tmp_path / "fb.csv", rows)], workbook=book, today=TODAY)
    assert res.plan.counts == {"invalid": 1, "skipped": 1, "new": 1}
    leads = rows_of(book, LEADS)
    assert len(leads) == 4 and "không hợp lệ" in leads[2]["Lỗi dữ liệu"]
    log = rows_of(book, LOG)
    assert [r["Kết quả"] for r in log] == ["lỗi", "bỏ qua", "mới"]
    assert "không hợp lệ" in log[0]["Chi tiết"]


def test_formula_text_from_a_form_stays_text(tmp_path, book):
    rows = fb_rows(1)
    rows[0][12] = '=HYPERLINK("http://x.vn","bấm")'
    api.import_leads([fb_file(tmp_path / "fb.csv", rows)], workbook=book, today=TODAY)
    cell = load_workbook(book)[LEADS]["B4"]
    assert cell.value == '=HYPERLINK("http://x.vn","bấm")' and cell.data_type == "s"


@pytest.mark.parametrize("english", [False, True])
def test_google_forms_csv(tmp_path, book, english):
    rows = fb_rows(4)
    path = tmp_path / "Đăng ký tư vấn (Câu trả lời).csv"
    path.write_text(forms_text(rows, english), encoding="utf-8-sig")
    res = api.import_leads([path], workbook=book, today=TODAY)
    assert res.plan.counts == {"new": 4}
    lead = rows_of(book, LEADS)[2]
    assert lead["Nguồn"] == "Google Forms · Đăng ký tư vấn"
    assert lead["Tên khách hàng"] == rows[0][12] and lead["Số điện thoại"] == "0" + rows[0][13][5:]
    assert rows_of(book, LOG)[0]["Thời điểm gửi"] == dt.datetime.strptime(rows[0][1][:19], "%Y-%m-%dT%H:%M:%S")
    # a later download holds the same responses and one more
    more = forms_text(rows + fb_rows(1, seed=11, first_id=50), english)
    path.write_text(more, encoding="utf-8")
    assert api.import_leads([path], workbook=book, today=TODAY).plan.counts == {"duplicate": 4, "new": 1}


def test_csv_and_xlsx_with_leads_headers_and_a_mapping_file(tmp_path, book):
    csv = tmp_path / "hoi-cho.csv"
    csv.write_text("Họ tên;SĐT;Email;Sản phẩm;Ghi chú;Quận\nNgô Bảo Anh;0903 123 456;;Gói Cơ bản;gặp ở hội chợ;Q1\n",
                   encoding="utf-8")
    res = api.import_leads([csv], workbook=book, today=TODAY, source="csv")
    assert res.plan.counts == {"new": 1}
    lead = rows_of(book, LEADS)[2]
    assert lead["Tên khách hàng"] == "Ngô Bảo Anh" and lead["Nguồn"] == "Nhập từ hoi-cho.csv"
    assert lead["Ghi chú"] == "gặp ở hội chợ; Quận: Q1"
    xlsx = write_workbook(tmp_path / "list.xlsx", {"Sheet1": [["Khách", "ĐT liên hệ", "Mã phiếu"],
                                                             ["Đỗ Minh Quân", "0938000111", "P-17"]]})
    mapping = tmp_path / "map.toml"
    mapping.write_text('source = "Hội chợ"\n[columns]\nname = "Khách"\nphone = "ĐT liên hệ"\n'
                       'external_id = "Mã phiếu"\n', encoding="utf-8")
    res = api.import_leads([xlsx], workbook=book, today=TODAY, mapping=mapping)
    assert res.plan.counts == {"new": 1}
    assert rows_of(book, LEADS)[3]["Nguồn"] == "Hội chợ"
    assert rows_of(book, LOG)[-1]["Mã bên ngoài"] == "map:P-17"


def test_unreadable_input_exits_2_naming_file_and_line_and_writes_nothing(tmp_path, book):
    good = fb_file(tmp_path / "fb.csv", fb_rows(2))
    bad = tmp_path / "broken.csv"
    bad.write_text('id,created_time,form_id,full_name\n1,2026-12-01T09:00:00+07:00,f,"An\n2,x,f,Bình,extra,cells\n',
                   encoding="utf-8")
    before = sha(book)
    r = run_cli("import", str(good), str(bad), "--workbook", str(book), "--today", TODAY)
    assert r.returncode == 2
    assert "broken.csv: line" in r.stderr
    assert sha(book) == before
    r = run_cli("import", str(tmp_path / "nope.csv"), "--workbook", str(book))
    assert r.returncode == 2 and "nope.csv: file not found" in r.stderr


def test_mis_decoded_text_is_reported(tmp_path, book):
    p = tmp_path / "fb.csv"
    p.write_text(fb_file(tmp_path / "x.csv", fb_rows(1)).read_text(encoding="utf-8")
                 .replace(fb_rows(1)[0][12], "Nguyá»…n VÄƒn An"), encoding="utf-8")
    res = api.import_leads([p], workbook=book, today=TODAY, dry_run=True)
    assert any("mis-decoded" in w and "line 2" in w for w in res.warnings)


def test_cli_import_dry_run_prints_counts_and_writes_nothing(tmp_path, book):
    path = fb_file(tmp_path / "fb.csv", fb_rows(3))
    before = sha(book)
    r = run_cli("import", str(path), "--workbook", str(book), "--today", TODAY, "--dry-run")
    assert r.returncode == 0, r.stderr
    assert "Would import" in r.stdout and "new: 3" in r.stdout
    assert sha(book) == before


def test_sync_assigns_new_hand_typed_leads_without_an_owner_and_never_changes_a_typed_one(tmp_path):
    grid = leads_grid() + [["", "Phạm Thu Hà", "", "0903111222", "", "Mới", dt.date(2026, 12, 4), "", ""],
                           ["", "Đỗ Văn Nam", "", "0903111333", "Minh", "", dt.date(2026, 12, 4), "", ""],
                           ["", "Vũ Thị Mai", "", "0903111444", "", "Mới", dt.date(2026, 12, 4), "", ""]]
    book = write_workbook(tmp_path / "crm.xlsx", {LEADS: grid})
    api.sync(workbook=book, today=TODAY)
    leads = rows_of(book, LEADS)
    assert {leads[2]["Người phụ trách"], leads[4]["Người phụ trách"]} == {"Minh", "Thảo"}
    assert leads[3]["Người phụ trách"] == "Minh"  # typed
    assert all(r["Ngày liên hệ lại"] is not None for r in leads[2:])
    assert [t["Tên"] for t in rows_of(book, TEAM)] == ["Minh", "Thảo"]
    api.sync(workbook=book, today=TODAY)  # the owners stay; nothing new to hand out
    assert [r["Người phụ trách"] for r in rows_of(book, LEADS)] == [r["Người phụ trách"] for r in leads]


def test_a_returning_person_comes_first_for_their_owner_in_the_agenda(tmp_path):
    grid = leads_grid() + [["KH-000000", "Bùi Văn Tâm", "", "0903555666", "Minh", "Nóng", dt.date(2026, 11, 2),
                            "", dt.date(2026, 11, 20)]]
    grid[0].append("Ngày liên hệ lại")
    for r in grid[1:]:
        r.append(dt.date(2026, 12, 4) if r[0] == "KH-000000" else None)
    book = write_workbook(tmp_path / "crm.xlsx", {LEADS: grid})
    api.sync(workbook=book, today=TODAY)
    rows = fb_rows(1)
    rows[0][13] = "p:+84912345678"  # Lan, rejected, Minh's
    api.import_leads([fb_file(tmp_path / "fb.csv", rows)], workbook=book, today=TODAY)
    api.sync(workbook=book, today=TODAY)
    ws = load_workbook(book)["Lịch liên hệ lại"]
    ids = [r[1] for r in ws.iter_rows(values_only=True) if r[1] in ("KH-000000", "KH-000001")]
    assert ids == ["KH-000001", "KH-000000"]


def test_a_reactivated_nurture_row_is_not_reopened_by_the_next_sync(tmp_path):
    grid = leads_grid()
    grid[1][5], grid[1][7] = "Nuôi dưỡng", "Chưa cần ngay"
    book = write_workbook(tmp_path / "crm.xlsx", {LEADS: grid})
    api.sync(workbook=book, today="2026-11-20")
    assert [r["Tình trạng nuôi dưỡng"] for r in rows_of(book, NURTURE)] == ["Đang nuôi dưỡng"]
    rows = fb_rows(1)
    rows[0][13] = "p:+84912345678"
    api.import_leads([fb_file(tmp_path / "fb.csv", rows)], workbook=book, today=TODAY)
    api.sync(workbook=book, today=TODAY)
    assert [r["Tình trạng nuôi dưỡng"] for r in rows_of(book, NURTURE)] == ["Đã kích hoạt lại"]
    assert rows_of(book, LEADS)[0]["Ngày liên hệ lại"].date() == dt.date(2026, 12, 4)


def test_fairness_of_an_import_of_1000_leads_over_7_reps_with_caps_and_days_off(tmp_path):
    team = [["Tên", "Vai trò", "Đang làm", "Tối đa mỗi ngày", "Ngày nghỉ"],
            ["Minh", "sales", "có", "", ""], ["Thảo", "sales", "có", "100", ""],
            ["Lan", "sales", "có", "", "01/12/2026 - 05/12/2026"], ["Hùng", "sales", "không", "", ""],
            ["Quân", "sales", "có", "", ""], ["Vy", "sales", "có", "", ""], ["Bảo", "quản lý", "có", "", ""]]
    book = write_workbook(tmp_path / "crm.xlsx", {LEADS: leads_grid(), TEAM: team})
    path = fb_file(tmp_path / "fb.csv", fb_rows(1000, hours=5))
    first = fb_file(tmp_path / "fb-a.csv", fb_rows(1000, hours=5)[:400])
    api.import_leads([first], workbook=book, today=TODAY)  # the day in two imports: the cursor carries
    res = api.import_leads([path], workbook=book, today=TODAY)
    assert res.plan.counts == {"duplicate": 400, "new": 600}
    owners = pd.Series([r["Người phụ trách"] for r in rows_of(book, LEADS)[2:]]).value_counts().to_dict()
    assert owners["Thảo"] == 100 and not {"Lan", "Hùng", "Bảo"} & set(owners)
    free = [owners[n] for n in ("Minh", "Quân", "Vy")]
    assert sum(free) == 900 and max(free) - min(free) <= 1


def test_a_person_typed_today_without_an_id_yet_is_not_appended_again(tmp_path):
    grid = leads_grid() + [["", "Ngô Thị Hằng", "hang@example.com", "", "", "Mới", "", "", ""]]
    book = write_workbook(tmp_path / "crm.xlsx", {LEADS: grid})
    rows = fb_rows(1)
    rows[0][14] = "Hang@Example.com"
    res = api.import_leads([fb_file(tmp_path / "fb.csv", rows)], workbook=book, today=TODAY)
    assert res.plan.counts == {"duplicate": 1}
    log = rows_of(book, LOG)[0]
    assert log["Mã KH"] is None and log["Chi tiết"] == f"{LEADS}!4"
    assert len(rows_of(book, LEADS)) == 3


def test_the_cron_sync_after_an_import_of_new_leads_only_runs_and_keeps_them(tmp_path, book):
    """The everyday order: import a day's export, then the cron sync (a log with no
    returning person in it broke the sync on pandas 3)."""
    path = fb_file(tmp_path / "fb.csv", fb_rows(20))
    r = run_cli("import", str(path), "--workbook", str(book), "--today", TODAY)
    assert r.returncode == 0, r.stdout + r.stderr
    imported = {x["Mã KH"]: x["Người phụ trách"] for x in rows_of(book, LEADS) if x["Nguồn"]}
    for _ in range(2):
        r = run_cli("sync", "--workbook", str(book), "--today", TODAY)
        assert r.returncode == 0, r.stdout + r.stderr
    after = {x["Mã KH"]: x["Người phụ trách"] for x in rows_of(book, LEADS) if x["Mã KH"] in imported}
    assert after == imported and len(imported) >= 20
