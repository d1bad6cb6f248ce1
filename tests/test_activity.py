"""The `Hoạt động` tab: per owner per week counts that reconcile with `Lịch sử` (docs/scoring.md)."""

from __future__ import annotations

import datetime as dt
from collections import Counter

import numpy as np
import pandas as pd
import pytest

from bench.scoring_data import make_crm
from sheetcrm.schema import load_schemas
from sheetcrm.sync.activity import activity_table, build_activity
from sheetcrm.sync.summary import labels
from sheetcrm.sync.summary_tabs import SummaryInputs

S = load_schemas()
T = dt.date(2026, 3, 12)  # a Thursday; its week starts Monday 9 March
L = labels("vi")


def monday(d) -> dt.date:
    d = pd.Timestamp(d).date()
    return d - dt.timedelta(days=d.weekday())


@pytest.fixture(scope="module")
def data():
    leads, h, r = make_crm(800, seed=9, today=T, extra_moves=2000, days=120, open_days=20)
    return leads, h, r, activity_table(leads, h, r, S, T, weeks=8)


def test_moves_wins_and_losses_reconcile_with_the_history(data):
    leads, h, _, t = data
    owner = dict(zip(leads["lead_id"], leads["owner"]))
    first = monday(T) - dt.timedelta(weeks=7)
    want = {k: Counter() for k in ("moves", "wins", "losses")}
    for lid, to, at in zip(h["lead_id"], h["to_status"], h["observed_at"]):
        w = monday(at)
        if not first <= w <= monday(T):
            continue
        want["moves"][(w, owner[lid])] += 1
        if to == "won":
            want["wins"][(w, owner[lid])] += 1
        if to in ("rejected", "not_closed", "unreachable"):
            want["losses"][(w, owner[lid])] += 1
    for kind, counts in want.items():
        got = {(r.week.date(), r.owner): getattr(r, kind) for r in t.itertuples() if getattr(r, kind)}
        assert got == dict(counts), kind
    assert t["moves"].sum() == sum(want["moves"].values()) > 0
    rate = t["wins"] / (t["wins"] + t["losses"])
    assert np.allclose(t["win_rate"].dropna(), rate.dropna().round(4))


def test_new_leads_and_first_contacts(data):
    leads, h, _, t = data
    first = pd.Timestamp(monday(T) - dt.timedelta(weeks=7))
    new = leads[leads["created_at"] >= first]
    assert t["new"].sum() == len(new)
    got = t.groupby("owner")["new"].sum()
    assert got.to_dict() == new.groupby("owner").size().to_dict()
    # a first contact: the lead's first move out of Mới; the wait is from its creation
    fc = h[h["from_status"] == "new"].sort_values(["lead_id", "observed_at"]).groupby("lead_id").head(1)
    fc = fc[fc["observed_at"] >= first]
    assert t["first_contacts"].sum() == len(fc)
    created = leads.set_index("lead_id")["created_at"]
    fc = fc.assign(owner=fc["lead_id"].map(leads.set_index("lead_id")["owner"]),
                   week=fc["observed_at"].map(monday),
                   days=(fc["observed_at"] - fc["lead_id"].map(created)).dt.total_seconds() / 86400)
    med = fc.groupby(["week", "owner"])["days"].median()
    for r in t[t["first_contacts"] > 0].itertuples():
        assert r.median_first_days == pytest.approx(med[(r.week.date(), r.owner)])


def lead(lid, owner, recontact=None, last=None, status="rejected", created=dt.date(2026, 1, 1)):
    return {"lead_id": lid, "owner": owner, "status": status, "recontact_on": pd.Timestamp(recontact) if recontact else pd.NaT,
            "last_contact": pd.Timestamp(last) if last else pd.NaT, "created_at": pd.Timestamp(created),
            "duplicate_of": "", "name": lid}


def test_recontacts_due_done_and_overdue():
    D = dt.date
    leads = pd.DataFrame([
        lead("KH-1", "An", D(2026, 3, 2), D(2026, 3, 3)),     # due last week, contacted after: done
        lead("KH-2", "An", D(2026, 3, 4), D(2026, 2, 1)),     # due last week, not contacted: overdue
        lead("KH-3", "An", D(2026, 3, 12), None),             # due today: due, not yet overdue
        lead("KH-4", "Bình", D(2026, 3, 20), None),           # not come yet: not counted
        lead("KH-5", "Bình", D(2026, 3, 10), None),           # moved on the 11th: done
        lead("KH-6", "Bình", D(2026, 3, 9), None, status="new"),  # a first call due, missed: overdue
    ])
    history = pd.DataFrame({"lead_id": ["KH-5"], "from_status": ["rejected"], "to_status": ["researched"],
                            "observed_at": [pd.Timestamp(2026, 3, 11)], "by": ["person"]})
    # the rejection log holds an earlier recontact date of KH-1, done by its later contact too
    rej = pd.DataFrame({"lead_id": ["KH-1", "KH-1"], "recontact_on": [pd.Timestamp(2026, 2, 24)] * 2,
                        "logged_at": [pd.Timestamp(2026, 1, 20)] * 2})
    t = activity_table(leads, history, rej, S, T, weeks=4).set_index(["week", "owner"])
    w0, w1, w2 = pd.Timestamp(2026, 3, 9), pd.Timestamp(2026, 3, 2), pd.Timestamp(2026, 2, 23)
    assert t.loc[(w1, "An"), ["due", "done", "overdue"]].tolist() == [2, 1, 1]
    assert t.loc[(w2, "An"), ["due", "done", "overdue"]].tolist() == [1, 1, 0]  # logged twice, counted once
    assert t.loc[(w0, "An"), ["due", "done", "overdue"]].tolist() == [1, 0, 0]
    assert t.loc[(w0, "Bình"), ["due", "done", "overdue"]].tolist() == [2, 1, 1]


def test_the_tab_lists_the_team_then_each_owner(data):
    leads, h, r, t = data
    i = SummaryInputs(leads, h, r, r.iloc[0:0], {}, S, T, dt.datetime(2026, 3, 12, 9))
    lay = build_activity(i, "Hoạt động")
    cells = [list(x) for x in lay.cells]
    start = next(k for k, x in enumerate(cells) if x[0] == L["act_team_title"])
    team = []
    for x in cells[start + 2:]:
        if x[0] is None:
            break
        team.append(x)
    assert [x[0] for x in team] == [monday(T) - dt.timedelta(weeks=k) for k in range(8)]
    assert sum(x[3] for x in team) == t["moves"].sum()
    assert any(x[0] == L["act_owner_title"] for x in cells)
