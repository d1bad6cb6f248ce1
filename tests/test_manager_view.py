"""The manager's view: names merged, sources and campaigns with their costs, the backlog,
problem kinds most actionable first, the agenda's manager list (docs/scoring.md)."""

from __future__ import annotations

import datetime as dt
import unicodedata

import pandas as pd
import pytest
from helpers_xlsx import CLEAN, LEADS, TODAY, grid, write_workbook
from hypothesis import given, settings
from hypothesis import strategies as st
from openpyxl import load_workbook

from sheetcrm import api
from sheetcrm.schema import load_schemas
from sheetcrm.sync.agenda import build_agenda
from sheetcrm.sync.channels import canonical, cost_table, overdue_backlog, source_tables, split_source
from sheetcrm.sync.summary import QualitySummary, build_overview, issue_kinds, labels

S = load_schemas()
L = labels("vi")
T = dt.date(2026, 3, 12)
ALIASES = dict(S.scoring.product_aliases)


def test_product_spellings_and_aliases_are_one_name():
    typed = pd.Series(["Gói Doanh nghiệp", "gói doanh nghiệp", "GOI DOANH NGHIEP", "Gói DN", "gói dn ",
                       "Gói Cơ bản", "gói cơ bản", "Gói cơ bản", "", None])
    got = canonical(typed, ALIASES).tolist()
    assert got[:5] == ["Gói Doanh nghiệp"] * 5
    assert got[5:8] == ["Gói Cơ bản"] * 3  # an alias's target is the name shown
    assert got[8:] == ["", ""]


@settings(max_examples=60, deadline=None)
@given(name=st.sampled_from(["Gói Chuyên nghiệp", "Tư vấn triển khai", "Phần mềm kế toán"]),
       upper=st.lists(st.booleans(), min_size=20, max_size=20), nfd=st.booleans(), spaces=st.integers(0, 3))
def test_any_case_accent_form_or_spacing_of_a_name_merges(name, upper, nfd, spaces):
    variant = "".join(ch.upper() if u else ch for ch, u in zip(name, upper + [False] * len(name)))
    variant = (" " * spaces) + variant.replace(" ", " " * (1 + spaces))
    if nfd:
        variant = unicodedata.normalize("NFD", variant)
    got = canonical(pd.Series([name, name, variant]), {})
    assert got.nunique() == 1 and got.iloc[0] == name


def test_rejections_by_product_count_one_product_once():
    leads = pd.DataFrame({"lead_id": ["KH-1"], "status": ["rejected"], "duplicate_of": [""]})
    rej = pd.DataFrame({"lead_id": ["KH-1", "KH-2", "KH-3"], "product": ["Gói DN", "gói doanh nghiệp", "Gói Doanh nghiệp"],
                        "reason_category": ["price"] * 3, "owner": ["An"] * 3,
                        "logged_at": pd.to_datetime(["2026-03-01"] * 3)})
    lay = build_overview(leads, pd.DataFrame(), rej, pd.DataFrame(), QualitySummary(), S, T,
                         dt.datetime(2026, 3, 12, 8))
    cells = [list(r) for r in lay.cells]
    start = next(i for i, r in enumerate(cells) if r[0] == L["reasons_product_title"])
    line = [v for v in cells[start + 2] if v is not None]
    assert line[0] == "Gói Doanh nghiệp" and line[-1] == 3
    assert cells[start + 3][0] == L["total"]


def test_sources_split_into_channel_and_campaign():
    ch, cp = split_source(pd.Series(["Facebook · Tết 2026 / Form A", "Zalo", "", "facebook · Tết 2026 / Form A"]))
    assert ch.tolist() == ["Facebook", "Zalo", "", "facebook"]
    assert cp.tolist() == ["Tết 2026 / Form A", "", "", "Tết 2026 / Form A"]


