"""Assignment of leads without an owner, and the first-contact due date (pure).

The team tab (`Nhân viên`) lists the reps; a lead whose `Người phụ trách` is blank gets one
by the configured rule (docs/intake.md):

- `round_robin`: the eligible rep with the fewest leads handed out today, ties to the one
  whose last turn is oldest; over a day the counts differ by at most one.
- `by_product`: the same among the reps whose `Sản phẩm` names the lead's product (all
  eligible reps when none does).
- `least_open`: the eligible rep with the fewest open leads, then as round_robin.

Eligible: active, not a manager, not on a day off, under their daily maximum. The cursor
(each rep's last turn and today's count) lives in the team tab's `Lượt giao cuối` cell, so
the next run continues where this one stopped. An owner a person typed is never changed.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..text import as_text, fold, map_distinct, strip_text
from .dates import parse_one
from .frames import map_series
from .schedule import WorkCalendar, next_working_day

RULES = ("round_robin", "by_product", "least_open")
_NO = {"khong", "no", "n", "false", "0", "nghi", "nghi viec", "inactive", "x"}
_MANAGERS = {"quan ly", "manager", "truong nhom", "admin"}
_CURSOR = re.compile(r"^\s*#?(\d+)\s*(?:\|\s*(\d{4}-\d{2}-\d{2})\s*\|\s*(\d+))?")
# "24/12/2026 - 02/01/2027", "24/12/2026–02/01/2027", "24/12/2026-02/01/2027"; never the
# dashes inside an ISO date.
_RANGE = re.compile(r"\s+(?:-|đến|to)\s+|\s*–\s*|(?<=/\d{4})-(?=\d)")


@dataclass(frozen=True)
class AssignSettings:
    rule: str = "round_robin"
    cutoff: dt.time = dt.time(15, 0)


@dataclass
class Team:
    """Parsed team tab, one row per rep (index = the tab's frame index)."""

    frame: pd.DataFrame  # name, key, eligible, products, cap, turn, count

    @property
    def keys(self) -> set[str]:
        return set(self.frame["key"])


def parse_days_off(text: str) -> set[dt.date]:
    """`01/12/2026, 24/12/2026 - 02/01/2027; 2026-12-31` → the dates they cover."""
    out: set[dt.date] = set()
    for part in re.split(r"[,;\n]+", text or ""):
        ends = [parse_one(p.strip()) for p in _RANGE.split(part.strip(), maxsplit=1) if p.strip()]
        if len(ends) == 1 and ends[0]:
            out.add(ends[0])
        elif len(ends) == 2 and ends[0] and ends[1] and (ends[1] - ends[0]).days <= 366:
            out.update(ends[0] + dt.timedelta(days=i) for i in range((ends[1] - ends[0]).days + 1))
    return out


def parse_team(frame: pd.DataFrame, day: dt.date) -> Team:
    """The team tab's raw frame (schema keys) → who can take leads on `day`."""
    text = {k: as_text(frame[k]).str.strip() if k in frame else pd.Series("", index=frame.index, dtype=object)
            for k in ("name", "role", "active", "products", "max_per_day", "days_off", "last_turn")}
    name = text["name"]
    off = map_distinct(text["days_off"], lambda t: day in parse_days_off(t), False).astype(bool)
    active = ~map_distinct(text["active"], lambda t: fold(t) in _NO, False).astype(bool)
    manager = map_distinct(text["role"], lambda t: fold(t) in _MANAGERS, False).astype(bool)
    cap = pd.to_numeric(text["max_per_day"], errors="coerce")
    cursor = text["last_turn"].str.extract(_CURSOR)
    turn = pd.to_numeric(cursor[0], errors="coerce").fillna(0).astype(int)
    count = pd.to_numeric(cursor[2], errors="coerce").fillna(0).astype(int).where(cursor[1].eq(day.isoformat()), 0)
    out = pd.DataFrame({
        "name": name, "key": map_distinct(name, fold, ""),
        "eligible": name.ne("") & active & ~manager & ~off & ~(cap <= 0),
        "products": map_distinct(text["products"], _product_keys, ()),
        "cap": cap, "turn": turn, "count": count,
    }, index=frame.index)
    return Team(out.loc[out["name"].ne("")])


def _product_keys(text: str) -> tuple[str, ...]:
    return tuple(p for p in (fold(x) for x in re.split(r"[,;/\n]+", text or "")) if p)


def cursor_text(turn: int, day: dt.date, count: int) -> str:
    return f"{turn} | {day.isoformat()} | {count}"


def assign(products: pd.Series, team: Team, open_counts: pd.Series, rule: str) -> tuple[pd.Series, pd.DataFrame]:
    """An owner (the rep's name as the team tab spells it, '' when nobody can take it) for
    each lead, in order; and the team's new turn and count (rows that changed)."""
    f = team.frame
    reps = f.loc[f["eligible"]]
    owners = np.full(len(products), "", dtype=object)
    if not len(reps) or not len(products):
        return pd.Series(owners, index=products.index), f.iloc[0:0]
    names = reps["name"].tolist()
    count = reps["count"].to_numpy(int).copy()
    turn = reps["turn"].to_numpy(int).copy()
    cap = reps["cap"].to_numpy(float)
    cap = np.where(np.isnan(cap), np.inf, cap)
    opened = np.array([int(open_counts.get(k, 0)) for k in reps["key"]])
    offers = reps["products"].tolist()
    last = int(f["turn"].max()) if len(f) else 0
    wanted = map_distinct(as_text(products), fold, "").tolist()
    pool_of: dict[str, list[int]] = {}
    everyone = list(range(len(names)))
    for i, want in enumerate(wanted):
        pool = everyone
        if rule == "by_product":
            pool = pool_of.get(want)
            if pool is None:
                fits = [j for j in everyone if want and any(want in p or p in want for p in offers[j])]
                pool = pool_of[want] = fits or everyone
        best, best_key = -1, None
        for j in pool:
            if count[j] >= cap[j]:
                continue
            key = (opened[j], count[j], turn[j]) if rule == "least_open" else (count[j], turn[j])
            if best_key is None or key < best_key:
                best, best_key = j, key
        if best < 0:
            continue
        last += 1
        owners[i] = names[best]
        count[best] += 1
        turn[best] = last
        opened[best] += 1
    changed = reps.assign(turn=turn, count=count)
    changed = changed.loc[changed["turn"].ne(reps["turn"])]
    return pd.Series(owners, index=products.index), changed


def first_contact_due(created: pd.Series, calendar: WorkCalendar, cutoff: dt.time) -> pd.Series:
    """The first-contact due date of leads created at `created` (datetime64): that day when
    it is a working day and the time is before `cutoff`, else the next working day."""
    stamps = pd.to_datetime(created, errors="coerce")
    day = stamps.dt.normalize()
    seconds = (stamps - day).dt.total_seconds()
    early = seconds < cutoff.hour * 3600 + cutoff.minute * 60 + cutoff.second + cutoff.microsecond / 1e6
    same = next_working_day(day, calendar)
    later = next_working_day(day, calendar, strictly_after=True)
    return same.where(early & same.eq(day), later).where(stamps.notna())


def open_counts(owner: pd.Series, status: pd.Series, open_statuses: set[str]) -> pd.Series:
    """Open leads per folded owner name."""
    keys = map_distinct(strip_text(owner), fold, "")
    mask = status.isin(open_statuses) & keys.ne("")
    return keys[mask].value_counts()


def assign_settings(table: dict) -> AssignSettings:
    """From the config's checked `[assignment]` table."""
    cutoff = dt.time.fromisoformat(table["cutoff"]) if table.get("cutoff") else AssignSettings.cutoff
    return AssignSettings(rule=table.get("rule", "round_robin"), cutoff=cutoff)


def time_to_first_contact(leads: pd.DataFrame, history: pd.DataFrame, initial: str) -> pd.DataFrame:
    """Per owner: leads, contacted, median days from `Ngày tạo` to the first contact and
    leads still waiting for one. The first contact is the earlier of the first history row
    leaving `initial` and `Ngày liên hệ cuối`. For the overview's speed-to-lead block."""
    ids = as_text(leads["lead_id"]).str.strip()
    h = history[history["from_status"].eq(initial) & history["to_status"].ne(initial)]
    moved = pd.to_datetime(h["observed_at"], errors="coerce").groupby(as_text(h["lead_id"]).str.strip()).min()
    first = pd.to_datetime(map_series(ids, moved), errors="coerce")
    last = pd.to_datetime(leads["last_contact"], errors="coerce")
    first = first.where(first.notna() & (last.isna() | (first <= last)), last)
    created = pd.to_datetime(leads["created_at"], errors="coerce")
    days = (first.dt.normalize() - created.dt.normalize()).dt.days.where(lambda d: d >= 0)
    owner = as_text(leads["owner"]).str.strip()
    frame = pd.DataFrame({"owner": owner, "days": days, "waiting": first.isna() & leads["status"].eq(initial)})
    out = frame.groupby("owner", sort=True).agg(leads=("days", "size"), contacted=("days", "count"),
                                                median_days=("days", "median"), waiting=("waiting", "sum"))
    return out.reset_index()


SPEED_LABELS = {
    "vi": ("Tốc độ liên hệ khách mới", ["Người phụ trách", "Khách", "Đã liên hệ", "Trung vị (ngày)", "Chưa liên hệ"],
           "(chưa giao)"),
    "en": ("Speed to lead", ["Owner", "Leads", "Contacted", "Median (days)", "Not contacted"], "(unassigned)"),
}


def speed_to_lead_table(leads: pd.DataFrame, history: pd.DataFrame, initial: str,
                        language: str = "vi") -> tuple[str, list[str], list[list], list[str | None]]:
    """(title, header, rows, column styles) of the overview's speed-to-lead table, in the
    shape `summary.Grid.table` takes."""
    title, header, nobody = SPEED_LABELS.get(language, SPEED_LABELS["vi"])
    t = time_to_first_contact(leads, history, initial)
    rows = [[o or nobody, int(n), int(c), None if pd.isna(m) else float(m), int(w)]
            for o, n, c, m, w in t[["owner", "leads", "contacted", "median_days", "waiting"]].itertuples(index=False)]
    return title, header, rows, [None, "integer", "integer", "decimal", "integer"]
