"""End-to-end syncs of real .xlsx files: what a person typed survives byte for byte, a
second sync changes nothing but the sync log, issues land in and leave `Lỗi dữ liệu`."""

from __future__ import annotations

import datetime as dt
import json
import re
import unicodedata

from helpers_xlsx import (
    CLEAN,
    LEADS,
    PERSON_KEYS,
    SYNC_LOG,
    TODAY,
    TODAY_S,
    H,
    column_values,
    grid,
    header_cols,
    lead,
    run_cli,
    schemas,
    set_cell,
    snapshot,
    write_workbook,
)

from sheetcrm import api
from sheetcrm.config import Config
from sheetcrm.demo import FORMULA_NOTE, write_demo_workbook

MSG = schemas().messages["vi"]
NFD = lambda s: unicodedata.normalize("NFD", s)
EXTRA = "Zalo riêng"
FORMULA = '=IMPORTXML("http://x","//a")'


def _messy_workbook(path):
    """Shuffled columns, an extra column, NFD and English headers, typed values of every
    kind (text phones with their 0, real dates, text dates, a formula-looking name)."""
    keys = ["status", "phone", "name", "lead_id", "created_at", "email", "company", "notes",
            "owner", "last_contact", "product", "source", "reason"]
    headers = {"status": "Status", "phone": "Phone", "name": "Name", "email": "E-mail",
               "company": NFD("Công ty"), "owner": NFD("Người phụ trách"),
               "created_at": NFD("Ngày tạo"), "last_contact": NFD("ngày liên hệ cuối"),
               "lead_id": "MÃ KH", "product": NFD("Sản phẩm quan tâm")}
    leads = [dict(d) for d in CLEAN] + [
        lead(lead_id=None, name=FORMULA, email="web@form.vn", phone="0977 000 111", created_at=None,
             status="moi", notes="web form"),
        lead(lead_id=None, name="Đỗ Thị Én", email="en.do@gmail", phone="0988123123",
             created_at="05/03/2026", last_contact="6/3/26", status="Tiềm năng"),
        lead(lead_id="KH-000010", name="Bùi Quang Phúc", email=None, phone="12345",
             created_at=dt.date(2026, 2, 14), status="Hot", company="#N/A"),
    ]
    extra = {EXTRA: ["0912000111", dt.date(2026, 1, 1), 42, "=SUM(A1:A2)", None, "ghi chú", 3.5]}
    g = grid(leads, keys=keys, headers=headers, extra=extra)
    write_workbook(path, {LEADS: g, "Ghi chú của tôi": [["Việc cần làm"], ["gọi chị Bình"]]})
    return path, g, keys


def test_messy_workbook_syncs_and_person_cells_are_unchanged(tmp_path):
    path, g, keys = _messy_workbook(tmp_path / "leads.xlsx")
    before = snapshot(path)
    res = api.sync(workbook=path, today=TODAY)
    assert res.applied and res.applied.wrote
    assert res.report.rows_read == len(g) - 1
    after = snapshot(path)

    # every cell a person typed (and every header, and the extra column) is the same, value and type
    for k, v in before[LEADS].items():
        assert after[LEADS].get(k) == v, (k, v, after[LEADS].get(k))
    assert after["Ghi chú của tôi"] == before["Ghi chú của tôi"]
    # the phone stayed text with its 0, the dates stayed dates, the formula-looking name text
    phone_col = keys.index("phone") + 1
    assert after[LEADS][(2, phone_col)] == ("0912345678", "s")
    assert after[LEADS][(2, keys.index("created_at") + 1)] == (dt.datetime(2026, 1, 5), "d")
    assert after[LEADS][(6, keys.index("name") + 1)] == (FORMULA, "s")
    extra_col = len(keys) + 1
    assert after[LEADS][(1, extra_col)] == (EXTRA, "s")
    assert after[LEADS][(5, extra_col)] == ("=SUM(A1:A2)", "s")
    # blank person-only cells stay blank
    for key in ("company", "email", "phone", "last_contact", "reason", "notes"):
        c = keys.index(key) + 1
        for r in range(2, len(g) + 1):
            if (r, c) not in before[LEADS]:
                assert (r, c) not in after[LEADS], (key, r)

    # only sync-owned cells were added: ids/created dates in blank cells and new columns at the end
    new_cells = set(after[LEADS]) - set(before[LEADS])
    allowed_cols = {keys.index("lead_id") + 1, keys.index("created_at") + 1}
    assert all(c in allowed_cols or c > extra_col for _, c in new_cells), sorted(new_cells)
    added = [after[LEADS][(1, c)][0] for c in range(extra_col + 1, extra_col + 6) if (1, c) in after[LEADS]]
    assert H["issues"] in added
    # NFD headers were not rewritten to NFC
    assert after[LEADS][(1, keys.index("company") + 1)] == (NFD("Công ty"), "s")