def test_conversion_win_rate_and_cost_per_lead_and_won():
    leads = pd.DataFrame({
        "source": ["Facebook · Tết", "facebook · Tết", "FB", "Zalo", "Zalo", "Website", ""],
        "status": ["won", "rejected", "new", "won", "won", "rejected", "new"],
    })
    costs = cost_table({"Chi phí": [["Nguồn", "Tháng", "Chi phí"], ["Facebook", "01/2026", "3.000.000"],
                                    ["facebook", "02/2026", "3tr"], ["Zalo", "", 1_000_000],
                                    ["Facebook · Tết", "", "2tr"], ["", "", "9tr"]]})
    assert costs.to_dict() == {"facebook": 6e6, "zalo": 1e6, "facebook · tet": 2e6}
    t = source_tables(leads, "won", {"rejected", "not_closed", "unreachable"}, costs, dict(S.scoring.source_aliases),
                      "(none)")
    ch = t["channel"]
    assert ch.loc["Facebook", ["leads", "won", "lost"]].tolist() == [3, 1, 1]
    assert ch.loc["Facebook", "conversion"] == pytest.approx(1 / 3, abs=1e-4)
    assert ch.loc["Facebook", "win_rate"] == 0.5
    assert ch.loc["Facebook", "per_lead"] == 2e6 and ch.loc["Facebook", "per_won"] == 6e6
    assert ch.loc["Zalo", "per_won"] == 5e5 and ch.loc["Zalo", "win_rate"] == 1.0
    assert pd.isna(ch.loc["Website", "cost"]) and pd.isna(ch.loc["(none)", "win_rate"])
    cp = t["campaign"]
    assert cp.index.tolist() == ["Facebook · Tết"] and cp.loc["Facebook · Tết", "per_lead"] == 1e6


def _leads(rows):
    return pd.DataFrame([{"lead_id": r[0], "owner": r[1], "status": r[2], "recontact_on": pd.Timestamp(r[3]),
                          "name": r[0], "duplicate_of": "", "product": "Gói DN", "notes": f"ghi chú {r[0]}",
                          "last_contact": pd.Timestamp(2026, 2, 1)} for r in rows])


ROWS = [("KH-1", "An", "rejected", "2026-02-01"), ("KH-2", "An", "rejected", "2026-03-09"),
        ("KH-3", "Bình", "not_closed", "2026-01-10"), ("KH-4", "Bình", "rejected", "2026-03-20")]


def test_backlog_counts_overdue_and_how_old():
    b = overdue_backlog(_leads(ROWS), S, T, 7)
    assert b == {"overdue": 3, "oldest": 61, "median": 39.0, "over_n": 2, "days": 7}


def test_agenda_lists_who_is_overdue_more_than_n_days_and_shows_product_last_contact_and_note():
    lay = build_agenda(_leads(ROWS), S, T)
    cells = [list(r) for r in lay.cells]
    title = L["agenda_manager_title"].format(days=S.scoring.activity.overdue_manager_days)
    start = next(i for i, r in enumerate(cells) if r[0] == title)
    assert cells[start + 1][:4] == [L["owner_col"], L["agenda_manager_count"], L["agenda_manager_oldest"],
                                    L["agenda_manager_age"]]
    assert cells[start + 2][:4] == ["An", 1, dt.date(2026, 2, 1), 39]
    assert cells[start + 3][:4] == ["Bình", 1, dt.date(2026, 1, 10), 61]
    detail = next(r for r in cells if r[1] == "KH-1")
    assert detail[9:12] == ["Gói DN", dt.date(2026, 2, 1), "ghi chú KH-1"]


def test_status_chain_problems_get_their_own_lines_most_actionable_first():
    leads = pd.DataFrame({"valid": [True, True, True, False], "issues": [
        "Thiếu lý do cho trạng thái Từ chối", "Chuyển lùi trạng thái: Nóng → Mới; Thiếu lý do cho trạng thái Chưa chốt",
        "Trùng với KH-000001", "Email không hợp lệ"]})
    q = QualitySummary(rows_with_issues=4, issues_by_kind={"bad_email": 1, "issue": 3})
    assert issue_kinds(leads, q, "vi") == {"bad_email": 1, "missing_reason": 2, "backward_move": 1, "issue": 1}
    lay = build_overview(leads.assign(lead_id=["KH-1", "KH-2", "KH-3", "KH-4"], status="new", duplicate_of=""),
                         pd.DataFrame(), pd.DataFrame(), pd.DataFrame(), q, S, T, dt.datetime(2026, 3, 12, 8))
    cells = [list(r) for r in lay.cells]
    start = next(i for i, r in enumerate(cells) if r[0] == L["quality_title"])
    lines = [cells[k][0].strip() for k in range(start + 3, start + 7)]
    # a missing reason first: the rep types it in one cell, and the reasons analysis needs it
    assert lines == [L["issue_missing_reason"], L["issue_bad_email"], L["issue_backward_move"], L["issue_issue"]]


