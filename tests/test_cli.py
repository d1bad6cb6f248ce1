"""The command line (click CliRunner and the real console script): exit codes 0/1/2/4,
one-line errors naming the file, dry runs that write nothing, init, demo."""

from __future__ import annotations

import datetime as dt
import json
import os

import pytest
from click.testing import CliRunner
from filelock import FileLock
from helpers_xlsx import (
    CLEAN,
    LEADS,
    TODAY,
    TODAY_S,
    H,
    column_values,
    grid,
    lead,
    run_cli,
    schemas,
    sha,
    snapshot,
    write_workbook,
)
from openpyxl import load_workbook

from sheetcrm.cli import main
from sheetcrm.demo import INVALID_KINDS, generate_demo_data

MSG = schemas().messages["vi"]


def invoke(*args):
    r = CliRunner().invoke(main, list(args))
    return r.exit_code, r.stdout, r.stderr


def people(n):
    return [lead(lead_id=f"KH-{i + 1:06d}", name=f"Khách {i}", email=f"k{i}@x.vn",
                 phone=f"09120000{i:02d}") for i in range(n)]


@pytest.fixture
def clean_wb(tmp_path):
    return write_workbook(tmp_path / "leads.xlsx", {LEADS: grid(CLEAN)})


@pytest.fixture
def bad_wb(tmp_path):
    leads = people(12)
    leads[10]["phone"] = "12345"  # sheet row 12, column E
    leads[3]["email"] = "abc@"  # row 5, column D
    return write_workbook(tmp_path / "bad.xlsx", {LEADS: grid(leads)})


# ------------------------------------------------------------------ check

def test_check_lists_problems_with_cells_and_exits_1(bad_wb):
    h = sha(bad_wb)
    code, out, err = invoke("check", "--workbook", str(bad_wb), "--today", TODAY_S)
    assert code == 1, out + err
    assert f"{LEADS}!E12: {MSG['bad_phone']}" in out
    assert f"{LEADS}!D5: {MSG['bad_email']}" in out
    assert "2 problem(s)" in out
    assert sha(bad_wb) == h


def test_check_clean_workbook_exits_0(clean_wb):
    h = sha(clean_wb)
    code, out, err = invoke("check", "--workbook", str(clean_wb), "--today", TODAY_S)
    assert code == 0, out + err
    assert "No problems in 4 rows" in out
    assert sha(clean_wb) == h


def test_check_today_decides_what_is_future(clean_wb):
    # CLEAN's latest date is 2026-03-01: clean today, in the future for a today before it
    code, out, _ = invoke("check", "--workbook", str(clean_wb), "--today", "2026-02-15")
    assert code == 1
    assert f"{LEADS}!K4: " + MSG["future_date"].format(header=H["last_contact"], value="01/03/2026") in out


def test_bad_today_is_a_usage_error(clean_wb):
    code, out, err = invoke("sync", "--workbook", str(clean_wb), "--today", "12/03/2026")
    assert code == 2 and "--today" in err and "12/03/2026" in err


# ------------------------------------------------------------------ sync

def test_sync_dry_run_prints_changes_and_writes_nothing(tmp_path):
    path = write_workbook(tmp_path / "leads.xlsx", {LEADS: grid(CLEAN + [lead(lead_id=None, email="abc@")])})
    st, h = os.stat(path), sha(path)
    code, out, err = invoke("sync", "--dry-run", "--workbook", str(path), "--today", TODAY_S)
    assert code == 0, out + err
    assert "Dry run: nothing was written" in out
    assert f"{LEADS}!A6: (empty) -> 'KH-000005'" in out
    assert MSG["bad_email"] in out
    assert sha(path) == h and os.stat(path).st_mtime_ns == st.st_mtime_ns
    assert sorted(os.listdir(tmp_path)) == ["leads.xlsx"]


