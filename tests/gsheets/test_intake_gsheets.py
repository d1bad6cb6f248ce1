"""`sheetcrm import` into a Google spreadsheet, through gspread against the fake server."""

from __future__ import annotations

import datetime as dt

import pytest
from intake_helpers import TODAY, fb_file, fb_rows, leads_grid

from sheetcrm import api
from sheetcrm.backends.gsheets_plan import to_api
from sheetcrm.intake.sample import forms_text

LEADS, LOG = "Khách hàng", "Nhập liệu"


def make(fake, account, extra=None):
    info, keyfile = account
    tabs = {LEADS: [[to_api(v) for v in r] for r in leads_grid()], **(extra or {})}
    sid = fake.admin.create_spreadsheet("CRM", tabs=tabs, owner=info["client_email"])
    return sid, dict(sheet=sid, credentials=keyfile, api_endpoint=fake.url)


def tab(fake, sid, title):
    return fake.admin.values(sid, f"'{title}'!A1:Z20000")


def test_facebook_import_reimport_overlap_and_formula_text(fake, account, tmp_path):
    sid, target = make(fake, account)
    rows = fb_rows(6)
    rows[2][12] = '=HYPERLINK("http://x.vn","bấm")'
    path = fb_file(tmp_path / "fb.tsv", rows, utf16=True)
    res = api.import_leads([path], today=TODAY, **target)
    assert res.plan.counts == {"new": 6}
    leads = tab(fake, sid, LEADS)
    header = leads[0]
    assert len(leads) == 1 + 2 + 6
    name = header.index("Tên khách hàng")
    assert leads[5][name] == '=HYPERLINK("http://x.vn","bấm")'  # shown as typed: text, not a formula
    assert leads[3][header.index("Số điện thoại")].startswith("+84")
    assert len(tab(fake, sid, LOG)) == 1 + 6
    assert api.import_leads([path], today=TODAY, **target).plan.counts == {"already_imported": 6}
    later = fb_file(tmp_path / "fb2.csv", rows[3:] + fb_rows(2, seed=5, first_id=77))
    assert api.import_leads([later], today=TODAY, **target).plan.counts == {"duplicate": 3, "new": 2}
    assert len(tab(fake, sid, LEADS)) == 1 + 2 + 8 and len(tab(fake, sid, LOG)) == 1 + 6 + 5


def test_returning_person_and_a_responses_tab_of_the_spreadsheet(fake, account, tmp_path):
    rows = fb_rows(3)
    rows[0][13] = "p:+84912345678"  # Lan, rejected
    import csv
    import io

    grid = list(csv.reader(io.StringIO(forms_text(rows))))
    for r, fb in zip(grid[1:], rows):  # a responses tab holds real date-times: serials when read
        when = dt.datetime.strptime(fb[1][:19], "%Y-%m-%dT%H:%M:%S")
        r[0] = (when - dt.datetime(1899, 12, 30)).total_seconds() / 86400
    sid, target = make(fake, account, {"Câu trả lời biểu mẫu 1": grid})
    res = api.import_leads(["tab:Câu trả lời biểu mẫu 1"], today=TODAY, **target)
    assert res.plan.counts == {"returning": 1, "new": 2}
    leads = tab(fake, sid, LEADS)
    assert leads[1][leads[0].index("Trạng thái")] == "Từ chối"  # person cells untouched
    log = tab(fake, sid, LOG)
    assert [r[log[0].index("Kết quả")] for r in log[1:]] == ["quay lại", "mới", "mới"]
    sent = fake.admin.values(sid, f"'{LOG}'!A1:Z5", "UNFORMATTED_VALUE")
    col = sent[0].index("Thời điểm gửi")
    first = dt.datetime.strptime(rows[0][1][:19], "%Y-%m-%dT%H:%M:%S")
    assert abs(sent[1][col] - (first - dt.datetime(1899, 12, 30)).total_seconds() / 86400) < 1e-5


