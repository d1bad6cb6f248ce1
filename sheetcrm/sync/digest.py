"""Who gets which items in the morning digests (pure DataFrame code; docs/notify.md).

The items come from the recontact agenda (`agenda_frame`, the rows the `Lịch liên hệ lại` tab
shows) and from the nurture tab (touches due), split by owner. Each rep in `Nhân viên` with
an email (or a webhook) gets their own; each manager (`Vai trò` manager / quản lý / trưởng
nhóm) gets the team's totals, the overdue count per rep and the stalled deals. Leads marked
do-not-contact and erased leads are never in any of them.

Sections of a rep's digest, in order: `new` (new leads nobody has called yet, due today or
earlier), `overdue`, `today`, `closing` (open deals whose expected close date, `Ngày dự
kiến chốt` as the forecast reads it, falls in the rest of this week, dated by it, whether
or not a recontact is due; a deal without that date: in the last stage before won with a
recontact in the rest of this week), `week` (the other recontacts of this week), `nurture`
(nurture touches due; `auto` marks those `sheetcrm nurture` emails by itself today, the
others are the rep's to call or message). The calendar holds every agenda row of the next
30 days. A lead is in one section only, the first that applies in this order.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..schema import Schemas
from ..text import as_text, fold, map_distinct
from .agenda import agenda_frame, reason_keys
from .dates import parse_dates
from .summary import _col, _dates, nurture_state_keys, population, week_end
from .tables import Table
from .tombstone import erased
from .validate import _TRUE as DNC_TRUE

SECTIONS = ("new", "overdue", "today", "closing", "week", "nurture")
_MANAGERS = {"quan ly", "manager", "truong nhom", "admin"}
_NO = {"khong", "no", "n", "0", "false", "nghi", "da nghi", "inactive"}
ITEM_COLUMNS = ["owner_key", "section", "date", "lead_id", "name", "company", "phone", "email", "status",
                "reason", "row", "auto"]


@dataclass
class Person:
    name: str
    key: str  # folded name: how `Người phụ trách` is matched
    email: str
    webhook: str
    manager: bool


@dataclass
class DigestPlan:
    """Everything the digests of one day hold; `items` has one row per (rep, item)."""

    day: dt.date
    people: list[Person]
    items: pd.DataFrame  # ITEM_COLUMNS; sorted by owner, section, date, lead id
    calendar: pd.DataFrame  # agenda rows of the next 30 days: owner_key, date, lead_id, kind, ...
    stalled: pd.DataFrame  # for managers: owner, lead_id, name, status, last_contact, days
    counts: pd.DataFrame = field(default_factory=pd.DataFrame)  # owner_key x section, + total

    def rep_items(self, key: str) -> pd.DataFrame:
        return self._by_owner.get(key, self.items.iloc[0:0])

    def rep_calendar(self, key: str) -> pd.DataFrame:
        return self._cal_by_owner.get(key, self.calendar.iloc[0:0])

    def __post_init__(self) -> None:
        # one groupby for all reps: slicing per rep is then a dict look-up
        self._by_owner = {k: g for k, g in self.items.groupby("owner_key", sort=False)}
        self._cal_by_owner = {k: g for k, g in self.calendar.groupby("owner_key", sort=False)}


def team_people(team: pd.DataFrame) -> list[Person]:
    """Active people of the team tab (schema keys) who have a name."""
    text = {k: as_text(team[k]).str.strip() if k in team else pd.Series("", index=team.index, dtype=object)
            for k in ("name", "email", "role", "active", "webhook")}
    active = ~map_distinct(text["active"], lambda t: fold(t) in _NO, False).astype(bool)
    manager = map_distinct(text["role"], lambda t: fold(t) in _MANAGERS, False).astype(bool)
    keep = text["name"].ne("") & active
    return [Person(n, fold(n), e, w, bool(m)) for n, e, w, m in
            zip(text["name"][keep], text["email"][keep], text["webhook"][keep], manager[keep])]


def _contactable(leads: pd.DataFrame) -> pd.DataFrame:
    """Leads minus erased ones and those marked do-not-contact."""
    dnc = _col(leads, "do_not_contact", False)
    if dnc.dtype != bool:
        dnc = map_distinct(as_text(dnc), lambda u: fold(u).strip() in DNC_TRUE, False).astype(bool)
    return leads.loc[~erased(_col(leads, "name", "")) & ~dnc]


def _nurture_due(nurture: pd.DataFrame, leads: pd.DataFrame, today: dt.date) -> pd.DataFrame:
    """Active nurture rows whose next touch has come, for leads still contactable."""
    if nurture is None or not len(nurture):
        return pd.DataFrame(columns=ITEM_COLUMNS)
    state = nurture_state_keys(_col(nurture, "state", "")).fillna("active")
    blank = as_text(_col(nurture, "state", "")).str.strip().eq("")
    # The nurture tab as read: Google gives date serials, a person may type text.
    nxt = (parse_dates(nurture["next_touch"])[0] if "next_touch" in nurture
           else _dates(nurture, "next_touch")).astype("datetime64[ns]").dt.normalize()
    ids = as_text(_col(nurture, "lead_id", "")).str.strip()
    ok_ids = set(as_text(_col(leads, "lead_id", "")))
    keep = (state.eq("active") | blank) & nxt.notna() & (nxt <= pd.Timestamp(today)) & ids.isin(ok_ids) & ids.ne("")
    keep &= ~erased(_col(nurture, "name", ""))
    n = nurture.loc[keep]
    lead_rows = leads.drop_duplicates("lead_id").set_index("lead_id") if "lead_id" in leads else pd.DataFrame()
    ids = ids[keep]
    return pd.DataFrame({
        "owner_key": map_distinct(as_text(_col(n, "owner", "")).str.strip(), fold, ""),
        "section": SECTIONS.index("nurture"),
        "date": nxt[keep],
        "lead_id": ids,
        "name": as_text(_col(n, "name", "")),
        "company": as_text(lead_rows["company"].reindex(ids.to_numpy())).to_numpy() if "company" in lead_rows else "",
        "phone": as_text(_col(n, "phone", "")),
        "email": as_text(_col(n, "email", "")),
        "status": "nurture",
        "reason": as_text(_col(n, "reason_category", "")),
        "row": lead_rows["row"].reindex(ids.to_numpy()).to_numpy() if "row" in lead_rows else np.nan,
        "auto": False,
    }, index=n.index)


def plan_digests(leads: pd.DataFrame, nurture: pd.DataFrame | None, team: pd.DataFrame, schemas: Schemas,
                 today: dt.date, stalled_days: int = 14, auto_email: Iterable[str] = ()) -> DigestPlan:
    """The day's digest items for every person of `team` (see the module doc).

    `leads`: the pipeline's leads frame (as the sync computes it); `nurture`: the nurture
    tab's frame (schema keys); `team`: the team tab's frame (schema keys); `auto_email`: the
    lead ids today's nurture run emails (`auto_emailed`), their touches marked `auto`."""
    people = team_people(team)
    ok = _contactable(leads)
    a = agenda_frame(ok, schemas, today)  # sorted owner, section, fresh first, date, lead id
    a = a.assign(owner_key=map_distinct(a["owner"], fold, ""),
                 row=_col(ok, "row", np.nan).reindex(a.index).to_numpy())
    fresh = a["status"].eq(schemas.chain.initial) & _dates(ok, "last_contact").reindex(a.index).isna()
    won = {s.key for s in schemas.chain.statuses if s.kind == "won"}
    active = [s for s in schemas.chain.active if s.key not in won]
    closing_stage = active[-1].key if active else None
    # Closing this week: open deals expected to close from today to Sunday (the forecast's
    # `expected_close`); without that date, the last stage before won due this week.
    pop, _ = population(ok)
    expected = _dates(pop, "expected_close").dt.normalize()
    t, we = pd.Timestamp(today), pd.Timestamp(week_end(today))
    closes = _col(pop, "status", None).isin([s.key for s in active]) & expected.between(t, we)
    close_at = expected[closes]
    has_date = expected.reindex(a.index).notna().to_numpy()
    in_week = a.index.isin(close_at.index)
    sec = a["section"].to_numpy()
    section = np.select(
        [fresh.to_numpy() & (sec <= 1), sec == 0, sec == 1,
         in_week | ((sec == 2) & a["status"].eq(closing_stage).to_numpy() & ~has_date), sec == 2],
        [0, 1, 2, 3, 4], default=-1)
    calendar = a.assign(kind="recontact")[["owner_key", "date", "lead_id", "name", "company", "phone", "email",
                                           "status", "reason", "row", "kind", "section"]]
    items = a.assign(section=section, auto=False)
    closing = items["section"].eq(3) & items.index.isin(close_at.index)
    items.loc[closing, "date"] = close_at.reindex(items.index[closing]).to_numpy()
    # deals closing this week with no recontact on the agenda: their row as the agenda shows one
    rest = close_at.index.difference(a.index)
    if len(rest):
        extra = agenda_frame(ok.loc[rest].assign(recontact_on=close_at[rest]), schemas, today)
        extra = extra.assign(owner_key=map_distinct(extra["owner"], fold, ""), section=3, auto=False,
                             row=_col(ok, "row", np.nan).reindex(extra.index).to_numpy())
        items = pd.concat([items, extra])
    items = items.loc[items["section"] >= 0, ITEM_COLUMNS]
    due = _nurture_due(nurture, ok, today)
    if len(due):
        due = due.assign(reason=_reason_of(due["reason"], schemas),
                         auto=as_text(due["lead_id"]).str.strip().isin(set(auto_email)).to_numpy())
        items = pd.concat([items, due[ITEM_COLUMNS]])
    items = items.sort_values(["owner_key", "section", "date", "lead_id"], kind="mergesort")
    counts = pd.crosstab(items["owner_key"], items["section"]).reindex(columns=range(len(SECTIONS)), fill_value=0)
    counts.columns = list(SECTIONS)
    counts["total"] = counts.sum(axis=1)
    return DigestPlan(today, people, items, calendar, _stalled(ok, schemas, today, stalled_days), counts)


