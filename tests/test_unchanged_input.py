"""A run that finds the workbook as the last logged run left it, on the same day, only logs."""

from __future__ import annotations

import datetime as dt

import pytest

from openpyxl import load_workbook

from sheetcrm import api
from sheetcrm.demo import write_demo_workbook

DAY = dt.date(2026, 3, 12)


def _history_rows(path):
    return load_workbook(path)["Lịch sử"].max_row


def test_a_persons_edit_on_the_same_day_is_never_skipped(tmp_path):
    path = write_demo_workbook(tmp_path / "w.xlsx", 60, 5, DAY)
    api.sync(workbook=path, today=DAY)
    skipped = api.sync(workbook=path, today=DAY)
    assert skipped.changes.describe() == ["append 1 row(s) to 'Nhật ký đồng bộ'"]
    assert skipped.report.rows_read == 60  # counts carried from the last run

    wb = load_workbook(path)
    ws = wb["Khách hàng"]
    status_col = [c.value for c in ws[1]].index("Trạng thái") + 1
    ws.cell(row=2, column=status_col).value = "Chốt"
    wb.save(path)
    before = _history_rows(path)
    result = api.sync(workbook=path, today=DAY)
    assert result.report.transitions == 1
    assert _history_rows(path) == before + 1


def test_a_new_day_or_new_rules_plan_again(tmp_path):
    path = write_demo_workbook(tmp_path / "w.xlsx", 60, 5, DAY)
    api.sync(workbook=path, today=DAY)
    api.sync(workbook=path, today=DAY)
    next_day = api.sync(workbook=path, today=DAY + dt.timedelta(days=1))
    assert any("Tổng quan" in line for line in next_day.changes.describe())  # "today" moved
    english = api.sync(workbook=path, today=DAY + dt.timedelta(days=1), language="en")
    assert len(english.changes.describe()) > 1  # another language is another plan


def test_dry_run_always_plans(tmp_path):
    path = write_demo_workbook(tmp_path / "w.xlsx", 30, 5, DAY)
    api.sync(workbook=path, today=DAY)
    dry = api.sync(workbook=path, today=DAY, dry_run=True)
    assert dry.report.timings  # the pipeline ran


def test_same_input_reads_only_the_log_tab(tmp_path, monkeypatch):
    from sheetcrm.backends.xlsx import XlsxBackend

    path = write_demo_workbook(tmp_path / "w.xlsx", 40, 5, DAY)
    api.sync(workbook=path, today=DAY)
    api.sync(workbook=path, today=DAY)

    def no_full_read(self):
        raise AssertionError("the whole workbook was read")

    monkeypatch.setattr(XlsxBackend, "read", no_full_read)
    result = api.sync(workbook=path, today=DAY)
    assert result.changes.describe() == ["append 1 row(s) to 'Nhật ký đồng bộ'"]


# The log records the state a run leaves (xlsx: a digest of the package as written), so
# the next run that finds the file untouched plans nothing. That is sound only if a sync
# of what a sync wrote plans nothing: a dry run (which always plans) checks it.

def _no_full_read(monkeypatch):
    from sheetcrm.backends.xlsx import XlsxBackend

    def no_full_read(self):
        raise AssertionError("the whole workbook was read")

    monkeypatch.setattr(XlsxBackend, "read", no_full_read)


@pytest.mark.parametrize("language", ["vi", "en"])
def test_the_run_after_a_writing_run_finds_the_state_it_left(tmp_path, monkeypatch, language):
    path = write_demo_workbook(tmp_path / "w.xlsx", 80, 5, DAY)
    first = api.sync(workbook=path, today=DAY, language=language)
    assert len(first.changes.describe()) > 1  # ids, summaries, logs: a writing run
    again = api.sync(workbook=path, today=DAY, language=language, dry_run=True)
    assert again.changes.is_empty(), again.changes.describe()  # converged in one run
    with monkeypatch.context() as m:
        _no_full_read(m)
        skipped = api.sync(workbook=path, today=DAY, language=language)
    assert skipped.report.unchanged and skipped.report.rows_read == 80
    assert skipped.changes.describe() == [f"append 1 row(s) to '{'Sync log' if language == 'en' else 'Nhật ký đồng bộ'}'"]


def test_a_file_put_back_as_it_was_before_the_last_run_is_planned_again(tmp_path):
    path = write_demo_workbook(tmp_path / "w.xlsx", 40, 5, DAY)
    before = path.read_bytes()
    first = api.sync(workbook=path, today=DAY)
    assert first.report.ids_assigned > 0
    path.write_bytes(before)  # a backup restored: the ids the run gave are gone
    again = api.sync(workbook=path, today=DAY)
    assert not again.report.unchanged and again.report.ids_assigned == first.report.ids_assigned


def test_an_edit_after_a_writing_run_is_planned(tmp_path):
    path = write_demo_workbook(tmp_path / "w.xlsx", 40, 5, DAY)
    api.sync(workbook=path, today=DAY)
    wb = load_workbook(path)
    ws = wb["Khách hàng"]
    status_col = [c.value for c in ws[1]].index("Trạng thái") + 1
    ws.cell(row=3, column=status_col).value = "Chốt"
    wb.save(path)
    result = api.sync(workbook=path, today=DAY)
    assert not result.report.unchanged and result.report.transitions == 1


def test_the_log_row_of_a_writing_run_holds_the_digest_the_next_run_computes(tmp_path):
    from sheetcrm.backends.xlsx import XlsxBackend
    from sheetcrm.sync.pipeline import plan_digest

    path = write_demo_workbook(tmp_path / "w.xlsx", 30, 5, DAY)
    api.sync(workbook=path, today=DAY)
    log = load_workbook(path)["Nhật ký đồng bộ"]
    col = [c.value for c in log[1]].index("Dấu dữ liệu") + 1
    logged = log.cell(row=log.max_row, column=col).value
    content = XlsxBackend(path).content_digest("Nhật ký đồng bộ")
    cfg = api._config(None, workbook=str(path))
    expected = plan_digest(content, api.load_team_schemas(cfg), api._settings(cfg), DAY, api.__version__)
    assert logged == expected and len(logged) == 24


def test_open_on_makes_the_workbook_open_on_the_overview(tmp_path):
    import re
    import zipfile

    from sheetcrm.backends.xlsx_patch import sheet_paths

    path = write_demo_workbook(tmp_path / "w.xlsx", 40, 5, DAY)
    api.sync(workbook=path, today=DAY, open_on="overview")

    def state():
        with zipfile.ZipFile(path) as z:
            wb = z.read("xl/workbook.xml").decode()
            names = re.findall(r'<sheet [^>]*name="([^"]+)"', wb)
            active = int(re.search(r'activeTab="(\d+)"', wb).group(1))
            selected = [t for t, part in sheet_paths(z).items()
                        if b'tabSelected="1"' in (d := z.read(part))[:d.find(b"sheetData")]]
        return names[active], selected

    assert state() == ("Tổng quan", ["Tổng quan"])  # one tab selected: no group
    assert load_workbook(path).active.title == "Tổng quan"
    again = api.sync(workbook=path, today=DAY, open_on="overview", dry_run=True)
    assert again.changes.is_empty()  # the setting alone is no change
    api.sync(workbook=path, today=DAY + dt.timedelta(days=1), open_on="agenda")
    assert state() == ("Lịch liên hệ lại", ["Lịch liên hệ lại"])
    api.sync(workbook=path, today=DAY + dt.timedelta(days=2))  # the default: left as it is
    assert state()[0] == "Lịch liên hệ lại" and len(state()[1]) <= 1
