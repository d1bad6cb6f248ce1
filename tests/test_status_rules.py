"""The status chain's rules one at a time: each run on a state the earlier rules prepared."""

from __future__ import annotations

import datetime as dt

import pandas as pd
from status_helpers import SCHEMAS, Book, D, empty_tab, leads_frame

from sheetcrm.sync import status as S

DAY = dt.date(2026, 3, 2)


def run_until(rule, leads: pd.DataFrame, book: Book | None = None, today: dt.date = DAY) -> S.ChainState:
    """A ChainState after every rule of `RULES` up to and including `rule`."""
    b = book or Book(leads)
    s = S.ChainState(leads, b.history, b.rejections, b.nurture, SCHEMAS, today)
    for r in S.RULES[: S.RULES.index(rule) + 1]:
        r(s)
    return s


class _Recorder(S.ChainState):
    """Notes which fields each rule reads before any rule has set them."""

    def __init__(self, *a):
        self.__dict__["_set"] = set()
        self.__dict__["_early"] = []
        super().__init__(*a)

    def __setattr__(self, name, value):
        self._set.add(name)
        object.__setattr__(self, name, value)

    def __getattribute__(self, name):
        d = object.__getattribute__(self, "__dict__")
        if not name.startswith("_") and name not in d.get("_set", ()) and name not in type(self).__dict__ \
                and not hasattr(S.ChainState, name):
            d["_early"].append(name)
        return object.__getattribute__(self, name)


def test_every_rule_reads_only_what_the_rules_before_it_set():
    b = Book(leads_frame([{"status": "Từ chối", "reason": "đắt quá"}, {"status": "Nóng"}]))
    s = _Recorder(b.leads, b.history, b.rejections, b.nurture, SCHEMAS, DAY)
    for rule in S.RULES:
        rule(s)
    S.build_result(s)
    assert s._early == []


def test_driver_is_the_rules_in_order():
    b = Book(leads_frame([{"status": "Từ chối", "reason": "đắt quá"}, {"status": "Chưa chốt", "reason": "chưa cần"}]))
    s = run_until(S.RULES[-1], b.leads, b)
    manual = S.build_result(s)
    res = S.apply_status_chain(b.leads, b.history, b.rejections, b.nurture, SCHEMAS, DAY)
    pd.testing.assert_frame_equal(manual.rejection_rows, res.rejection_rows)
    assert manual.counts == res.counts


def test_read_status_tracks_first_rows_with_an_id_and_known_status():
    leads = leads_frame([{"status": ""}, {"status": "Nóng"}, {"status": "Nóng", "lead_id": "KH-000002"},
                         {"status": "abc"}, {"status": "Mới", "duplicate_of": "KH-000001"}])
    s = run_until(S.read_status, leads)
    assert s.status.tolist()[:3] == ["new", "hot", "hot"]
    assert s.blank.tolist() == [True, False, False, False, False]
    assert s.tracked.tolist() == [True, True, False, False, True]  # a repeated id, an unknown status
    assert s.auto_ok.tolist() == [True, True, False, False, False]  # a duplicate record is not moved


def test_read_reasons_other_without_detail_is_not_usable():
    s = run_until(S.read_reasons, leads_frame([{"status": "Từ chối", "reason": "Khác"},
                                               {"status": "Từ chối", "reason": "Khác: đổi ý"},
                                               {"status": "Từ chối", "reason": "đắt quá"}]))
    assert s.rcat.tolist() == ["other", "other", "price"]
    assert s.usable.tolist() == [False, True, True]


def test_read_history_redoes_a_lost_sync_move():
    b = Book(leads_frame([{"status": "Chưa chốt", "reason": "chưa cần"}]))
    b.sync("2026-03-02")  # moves to nurture by sync ...
    assert b.history["to_status"].tolist() == ["not_closed", "nurture"]
    b.edit(0, status="Chưa chốt")  # ... but the cell write was lost
    s = run_until(S.read_history, b.leads, b, dt.date(2026, 3, 3))
    assert s.status.tolist() == ["nurture"]
    assert s.last_by.tolist() == ["sync"]


def test_record_changes_first_sight_and_a_change():
    b = Book(leads_frame([{"status": ""}, {"status": "Mới"}]))
    b.sync("2026-03-01")
    b.edit(1, status="Nóng")
    s = run_until(S.record_changes, b.leads, b)
    assert s.changed.tolist() == [False, True]
    assert s.person_rows[["from_status", "to_status", "pos"]].values.tolist() == [["new", "hot", 2]]
    fresh = run_until(S.record_changes, leads_frame([{"status": ""}, {"status": "Mới"}]))
    assert fresh.first_by.tolist() == ["sync", "person"]


