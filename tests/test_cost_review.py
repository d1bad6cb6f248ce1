"""The quarterly cost review of a `Chi phí` tab: cost per lead and per won customer per
quarter, an all-time line, unreadable cells named (docs/scoring.md#the-managers-view)."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest
from helpers_xlsx import CLEAN, LEADS, TODAY, grid, write_workbook
from openpyxl import load_workbook

from sheetcrm import api
from sheetcrm.schema import load_schemas
from sheetcrm.sync.channels import cost_by_quarter, cost_table, quarter_of, read_costs
from sheetcrm.sync.summary import QualitySummary, build_overview, labels

S = load_schemas()
Q = lambda y, q: pd.Period(year=y, quarter=q, freq="Q")


@pytest.mark.parametrize("typed, want", [
    ("01/2026", Q(2026, 1)), ("1/2026", Q(2026, 1)), ("T4/2026", Q(2026, 2)), ("Tháng 7 năm 2026", Q(2026, 3)),
    ("tháng 12/2025", Q(2025, 4)), ("2026-05", Q(2026, 2)), ("Jan 2026", Q(2026, 1)), ("October 2026", Q(2026, 4)),
    ("Q1/2026", Q(2026, 1)), ("Quý 3/2026", Q(2026, 3)), ("2026-Q2", Q(2026, 2)), ("15/08/2026", Q(2026, 3)),
    (dt.date(2026, 5, 1), Q(2026, 2)), (dt.datetime(2026, 11, 1, 0, 0), Q(2026, 4)),
    (46023, Q(2026, 1)),  # 01/01/2026 as a Google date serial: a typed month read back
    ("", None), (None, None), ("  ", None),
    ("13/2026", False), ("0/2026", False), ("abc", False), ("2026", False), ("Q5/2026", False), (12, False),
])
def test_a_month_cell_is_read_as_its_quarter(typed, want):
    assert quarter_of(typed) == want


COSTS = [["Tháng", "Nguồn", "Chi phí"],
         ["01/2026", "Facebook", "3tr"],
         ["04/2026", "facebook", "2.000.000"],
         ["13/2026", "Zalo", "1tr"],        # A4: no such month
         ["02/2026", "Zalo", "nhiều"],      # C5: not an amount
         ["", "Zalo", "1tr"],               # no month: the all-time line only
         ["03/2026", "Facebook · Tết", "500k"],
         [None, None, None]]                # a blank row says nothing


def test_unreadable_cells_are_named_and_their_rows_left_out_everywhere():
    c = read_costs({"Chi phí": COSTS})
    assert c.bad == [("Chi phí!A4", "13/2026", "month"), ("Chi phí!C5", "nhiều", "amount")]
    assert c.has_month
    # the two bad rows count nowhere: not in the per-source sums either
    assert c.by_source.to_dict() == {"facebook": 5e6, "facebook · tet": 5e5, "zalo": 1e6}
    assert cost_table({"Chi phí": COSTS}).equals(c.by_source)
    assert c.rows["quarter"].tolist()[:2] == [Q(2026, 1), Q(2026, 2)] and pd.isna(c.rows["quarter"].iloc[2])


def test_no_costs_tab_or_no_amount_column_is_no_review():
    assert read_costs({"Khách hàng": [["Mã KH"]]}) is None
    assert read_costs({"Chi phí": [["Nguồn", "Tháng"], ["Facebook", "01/2026"]]}) is None
    assert read_costs({"Costs": [["Source", "Cost"], ["Facebook", 10]]}).has_month is False


LEADS_F = pd.DataFrame({
    "source": ["Facebook", "facebook · Tết", "Zalo", "Facebook", "Website", "Facebook"],
    "created_at": pd.to_datetime(["2026-01-05", "2026-02-01", "2026-01-01", "2026-04-02", "2026-01-09", None]),
})
WON_AT = pd.Series(pd.to_datetime(["2026-04-10", None, "2026-02-01", None, "2026-02-02", "2026-01-20"]))


def test_cost_per_lead_and_per_won_per_quarter_then_all_time():
    t = cost_by_quarter(LEADS_F, WON_AT, read_costs({"Chi phí": COSTS}), None, "(none)")
    def plain(v):
        return None if pd.isna(v) else v

    got = [(None if pd.isna(r.quarter) else str(r.quarter), r.source or None, r.cost, r.leads, r.won,
            plain(r.per_lead), plain(r.per_won)) for r in t.itertuples(index=False)]
    assert got == [
        # Q1: Facebook's two leads (the channel counts its campaign's), none won in Q1 but
        # the one without a created date, won 20/01; the campaign alone: one lead
        ("2026Q1", None, 3.5e6, 2, 1, 1.75e6, 3.5e6),
        ("2026Q1", "Facebook", 3e6, 2, 1, 1.5e6, 3e6),
        ("2026Q1", "Facebook · Tết", 5e5, 1, 0, 5e5, None),  # the channel under its usual spelling
        # Q2: the lead of 02/04, and the win of 10/04 (a lead that came in Q1)
        ("2026Q2", None, 2e6, 1, 1, 2e6, 2e6),
        ("2026Q2", "Facebook", 2e6, 1, 1, 2e6, 2e6),
        # all time: every readable cost (Zalo's row without a month too), every lead of a
        # source with a cost (Website has none), whenever it came in or was won
        (None, None, 6.5e6, 5, 3, 1.3e6, round(6.5e6 / 3)),
    ]


def test_only_the_latest_quarters_are_listed_but_all_count_in_the_total():
    rows = [["Tháng", "Nguồn", "Chi phí"]] + [[f"{m:02d}/{y}", "Facebook", "1tr"] for y in (2024, 2025, 2026)
                                            for m in (1, 4, 7, 10)]
    t = cost_by_quarter(LEADS_F, WON_AT, read_costs({"Chi phí": rows}), None, "(none)", quarters=3)
    assert [str(q) for q in t["quarter"].iloc[:-1:2]] == ["2026Q2", "2026Q3", "2026Q4"]
    assert t["cost"].iloc[-1] == 12e6


def _overview_cells(tab: str, costs: list[list], language: str = "vi"):
    leads = pd.DataFrame({"lead_id": ["KH-1", "KH-2"], "status": ["won", "new"], "duplicate_of": "",
                          "source": ["Facebook", "Facebook"],
                          "created_at": pd.to_datetime(["2026-01-05", "2026-02-01"]),
                          "last_contact": pd.to_datetime(["2026-02-20", None])})
    history = pd.DataFrame({"lead_id": ["KH-1"], "from_status": ["hot"], "to_status": ["won"],
                            "observed_at": pd.to_datetime(["2026-04-03"])})
    lay = build_overview(leads, history, pd.DataFrame(), pd.DataFrame(), QualitySummary(), S, TODAY,
                         dt.datetime(2026, 3, 12, 8), language=language, cost_detail=read_costs({tab: costs}))
    return [list(r) for r in lay.cells]


def test_the_overview_shows_the_review_under_the_source_tables_and_names_bad_cells():
    L = labels("vi")
    cells = _overview_cells("Chi phí", [["Tháng", "Nguồn", "Chi phí"], ["01/2026", "Facebook", "4tr"],
                                        ["04/2026", "Facebook", "1tr"], ["tháng mười", "Facebook", "9tr"]])
    titles = [r[0] for r in cells]
    start = titles.index(L["cost_q_title"])
    assert titles.index(L["src_title"]) < start < titles.index(L["reasons_title"])
    head = cells[start + 1][:7]
    assert head == [L["cost_q_quarter"], L["src_channel"], L["src_cost"], L["cost_q_leads"], L["cost_q_won"],
                    L["src_per_lead"], L["src_per_won"]]
    lines = [r[:7] for r in cells[start + 2:start + 7]]
    # KH-1 was won on 03/04 (its history row into won), so in Q2, though it came in Q1
    assert lines == [["Quý 1/2026", L["cost_q_all"], 4e6, 2, 0, 2e6, None],
                     ["Quý 1/2026", "Facebook", 4e6, 2, 0, 2e6, None],
                     ["Quý 2/2026", L["cost_q_all"], 1e6, 0, 1, None, 1e6],
                     ["Quý 2/2026", "Facebook", 1e6, 0, 1, None, 1e6],
                     [L["cost_q_total"], L["cost_q_all"], 5e6, 2, 1, 2.5e6, 5e6]]
    assert cells[start + 7][0] == L["cost_bad_month"].format(cell="Chi phí!A4", value="tháng mười")
    assert "Chi phí!A4" in cells[start + 7][0] and cells[start + 8][0] is None  # then a blank row


def test_a_won_lead_without_history_is_dated_by_its_last_contact():
    L = labels("vi")
    leads = pd.DataFrame({"lead_id": ["KH-1"], "status": ["won"], "duplicate_of": "", "source": ["Zalo"],
                          "created_at": pd.to_datetime(["2025-12-20"]), "last_contact": pd.to_datetime(["2026-01-15"])})
    lay = build_overview(leads, pd.DataFrame(), pd.DataFrame(), pd.DataFrame(), QualitySummary(), S, TODAY,
                         dt.datetime(2026, 3, 12, 8),
                         cost_detail=read_costs({"Chi phí": [["Nguồn", "Tháng", "Chi phí"], ["Zalo", "01/2026", 7]]}))
    cells = [list(r) for r in lay.cells]
    start = [r[0] for r in cells].index(L["cost_q_title"])
    assert cells[start + 2][:7] == ["Quý 1/2026", L["cost_q_all"], 7, 0, 1, None, 7]


def test_english_labels_and_a_costs_tab_in_english():
    L = labels("en")
    cells = _overview_cells("Costs", [["Month", "Source", "Spend"], ["2026-01", "Facebook", 4_000_000],
                                      ["2026-02", "Facebook", "x"]], language="en")
    titles = [r[0] for r in cells]
    start = titles.index(L["cost_q_title"])
    assert L["cost_q_title"].startswith("Cost per quarter")
    assert cells[start + 2][:3] == ["Q1 2026", L["cost_q_all"], 4e6]
    assert cells[start + 4][0] == L["cost_q_total"]
    assert cells[start + 5][0].startswith("Costs!C3: cost 'x' not readable")


def test_without_a_month_column_the_overview_has_no_review_but_still_names_bad_amounts():
    L = labels("vi")
    cells = _overview_cells("Chi phí", [["Nguồn", "Chi phí"], ["Facebook", "4tr"]])
    assert L["cost_q_title"] not in [r[0] for r in cells]
    cells = _overview_cells("Chi phí", [["Nguồn", "Chi phí"], ["Facebook", "bốn triệu"]])
    titles = [r[0] for r in cells]
    start = titles.index(L["cost_q_title"])
    assert cells[start + 1][0].startswith("Chi phí!B2: chi phí 'bốn triệu' không đọc được")


@pytest.mark.parametrize("language", ["vi", "en"])
def test_a_sync_of_an_xlsx_with_a_costs_tab_writes_the_review(tmp_path, language):
    L = labels(language)
    tab, head = ("Chi phí", ["Tháng", "Nguồn", "Chi phí"]) if language == "vi" else ("Costs", ["Month", "Source", "Cost"])
    rows = [dict(r, source="Facebook") for r in CLEAN]  # created 20/12/2025 .. 10/02/2026
    path = write_workbook(tmp_path / "w.xlsx", {LEADS: grid(rows), tab: [
        head, ["12/2025", "Facebook", "1tr"], [dt.date(2026, 1, 1), "Facebook", "3tr"], ["Q9", "Facebook", "5tr"]]})
    res = api.sync(workbook=path, today=TODAY, language=language)
    assert res is not None
    wb = load_workbook(path, data_only=True)
    title = next(t for t in wb.sheetnames if t in ("Tổng quan", "Overview"))
    cells = [list(r) for r in wb[title].iter_rows(values_only=True)]
    start = [r[0] for r in cells].index(L["cost_q_title"])
    q4, q1 = ("Quý 4/2025", "Quý 1/2026") if language == "vi" else ("Q4 2025", "Q1 2026")
    got = [r[:5] for r in cells[start + 2:start + 7]]
    assert got == [[q4, L["cost_q_all"], 1e6, 1, 0], [q4, "Facebook", 1e6, 1, 0],
                   [q1, L["cost_q_all"], 3e6, 3, 0], [q1, "Facebook", 3e6, 3, 0],
                   [L["cost_q_total"], L["cost_q_all"], 4e6, 4, 0]]
    assert f"{tab}!A4" in cells[start + 7][0]
    # the source table keeps the all-months cost, without the unreadable row
    src = [r[0] for r in cells].index(L["src_title"])
    assert cells[src + 2][0] == "Facebook" and cells[src + 2][cells[src + 1].index(L["src_cost"])] == 4_000_000


def test_an_empty_costs_tab_adds_no_review():
    L = labels("vi")
    cells = _overview_cells("Chi phí", [["Tháng", "Nguồn", "Chi phí"], [None, None, None]])
    assert L["cost_q_title"] not in [r[0] for r in cells]