def test_check_lists_every_steps_problem_with_its_kind(tmp_path):
    """Not only validation's: a duplicate on a row validation also flagged is listed too,
    one line per problem, with the kind the overview counts it under."""
    from sheetcrm import api

    leads = people(4)
    leads[3]["phone"] = leads[0]["phone"]  # row 5 repeats row 2's phone
    leads[3]["email"] = "abc@"  # and has a bad email
    path = write_workbook(tmp_path / "leads.xlsx", {LEADS: grid(leads)})
    p = api.check(workbook=path, today=TODAY_S).report.problems
    row5 = p[p["row"] == 5]
    assert sorted(row5["kind"]) == ["bad_email", "duplicate"]
    assert "issue" not in set(p["kind"])
    code, out, _ = invoke("check", "--workbook", str(path), "--today", TODAY_S)
    assert code == 1 and "trùng số điện thoại với KH-000001" in out


def test_sync_today_fills_created_and_exits_0(tmp_path):
    path = write_workbook(tmp_path / "leads.xlsx", {LEADS: grid([lead(created_at=None)])})
    code, out, err = invoke("sync", "--workbook", str(path), "--today", "2026-02-20")
    assert code == 0, out + err
    assert "today = 20/02/2026" in out
    assert column_values(path, H["created_at"]) == [dt.datetime(2026, 2, 20)]


def test_a_rerun_on_the_state_the_last_run_left_says_so_instead_of_zero_clusters(tmp_path):
    leads = people(4)
    leads[3]["phone"] = leads[0]["phone"]  # one duplicate pair
    path = write_workbook(tmp_path / "leads.xlsx", {LEADS: grid(leads)})
    outs = [invoke("sync", "--workbook", str(path), "--today", TODAY_S)[1] for _ in range(3)]
    assert "duplicates: 1 in 1 clusters" in outs[0]  # planned
    for out in outs[1:]:  # the file as run 1 (then run 2) left it
        assert "the workbook is as the last run left it today" in out
        assert "duplicates: 1" in out and "clusters" not in out


def test_sync_with_data_problems_still_exits_0(bad_wb):
    code, out, err = invoke("sync", "--workbook", str(bad_wb), "--today", TODAY_S)
    assert code == 0, out + err
    assert column_values(bad_wb, H["issues"])[10] == MSG["bad_phone"]


def test_log_format_json(clean_wb):
    code, out, err = invoke("sync", "--workbook", str(clean_wb), "--today", TODAY_S, "--log-format", "json")
    assert code == 0
    records = [json.loads(ln) for ln in err.splitlines() if ln.strip()]
    assert records, err
    done = [r for r in records if "rows_read" in r]
    assert done and done[0]["rows_read"] == 4 and {"time", "level"} <= set(done[0])


# ------------------------------------------------------------------ refusals: exit 2, file unchanged

def _one_line_error(err: str, name: str) -> None:
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert len(lines) == 1, err
    assert lines[0].startswith("Error: ") and name in lines[0]
    assert "Traceback" not in err


@pytest.mark.parametrize("command", ["sync", "check", "init"])
def test_missing_file(tmp_path, command):
    path = tmp_path / "nope.xlsx"
    code, _, err = invoke(command, "--workbook", str(path))
    if command == "init":  # init creates a new workbook
        assert code == 0 and path.exists()
        return
    assert code == 2
    _one_line_error(err, "nope.xlsx")
    assert not path.exists()


@pytest.mark.parametrize("command", ["sync", "check", "init"])
def test_text_file_named_xlsx(tmp_path, command):
    path = tmp_path / "x.xlsx"
    path.write_text("Tên,Email\nAn,an@x.vn\n")
    h = sha(path)
    code, _, err = invoke(command, "--workbook", str(path))
    assert code == 2
    _one_line_error(err, "x.xlsx")
    assert sha(path) == h


