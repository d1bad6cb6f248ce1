"""The status chain step (docs/status-chain.md) on parsed frames: history, log, nurture, scheduling."""

from __future__ import annotations

import datetime as dt
import unicodedata
from dataclasses import replace

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from status_helpers import SCHEMAS, Book, D, empty_tab, leads_frame

from sheetcrm.sync.status import apply_status_chain, normalize_status

CHAIN = SCHEMAS.chain


def keys(book: Book) -> list:
    return book.rejections["event_key"].tolist()


# ---------------------------------------------------------------- 1. normalisation


def test_status_normalisation():
    raw = pd.Series(["Mới", "moi", "  ĐÃ   TÌM HIỂU ", unicodedata.normalize("NFD", "Tiềm năng"), "Qualified",
                     "hot", "Closed lost", "Stalled", "Nóng!", "🔥 Hot", "Tiem nang lắm", "", None])
    assert normalize_status(raw, CHAIN).tolist() == [
        "new", "new", "researched", "potential", "potential", "hot", "rejected", "not_closed", "hot", "hot",
        None, None, None]


def test_unknown_status_is_an_issue_and_left_alone():
    b = Book(leads_frame([{"status": "Tiem nang lắm"}, {"status": "Nóng"}]))
    res = b.sync("2026-03-02", report_unknown=True)
    assert res.status.tolist() == [None, "hot"]
    assert res.issues[0] == ["Trạng thái 'Tiem nang lắm' không hợp lệ"]
    assert b.history["lead_id"].tolist() == ["KH-000002"]
    en = apply_status_chain(b.leads, b.history, b.rejections, b.nurture, SCHEMAS, dt.date(2026, 3, 2), "en",
                            report_unknown=True)
    assert en.issues[0] == ["Status 'Tiem nang lắm' is not valid"]


# ---------------------------------------------------------------- 2. history


def test_first_sight_records_initial_status_and_blank_gets_the_initial_one():
    b = Book(leads_frame([{"status": "Nóng"}, {"status": ""}]))
    res = b.sync("2026-03-02")
    h = res.history_rows
    assert h[["from_status", "to_status", "by"]].values.tolist() == [[None, "hot", "person"], [None, "new", "sync"]]
    assert h["observed_at"].tolist() == [dt.date(2026, 3, 2)] * 2
    assert res.status.tolist() == ["hot", "new"]


def test_changes_are_recorded_once():
    b = Book(leads_frame([{"status": "Mới"}]))
    b.sync("2026-03-02")
    b.edit(0, status="Tiềm năng")
    assert b.sync("2026-03-03").history_rows[["from_status", "to_status"]].values.tolist() == [["new", "potential"]]
    assert len(b.sync("2026-03-03").history_rows) == 0
    assert len(b.sync("2026-03-04").history_rows) == 0


def test_backward_move_is_recorded_flagged_that_day_and_not_reverted():
    b = Book(leads_frame([{"status": "Nóng"}, {"status": "Chốt"}]))
    b.sync("2026-03-02")
    b.edit(0, status="Mới")
    b.edit(1, status="Nóng")
    res = b.sync("2026-03-03")
    assert res.status.tolist() == ["new", "hot"]
    assert res.issues[0] == ["Chuyển lùi trạng thái: Nóng → Mới"]
    assert res.issues[1] == ["Chuyển lùi trạng thái: Chốt → Nóng", "Rời trạng thái kết thúc Chốt"]
    # Still flagged by another sync the same day, not any more the next day.
    assert b.sync("2026-03-03").issues[0] == ["Chuyển lùi trạng thái: Nóng → Mới"]
    assert b.sync("2026-03-04").issues[0] == []
    assert b.leads["status"].tolist() == ["new", "hot"]


def test_invalid_rows_get_history_but_no_automatic_moves():
    b = Book(leads_frame([{"status": "Nóng", "valid": False}]))
    b.sync("2026-03-02")
    b.edit(0, status="Chưa chốt", reason="chưa cần")
    res = b.sync("2026-03-03")
    assert res.history_rows["to_status"].tolist() == ["not_closed"]
    assert res.status[0] == "not_closed" and len(res.rejection_rows) == 0 and len(res.nurture_rows) == 0
    # Once the row is fixed, the pending rejection is logged and the lead nurtured.
    b.leads.loc[0, "valid"] = True
    res = b.sync("2026-03-04")
    assert len(res.rejection_rows) == 1 and res.status[0] == "nurture"


