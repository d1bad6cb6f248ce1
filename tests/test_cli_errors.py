"""What a new user tries that is wrong ends in one clear line and an exit code, never in a
Python traceback; masking hides phones and emails, not the user's own input."""

from __future__ import annotations

import datetime as dt
import json
import logging
import zipfile

import pytest
from click.testing import CliRunner
from helpers_xlsx import CLEAN, LEADS, TODAY_S, grid, sha, write_workbook

from sheetcrm.backends.office_lock import MAX_AGE, find_office_lock
from sheetcrm.cli import main
from sheetcrm.logs import JsonFormatter, redact


def invoke(*args):
    r = CliRunner().invoke(main, [str(a) for a in args])
    return r.exit_code, r.stdout, r.stderr


@pytest.fixture
def wb(tmp_path):
    return write_workbook(tmp_path / "leads.xlsx", {LEADS: grid(CLEAN)})


def _no_traceback(out, err):
    assert "Traceback" not in out + err


def test_a_zip_that_is_not_a_workbook(tmp_path):
    p = tmp_path / "export.xlsx"
    with zipfile.ZipFile(p, "w") as z:
        z.writestr("data.csv", "a,b\n")
    for command in ("sync", "check", "init"):
        code, out, err = invoke(command, "--workbook", p)
        _no_traceback(out, err)
        assert code == 2 and "export.xlsx" in err and "xl/workbook.xml" in err


@pytest.mark.parametrize("args,needle", [
    (["demo", "--rows", "-5"], "--rows"),
    (["demo", "--rows", "abc"], "--rows"),
    (["check", "--limit", "0"], "--limit"),
])
def test_bad_numeric_options_are_usage_errors(tmp_path, wb, args, needle):
    if args[0] == "check":
        args = [*args, "--workbook", str(wb)]
    else:
        args = [*args, "--dir", str(tmp_path / "d")]
    code, out, err = invoke(*args)
    _no_traceback(out, err)
    assert code == 2 and needle in err


def test_workbook_and_sheet_together_is_a_usage_error(wb):
    code, out, err = invoke("sync", "--workbook", wb, "--sheet", "1AbC")
    assert code == 2 and "--workbook or --sheet" in err


def test_unexpected_error_is_one_line_exit_3_and_traceback_only_with_debug(wb, monkeypatch):

    def boom(*a, **k):
        raise RuntimeError("kaboom inside")

    monkeypatch.setattr("sheetcrm.sync.pipeline.plan_sync", boom)
    code, out, err = invoke("sync", "--workbook", wb, "--today", TODAY_S)
    assert code == 3 and "kaboom inside" in err and "--debug" in err
    _no_traceback(out, err)
    code, out, err = invoke("sync", "--workbook", wb, "--today", TODAY_S, "--debug")
    assert code == 3 and "Traceback" in err and "kaboom inside" in err


def test_bad_today_is_shown_as_typed(wb):
    code, _, err = invoke("sync", "--workbook", wb, "--today", "2026-13-45")
    assert code == 2 and "'2026-13-45'" in err and "2026-03-12" in err


@pytest.mark.parametrize("text,hidden,kept", [
    ("gọi 0912 345 678 ngay", "0912 345 678", "678"),
    ("+84912345678 và 0084912345678", "84912345", "678"),
    ("thư lan.nguyen@congty.vn", "lan.nguyen", "congty.vn"),
    ("ngày 2026-03-12 và 12/03/2026, KH-000123, Khách hàng!E12", None, "2026-03-12"),
    ("share with bot@proj-1.iam.gserviceaccount.com", None, "bot@proj-1.iam.gserviceaccount.com"),
])
def test_redaction_masks_phones_and_emails_only(text, hidden, kept):
    out = redact(text)
    if hidden:
        assert hidden not in out
    else:
        assert out == text
    assert kept in out


def test_json_log_time_carries_the_team_offset():
    rec = logging.LogRecord("sheetcrm", logging.INFO, __file__, 1, "hi", (), None)
    t = dt.datetime.fromisoformat(json.loads(JsonFormatter().format(rec))["time"])
    assert t.utcoffset() == dt.timedelta(hours=7)
    assert abs(t.timestamp() - rec.created) < 1


# ------------------------------------------------------------------ office locks

def _libreoffice_lock(wb, host, when):
    p = wb.with_name(f".~lock.{wb.name}#")
    p.write_text(f",Lan Nguyen,{host},{when:%d.%m.%Y %H:%M},file:///home/lan/.config/libreoffice/4;")
    return p


def test_libreoffice_lock_on_this_host_without_office_running_is_stale(wb):
    now = dt.datetime.now()
    _libreoffice_lock(wb, "cronhost", now)
    lock = find_office_lock(wb, now=now, host="cronhost", running=False)
    assert lock.stale and "no LibreOffice process" in lock.why and lock.user == "Lan Nguyen"
    assert not find_office_lock(wb, now=now, host="cronhost", running=True).stale


def test_libreoffice_lock_from_another_host_is_stale_after_max_age(wb):
    now = dt.datetime(2026, 12, 7, 9, 0)
    _libreoffice_lock(wb, "laptop", now - dt.timedelta(hours=1))
    assert not find_office_lock(wb, now=now, host="cronhost").stale
    _libreoffice_lock(wb, "laptop", now - MAX_AGE - dt.timedelta(minutes=5))
    lock = find_office_lock(wb, now=now, host="cronhost")
    assert lock.stale and "another host" in lock.why


def test_excel_lock_judged_by_age(wb):
    p = wb.with_name(f"~${wb.name}")
    p.write_bytes(b"\x03Lan" + b" " * 51)
    lock = find_office_lock(wb)
    assert not lock.stale and lock.user == "Lan" and lock.app == "Excel"
    assert find_office_lock(wb, now=dt.datetime.now() + MAX_AGE + dt.timedelta(hours=1)).stale


def test_stale_lock_no_longer_blocks_the_sync_and_is_reported(wb, caplog):
    old = dt.datetime.now() - MAX_AGE - dt.timedelta(hours=2)
    _libreoffice_lock(wb, "some-old-laptop", old)
    before = sha(wb)
    code, out, err = invoke("sync", "--workbook", wb, "--today", TODAY_S)
    assert code == 0, err
    assert "stale" in err and "some-old-laptop" in err
    assert sha(wb) != before


def test_live_lock_is_try_later_exit_4(wb):
    _libreoffice_lock(wb, "laptop", dt.datetime.now())
    before = sha(wb)
    code, _, err = invoke("sync", "--workbook", wb, "--today", TODAY_S)
    assert code == 4 and "LibreOffice" in err and "Lan Nguyen" in err
    assert sha(wb) == before