def test_second_sync_only_appends_one_sync_log_row(tmp_path):
    path, _, _ = _messy_workbook(tmp_path / "leads.xlsx")
    api.sync(workbook=path, today=TODAY)
    first = snapshot(path)
    res = api.sync(workbook=path, today=TODAY)
    second = snapshot(path)
    assert set(first) == set(second)
    assert second[LEADS] == first[LEADS]
    for tab in first:
        if tab != SYNC_LOG:
            assert second[tab] == first[tab], tab
    log1, log2 = first[SYNC_LOG], second[SYNC_LOG]
    assert {k: v for k, v in log2.items() if k in log1} == log1  # old rows untouched
    new_rows = {r for r, _ in set(log2) - set(log1)}
    assert new_rows == {max(r for r, _ in log1) + 1}
    assert res.report.ids_assigned == 0 and not res.changes.updates


def test_second_sync_of_demo_workbook_changes_nothing_but_the_log(tmp_path):
    # a realistic workbook: rejections, nurture, duplicates, bad rows, recontact scheduling
    path = write_demo_workbook(tmp_path / "demo.xlsx", 150, seed=3, today=TODAY)
    api.sync(workbook=path, today=TODAY)
    first = snapshot(path)
    api.sync(workbook=path, today=TODAY)
    second = snapshot(path)
    assert set(first) == set(second)
    for tab in first:
        if tab != SYNC_LOG:
            assert second[tab] == first[tab], tab
    extra = set(second[SYNC_LOG]) - set(first[SYNC_LOG])
    assert len({r for r, _ in extra}) == 1


def test_issue_text_lands_in_its_row_and_is_cleared_when_fixed(tmp_path):
    leads = [dict(d) for d in CLEAN] + [lead(email="abc@", phone="12345", status="Đang xem xét")]
    path = write_workbook(tmp_path / "leads.xlsx", {LEADS: grid(leads)})
    api.sync(workbook=path, today=TODAY)
    issues = column_values(path, H["issues"])
    assert issues[:4] == [None] * 4  # clean rows: empty
    text = issues[4]
    for m in (MSG["bad_email"], MSG["bad_phone"], MSG["unknown_status"].format(value="Đang xem xét")):
        assert m in text
    # a person fixes the row
    set_cell(path, LEADS, 6, H["email"], "vo.hai@example.vn")
    set_cell(path, LEADS, 6, H["phone"], "0935 123 456")
    set_cell(path, LEADS, 6, H["status"], "Mới")
    api.sync(workbook=path, today=TODAY)
    assert column_values(path, H["issues"])[4] in (None, "")
    # and breaks it again: the text comes back
    set_cell(path, LEADS, 6, H["email"], "vo.hai@")
    api.sync(workbook=path, today=TODAY)
    assert column_values(path, H["issues"])[4] == MSG["bad_email"]