# ---------------------------------------------------------------- 3/4. reasons and the rejection log


def test_rejection_row_has_the_fields_and_the_stage_before():
    b = Book(leads_frame([{"status": "Tiềm năng", "company": "Cty A", "phone": "0912345678",
                           "notes": "so sánh với X"}]))
    b.sync("2026-03-02")
    b.edit(0, status="Nóng")
    b.sync("2026-03-04")
    b.edit(0, status="Từ chối", reason="gia cao hon ben X", last_contact="2026-03-05")
    res = b.sync("2026-03-06")
    r = res.rejection_rows.iloc[0]
    assert r["event_key"] == "KH-000001|rejected|2026-03-06|3"
    assert (r["lead_id"], r["company"], r["phone"], r["owner"], r["product"]) == (
        "KH-000001", "Cty A", "0912345678", "An", "CRM")
    assert r["stage_before"] == "hot"
    assert r["reason_category"] == "price" and r["reason_text"] == "gia cao hon ben X"
    assert r["last_contact"] == dt.date(2026, 3, 5) and r["logged_at"] == dt.date(2026, 3, 6)
    assert r["notes"] == "so sánh với X" and r["outcome"] == ""
    # Price: +30 days from the last contact = 04/04 (Saturday) → Monday 06/04.
    assert r["recontact_on"] == dt.date(2026, 4, 6)
    assert res.recontact_on[0] == pd.Timestamp("2026-04-06")
    assert set(res.rejection_rows.columns) == set(SCHEMAS.tab("rejections").keys)


def test_missing_reason_is_an_issue_and_the_row_comes_when_the_reason_does():
    b = Book(leads_frame([{"status": "Mới"}]))
    b.sync("2026-03-02")
    b.edit(0, status="Từ chối")
    res = b.sync("2026-03-03")
    assert res.issues[0] == ["Thiếu lý do cho trạng thái Từ chối"] and len(res.rejection_rows) == 0
    b.edit(0, reason="Khác")
    res = b.sync("2026-03-04")
    assert res.issues[0] == ["Lý do 'Khác' cần ghi rõ chi tiết"] and len(res.rejection_rows) == 0
    b.edit(0, reason="Khác: khách chuyển công tác")
    res = b.sync("2026-03-05")
    assert res.issues[0] == [] and len(res.rejection_rows) == 1
    assert res.rejection_rows["event_key"][0] == "KH-000001|rejected|2026-03-03|2"
    assert res.rejection_rows["reason_category"][0] == "other"
    assert res.rejection_rows["reason_text"][0] == "Khác: khách chuyển công tác"


def test_unrecognised_reason_is_logged_as_other_and_asks_for_a_category():
    b = Book(leads_frame([{"status": "Chưa chốt", "reason": "abc"}]))
    res = b.sync("2026-03-02")
    assert res.issues[0] == ["Không nhận ra lý do 'abc' — hãy chọn một nhóm lý do"]
    assert res.rejection_rows["reason_category"].tolist() == ["other"]
    assert res.rejection_rows["reason_text"].tolist() == ["abc"]


def test_rerun_same_day_adds_nothing():
    rows = [{"status": s, "reason": r, "last_contact": "2026-03-01"} for s, r in [
        ("Từ chối", "đắt quá"), ("Chưa chốt", "chưa cần"), ("Chưa chốt", "ko nghe máy"), ("Nóng", ""),
        ("Từ chối", "dùng bên khác rồi"), ("Chưa chốt", "hết ngân sách"), ("", "")]]
    b = Book(leads_frame(rows))
    first = b.sync("2026-03-02")
    assert first.counts["rejections_logged"] == 5 and first.counts["nurtured"] == 2
    again = b.sync("2026-03-02")
    assert len(again.history_rows) == len(again.rejection_rows) == len(again.nurture_rows) == 0
    assert again.recontact_on.isna().all() and len(again.nurture_updates) == 0
    assert again.status.tolist() == b.leads["status"].tolist()