def test_workbook_open_in_libreoffice(clean_wb):
    lock = clean_wb.with_name(".~lock.leads.xlsx#")
    now = dt.datetime.now().strftime("%d.%m.%Y %H:%M")
    lock.write_text(f",someone,otherhost,{now},file:///home/someone/.config/libreoffice/4;")
    h = sha(clean_wb)
    code, _, err = invoke("sync", "--workbook", str(clean_wb), "--today", TODAY_S)
    assert code == 4  # transient for cron: try later
    _one_line_error(err, "leads.xlsx")
    assert "LibreOffice" in err or ".~lock" in err
    assert sha(clean_wb) == h


def test_office_lock_also_stops_a_sync_that_only_appends_its_log_row(clean_wb):
    assert invoke("sync", "--workbook", str(clean_wb), "--today", TODAY_S)[0] == 0
    (clean_wb.parent / "~$leads.xlsx").write_bytes(b"\x05someone")
    h = sha(clean_wb)
    code, _, err = invoke("sync", "--workbook", str(clean_wb), "--today", TODAY_S)
    assert code == 4
    _one_line_error(err, "leads.xlsx")
    assert sha(clean_wb) == h
    # check and dry runs only read: they still work while the workbook is open
    assert invoke("check", "--workbook", str(clean_wb), "--today", TODAY_S)[0] == 0
    assert invoke("sync", "--dry-run", "--workbook", str(clean_wb), "--today", TODAY_S)[0] == 0


def test_lock_held_exits_4(clean_wb):
    h = sha(clean_wb)
    with FileLock(str(clean_wb.with_name(".leads.xlsx.sheetcrm.lock")), timeout=0):
        code, _, err = invoke("sync", "--workbook", str(clean_wb), "--today", TODAY_S)
    assert code == 4
    _one_line_error(err, "leads.xlsx")
    assert sha(clean_wb) == h


def test_missing_required_header_exits_2_naming_tab_header_and_closest(tmp_path):
    path = write_workbook(tmp_path / "leads.xlsx", {LEADS: grid(CLEAN, headers={"status": "Trang thai KH"})})
    h = sha(path)
    for command in ("sync", "check"):
        code, _, err = invoke(command, "--workbook", str(path), "--today", TODAY_S)
        assert code == 2
        _one_line_error(err, LEADS)
        assert "'Trạng thái'" in err and "did you mean 'Trang thai KH'" in err
    assert sha(path) == h