def test_blank_ids_and_created_dates_are_filled(tmp_path):
    leads = [lead(lead_id="KH-000122", name="A", email="a@x.vn", phone=None),
             lead(lead_id=None, name="B", email="b@x.vn", phone=None, created_at=None),
             lead(lead_id="KH-000007", name="C", email="c@x.vn", phone=None),
             lead(lead_id="  ", name="D", email="d@x.vn", phone=None)]
    path = write_workbook(tmp_path / "leads.xlsx", {LEADS: grid(leads)})
    res = api.sync(workbook=path, today=TODAY)
    assert column_values(path, H["lead_id"]) == ["KH-000122", "KH-000123", "KH-000007", "KH-000124"]
    assert res.report.ids_assigned == 2
    created = column_values(path, H["created_at"])
    assert created[1] == dt.datetime(2026, 3, 12)  # a real date, today
    assert created[0] == dt.datetime(2026, 3, 1)
    snap = snapshot(path)
    assert snap[LEADS][(3, 1)] == ("KH-000123", "s")


def test_id_prefix_is_configurable(tmp_path):
    leads = [lead(lead_id="L-0041", name="A", email="a@x.vn"), lead(lead_id=None, name="B", email="b@x.vn")]
    path = write_workbook(tmp_path / "leads.xlsx", {LEADS: grid(leads)})
    api.sync(workbook=path, config=Config(id_prefix="L-", id_digits=4), today=TODAY)
    assert column_values(path, H["lead_id"]) == ["L-0041", "L-0042"]


def test_duplicate_id_is_reported_and_kept(tmp_path):
    leads = [lead(lead_id="KH-000005", name="A", email="a@x.vn", phone="0912000001"),
             lead(lead_id="KH-000005", name="B", email="b@x.vn", phone="0912000002")]
    path = write_workbook(tmp_path / "leads.xlsx", {LEADS: grid(leads)})
    api.sync(workbook=path, today=TODAY)
    assert column_values(path, H["lead_id"]) == ["KH-000005", "KH-000005"]
    issues = column_values(path, H["issues"])
    assert issues[0] in (None, "")
    assert MSG["duplicate_id"].format(value="KH-000005", row=2) in issues[1]


def test_formula_looking_text_stays_text(tmp_path):
    leads = [lead(name=FORMULA, notes="=1+1", company='=HYPERLINK("http://x")', status="=A1"),
             # rejected: the sync copies its name, company and notes into the rejection log
             lead(name="=2*3", email="r@x.vn", phone=None, company="=cmd|' /C calc'!A0",
                  notes="=IMPORTXML(\"http://y\",\"//a\")", status="Từ chối", reason="Giá quá cao",
                  last_contact=dt.date(2026, 3, 10))]
    path = write_workbook(tmp_path / "leads.xlsx", {LEADS: grid(leads)})
    res = api.sync(workbook=path, today=TODAY)
    assert res.report.rows_appended.get("rejections") == 1
    full = snapshot(path)
    logged = {v for v in full[schemas().tab("rejections").title].values()}
    assert ("=2*3", "s") in logged and ("=IMPORTXML(\"http://y\",\"//a\")", "s") in logged
    snap = full[LEADS]
    cols = header_cols(path)
    assert snap[(2, cols[H["name"]])] == (FORMULA, "s")
    assert snap[(2, cols[H["notes"]])] == ("=1+1", "s")
    assert snap[(2, cols[H["company"]])] == ('=HYPERLINK("http://x")', "s")
    assert snap[(2, cols[H["status"]])] == ("=A1", "s")
    # the issue text quoting the status is text too
    value, kind = snap[(2, cols[H["issues"]])]
    assert kind == "s" and "=A1" in value


def test_no_formula_in_any_tab_the_sync_writes(tmp_path):
    # person-typed text reaches the log tabs and the summaries (agenda: name, company):
    # wherever it lands it stays text, never a live formula
    leads = [lead(name="=2*3", email="r@x.vn", phone=None, company="=cmd|' /C calc'!A0", notes="=1+1",
                  status="Từ chối", reason="Giá quá cao", last_contact=dt.date(2026, 3, 10)),
             lead(name=FORMULA, email="n@x.vn", phone=None, company="=HYPERLINK(\"http://x\")",
                  status="Chưa chốt", reason="Chưa cần ngay", last_contact=dt.date(2026, 3, 1))]
    path = write_workbook(tmp_path / "leads.xlsx", {LEADS: grid(leads)})
    api.sync(workbook=path, today=TODAY)
    formulas = [(tab, k, v) for tab, cells in snapshot(path).items() for k, (v, t) in cells.items() if t == "f"]
    assert formulas == []