@pytest.mark.parametrize("written", [("history",), ("history", "leads"), ("history", "leads", "nurture")])
def test_crash_half_way_then_rerun_logs_each_event_once(written):
    rows = [{"status": "Nóng"} for _ in range(6)]
    b = Book(leads_frame(rows))
    b.sync("2026-03-02")
    reasons = ["đắt quá", "chưa cần", "dùng bên khác rồi", "ngân sách chưa cho phép", "không phù hợp", "Khác: ốm"]
    for i, r in enumerate(reasons):
        b.edit(i, status="Từ chối", reason=r, last_contact="2026-03-02")
    res = apply_status_chain(b.leads, b.history, b.rejections, b.nurture, SCHEMAS, dt.date(2026, 3, 3))
    assert len(res.rejection_rows) == 6
    # The crash: some tabs written, and only half the log rows.
    b.apply(res, parts=written)
    from status_helpers import append
    b.rejections = append(b.rejections, res.rejection_rows.iloc[:3])
    rerun = b.sync("2026-03-03")
    assert sorted(keys(b)) == sorted(res.rejection_rows["event_key"])
    assert len(rerun.history_rows) == 0 or "leads" not in written and set(rerun.history_rows["by"]) == {"sync"}
    # Nurture rows exactly once too.
    assert b.nurture["lead_id"].tolist().count("KH-000002") == 1
    assert b.leads["status"].tolist()[:4] == ["rejected", "nurture", "rejected", "nurture"]
    final = b.sync("2026-03-04")
    assert final.counts["rejections_logged"] == 0 and final.counts["transitions"] == 0


def test_rejected_again_later_gets_a_new_row():
    b = Book(leads_frame([{"status": "Từ chối", "reason": "đắt quá"}]))
    b.sync("2026-03-02")
    b.edit(0, status="Nóng")
    b.sync("2026-03-10")
    b.edit(0, status="Từ chối", reason="dùng bên khác rồi")
    b.sync("2026-03-20")
    b.sync("2026-03-21")
    assert keys(b) == ["KH-000001|rejected|2026-03-02|1", "KH-000001|rejected|2026-03-20|3"]
    assert b.rejections["stage_before"].tolist() == [None, "hot"]


# ---------------------------------------------------------------- 5. nurture


def test_nurture_open_touch_and_reactivation():
    b = Book(leads_frame([{"status": "Nóng"}]))
    b.sync("2026-01-05")
    b.edit(0, status="Chưa chốt", reason="chưa cần, 3-6 tháng nữa", last_contact="2026-01-30")
    res = b.sync("2026-01-30")
    assert res.status[0] == "nurture"
    assert res.history_rows[["from_status", "to_status", "by"]].values.tolist() == [
        ["hot", "not_closed", "person"], ["not_closed", "nurture", "sync"]]
    n = res.nurture_rows.iloc[0]
    assert (n["reason_category"], n["cadence"], n["state"]) == ("not_now", "Hàng tháng", "Đang nuôi dưỡng")
    assert n["nurture_start"] == dt.date(2026, 1, 30)
    assert n["next_touch"] == dt.date(2026, 3, 2)      # 28/02 is a Saturday
    # +3 months = 30/04; 30/04 and 01/05 are public holidays, then a weekend → Monday 04/05.
    assert n["recontact_on"] == dt.date(2026, 5, 4)
    assert res.recontact_on[0] == pd.Timestamp("2026-05-04")
    # A person records a touch: the next touch advances by the cadence, once.
    b.nurture.loc[0, "last_touch"] = D("2026-03-03")
    b.nurture.loc[0, "last_touch_result"] = "gửi email"
    res = b.sync("2026-03-03")
    assert res.nurture_updates.loc[0, "next_touch"] == dt.date(2026, 4, 3)
    assert b.sync("2026-03-04").nurture_updates.empty
    # The lead comes back into the chain: the row closes as reactivated.
    b.edit(0, status="Tiềm năng")
    res = b.sync("2026-03-10")
    assert res.nurture_updates.loc[0, "state"] == "Đã kích hoạt lại"
    assert res.counts["reactivated"] == 1
    assert res.recontact_clear[0]  # the nurture recontact of 04/05 no longer applies
    assert pd.isna(b.leads.loc[0, "recontact_on"])
    assert b.sync("2026-03-11").nurture_updates.empty