def test_no_target_is_a_usage_error(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, _, err = invoke("sync")
    assert code == 2 and "--workbook" in err


# ------------------------------------------------------------------ the real console script

def test_console_script_check_sync_and_errors(tmp_path, bad_wb):
    r = run_cli("check", "--workbook", str(bad_wb), "--today", TODAY_S)
    assert r.returncode == 1 and f"{LEADS}!E12: {MSG['bad_phone']}" in r.stdout
    r = run_cli("sync", "--workbook", str(bad_wb), "--today", TODAY_S, "--log-format", "json")
    assert r.returncode == 0, r.stderr
    assert any("rows_read" in json.loads(ln) for ln in r.stderr.splitlines() if ln.startswith("{"))
    assert column_values(bad_wb, H["issues"])[10] == MSG["bad_phone"]
    with FileLock(str(bad_wb.with_name(".bad.xlsx.sheetcrm.lock")), timeout=0):
        r = run_cli("sync", "--workbook", str(bad_wb), "--today", TODAY_S)
    assert r.returncode == 4 and "bad.xlsx" in r.stderr
    txt = tmp_path / "x.xlsx"
    txt.write_text("not a workbook")
    r = run_cli("sync", "--workbook", str(txt))
    assert r.returncode == 2 and r.stderr.strip().count("\n") == 0 and "x.xlsx" in r.stderr
    hdr = write_workbook(tmp_path / "hdr.xlsx", {LEADS: grid(CLEAN, headers={"name": "Tên KH"})})
    r = run_cli("sync", "--workbook", str(hdr), "--today", TODAY_S)
    assert r.returncode == 2 and r.stderr.strip().count("\n") == 0, r.stderr
    assert LEADS in r.stderr and "'Tên khách hàng'" in r.stderr and "did you mean 'Tên KH'" in r.stderr


# ------------------------------------------------------------------ init

def test_init_new_workbook_creates_tabs_headers_freeze_dropdowns(tmp_path):
    path = tmp_path / "new.xlsx"
    code, out, err = invoke("init", "--workbook", str(path))
    assert code == 0, out + err
    wb = load_workbook(path)
    s = schemas()
    for key, tab in s.tabs.items():
        if tab.on_demand:  # the privacy tabs are made by `forget`
            assert tab.title not in wb.sheetnames, key
            continue
        ws = wb[tab.title]
        assert [c.value for c in ws[1]] == [c.header for c in tab.columns if not c.optional], key
        assert ws.freeze_panes == "A2", key
    ws = wb[LEADS]
    lists = {str(dv.sqref).split(":")[0][:-1]: dv.formula1 for dv in ws.data_validations.dataValidation}
    headers = [c.value for c in ws[1]]
    status_col = "ABCDEFGHIJKLMNOPQ"[headers.index(H["status"])]
    reason_col = "ABCDEFGHIJKLMNOPQ"[headers.index(H["reason"])]
    assert "Mới" in lists[status_col] and "Chốt" in lists[status_col]
    assert "Giá quá cao" in lists[reason_col]
    # a second init has nothing to do
    code, out, _ = invoke("init", "--workbook", str(path))
    assert code == 0 and "Nothing to create" in out


def test_init_never_touches_existing_data(tmp_path):
    keys = ["phone", "name", "status", "email", "notes"]
    g = grid(CLEAN, keys=keys, extra={"Riêng": ["a", None, 3, dt.date(2026, 1, 1)]})
    path = write_workbook(tmp_path / "leads.xlsx", {LEADS: g, "Của tôi": [["x"], [1]]})
    before = snapshot(path)
    code, out, err = invoke("init", "--workbook", str(path))
    assert code == 0, out + err
    after = snapshot(path)
    for k, v in before[LEADS].items():
        assert after[LEADS][k] == v, k
    assert after["Của tôi"] == before["Của tôi"]
    # missing columns were added after the existing ones, other tabs created
    new_headers = [after[LEADS][(1, c)][0] for c in range(len(keys) + 2, len(keys) + 20)
                   if (1, c) in after[LEADS]]
    assert H["issues"] in new_headers and H["lead_id"] in new_headers
    assert set(after) >= {s.title for s in schemas().tabs.values() if not s.on_demand}
    assert not set(after[LEADS]) - set(before[LEADS]) - {(1, c) for c in range(len(keys) + 2, len(keys) + 20)}


# ------------------------------------------------------------------ demo

def test_demo_flags_bad_rows_only(tmp_path):
    code, out, err = invoke("demo", "--dir", str(tmp_path), "--rows", "300", "--today", TODAY_S, "-q")
    assert code == 0, out + err
    path = tmp_path / "sheetcrm-demo.xlsx"
    truth = generate_demo_data(300, 7, TODAY)
    issues = column_values(path, H["issues"])
    assert len(issues) >= 300
    expected = {"no_name": MSG["missing_name"], "no_contact": MSG["no_contact"],
                "bad_email": MSG["bad_email"], "bad_phone": MSG["bad_phone"],
                "future_date": MSG["future_date"].split("{")[0] or "tương lai",
                "error_value": "lỗi bảng tính", "unknown_status": "Trạng thái '"}
    bad_rows = set()
    for kind in INVALID_KINDS:
        rows = truth.invalid.get(kind, [])
        assert rows, kind
        for r in rows:
            bad_rows.add(r)
            assert issues[r] and expected[kind] in issues[r], (kind, r, issues[r])
    # rows that are valid, not duplicates and need no reason have an empty issues cell
    dup = set(truth.duplicates) | set(truth.duplicates.values())
    status_col = truth.header.index(H["status"])
    reason_col = truth.header.index(H["reason"])
    checked = 0
    for i, row in enumerate(truth.rows):
        status, reason = row[status_col], row[reason_col]
        needs_reason = isinstance(status, str) and status.strip().lower() in (
            "từ chối", "tu choi", "lost", "chưa chốt", "chua chot", "pending", "chưa chốt được")
        if i in bad_rows or i in dup or (needs_reason and not reason):
            continue
        assert issues[i] in (None, ""), (i, row, issues[i])
        checked += 1
    assert checked > 200


def test_missing_leads_tab_exits_2(tmp_path):
    path = write_workbook(tmp_path / "leads.xlsx", {"Trang tính1": grid(CLEAN)})
    code, _, err = invoke("sync", "--workbook", str(path), "--today", TODAY_S)
    assert code == 2
    _one_line_error(err, LEADS)
    assert "Trang tính1" in err


def test_configured_tab_and_header_names(tmp_path):
    path = write_workbook(tmp_path / "leads.xlsx", {"DS khách 2026": grid(CLEAN, headers={"phone": "Di động riêng"})})
    cfg = tmp_path / "sheetcrm.toml"
    cfg.write_text('workbook = "leads.xlsx"\n[tabs]\nleads = "DS khách 2026"\n'
                   '[headers.leads]\nphone = "Di động riêng"\n', encoding="utf-8")
    code, out, err = invoke("check", "--config", str(cfg), "--today", TODAY_S)
    assert code == 0, out + err
    # the configured name is the one a missing-header error asks for
    write_workbook(path, {"DS khách 2026": grid(CLEAN, headers={"phone": "Di động riên"})})
    code, _, err = invoke("check", "--config", str(cfg), "--today", TODAY_S)
    assert code == 2 and "DS khách 2026" in err and "'Di động riêng'" in err and "did you mean 'Di động riên'" in err


@pytest.mark.parametrize("language, titles", [
    ("vi", ("Nhật ký đồng bộ", "Tổng quan", "Lịch liên hệ lại", "Dự báo", "Hoạt động")),
    ("en", ("Sync log", "Overview", "Recontact agenda", "Forecast", "Activity"))])
def test_demo_names_the_tabs_as_the_workbook_titles_them(tmp_path, language, titles):
    code, out, err = invoke("demo", "--dir", str(tmp_path), "--rows", "60", "--today", TODAY_S,
                            "--language", language)
    assert code == 0, err
    from openpyxl import load_workbook

    sheetnames = load_workbook(tmp_path / "sheetcrm-demo.xlsx", read_only=True).sheetnames
    for title in titles:
        assert f"  {title} " in out and title in sheetnames, title


def test_demo_team_gets_its_digests_into_an_outbox_once(tmp_path):
    """The demo's team tab lists its reps and a manager with addresses, so `notify --outbox`
    on the demo shows a digest per rep with due leads, the manager's, and a rerun writes none."""
    import email
    from email import policy

    from sheetcrm.demo import DEMO_MANAGER, demo_team_rows

    code, _, err = invoke("demo", "--dir", str(tmp_path), "--rows", "150", "--today", TODAY_S, "-q")
    assert code == 0, err
    path = tmp_path / "sheetcrm-demo.xlsx"
    team = [r for r in load_workbook(path)["Nhân viên"].iter_rows(min_row=2, values_only=True) if r[0]]
    assert {(r[0], r[1]) for r in team} == {(r["name"], r["email"]) for r in demo_team_rows()}
    out = tmp_path / "out"
    code, text, err = invoke("notify", "--workbook", str(path), "--outbox", str(out), "--today", TODAY_S)
    assert code == 0, err
    messages = [email.message_from_bytes(p.read_bytes(), policy=policy.default) for p in sorted(out.glob("*.eml"))]
    to = {m["To"].addresses[0].display_name for m in messages}
    assert DEMO_MANAGER in to and len(to - {DEMO_MANAGER}) >= 3
    assert all(m["To"].addresses[0].domain == "example.com" for m in messages)
    code, text, err = invoke("notify", "--workbook", str(path), "--outbox", str(out), "--today", TODAY_S)
    assert code == 0 and len(list(out.glob("*.eml"))) == len(messages)
