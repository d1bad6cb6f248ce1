"""Recontact scheduling: working days, offsets, the daily cap (properties with hypothesis)."""

from __future__ import annotations

import datetime as dt

import holidays
import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sheetcrm.sync.schedule import WorkCalendar, add_offset, apply_daily_cap, next_working_day

CAL = WorkCalendar(["2026-12-31"], range(2025, 2029))
VN = holidays.country_holidays("VN", years=range(2024, 2031))


def S(*dates):
    return pd.Series(pd.to_datetime(list(dates)))


def is_working(d: dt.date) -> bool:
    return d.weekday() < 5 and d not in VN and d != dt.date(2026, 12, 31)


def test_tet_and_weekends_are_skipped():
    # Tết 2026: 16–20 Feb (Mon–Fri), the weekend before and after → Monday 23 Feb.
    assert next_working_day(S("2026-02-14"), CAL)[0] == pd.Timestamp("2026-02-23")
    assert next_working_day(S("2026-02-13"), CAL)[0] == pd.Timestamp("2026-02-13")
    # 30/4 and 1/5 2026 are Thursday/Friday.
    assert next_working_day(S("2026-04-30"), CAL)[0] == pd.Timestamp("2026-05-04")
    # Hùng Kings' day falls on a Sunday in 2026; the package lists Monday 27/4 as the day off.
    assert next_working_day(S("2026-04-26"), CAL)[0] == pd.Timestamp("2026-04-28")
    # The configured extra day off.
    assert next_working_day(S("2026-12-31"), CAL)[0] == pd.Timestamp("2027-01-04")


def test_months_are_calendar_months():
    out = add_offset(S("2026-01-31", "2028-01-31", "2026-03-31", "2026-11-15", None), "1m", CAL)
    assert list(out[:4]) == list(pd.to_datetime(["2026-02-28", "2028-02-29", "2026-04-30", "2026-12-15"]))
    assert pd.isna(out[4])
    assert add_offset(S("2026-01-15"), "3m", CAL)[0] == pd.Timestamp("2026-04-15")


def test_days_and_working_days():
    assert add_offset(S("2026-03-06"), "30d", CAL)[0] == pd.Timestamp("2026-04-05")
    # Friday + 3 working days = Wednesday; across Tết the holidays do not count.
    assert add_offset(S("2026-03-06"), "3bd", CAL)[0] == pd.Timestamp("2026-03-11")
    assert add_offset(S("2026-02-12"), "3bd", CAL)[0] == pd.Timestamp("2026-02-24")


def test_calendar_grows_for_far_dates():
    cal = WorkCalendar([], [2026])
    out = next_working_day(S("2031-01-01"), cal)[0]
    assert out == pd.Timestamp("2031-01-02")


def test_cap_overflow_goes_to_next_free_working_day():
    n = 40
    owner = pd.Series(["An"] * n)
    nominal = pd.Series(pd.Timestamp("2026-02-13"), index=range(n))
    lead = pd.Series([f"KH-{i:06d}" for i in range(n)])[::-1].reset_index(drop=True)
    fixed = pd.Series(pd.NaT, index=range(n), dtype="datetime64[ns]")
    fixed[0] = pd.Timestamp("2026-02-23")  # a person's date uses up one place on 23/02
    out = apply_daily_cap(owner, nominal, lead, fixed, 15, CAL)
    per_day = out.value_counts().sort_index()
    assert per_day.to_dict() == {
        pd.Timestamp("2026-02-13"): 15, pd.Timestamp("2026-02-23"): 15, pd.Timestamp("2026-02-24"): 10}
    # Stable order: the lowest lead ids keep the nominal day.
    first = lead[out == pd.Timestamp("2026-02-13")]
    assert sorted(first) == sorted(lead.drop(0))[:15]


def test_person_dates_are_kept_even_past_the_cap():
    owner = pd.Series(["An"] * 3)
    fixed = S("2026-03-07", "2026-03-09", "2026-03-09")  # a Saturday typed by a person is respected
    nominal = pd.Series(pd.NaT, index=range(3), dtype="datetime64[ns]")
    out = apply_daily_cap(owner, nominal, pd.Series(["a", "b", "c"]), fixed, 1, CAL)
    assert list(out) == list(fixed)


days = st.dates(min_value=dt.date(2025, 6, 1), max_value=dt.date(2027, 6, 30))
rows = st.lists(st.tuples(st.sampled_from(["An", "Bình", "Chi", ""]), days, st.booleans(), days),
                min_size=1, max_size=120)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows=rows, cap=st.integers(min_value=1, max_value=6))
def test_schedule_properties(rows, cap):
    owner = pd.Series([r[0] for r in rows])
    is_fixed = pd.Series([r[2] for r in rows])
    nominal = pd.Series(pd.to_datetime([r[1] for r in rows])).where(~is_fixed)
    fixed = pd.Series(pd.to_datetime([r[3] for r in rows])).where(is_fixed)
    lead = pd.Series([f"KH-{i:06d}" for i in range(len(rows))])
    out = apply_daily_cap(owner, nominal, lead, fixed, cap, CAL)
    placed = nominal.notna()
    # Fixed dates are untouched.
    assert (out[~placed] == fixed[~placed]).all()
    for d, nom in zip(out[placed], nominal[placed]):
        assert is_working(d.date())          # never a weekend, a VN holiday or a day off
        assert d >= nom                       # never before its nominal date
    # No owner gets more than `cap` placed dates on a day, fixed ones included, unless the
    # fixed ones alone already exceed it (then nothing is added that day).
    frame = pd.DataFrame({"owner": owner, "day": out, "placed": placed})
    per_day = frame.groupby(["owner", "day"]).agg(total=("placed", "size"), placed=("placed", "sum"))
    fixed_only = per_day["total"] - per_day["placed"]
    assert ((per_day["placed"] == 0) | (per_day["total"] <= cap)).all()
    assert (per_day["total"] <= np.maximum(cap, fixed_only)).all()
    # Same input → same schedule, whatever the row order.
    perm = np.random.default_rng(0).permutation(len(rows))
    again = apply_daily_cap(owner[perm].reset_index(drop=True), nominal[perm].reset_index(drop=True),
                            lead[perm].reset_index(drop=True), fixed[perm].reset_index(drop=True), cap, CAL)
    assert list(again) == list(out[perm])


@settings(max_examples=30, deadline=None)
@given(rows=rows, cap=st.integers(min_value=1, max_value=4))
def test_no_day_is_skipped_while_it_has_room(rows, cap):
    owner = pd.Series([r[0] for r in rows])
    nominal = pd.Series(pd.to_datetime([r[1] for r in rows]))
    fixed = pd.Series(pd.NaT, index=nominal.index, dtype="datetime64[ns]")
    lead = pd.Series([f"KH-{i:06d}" for i in range(len(rows))])
    out = apply_daily_cap(owner, nominal, lead, fixed, cap, CAL)
    load = pd.DataFrame({"o": owner, "d": out}).groupby(["o", "d"]).size()
    for o, nom, d in zip(owner, nominal, out):
        start = next_working_day(pd.Series([nom]), CAL)[0]
        between = CAL.workdays[(CAL.workdays >= np.datetime64(start.date())) & (CAL.workdays < np.datetime64(d.date()))]
        for w in between:
            assert load.get((o, pd.Timestamp(w)), 0) == cap


def test_cap_must_be_positive():
    with pytest.raises(ValueError):
        apply_daily_cap(pd.Series(["a"]), S("2026-03-02"), pd.Series(["x"]), S(None), 0, CAL)
