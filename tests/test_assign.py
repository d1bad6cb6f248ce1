"""Assignment of owners and first-contact due dates (pure)."""

from __future__ import annotations

import datetime as dt

import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from sheetcrm.sync.assign import assign, first_contact_due, parse_days_off, parse_team
from sheetcrm.sync.schedule import WorkCalendar

DAY = dt.date(2026, 12, 4)
CAL = WorkCalendar((), range(2025, 2029))


def team(**cols):
    return parse_team(pd.DataFrame(cols, dtype=object), DAY)


def test_fairness_over_1000_leads_and_7_reps_with_caps_and_days_off():
    t = team(name=["An", "Bình", "Chi", "Dũng", "Giang", "Hà", "Khánh"],
             active=["có", "có", "có", "có", "có", "không", "có"],
             max_per_day=["", "120", "", "", "", "", ""],
             days_off=["", "", "04/12/2026", "", "01/12/2026 - 05/12/2026", "", ""],
             role=["sales"] * 6 + ["quản lý"])
    owners, moved = assign(pd.Series(["Gói A"] * 1000), t, pd.Series(dtype=int), "round_robin")
    counts = owners.value_counts().to_dict()
    assert counts["Bình"] == 120  # capped
    free = [counts[n] for n in ("An", "Dũng")]
    assert sum(counts.values()) == 1000 and max(free) - min(free) <= 1
    assert not {"Chi", "Giang", "Hà", "Khánh"} & set(counts)  # off, off, inactive, manager
    # every prefix of the day is fair too
    for n in (7, 50, 241):
        c = owners[:n].value_counts()
        assert c.max() - c.min() <= 1
    assert set(moved["name"]) == {"An", "Bình", "Dũng"}


def test_the_cursor_carries_over_to_the_next_run():
    t = team(name=["An", "Bình", "Chi"])
    first, moved = assign(pd.Series(["x"] * 4), t, pd.Series(dtype=int), "round_robin")
    from sheetcrm.sync.assign import cursor_text

    cur = {r["name"]: cursor_text(int(r["turn"]), DAY, int(r["count"])) for _, r in moved.iterrows()}
    t2 = team(name=["An", "Bình", "Chi"], last_turn=[cur.get(n, "") for n in ("An", "Bình", "Chi")])
    second, _ = assign(pd.Series(["x"] * 2), t2, pd.Series(dtype=int), "round_robin")
    both = pd.concat([first, second]).value_counts()
    assert both.to_dict() == {"An": 2, "Bình": 2, "Chi": 2}


def test_by_product_and_least_open():
    t = team(name=["An", "Bình", "Chi"], products=["Máy lạnh", "Gói Cơ bản, Gói Doanh nghiệp", ""])
    owners, _ = assign(pd.Series(["máy lạnh", "Gói doanh nghiệp", "Tủ lạnh"]), t, pd.Series(dtype=int), "by_product")
    assert owners.tolist()[:2] == ["An", "Bình"] and owners.iloc[2] == "Chi"
    opened = pd.Series({"an": 5, "binh": 1, "chi": 3})
    owners, _ = assign(pd.Series(["x"] * 3), team(name=["An", "Bình", "Chi"]), opened, "least_open")
    assert owners.tolist() == ["Bình", "Bình", "Chi"]


def test_days_off_ranges():
    assert parse_days_off("24/12/2026 - 26/12/2026; 2026-12-31") == {
        dt.date(2026, 12, 24), dt.date(2026, 12, 25), dt.date(2026, 12, 26), dt.date(2026, 12, 31)}
    assert parse_days_off("nghỉ phép") == set()


def test_due_dates_cutoff_weekend_and_holiday():
    stamps = pd.Series(pd.to_datetime(["2026-12-04 14:59", "2026-12-04 15:00", "2026-12-05 09:00",
                                       "2026-09-01 16:00", "2027-02-05 16:00"]))
    due = first_contact_due(stamps, CAL, dt.time(15, 0)).dt.date.tolist()
    # Friday before and at the cut-off; a Saturday; an evening before National Day (2/9);
    # an evening before Tết 2027
    assert due[:3] == [dt.date(2026, 12, 4), dt.date(2026, 12, 7), dt.date(2026, 12, 7)]
    assert CAL.is_working_day(due[3]) and due[3] > dt.date(2026, 9, 2)
    assert CAL.is_working_day(due[4]) and due[4] > dt.date(2027, 2, 10)


@settings(max_examples=200, deadline=None)
@given(st.datetimes(min_value=dt.datetime(2025, 1, 1), max_value=dt.datetime(2028, 6, 30)),
       st.times())
def test_due_date_is_the_first_working_day_allowed(stamp, cutoff):
    due = first_contact_due(pd.Series([pd.Timestamp(stamp)]), CAL, cutoff).iloc[0].date()
    day = stamp.date()
    assert CAL.is_working_day(due) and due >= day
    same = CAL.is_working_day(day) and stamp.time() < cutoff
    assert (due == day) == same
    # nothing working between
    d = day + dt.timedelta(days=1)
    while d < due:
        assert not CAL.is_working_day(d)
        d += dt.timedelta(days=1)


def test_median_time_to_first_contact_per_owner():
    from sheetcrm.sync.assign import time_to_first_contact

    leads = pd.DataFrame({
        "lead_id": ["A", "B", "C", "D"], "owner": ["Lan", "Lan", "Lan", "Minh"],
        "status": ["hot", "researched", "new", "new"],
        "created_at": pd.to_datetime(["2026-12-01", "2026-12-01", "2026-12-02", "2026-12-03"]),
        "last_contact": pd.to_datetime([None, "2026-12-02", None, None]),
    })
    history = pd.DataFrame({"lead_id": ["A", "A", "B"], "from_status": ["new", "researched", "new"],
                            "to_status": ["researched", "hot", "researched"],
                            "observed_at": pd.to_datetime(["2026-12-04", "2026-12-05", "2026-12-06"])})
    t = time_to_first_contact(leads, history, "new").set_index("owner")
    assert t.loc["Lan"].tolist() == [3, 2, 2.0, 1]  # A: 3 days, B: 1 day (its last contact)
    assert t.loc["Minh", "waiting"] == 1 and pd.isna(t.loc["Minh", "median_days"])


def test_speed_to_lead_table_fits_the_overview_grid():
    from sheetcrm.sync.assign import speed_to_lead_table
    from sheetcrm.sync.summary import Grid

    leads = pd.DataFrame({"lead_id": ["A", "B"], "owner": ["Lan", ""], "status": ["hot", "new"],
                          "created_at": pd.to_datetime(["2026-12-01", "2026-12-02"]),
                          "last_contact": pd.to_datetime(["2026-12-03", None])})
    history = pd.DataFrame({"lead_id": [], "from_status": [], "to_status": [], "observed_at": []})
    title, header, rows, styles = speed_to_lead_table(leads, history, "new", "en")
    assert rows == [["(unassigned)", 1, 0, None, 1], ["Lan", 1, 1, 2.0, 0]]
    g = Grid()
    g.row = 1
    g.table(title, header, rows, styles)
    assert g.layout("x", (), freeze_rows=0).cells[0][0] == "Speed to lead"