def test_a_persons_recontact_date_is_kept_when_the_lead_is_back_in_the_chain():
    b = Book(leads_frame([{"status": "Nóng"}]))
    b.sync("2026-01-05")
    b.edit(0, status="Từ chối", reason="đắt quá", last_contact="2026-01-30")
    b.sync("2026-01-30")
    b.edit(0, status="Tiềm năng", recontact_on="2026-02-20")  # the rep books a call
    res = b.sync("2026-02-02")
    assert not res.recontact_clear[0]
    assert b.leads.loc[0, "recontact_on"] == pd.Timestamp("2026-02-20")


def test_nurture_row_closes_as_won_and_budget_is_quarterly():
    b = Book(leads_frame([{"status": "Chưa chốt", "reason": "ngân sách chưa cho phép", "last_contact": "2026-03-02"}]))
    res = b.sync("2026-03-02")
    assert res.nurture_rows["cadence"].tolist() == ["Hàng quý"]
    assert res.nurture_rows["next_touch"].tolist() == [dt.date(2026, 6, 2)]
    b.edit(0, status="Chốt")
    res = b.sync("2026-05-01")
    assert res.nurture_updates.loc[0, "state"] == "Đã chốt" and res.counts["won_from_nurture"] == 1


def test_touch_after_the_recontact_date_schedules_the_next_recontact():
    b = Book(leads_frame([{"status": "Chưa chốt", "reason": "chưa cần", "last_contact": "2026-03-02"}]))
    b.sync("2026-03-02")
    due = b.leads.loc[0, "recontact_on"]
    assert due == pd.Timestamp("2026-06-02")
    b.nurture.loc[0, "last_touch"] = D("2026-06-03")
    res = b.sync("2026-06-03")
    assert res.recontact_on[0] == pd.Timestamp("2026-09-03")
    assert res.nurture_updates.loc[0, "recontact_on"] == dt.date(2026, 9, 3)
    assert res.nurture_updates.loc[0, "next_touch"] == dt.date(2026, 7, 3)
    assert b.sync("2026-06-04").recontact_on.isna().all()


def test_sync_move_lost_in_a_crash_is_applied_again_not_read_as_a_revert():
    b = Book(leads_frame([{"status": "Nóng"}]))
    b.sync("2026-03-02")
    b.edit(0, status="Chưa chốt", reason="chưa cần")
    res = apply_status_chain(b.leads, b.history, b.rejections, b.nurture, SCHEMAS, dt.date(2026, 3, 3))
    b.apply(res, parts=("history", "rejections", "nurture"))   # the status cell write is lost
    rerun = b.sync("2026-03-03")
    assert rerun.status[0] == "nurture" and len(rerun.history_rows) == 0 and len(rerun.rejection_rows) == 0


# ---------------------------------------------------------------- 6. unreachable


def test_failed_attempts_then_unreachable():
    b = Book(leads_frame([{"status": "Mới"}]))
    b.sync("2026-03-02")
    b.edit(0, status="Chưa chốt", reason="ko nghe máy", last_contact="2026-03-03")
    res = b.sync("2026-03-03")
    assert res.recontact_on[0] == pd.Timestamp("2026-03-06")   # Tuesday + 3 working days
    assert keys(b) == ["KH-000001|not_closed|2026-03-03|2|try:2026-03-03"]
    assert b.sync("2026-03-04").counts["rejections_logged"] == 0  # same attempt, nothing new
    b.edit(0, last_contact="2026-03-06")
    res = b.sync("2026-03-06")
    assert res.recontact_on[0] == pd.Timestamp("2026-03-11") and res.status[0] == "not_closed"
    b.edit(0, last_contact="2026-03-11")
    res = b.sync("2026-03-11")
    assert res.status[0] == "unreachable" and res.counts["moved_unreachable"] == 1
    assert res.recontact_on.isna().all()
    assert res.recontact_clear[0]  # the retry date meant nothing once the lead is unreachable
    assert res.history_rows[["from_status", "to_status", "by"]].values.tolist() == [
        ["not_closed", "unreachable", "sync"]]
    assert len(keys(b)) == 3
    assert b.sync("2026-03-12").counts == {k: 0 for k in res.counts}


# ---------------------------------------------------------------- 7. scheduling


