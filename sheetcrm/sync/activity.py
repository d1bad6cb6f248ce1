"""The `Hoạt động` (rep activity) tab: what each owner did, week by week (docs/scoring.md).

Pure: parsed frames in, a `SheetLayout` out; every count is a groupby over whole columns.
Definitions (the tests recompute them):
- an event belongs to the lead's current owner and to the week (Monday to Sunday) it happened;
- new lead: `Ngày tạo` in the week; move: a `Lịch sử` row; win / loss: a row into the won /
  a lost status; first contact: the lead's first row out of the first status (`Mới`), and
  the time to it is from `Ngày tạo`, in days;
- recontact due: a contact date the sync or a person set (`Ngày liên hệ lại` of the leads tab
  and of each `Từ chối` row), once per lead and date, counted in its week when it has come;
  done: the lead was contacted (`Ngày liên hệ cuối`) or moved on or after that date;
  overdue: due before today and not done;
- win rate: wins / (wins + losses) of the week.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from ..changes import SheetLayout
from ..text import as_text, fold, map_distinct
from .forecast import status_keys
from .frames import DATE_DTYPE, to_dates
from .lead_history import lead_positions, per_lead, prepare_history, shared
from .summary import SYNC_TIME_CELL, Grid, labels, population

if TYPE_CHECKING:
    from .summary_tabs import SummaryInputs

COUNTS = ("new", "first_contacts", "moves", "wins", "losses", "due", "done", "overdue")


def week_start(d: pd.Series) -> pd.Series:
    """Monday of each date's week (NaT stays NaT)."""
    d = to_dates(d).dt.normalize()
    return d - pd.to_timedelta(d.dt.day_of_week, unit="D")


def activity_table(leads: pd.DataFrame, history: pd.DataFrame, rejections: pd.DataFrame, schemas: Any,
                   today: dt.date, weeks: int, no_owner: str = "", prepared: tuple | None = None) -> pd.DataFrame:
    """One row per (week, owner) with any activity in the last `weeks` weeks: the counts of
    `COUNTS`, `median_first_days` and `win_rate`; newest week first, owners by name.
    `prepared`: (population, prepare_history of its ids) when the caller has them."""
    pre, won_key, lost_keys = status_keys(schemas)
    if prepared is None:
        pop, _ = population(leads)
        h = prepare_history(as_text(pop["lead_id"]), history)
    else:
        pop, h = prepared
    n = len(pop)
    ids = as_text(pop["lead_id"])
    owner_codes, owners = pd.factorize(map_distinct(as_text(pop["owner"]), lambda u: u.strip() or no_owner).to_numpy(
        dtype=object))
    this_week = pd.Timestamp(today) - pd.Timedelta(days=today.weekday())
    first_week = this_week - pd.Timedelta(weeks=weeks - 1)
    t = pd.Timestamp(today)
    pos, to, at = h["pos"].to_numpy(), h["to_status"].to_numpy(dtype=object), h["observed_at"]
    parts = []

    def events(kind: str, lead_pos: np.ndarray, when: pd.Series, extra: np.ndarray | None = None) -> None:
        wk = week_start(pd.Series(np.asarray(when)))
        keep = ((wk >= first_week) & (wk <= this_week)).to_numpy()
        f = pd.DataFrame({"week": wk.to_numpy()[keep], "owner": owner_codes[lead_pos[keep]], "kind": kind})
        if extra is not None:
            f["days"] = np.asarray(extra, dtype=float)[keep]
        parts.append(f)

    created = to_dates(pop["created_at"]).to_numpy()
    events("new", np.arange(n), created)
    events("moves", pos, at)
    won_rows = to == won_key
    events("wins", pos[won_rows], at[won_rows])
    lost_rows = np.isin(to, list(lost_keys))
    events("losses", pos[lost_rows], at[lost_rows])
    from_first = h["from_status"].to_numpy(dtype=object) == schemas.chain.initial
    fpos = pos[from_first]
    first = ~pd.Series(fpos).duplicated().to_numpy()  # rows are ordered by lead and time
    fpos, fat = fpos[first], at.to_numpy()[from_first][first]
    wait = (fat - created[fpos]) / np.timedelta64(1, "D")
    events("first_contacts", fpos, fat, np.clip(wait, 0, None))

    due = _recontacts(pop, ids, rejections, h, t)
    dpos, don, done = due["pos"].to_numpy(), due["on"], due["done"].to_numpy()
    events("due", dpos, don)
    events("done", dpos[done], don[done])
    od = ~done & (don < t).to_numpy()
    events("overdue", dpos[od], don[od])

    ev = pd.concat(parts, ignore_index=True)
    if not len(ev):
        out = pd.DataFrame(columns=["week", "owner", *COUNTS, "median_first_days", "win_rate"])
        out.attrs["team_median_first_days"] = pd.Series(dtype=float)
        return out
    counts = ev.groupby(["week", "owner", "kind"]).size().unstack("kind", fill_value=0)
    counts = counts.reindex(columns=list(COUNTS), fill_value=0).astype(np.int64)
    fc = ev[ev["kind"] == "first_contacts"]
    med = fc.groupby(["week", "owner"])["days"].median() if len(fc) else pd.Series(dtype=float)
    out = counts.reset_index()
    out["median_first_days"] = med.reindex(pd.MultiIndex.from_frame(out[["week", "owner"]])).to_numpy() \
        if len(med) else np.nan
    out["owner"] = np.asarray(owners, dtype=object)[out["owner"].to_numpy()]
    closed = out["wins"] + out["losses"]
    out["win_rate"] = (out["wins"] / closed.where(closed > 0)).round(4)
    out["_o"] = map_distinct(out["owner"], fold)
    out = out.sort_values(["week", "_o"], ascending=[False, True], kind="mergesort").drop(columns="_o")
    out = out.reset_index(drop=True)
    out.attrs["team_median_first_days"] = fc.groupby("week")["days"].median() if len(fc) else pd.Series(dtype=float)
    return out