def test_import_cut_off_before_the_leads_then_rerun(fake, account, tmp_path, monkeypatch):
    """The payload is split in chunks; the one carrying the lead rows never arrives: the
    intake rows are in, the leads are not. The rerun appends those leads under the logged
    ids and logs nothing twice."""
    import gspread.http_client

    import sheetcrm.backends.gsheets as g

    sid, target = make(fake, account)
    monkeypatch.setattr(g, "PAYLOAD_LIMIT", 20_000)
    path = fb_file(tmp_path / "fb.csv", fb_rows(300))
    real = gspread.http_client.HTTPClient.batch_update

    def cut(self, spreadsheet_id, body):
        for req in body.get("requests", []):
            rows = req.get("appendCells", {}).get("rows", [])
            first = rows[0]["values"][0].get("userEnteredValue", {}).get("stringValue", "") if rows else ""
            if first.startswith("KH-"):
                raise g.BackendError("connection lost")
        return real(self, spreadsheet_id, body)

    monkeypatch.setattr(gspread.http_client.HTTPClient, "batch_update", cut)
    with pytest.raises(g.BackendError):
        api.import_leads([path], today=TODAY, **target)
    monkeypatch.setattr(gspread.http_client.HTTPClient, "batch_update", real)
    assert len(tab(fake, sid, LOG)) == 1 + 300 and len(tab(fake, sid, LEADS)) == 1 + 2
    res = api.import_leads([path], today=TODAY, **target)
    assert res.plan.counts == {"completed": 300}
    log = tab(fake, sid, LOG)
    assert len(log) == 1 + 300 and len({r[0] for r in log[1:]}) == 300
    leads = tab(fake, sid, LEADS)
    assert [r[0] for r in leads[3:]] == [r[log[0].index("Mã KH")] for r in log[1:]]
    assert api.import_leads([path], today=TODAY, **target).plan.counts == {"already_imported": 300}


def test_api_calls_for_a_10k_row_import(fake, account, tmp_path):
    sid, target = make(fake, account)
    path = fb_file(tmp_path / "fb.csv", fb_rows(10_000, start=dt.datetime(2026, 12, 1, 8), hours=60))
    fake.admin.reset_counters()
    res = api.import_leads([path], today=TODAY, **target)
    assert res.plan.counts == {"new": 10_000}
    import sheetcrm.backends.gsheets as g

    calls = {k: v for k, v in fake.admin.counters()["requests"].items() if k != "oauth2.token"}
    reqs = [g._append_cells(0, list(a.rows)) for a in res.plan.changes.appends if a.rows]
    chunks = len(list(g._chunks(reqs, g.PAYLOAD_LIMIT)))
    # two reads, the lock, the new tabs, then the payload chunks (the last one releases the lock)
    assert calls["spreadsheets.values.batchGet"] == 2
    assert sum(calls.values()) <= 5 + chunks, calls


def test_cli_import_into_a_spreadsheet(fake, account, tmp_path):
    from .e2e import cli

    sid, target = make(fake, account)
    path = fb_file(tmp_path / "fb.csv", fb_rows(3))
    r = cli("import", str(path), "--sheet", sid, "--credentials", target["credentials"],
            "--api-endpoint", fake.url, "--today", TODAY)
    assert r.returncode == 0, r.stderr
    assert "new: 3" in r.stdout
    assert len(tab(fake, sid, LEADS)) == 1 + 2 + 3


def test_fairness_of_1000_leads_over_7_reps_in_two_imports_then_sync(fake, account, tmp_path):
    team = [["Tên", "Vai trò", "Đang làm", "Tối đa mỗi ngày", "Ngày nghỉ"],
            ["Minh", "sales", "có", "", ""], ["Thảo", "sales", "có", "100", ""],
            ["Lan", "sales", "có", "", "01/12/2026 - 05/12/2026"], ["Hùng", "sales", "không", "", ""],
            ["Quân", "sales", "có", "", ""], ["Vy", "sales", "có", "", ""], ["Bảo", "quản lý", "có", "", ""]]
    sid, target = make(fake, account, {"Nhân viên": team})
    rows = fb_rows(1000, hours=5)
    api.import_leads([fb_file(tmp_path / "a.csv", rows[:400])], today=TODAY, **target)
    res = api.import_leads([fb_file(tmp_path / "b.csv", rows)], today=TODAY, **target)
    assert res.plan.counts == {"duplicate": 400, "new": 600}
    leads = tab(fake, sid, LEADS)
    owner = leads[0].index("Người phụ trách")
    got = {}
    for r in leads[3:]:
        got[r[owner]] = got.get(r[owner], 0) + 1
    assert got.pop("Thảo") == 100 and set(got) == {"Minh", "Quân", "Vy"}  # cap; days off, inactive, manager
    assert max(got.values()) - min(got.values()) <= 1, got  # the rest shared evenly
    api.sync(today=TODAY, **target)  # the cron run after: owners stay as handed out
    assert [r[owner] for r in tab(fake, sid, LEADS)[3:]] == [r[owner] for r in leads[3:]]