def test_a_flagged_row_still_counts_under_the_status_chains_kinds():
    leads = pd.DataFrame({"valid": [False, True], "issues": [
        "Email không hợp lệ; Thiếu lý do cho trạng thái Từ chối", "Thiếu lý do cho trạng thái Chưa chốt"]})
    q = QualitySummary(rows_with_issues=2, issues_by_kind={"bad_email": 1, "issue": 1})
    # validation's own kind keeps its count (not counted twice); the missing reason counts both rows
    assert issue_kinds(leads, q, "vi") == {"bad_email": 1, "missing_reason": 2}


DEDUPE_TEXTS = {  # every text the dedupe step writes, both languages, filled as it fills them
    "duplicate": ["trùng số điện thoại với KH-000075", "trùng tên và công ty với dòng 12", "same email as KH-000003"],
    "owner_collision": ["cùng khách hàng với KH-000392 nhưng do nhiều người phụ trách: Thảo, Lan",
                        "same customer as KH-000010, worked by several owners: An, Bình"],
    "previously_rejected": ["đã từ chối ngày 19/10/2026 vì Ngân sách chưa cho phép (KH-000359)",
                            "rejected on 01/02/2026 because Price too high (KH-000002)"],
    "in_nurture": ["đang nuôi dưỡng từ 24/07/2026 (KH-000129)", "in nurture since 24/07/2026 (KH-000129)"],
}


@pytest.mark.parametrize("kind", sorted(DEDUPE_TEXTS))
def test_dedupe_texts_get_their_own_kind_and_label(kind):
    from sheetcrm.sync.summary import issue_kind_of

    got = issue_kind_of(pd.Series(DEDUPE_TEXTS[kind]), S)
    assert got.tolist() == [kind] * len(DEDUPE_TEXTS[kind])
    assert labels("vi")[f"issue_{kind}"] != labels("en")[f"issue_{kind}"]


def test_every_known_issue_template_has_a_kind_a_label_and_a_place_in_the_order():
    """A text the sync writes never lands in "other": each template, filled with sample
    values, is matched back to its own kind, which has a label in both languages and a rank."""
    from sheetcrm.sync.summary import ACTIONABLE, issue_kind_of, issue_templates

    tpl = issue_templates(S)
    assert len(tpl) > 30
    sample = {"value": "abc", "header": "Ngày tạo", "status": "Từ chối", "reason": "Khác", "old": "Nóng",
              "new": "Mới", "row": 7, "example": "KH-000001", "survivor": "KH-000001", "owners": "An, Bình",
              "date": "01/02/2026", "lead_id": "KH-000009"}
    filled = pd.Series([t.format(**sample) for _, t in tpl])
    got = issue_kind_of(filled, S)
    assert got.tolist() == [k for k, _ in tpl]
    assert "issue" not in set(got)
    for kind in set(got):
        assert kind in ACTIONABLE
        assert f"issue_{kind}" in labels("vi") and f"issue_{kind}" in labels("en")
    assert ACTIONABLE[0] == "missing_reason" and ACTIONABLE[-1] == "issue"


def test_a_costs_tab_puts_cost_per_lead_in_the_overview_of_an_xlsx(tmp_path):
    rows = [dict(r, source="Facebook") for r in CLEAN]
    path = write_workbook(tmp_path / "w.xlsx", {LEADS: grid(rows), "Chi phí": [["Nguồn", "Chi phí"], ["Facebook", "10tr"]]})
    api.sync(workbook=path, today=TODAY)
    cells = [list(r) for r in load_workbook(path, data_only=True)["Tổng quan"].iter_rows(values_only=True)]
    start = next(i for i, r in enumerate(cells) if r[0] == L["src_title"])
    head, line = cells[start + 1], cells[start + 2]
    assert line[0] == "Facebook" and line[head.index(L["src_cost"])] == 10_000_000
    assert line[head.index(L["src_per_lead"])] == round(10_000_000 / len(rows))