def _recontacts(pop: pd.DataFrame, ids: pd.Series, rejections: pd.DataFrame, h: pd.DataFrame,
                today: pd.Timestamp) -> pd.DataFrame:
    """Each (lead, contact date) that has come, and whether the lead was contacted or moved since."""
    n = len(pop)
    on = [to_dates(pop["recontact_on"]).to_numpy() if "recontact_on" in pop
          else np.full(n, np.datetime64("NaT"), dtype=DATE_DTYPE)]
    pos = [np.arange(n)]
    if len(rejections) and "recontact_on" in rejections and "lead_id" in rejections:
        pos.append(lead_positions(ids, rejections["lead_id"]))
        on.append(to_dates(rejections["recontact_on"]).to_numpy())
    due = pd.DataFrame({"pos": np.concatenate(pos), "on": np.concatenate(on).astype(DATE_DTYPE)})
    due["on"] = due["on"].dt.normalize()
    due = due[due["on"].notna() & (due["on"] <= today) & (due["pos"] >= 0)]
    due = due.drop_duplicates(["pos", "on"]).reset_index(drop=True)
    last = to_dates(pop["last_contact"]).to_numpy() if "last_contact" in pop else np.full(n, np.datetime64("NaT"))
    last_move = to_dates(per_lead(h["observed_at"], h["pos"].to_numpy(), n, "max")).dt.normalize().to_numpy()
    p = due["pos"].to_numpy()
    d = due["on"].to_numpy()
    due["done"] = (last[p] >= d) | (last_move[p] >= d)
    return due


def build_activity(i: SummaryInputs, tab: str) -> SheetLayout:
    """The `Hoạt động` tab: the team's weeks, then each owner's."""
    L = labels(i.language, i.schemas)
    weeks = i.schemas.scoring.activity.weeks if i.schemas.scoring is not None else 8
    t = activity_table(i.leads, i.history, i.rejections, i.schemas, i.today, weeks, L["no_owner"], shared(i))
    g = Grid()
    g.put(1, 1, L["activity_title"], "title")
    g.put(2, 1, L["updated_at"], "note")
    g.put(*SYNC_TIME_CELL, i.now.replace(microsecond=0, tzinfo=None))
    g.put(3, 1, L["as_of"], "note")
    g.put(3, 2, i.today, "date")
    g.row = 5
    head = [L["act_new"], L["act_first"], L["act_moves"], L["act_wins"], L["act_losses"], L["act_due"],
            L["act_done"], L["act_overdue"], L["act_median_first"], L["act_win_rate"]]
    styles = ["integer"] * 8 + ["decimal", "percent"]
    this_week = pd.Timestamp(i.today) - pd.Timedelta(days=i.today.weekday())
    all_weeks = pd.DatetimeIndex([this_week - pd.Timedelta(weeks=k) for k in range(weeks)])
    team = (t.groupby("week")[list(COUNTS)].sum() if len(t) else pd.DataFrame(columns=list(COUNTS)))
    team = team.reindex(all_weeks, fill_value=0)  # a quiet week shows as zeros
    team_rows = []
    team_med = t.attrs.get("team_median_first_days", pd.Series(dtype=float))
    for w, r in team.iterrows():
        closed = r["wins"] + r["losses"]
        med = team_med.get(w, np.nan)
        team_rows.append([w.date(), *[int(r[c]) for c in COUNTS], None if pd.isna(med) else round(float(med), 1),
                          round(float(r["wins"] / closed), 4) if closed else None])
    g.table(L["act_team_title"], [L["act_week"], *head], team_rows, ["date"] + styles)
    rows = [[r.week.date(), r.owner, *[int(getattr(r, c)) for c in COUNTS],
             None if pd.isna(r.median_first_days) else round(float(r.median_first_days), 1),
             None if pd.isna(r.win_rate) else float(r.win_rate)] for r in t.itertuples()]
    g.table(L["act_owner_title"], [L["act_week"], L["owner_col"], *head], rows, ["date", None] + styles)
    return g.layout(tab, (14.0, 20.0) + (12.0,) * 10, freeze_rows=3)


__all__ = ["activity_table", "build_activity", "week_start", "DATE_DTYPE"]