def test_flag_moves_only_on_the_day_observed():
    b = Book(leads_frame([{"status": "Nóng"}]))
    b.sync("2026-03-01")
    b.edit(0, status="Mới")
    s = run_until(S.flag_moves, b.leads, b)
    assert s.issues[-2].tolist() == ["Chuyển lùi trạng thái: Nóng → Mới"]
    b.sync("2026-03-02")
    later = run_until(S.flag_moves, b.leads, b, dt.date(2026, 3, 3))
    assert later.issues[-2].tolist() == [""]


def test_find_episodes_key_is_lead_status_date_position():
    b = Book(leads_frame([{"status": "Nóng"}]))
    b.sync("2026-03-01")
    b.edit(0, status="Từ chối", reason="đắt quá")
    s = run_until(S.find_episodes, b.leads, b)
    assert s.ep_key.tolist() == ["KH-000001|rejected|2026-03-02|2"]
    assert s.e_stage.tolist() == ["hot"]


def test_check_reasons_missing_reason():
    s = run_until(S.check_reasons, leads_frame([{"status": "Từ chối"}]))
    assert s.issues[-3].tolist() == ["Thiếu lý do cho trạng thái Từ chối"]


def test_log_rejections_once_per_key():
    b = Book(leads_frame([{"status": "Từ chối", "reason": "đắt quá"}]))
    assert run_until(S.log_rejections, b.leads, b).log_plain.tolist() == [True]
    b.sync("2026-03-02")
    again = run_until(S.log_rejections, b.leads, b, dt.date(2026, 3, 3))
    assert again.log_plain.tolist() == [False]


def test_failed_attempts_move_to_unreachable_at_max():
    b = Book(leads_frame([{"status": "Chưa chốt", "reason": "không nghe máy", "last_contact": "2026-03-02"}]))
    for day in ("2026-03-02", "2026-03-05"):
        s = run_until(S.move_automatically, b.leads, b, dt.date.fromisoformat(day))
        assert s.to_unreachable.tolist() == [False]
        b.sync(day)
        b.edit(0, last_contact=(pd.Timestamp(day) + pd.Timedelta(days=3)).date().isoformat())
    s = run_until(S.move_automatically, b.leads, b, dt.date(2026, 3, 8))
    assert s.attempts.tolist() == [3]
    assert s.to_unreachable.tolist() == [True]
    assert s.status.tolist() == [SCHEMAS.chain.unreachable]


def test_update_nurture_list_closes_a_won_lead():
    b = Book(leads_frame([{"status": "Nuôi dưỡng", "reason": "chưa cần"}]))
    s = run_until(S.update_nurture_list, b.leads, b)
    assert s.open_n.tolist() == [True]
    b.sync("2026-03-02")
    b.edit(0, status="Chốt")
    s = run_until(S.update_nurture_list, b.leads, b, dt.date(2026, 4, 1))
    assert s.close_state.tolist() == ["won"]
    assert s.open_n.tolist() == [False]


def test_schedule_events_counts_from_the_last_contact():
    leads = leads_frame([{"status": "Từ chối", "reason": "đắt quá", "last_contact": "2026-02-20"}])
    assert run_until(S.schedule_events, leads).nominal.tolist() == [D("2026-03-22")]  # 30 days on
    assert run_until(S.place_dates, leads).recontact_out.tolist() == [D("2026-03-23")]  # off the Sunday


def test_schedule_nurture_touches_advance_the_next_touch():
    b = Book(leads_frame([{"status": "Nuôi dưỡng", "reason": "chưa cần"}]))
    b.sync("2026-03-02")
    b.nurture.loc[0, "last_touch"] = D("2026-03-10")
    s = run_until(S.schedule_nurture_touches, b.leads, b, dt.date(2026, 3, 11))
    assert s.advance.tolist() == [True]
    assert s.touch_next.tolist() == [D("2026-04-10")]


def test_place_dates_keeps_a_persons_future_date_and_skips_do_not_contact():
    leads = leads_frame([{"status": "Từ chối", "reason": "đắt quá", "recontact_on": "2026-05-04"},
                         {"status": "Từ chối", "reason": "đắt quá", "do_not_contact": True}])
    s = run_until(S.place_dates, leads)
    assert s.recontact_out.isna().tolist() == [True, True]
    assert s.effective.tolist()[0] == D("2026-05-04")  # the log records the person's date
    assert pd.isna(s.effective.tolist()[1])


def test_empty_frames_run_through_every_rule():
    leads = leads_frame([])
    res = S.apply_status_chain(leads, empty_tab("history"), empty_tab("rejections"), empty_tab("nurture"),
                               SCHEMAS, DAY)
    assert res.counts["transitions"] == 0 and len(res.rejection_rows) == 0