def test_do_not_contact_and_excluded_leads_are_never_scheduled():
    b = Book(leads_frame([{"status": "Từ chối", "reason": "đắt quá", "do_not_contact": True},
                          {"status": "Sai đối tượng", "reason": "đắt quá"},
                          {"status": "Từ chối", "reason": "đắt quá"}]))
    res = b.sync("2026-03-02")
    assert res.recontact_on.isna().tolist() == [True, True, False]
    assert res.rejection_rows["recontact_on"].isna().tolist() == [True, False]


def test_a_persons_future_date_is_kept_and_counts_in_the_cap():
    cat = replace(SCHEMAS.reasons, daily_cap=1)
    schemas = replace(SCHEMAS, reasons=cat)
    leads = leads_frame([
        {"status": "Từ chối", "reason": "đắt quá", "last_contact": "2026-03-02", "recontact_on": "2026-03-20"},
        {"status": "Nóng", "recontact_on": "2026-04-01"},
        {"status": "Từ chối", "reason": "đắt quá", "last_contact": "2026-03-02"},
        {"status": "Từ chối", "reason": "đắt quá", "last_contact": "2026-03-02", "owner": "Bình"},
    ])
    res = apply_status_chain(leads, empty_tab("history"), empty_tab("rejections"), empty_tab("nurture"),
                             schemas, dt.date(2026, 3, 2))
    # Lead 1 keeps the person's 20/03 (nothing to write), and its log row records it.
    assert pd.isna(res.recontact_on[0]) and res.rejection_rows["recontact_on"][0] == dt.date(2026, 3, 20)
    # 01/04 is taken for An by lead 2: lead 3 moves to 02/04; Bình's lead keeps 01/04.
    assert res.recontact_on[2] == pd.Timestamp("2026-04-02")
    assert res.recontact_on[3] == pd.Timestamp("2026-04-01")


@pytest.mark.parametrize("policy,expected", [("keep", None), ("spread", ["2026-03-02", "2026-03-03"])])
def test_overdue_policy(policy, expected):
    schemas = replace(SCHEMAS, reasons=replace(SCHEMAS.reasons, overdue=policy, daily_cap=1))
    leads = leads_frame([{"status": "Nóng", "recontact_on": "2026-02-10"},
                         {"status": "Nóng", "recontact_on": "2026-02-11"},
                         {"status": "Nóng", "recontact_on": "2026-03-10"}])
    res = apply_status_chain(leads, empty_tab("history"), empty_tab("rejections"), empty_tab("nurture"),
                             schemas, dt.date(2026, 3, 2))
    if expected is None:
        assert res.recontact_on.isna().all()
    else:
        assert res.recontact_on[:2].tolist() == [pd.Timestamp(d) for d in expected]
        assert pd.isna(res.recontact_on[2])


def test_english_messages():
    b = Book(leads_frame([{"status": "Rejected"}]))
    res = b.sync("2026-03-02", language="en")
    assert res.issues[0] == ["Status Rejected needs a reason"]


# ---------------------------------------------------------------- properties


STATUSES = ["Mới", "Đã tìm hiểu", "Tiềm năng", "Nóng", "Chốt", "Từ chối", "Chưa chốt", "Nuôi dưỡng",
            "Không tiếp cận", "Sai đối tượng", ""]
REASONS = ["", "đắt quá", "chưa cần", "ko nghe máy", "hết ngân sách", "dùng bên khác rồi", "Khác", "abc"]


@settings(max_examples=12, deadline=None)
@given(days=st.lists(st.lists(st.tuples(st.sampled_from(STATUSES), st.sampled_from(REASONS),
                                        st.integers(0, 3)), min_size=4, max_size=4), min_size=1, max_size=4))
def test_every_day_twice_adds_nothing_the_second_time(days):
    b = Book(leads_frame([{"status": "Mới"} for _ in range(4)]))
    day = dt.date(2026, 3, 2)
    for edits in days:
        for i, (s, r, lc) in enumerate(edits):
            if s:
                b.edit(i, status=s)
            b.edit(i, reason=r, last_contact=str(day - dt.timedelta(days=lc)))
        b.sync(day.isoformat())
        again = b.sync(day.isoformat())
        assert len(again.history_rows) == len(again.rejection_rows) == len(again.nurture_rows) == 0
        assert again.recontact_on.isna().all() and again.nurture_updates.empty
        assert b.rejections["event_key"].is_unique
        day += dt.timedelta(days=3)
