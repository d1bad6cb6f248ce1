"""The sync log: one row per run in the tab's column order, trimmed to the last N."""

from __future__ import annotations

import datetime as dt

import pytest

from sheetcrm import __version__
from sheetcrm.changes import AppendRows, TrimRows
from sheetcrm.schema import load_schemas
from sheetcrm.sync.synclog import DEFAULT_KEEP, FIELDS, sync_log_changes, sync_log_row

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


def test_append_and_trim():
    row = sync_log_row(REPORT, "vi")
    append, trim = sync_log_changes("Nhật ký đồng bộ", row, existing_rows=10)
    assert isinstance(append, AppendRows) and append.rows == (row,)
    assert append.key_col == FIELDS.index("started_at")  # a retried append is not doubled
    assert trim is None
    _, trim = sync_log_changes("Nhật ký đồng bộ", row, existing_rows=DEFAULT_KEEP - 1)
    assert trim is None  # exactly N rows after the append
    _, trim = sync_log_changes("Nhật ký đồng bộ", row, existing_rows=DEFAULT_KEEP)
    assert trim == TrimRows("Nhật ký đồng bộ", DEFAULT_KEEP)
    _, trim = sync_log_changes("Nhật ký đồng bộ", row, existing_rows=5, keep=3)
    assert trim == TrimRows("Nhật ký đồng bộ", 3)
    with pytest.raises(ValueError):
        sync_log_changes("Nhật ký đồng bộ", row, existing_rows=5, keep=0)