def auto_emailed(tables: Mapping[str, Table], content: Table, schemas: Schemas, today: dt.date) -> set[str]:
    """Lead ids whose nurture touch `sheetcrm nurture` emails by itself today: the touches
    its plan sends (consented, not unsubscribed nor erased, a valid email, an item left;
    sync/nurture_touch.py decides, the same code as the nurture run)."""
    from .nurture_touch import plan_touches

    touches = plan_touches(tables, content, schemas, today).touches
    return set(as_text(touches["lead_id"])) if len(touches) else set()


def _reason_of(labels: pd.Series, schemas: Schemas) -> pd.Series:
    """Reason category labels (the nurture tab's) → keys."""
    frame = pd.DataFrame({"reason_raw": as_text(labels)}, index=labels.index)
    return reason_keys(frame, schemas)


def _stalled(leads: pd.DataFrame, schemas: Schemas, today: dt.date, days: int) -> pd.DataFrame:
    """Open deals past the first stage with no contact for `days` days or more, oldest first."""
    pop, _ = population(leads)
    won = {s.key for s in schemas.chain.statuses if s.kind == "won"}
    stages = {s.key for s in schemas.chain.active if s.key not in won and s.key != schemas.chain.initial}
    status = _col(pop, "status", None)
    last = _dates(pop, "last_contact").dt.normalize()
    since = last.fillna(_dates(pop, "created_at").dt.normalize())
    age = (pd.Timestamp(today) - since).dt.days
    keep = status.isin(stages) & age.ge(days)
    s = pop.loc[keep]
    out = pd.DataFrame({
        "owner_key": map_distinct(as_text(_col(s, "owner", "")).str.strip(), fold, ""),
        "owner": as_text(_col(s, "owner", "")).str.strip(),
        "lead_id": as_text(_col(s, "lead_id", "")),
        "name": as_text(_col(s, "name", "")),
        "company": as_text(_col(s, "company", "")),
        "status": status[keep],
        "last_contact": last[keep],
        "days": age[keep].astype(int),
        "row": _col(s, "row", np.nan),
    }, index=s.index)
    return out.sort_values(["days", "lead_id"], ascending=[False, True], kind="mergesort")


def sequence_numbers(log: pd.DataFrame) -> dict[str, int]:
    """The calendar SEQUENCE per recipient key: how many calendars of theirs the `Thông báo`
    log (states as keys) says were delivered before, by digest or by `calendar`. Each new one
    replaces the one before in a calendar app (same UID, higher SEQUENCE); a message sent
    again after a failure carries the same number, since a failure does not count."""
    if log is None or not len(log):
        return {}
    done = as_text(_col(log, "state", "")).eq("sent")
    done &= as_text(_col(log, "channel", "")).isin(["email", "calendar"])
    who = map_distinct(as_text(_col(log, "recipient", "")).str.strip(), fold, "")
    return who[done].value_counts().astype(int).to_dict()
