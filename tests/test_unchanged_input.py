"""A run whose input is the same as the last logged run's on the same day only logs."""

from __future__ import annotations

import datetime as dt

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
