"""Recontact scheduling: working days, offsets and the per-owner daily cap (pure, vectorised).

A working day is Monday–Friday that is neither a Vietnamese public holiday (the `holidays`
package, country VN: Tết, Hùng Kings, 30/4, 1/5, National Day and the substitute days off it
lists) nor one of the team's extra days off. Saturdays that the government swaps into
working days are *not* used: a recontact never lands on a weekend.

Dates go in and out as `datetime64[ns]` Series (NaT passes through untouched).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

import holidays
import numpy as np
import pandas as pd

from sheetcrm.schema import Offset
from sheetcrm.text import map_distinct

_DAY = np.timedelta64(1, "D")


class WorkCalendar:
    """Working days of the years it covers; grows on demand when a date falls outside."""

    def __init__(self, extra_days_off: Iterable[object] = (), years: Iterable[int] | None = None):
        self.extra_days_off = frozenset(pd.Timestamp(d).date() for d in extra_days_off)
        ys = sorted(set(years)) if years is not None else []
        if not ys:
            this = dt.date.today().year
            ys = [this - 1, this, this + 1]
        self._build(ys[0], ys[-1])

    def _build(self, first: int, last: int) -> None:
        self.first_year, self.last_year = first, last
        off = set(holidays.country_holidays("VN", years=range(first, last + 1)).keys())
        off |= self.extra_days_off
        days = np.arange(np.datetime64(f"{first}-01-01"), np.datetime64(f"{last + 1}-01-01"), _DAY)
        weekday = (days.astype("int64") + 3) % 7  # 1970-01-01 was a Thursday (3)
        closed = np.isin(days, np.array(sorted(off), dtype="datetime64[D]"))
        self.days_off = frozenset(off)
        self.workdays = days[(weekday < 5) & ~closed]

    def cover(self, dates: np.ndarray) -> None:
        """Make sure the calendar reaches well past every date in `dates` (datetime64[D])."""
        valid = dates[~np.isnat(dates)]
        if not len(valid):
            return
        lo = int(str(valid.min())[:4])
        hi = int(str(valid.max())[:4])
        # One spare year after the last date: offsets and overflow run forward.
        if lo < self.first_year or hi + 1 > self.last_year:
            self._build(min(lo, self.first_year), max(hi + 1, self.last_year))

    def is_working_day(self, day: dt.date) -> bool:
        d = np.datetime64(day, "D")
        self.cover(np.array([d]))
        i = np.searchsorted(self.workdays, d)
        return bool(i < len(self.workdays) and self.workdays[i] == d)


def _days(dates: pd.Series | Iterable) -> np.ndarray:
    s = pd.to_datetime(pd.Series(dates), errors="coerce") if not isinstance(dates, pd.Series) else dates
    return pd.to_datetime(s, errors="coerce").to_numpy().astype("datetime64[D]")


def _back(days: np.ndarray, like: pd.Series | Iterable) -> pd.Series:
    index = like.index if isinstance(like, pd.Series) else None
    return pd.Series(days.astype("datetime64[ns]"), index=index)


def next_working_day(dates: pd.Series, calendar: WorkCalendar, strictly_after: bool = False) -> pd.Series:
    """The first working day on or after each date (after, with `strictly_after`)."""
    d = _days(dates)
    calendar.cover(d)
    out = np.full(d.shape, np.datetime64("NaT"), dtype="datetime64[D]")
    ok = ~np.isnat(d)
    idx = np.searchsorted(calendar.workdays, d[ok], side="right" if strictly_after else "left")
    out[ok] = calendar.workdays[idx]
    return _back(out, dates)


def add_months(days: np.ndarray, months: int) -> np.ndarray:
    """Calendar months; a day past the end of the target month clamps (31/01 + 1 = 28/02 or 29/02)."""
    ok = ~np.isnat(days)
    out = np.full(days.shape, np.datetime64("NaT"), dtype="datetime64[D]")
    d = days[ok]
    month_start = d.astype("datetime64[M]")
    dom = (d - month_start.astype("datetime64[D]")).astype("int64")
    target = month_start + np.timedelta64(months, "M")
    length = ((target + np.timedelta64(1, "M")).astype("datetime64[D]") - target.astype("datetime64[D]")).astype("int64")
    out[ok] = target.astype("datetime64[D]") + np.minimum(dom, length - 1).astype("timedelta64[D]")
    return out


def add_offset(dates: pd.Series, offset: Offset | str, calendar: WorkCalendar) -> pd.Series:
    """The *nominal* date `offset` after each date: days, calendar months, or working days.

    "bd" counts working days (Friday + 3bd = Wednesday); "d" and "m" are plain calendar
    arithmetic and may land on a day off: `next_working_day` moves them afterwards.
    """
    off = Offset.parse(offset) if isinstance(offset, str) else offset
    d = _days(dates)
    if off.unit == "d":
        out = d + np.timedelta64(off.amount, "D")
    elif off.unit == "m":
        out = add_months(d, off.amount)
    else:
        calendar.cover(np.concatenate([d, d + np.timedelta64(2 * off.amount + 30, "D")]))
        out = d.copy()
        ok = ~np.isnat(d)
        if off.amount:
            first_after = np.searchsorted(calendar.workdays, d[ok], side="right")
            out[ok] = calendar.workdays[first_after + off.amount - 1]
    return _back(out, dates)


def add_offsets(dates: pd.Series, offsets: pd.Series, calendar: WorkCalendar) -> pd.Series:
    """`add_offset` where each row has its own offset (a Series of Offset or text, aligned)."""
    out = pd.Series(pd.NaT, index=dates.index, dtype="datetime64[ns]")
    # Each distinct offset named once (a Series of a few values repeated per lead).
    keys = map_distinct(offsets, lambda o: str(o) if isinstance(o, (Offset, str)) else "", "")
    for key in pd.unique(keys.to_numpy()):
        if not key:
            continue
        m = (keys == key).to_numpy()
        out[m] = add_offset(dates[m], key, calendar).to_numpy()
    return out


def apply_daily_cap(owner: pd.Series, nominal: pd.Series, lead_id: pd.Series,
                    fixed_dates: pd.Series, cap: int, calendar: WorkCalendar) -> pd.Series:
    """Place every row with a `nominal` date on a working day, at most `cap` per owner and day.

    All arguments are aligned Series. A row with a `fixed_dates` value keeps it (a date a
    person typed or one already scheduled) and uses up that owner's capacity on that day,
    even past the cap. A row with a `nominal` date (and no fixed one) goes to the first working
    day on or after it where its owner still has room. Rows are placed in a stable order:
    nominal date, then lead id — so the same input always gives the same schedule. Rows with
    neither get NaT.

    The placement is a greedy sweep and is vectorised: with rows sorted by start day, each
    row's slot is max(first free slot at its start, previous row's slot + 1), i.e.
    `i + cummax(first_slot - i)` per owner, over each owner's slots laid out day by day.
    """
    if cap < 1:
        raise ValueError("cap must be at least 1")
    owner = pd.Series(owner).astype("string").fillna("").to_numpy(dtype=object)
    lead = pd.Series(lead_id).astype("string").fillna("").to_numpy(dtype=object)
    nom = _days(nominal)
    fix = _days(fixed_dates)
    out = fix.copy()
    todo = np.flatnonzero(np.isnat(fix) & ~np.isnat(nom))
    if not len(todo):
        return _back(out, nominal)

    calendar.cover(nom[todo])
    fixed_rows = np.flatnonzero(~np.isnat(fix))
    # The horizon: from the earliest start to enough working days for every row to fit.
    start = np.searchsorted(calendar.workdays, nom[todo], side="left")
    codes, owners = pd.factorize(np.concatenate([owner[todo], owner[fixed_rows]]))
    t_codes, f_codes = codes[: len(todo)], codes[len(todo):]
    lo = int(start.min())
    span = int(start.max()) - lo + 1 + -(-len(todo) // cap) + 1
    while True:
        hi = lo + span
        if hi + 1 > len(calendar.workdays):
            calendar.cover(np.array([calendar.workdays[-1] + np.timedelta64(366, "D")]))
            start = np.searchsorted(calendar.workdays, nom[todo], side="left")
            continue
        window = calendar.workdays[lo:hi]
        used = np.zeros((len(owners), span), dtype=np.int64)
        if len(fixed_rows):
            pos = np.searchsorted(window, fix[fixed_rows])
            inside = (pos < span) & (window[np.minimum(pos, span - 1)] == fix[fixed_rows])
            np.add.at(used, (f_codes[inside], pos[inside]), 1)
        capacity = np.clip(cap - used, 0, None)
        cum = np.cumsum(capacity, axis=1)  # slots up to and including each day
        totals = cum[:, -1]
        offsets = np.concatenate([[0], np.cumsum(totals)[:-1]])

        order = np.lexsort((lead[todo], nom[todo].astype("int64"), t_codes))
        g = t_codes[order]
        s_day = start[order] - lo
        before = np.where(s_day > 0, cum[g, np.maximum(s_day - 1, 0)], 0)
        # Rank of each row within its owner group (rows are sorted by owner first).
        first_of_group = np.r_[True, g[1:] != g[:-1]]
        group_start = np.maximum.accumulate(np.where(first_of_group, np.arange(len(g)), 0))
        rank = np.arange(len(g)) - group_start
        key = before - rank
        run = pd.Series(key).groupby(g).cummax().to_numpy()
        slot = rank + run
        if np.all(slot < totals[g]):
            break
        span *= 2
    flat = (cum + offsets[:, None]).ravel()
    where = np.searchsorted(flat, slot + offsets[g], side="right")
    placed = window[where % span]
    out[todo[order]] = placed
    return _back(out, nominal)


def spread_overdue(overdue: pd.Series, today: dt.date) -> pd.Series:
    """Nominal dates for the `spread` overdue policy: a passed date restarts from today."""
    t = np.datetime64(today, "D")
    d = _days(overdue)
    return _back(np.where(~np.isnat(d) & (d < t), t, d), overdue)
