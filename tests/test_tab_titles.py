"""Tab titles come from schemas/ and the language; `[tabs]` in sheetcrm.toml renames them."""

from __future__ import annotations

from helpers_xlsx import CLEAN, LEADS, TODAY, write_leads, write_workbook
from openpyxl import load_workbook

from sheetcrm import api
from sheetcrm.config import load_config
from sheetcrm.schema import load_schemas
from sheetcrm.sync.agenda import AGENDA_TAB
from sheetcrm.sync.summary import OVERVIEW_TAB
from sheetcrm.sync.summary_tabs import SUMMARY_TABS

VI = ["Khách hàng", "Từ chối", "Nuôi dưỡng", "Lịch sử", "Nhật ký đồng bộ", "Nhập liệu", "Nhân viên",
      "Quyền riêng tư", "Danh sách chặn", "Thông báo", "Nội dung nuôi dưỡng", "Tổng quan", "Lịch liên hệ lại",
      "Dự báo", "Hoạt động"]
EN = ["Leads", "Rejections", "Nurture", "History", "Sync log", "Intake log", "Team", "Privacy log",
      "Suppression list", "Notifications", "Nurture content", "Overview", "Recontact agenda", "Forecast", "Activity"]
DATA = 11  # tabs with a schema in schemas/; the rest are summaries
ON_DEMAND = {"Quyền riêng tư", "Danh sách chặn", "Privacy log", "Suppression list",  # made by `forget`
             "Thông báo", "Notifications",  # made by `notify`
             "Nội dung nuôi dưỡng", "Nurture content"}  # made by `nurture`


def _tabs(path):
    return load_workbook(path, read_only=True).sheetnames


def test_shipped_titles():
    s = load_schemas()
    assert [s.tab(k).title for k in s.tabs] == VI[:DATA]
    assert [s.summary_title(k) for k in SUMMARY_TABS] == VI[DATA:] == [OVERVIEW_TAB, AGENDA_TAB, "Dự báo", "Hoạt động"]
    en = s.with_titles({}, {}, "en")
    assert [en.tab(k).title for k in en.tabs] + [en.summary_title(k, "en") for k in SUMMARY_TABS] == EN
    assert VI[0] in en.tab("leads").aliases  # a Vietnamese workbook still binds in English


def test_vietnamese_by_default(tmp_path):
    path = write_leads(tmp_path / "w.xlsx")
    api.init(workbook=path)
    api.sync(workbook=path, today=TODAY)
    assert sorted(_tabs(path)) == sorted(set(VI) - ON_DEMAND)


def test_english_workbook(tmp_path):
    path = write_workbook(tmp_path / "w.xlsx", {"Leads": write_leads_grid()})
    api.init(workbook=path, language="en")
    api.sync(workbook=path, today=TODAY, language="en")
    assert sorted(_tabs(path)) == sorted(set(EN) - ON_DEMAND)


def test_english_on_a_vietnamese_workbook_keeps_its_data_tabs(tmp_path):
    path = write_leads(tmp_path / "w.xlsx")
    api.init(workbook=path)
    api.sync(workbook=path, today=TODAY)
    before = load_workbook(path)["Lịch sử"].max_row
    api.sync(workbook=path, today=TODAY, language="en")
    tabs = _tabs(path)
    # the state is read from and written to the tabs the workbook has ...
    assert not {"Leads", "History", "Rejections", "Nurture", "Sync log"} & set(tabs)
    assert load_workbook(path)["Lịch sử"].max_row == before
    # ... and so are the summaries: rebuilt in English where they are, no stale copy beside a new one
    assert {"Tổng quan", "Lịch liên hệ lại"} <= set(tabs) and not {"Overview", "Recontact agenda"} & set(tabs)
    overview = [v for r in load_workbook(path)["Tổng quan"].iter_rows(values_only=True) for v in r if v]
    assert any("Overview" in str(v) or "Status" in str(v) for v in overview), overview[:5]


def test_config_renames_every_tab(tmp_path):
    (tmp_path / "sheetcrm.toml").write_text(
        '[tabs]\nleads = "KH"\nhistory = "Nhật ký trạng thái"\noverview = "Báo cáo"\nagenda = "Gọi lại"\n',
        encoding="utf-8")
    path = write_workbook(tmp_path / "w.xlsx", {"KH": write_leads_grid()})
    cfg = load_config(tmp_path / "sheetcrm.toml")
    api.init(workbook=path, config=cfg)
    api.sync(workbook=path, today=TODAY, config=cfg)
    tabs = _tabs(path)
    assert {"KH", "Nhật ký trạng thái", "Báo cáo", "Gọi lại"} <= set(tabs)
    assert not {LEADS, "Lịch sử", "Tổng quan", "Lịch liên hệ lại"} & set(tabs)


def write_leads_grid():
    from helpers_xlsx import grid

    return grid(CLEAN)