def test_demo_formula_note_stays_text(tmp_path):
    path = write_demo_workbook(tmp_path / "demo.xlsx", 60, seed=1, today=TODAY)
    api.sync(workbook=path, today=TODAY)
    hits = [v for v in snapshot(path)[LEADS].values() if v[0] == FORMULA_NOTE]
    assert hits == [(FORMULA_NOTE, "s")]


def _digits(s: str) -> str:
    return re.sub(r"\D", "", s)


def test_logs_never_hold_a_full_phone_or_email(tmp_path):
    from click.testing import CliRunner

    from sheetcrm.cli import main

    leads = [dict(d) for d in CLEAN] + [
        lead(email="bad@", phone="0912 777 888"), lead(email="x.y@abc.vn", phone="+44 20 7946 0958"),
        lead(name="Dup", email="AN.NGUYEN@minhphat.vn", phone="84912345678"),
        lead(name="Lạ", email="la@la.vn", phone="0900000001", status="Không rõ")]
    path = write_workbook(tmp_path / "leads.xlsx", {LEADS: grid(leads)})
    outputs = []
    runner = CliRunner()
    for args in (["sync", "--dry-run", "-vv", "--log-format", "json"], ["sync", "--dry-run", "-v"]):
        r = runner.invoke(main, [*args, "--workbook", str(path), "--today", TODAY_S])
        assert r.exit_code == 0, r.output
        outputs.append(r.output)
    # the real console script, writing, as cron runs it
    for args in (["sync", "-v", "--log-format", "json"], ["check", "-v", "--log-format", "json"]):
        r = run_cli(*args, "--workbook", str(path), "--today", TODAY_S, cwd=tmp_path)
        assert r.returncode in (0, 1), r.stderr
        outputs.append(r.stdout + r.stderr)
    json_lines = [ln for ln in outputs[2].splitlines() if ln.startswith("{")]
    assert json_lines and all(isinstance(json.loads(ln), dict) for ln in json_lines)
    text = "\n".join(outputs)
    assert "Khách hàng!" in text  # the dry run did list cell changes
    squeezed = _digits(text)
    for d in leads:
        if d.get("email"):
            assert d["email"].lower() not in text.lower(), d["email"]
        if d.get("phone"):
            assert d["phone"] not in text
            assert _digits(d["phone"])[-9:] not in squeezed, d["phone"]


def test_nfd_tab_title_and_numeric_cells_are_kept(tmp_path):
    # a tab renamed on macOS (decomposed), a phone typed as a number, a date as a serial number
    title = NFD(LEADS)
    assert title != LEADS
    leads = [lead(lead_id="KH-000001", phone=912345678),
             lead(lead_id="KH-000002", name="B", email="b@x.vn", phone=84987654321, created_at=46083),
             lead(lead_id=None, name="C", email="c@x.vn", phone=None)]
    path = write_workbook(tmp_path / "leads.xlsx", {title: grid(leads)})
    before = snapshot(path)
    res = api.sync(workbook=path, today=TODAY)
    after = snapshot(path)
    assert LEADS not in after and title in after  # no second leads tab
    for k, v in before[title].items():
        assert after[title][k] == v, k
    assert after[title][(2, PERSON_KEYS.index("phone") + 1)] == (912345678, "n")
    assert res.report.rows_with_issues == 0
    assert column_values(path, H["lead_id"], tab=title) == ["KH-000001", "KH-000002", "KH-000003"]


def test_a_header_below_a_title_row_is_refused_with_where_it_must_be(tmp_path):
    import pytest

    from sheetcrm.errors import HeaderError

    g = grid(CLEAN)
    path = write_workbook(tmp_path / "titled.xlsx", {LEADS: [["Danh sách khách hàng 2026"], [], *g]})
    before = path.read_bytes()
    with pytest.raises(HeaderError) as ei:
        api.sync(workbook=path, today=TODAY_S)
    assert "the header row must be row 1, but the headers are on row 3" in str(ei.value)
    assert path.read_bytes() == before
