"""The sync log: one row per run in the tab's column order, trimmed to the last N."""

from __future__ import annotations

import datetime as dt

from sheetcrm import __version__
from sheetcrm.schema import load_schemas
from sheetcrm.sync.synclog import FIELDS, sync_log_row

SCHEMAS = load_schemas()
REPORT = {
    "started_at": dt.datetime(2025, 6, 18, 9, 30, 5, 123456),
    "duration_s": 1.23456,
    "backend": "xlsx",
    "today": dt.date(2025, 6, 18),
    "rows_read": 1200,
    "issues": 7,
    "duplicates": 3,
    "transitions": 12,
    "rows_appended": 4,
    "cells_written": 310,
    "api_calls": 0,
    "outcome": "ok",
}


def test_fields_follow_the_schema():
    assert FIELDS == SCHEMAS.tab("sync_log").keys


def test_row_in_schema_order():
    row = sync_log_row(REPORT, "vi")
    got = dict(zip(SCHEMAS.tab("sync_log").keys, row))
    assert got["started_at"] == "2025-06-18 09:30:05"
    assert got["duration_s"] == 1.23
    assert got["backend"] == "xlsx"
    assert got["today"] == dt.date(2025, 6, 18)
    for k in ("rows_read", "issues", "duplicates", "transitions", "rows_appended", "cells_written", "api_calls"):
        assert got[k] == REPORT[k]
    assert got["outcome"] == "Thành công"
    assert got["version"] == __version__
    assert len(row) == len(SCHEMAS.tab("sync_log").columns)


def test_english_outcome_and_free_text_outcome():
    assert sync_log_row(REPORT, "en")[FIELDS.index("outcome")] == "Done"
    row = sync_log_row({**REPORT, "outcome": "API 403: share with x@y"}, "en")
    assert row[FIELDS.index("outcome")] == "API 403: share with x@y"


def test_missing_counts_are_zero():
    row = sync_log_row({"started_at": REPORT["started_at"], "outcome": "error"}, "vi")
    got = dict(zip(FIELDS, row))
    assert got["rows_read"] == 0 and got["api_calls"] == 0
    assert got["outcome"] == "Lỗi"


def test_the_tab_keeps_only_the_last_n_runs(tmp_path):
    from openpyxl import load_workbook

    from sheetcrm import api
    from sheetcrm.config import Config
    from sheetcrm.demo import write_demo_workbook

    path = write_demo_workbook(tmp_path / "log.xlsx", 40, 3, dt.date(2026, 3, 12))
    cfg = Config(workbook=str(path), sync_log_keep=3)
    for day in range(10, 16):
        api.sync(config=cfg, today=dt.date(2026, 3, day))
    ws = load_workbook(path)["Nhật ký đồng bộ"]
    days = [r[FIELDS.index("today")] for r in ws.iter_rows(min_row=2, values_only=True)]
    assert [d.day for d in days] == [13, 14, 15]  # the newest three, oldest first
    # Same-day runs that find nothing new take the package-patching path; it trims too.
    before = {ws.title: [list(r) for r in ws.iter_rows(values_only=True)]
              for ws in load_workbook(path).worksheets if ws.title != "Nhật ký đồng bộ"}
    for _ in range(2):
        api.sync(config=cfg, today=dt.date(2026, 3, 15))
    wb = load_workbook(path)
    rows = list(wb["Nhật ký đồng bộ"].iter_rows(min_row=2, values_only=True))
    assert [r[FIELDS.index("today")].day for r in rows] == [15, 15, 15]
    assert [r[FIELDS.index("outcome")] for r in rows][1:] == ["Không có thay đổi"] * 2
    assert {ws.title: [list(r) for r in ws.iter_rows(values_only=True)]
            for ws in wb.worksheets if ws.title != "Nhật ký đồng bộ"} == before
