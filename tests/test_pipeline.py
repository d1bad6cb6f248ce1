"""Pipeline behaviour that lives between the steps: binding, appends, issue texts."""

from __future__ import annotations

import datetime as dt

import pandas as pd

from sheetcrm.schema import load_schemas
from sheetcrm.sync.pipeline import Settings, _join, plan_sync

TODAY = dt.date(2026, 3, 12)
HEAD = ["Mã KH", "Tên khách hàng", "Email", "Số điện thoại", "Trạng thái", "Ngày tạo", "Lỗi dữ liệu"]


def _plan(sheets):
    return plan_sync(sheets, load_schemas(), Settings(summaries=False), TODAY)


def test_row_holding_only_an_old_issue_note_is_not_a_lead():
    grid = [HEAD,
            ["KH-000001", "Lan", "lan@example.com", "0912345678", "Mới", "01/03/2026", None],
            [None, None, None, None, None, None, "Thiếu tên khách hàng"]]
    plan = _plan({"Khách hàng": grid})
    assert plan.report.rows_read == 1
    # Without the rule the emptied row would get an id and a "missing name" issue.
    assert not [u for u in plan.changes.updates if u.row == 3]


def test_appends_follow_the_existing_log_tabs_column_order_and_keep_extra_columns():
    leads = [HEAD, ["KH-000001", "Lan", "lan@example.com", "0912345678", "Mới", "01/03/2026", None]]
    history = [["Ghi chú riêng", "Sang trạng thái", "Mã KH", "Bởi", "Ngày ghi nhận", "Từ trạng thái"]]
    plan = _plan({"Khách hàng": leads, "Lịch sử": history})
    (append,) = [a for a in plan.changes.appends if a.tab == "Lịch sử"]
    (row,) = append.rows
    assert row[0] is None  # the person's extra column stays empty
    assert row[1] == "Mới" and row[2] == "KH-000001" and row[4] == TODAY
    assert not plan.changes.ensure_tabs or all(t.tab != "Lịch sử" for t in plan.changes.ensure_tabs)


def test_missing_sync_columns_are_added_after_the_last_column():
    grid = [HEAD[:-1] + ["Cột riêng"],
            ["KH-000001", "", "lan@example.com", "0912345678", "Mới", "01/03/2026", "giữ nguyên"]]
    plan = _plan({"Khách hàng": grid})
    (added,) = [a for a in plan.changes.add_columns if a.tab == "Khách hàng"]
    assert added.first_col == 8  # after the person's extra column, never over it
    assert "Lỗi dữ liệu" in added.headers
    issue_col = added.first_col + added.headers.index("Lỗi dữ liệu")
    (issue,) = [u for u in plan.changes.updates if u.col == issue_col]
    assert "Thiếu tên" in issue.value
    assert not [u for u in plan.changes.updates if u.col == 7]


def test_join_skips_blanks_and_keeps_order():
    a = pd.Series(["x", "", "", "y"])
    b = pd.Series(["", "", "z", "w"])
    assert _join(a, b).tolist() == ["x", "", "z", "y; w"]


def test_computed_columns_are_added_even_when_every_row_is_clean():
    grid = [HEAD[:-1], ["KH-000001", "Lan", "lan@example.com", "0912345678", "Mới", "01/03/2026"]]
    plan = _plan({"Khách hàng": grid})
    (added,) = [a for a in plan.changes.add_columns if a.tab == "Khách hàng"]
    assert {"Lỗi dữ liệu", "Trùng với", "Ngày liên hệ lại"} <= set(added.headers)
    assert "Không liên hệ" not in added.headers  # optional columns are the team's choice
