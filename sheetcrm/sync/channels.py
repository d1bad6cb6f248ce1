"""Sources, campaigns, products and costs as a manager reads them (docs/scoring.md#the-managers-view).

- Names typed many ways are one: `Gói DN`, `gói doanh nghiệp` and `Gói Doanh nghiệp` fold
  to the same key (case, accents, spacing, plus the aliases of scoring.toml `[products]`
  and `[sources]`), shown under the spelling most rows use (the alias target when there is one).
- `Nguồn` is `channel · campaign / form` when an import wrote it (docs/intake.md); the
  channel is the part before ` · `, the campaign the rest.
- `Chi phí` (*Costs*), an optional tab the team keeps: `Nguồn` (a channel or a whole
  source) and `Chi phí` (VND), optionally `Tháng` (the month, `01/2026`, `T1/2026`,
  `2026-01`, a date, or a whole quarter `Q1/2026`); summed per folded name, all months, for
  the source tables, and per quarter for the cost review (`cost_by_quarter`). A month or an
  amount that cannot be read leaves its row out and is named by its cell (`Costs.bad`).

Pure: frames and grids in, tables out; each distinct value is worked out once.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from ..text import as_text, fold, map_distinct

SEP = " · "
COST_TABS = ("chi phi", "costs", "cost", "chi phi marketing")
COST_SOURCE = ("nguon", "source", "kenh", "channel", "chien dich", "campaign")
COST_AMOUNT = ("chi phi", "cost", "so tien", "amount", "spend")
COST_MONTH = ("thang", "month", "ky", "period", "quy", "quarter")
COST_QUARTERS = 8  # quarters the cost review lists, the latest; the total line covers all


def canonical(values: pd.Series, aliases: Mapping[str, str] | None = None, blank: str = "") -> pd.Series:
    """Each name under one spelling per folded key (aliases applied first): the target of
    an alias, else the spelling most cells use (ties: the first in sort order)."""
    alias = {fold(k): v for k, v in (aliases or {}).items()}
    text = map_distinct(as_text(values), str.strip, "")
    key = map_distinct(text, lambda u: fold(alias.get(fold(u), u)), "")
    counts = pd.DataFrame({"key": key.to_numpy(), "text": text.to_numpy()}).value_counts().reset_index()
    counts = counts.sort_values(["key", "count", "text"], ascending=[True, False, True], kind="mergesort")
    best = counts.drop_duplicates("key").set_index("key")["text"].to_dict()
    targets = {fold(v): v for v in alias.values()}
    best.update({k: v for k, v in targets.items()})
    best[""] = blank
    return map_distinct(key, lambda k: best.get(k, k), blank)


def split_source(values: pd.Series) -> tuple[pd.Series, pd.Series]:
    """(channel, campaign) of each `Nguồn`: before and after ` · ` (campaign '' when none)."""
    text = map_distinct(as_text(values), str.strip, "")
    channel = map_distinct(text, lambda u: u.split(SEP, 1)[0].strip(), "")
    campaign = map_distinct(text, lambda u: u.split(SEP, 1)[1].strip() if SEP in u else "", "")
    return channel, campaign


@dataclass
class Costs:
    """A `Chi phí` tab as read: `by_source` folded name → VND over every readable row,
    `rows` one line per readable row (key: folded name, name: as typed, quarter: a
    `Period` or NaT when the row has no month, cost), `bad` the cells that could not be
    read (cell name, value, "month" or "amount"), their rows left out."""

    tab: str
    by_source: pd.Series
    rows: pd.DataFrame
    has_month: bool = False
    bad: list[tuple[str, Any, str]] = field(default_factory=list)


_EN_MONTHS = {m: i for i, m in enumerate(("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct",
                                          "nov", "dec"), start=1)}
_Q = re.compile(r"^(?:q|quy)\s*([1-4])\s*(?:[/.\-]|\s+nam\s+|\s+)?\s*(\d{4})$")
_YQ = re.compile(r"^(\d{4})\s*[/.\-]?\s*q([1-4])$")
_MY = re.compile(r"^(?:t|thang)?\s*(\d{1,2})\s*(?:[/.\-]|\s+nam\s+|\s+)\s*(\d{4})$")
_YM = re.compile(r"^(\d{4})\s*[/.\-]\s*(\d{1,2})$")
_NAMED = re.compile(r"^([a-z]{3})[a-z]*\.?\s*[/.\-]?\s*(\d{4})$")


def quarter_of(value: Any) -> pd.Period | None | bool:
    """The quarter of a `Tháng` cell: a month (`01/2026`, `1/2026`, `T1/2026`, `Tháng 1
    năm 2026`, `2026-01`, `Jan 2026`), a date (or a date serial, as Google gives a typed
    month back), or a quarter (`Q1/2026`, `Quý 1/2026`, `2026-Q1`). None when blank,
    False when it cannot be read."""
    from .dates import parse_one

    if value is None or (isinstance(value, float) and value != value):
        return None
    if isinstance(value, (dt.date, pd.Timestamp, int, float, np.integer, np.floating)) and not isinstance(value, bool):
        day = parse_one(value)
        return pd.Period(day, freq="Q") if day else False
    text = fold(value)
    if not text:
        return None
    for rx, order in ((_Q, "qy"), (_YQ, "yq")):
        m = rx.match(text)
        if m:
            q, y = (m.group(1), m.group(2)) if order == "qy" else (m.group(2), m.group(1))
            return pd.Period(year=int(y), quarter=int(q), freq="Q")
    month = year = None
    if m := _MY.match(text):
        month, year = int(m.group(1)), int(m.group(2))
    elif m := _YM.match(text):
        year, month = int(m.group(1)), int(m.group(2))
    elif (m := _NAMED.match(text)) and m.group(1) in _EN_MONTHS:
        month, year = _EN_MONTHS[m.group(1)], int(m.group(2))
    if month is not None:
        return pd.Period(year=year, month=month, freq="M").asfreq("Q") if 1 <= month <= 12 else False
    day = parse_one(str(value).strip())
    return pd.Period(day, freq="Q") if day else False


def read_costs(grids: Mapping[str, list[list[Any]]]) -> Costs | None:
    """The `Chi phí` tab of a workbook (see the module doc), None when it has none or its
    header lacks a source or an amount column."""
    from ..a1 import cell_name
    from .scoring import money

    tab, grid = next(((t, g) for t, g in grids.items() if fold(t) in COST_TABS), (None, None))
    if not grid:
        return None
    head = [fold(h) for h in grid[0]]
    src = next((i for i, h in enumerate(head) if h in COST_SOURCE), None)
    amt = next((i for i, h in enumerate(head) if h in COST_AMOUNT), None)
    mon = next((i for i, h in enumerate(head) if h in COST_MONTH and i not in (src, amt)), None)
    if src is None or amt is None:
        return None

    def cell(r: list[Any], i: int | None) -> Any:
        return r[i] if i is not None and i < len(r) else None

    bad: list[tuple[str, Any, str]] = []
    keep = []
    for n, r in enumerate(grid[1:], start=2):  # the tab's row number
        name = "" if cell(r, src) is None else str(cell(r, src)).strip()
        raw = cell(r, amt)
        blank_amount = raw is None or str(raw).strip() == ""
        if not name and blank_amount:
            continue
        cost = money(raw)
        if cost is None and not blank_amount:
            bad.append((cell_name(tab, n, amt + 1), raw, "amount"))
            continue
        q = quarter_of(cell(r, mon)) if mon is not None else None
        if q is False:
            bad.append((cell_name(tab, n, mon + 1), cell(r, mon), "month"))
            continue
        if name and cost is not None:
            keep.append((fold(name), name, q, cost))
    rows = pd.DataFrame(keep, columns=["key", "name", "quarter", "cost"])
    rows["quarter"] = pd.Series(list(rows["quarter"]), index=rows.index, dtype="period[Q-DEC]")
    rows["cost"] = rows["cost"].astype(float)
    by_source = rows.groupby("key")["cost"].sum()
    return Costs(tab, by_source, rows, mon is not None, bad)


def cost_table(grids: Mapping[str, list[list[Any]]]) -> pd.Series | None:
    """Cost per folded source name from a `Chi phí` tab, None when the workbook has none."""
    c = read_costs(grids)
    return None if c is None else c.by_source


def cost_by_quarter(leads: pd.DataFrame, won_at: pd.Series, costs: Costs, aliases: Mapping[str, str] | None,
                    blank: str, quarters: int = COST_QUARTERS) -> pd.DataFrame:
    """The quarterly cost review: per quarter of the `Chi phí` tab (the latest `quarters`,
    oldest first) a line for every source spent on that quarter together, then one per
    source (largest cost first), and a last line for all time. Columns: quarter (a Period;
    None on the all-time line), source (the name shown; '' on an all-sources line),
    cost, leads (created that quarter, by `created_at`, from a source spent on), won (won
    that quarter, by `won_at`, from such a source), per_lead, per_won.

    A cost row naming a channel counts the leads of that channel, one naming a whole
    source (`Facebook · Tết`) that campaign's, as in the source tables. The all-time line
    holds every readable cost row (those without a month too) and every lead of a source
    with a cost, whenever it came in."""
    from .frames import to_dates

    src = leads["source"] if "source" in leads else pd.Series("", index=leads.index, dtype=object)
    channel, campaign = split_source(src)
    ch_name = canonical(channel, aliases, blank)
    cp_name = (ch_name + SEP + campaign).where(campaign.ne(""), "")
    ch_key, cp_key = map_distinct(ch_name, fold, ""), map_distinct(cp_name, fold, "")
    created = (to_dates(leads["created_at"]) if "created_at" in leads
               else pd.Series(pd.NaT, index=leads.index, dtype="datetime64[ns]"))
    q_lead = created.dt.to_period("Q")
    q_won = to_dates(won_at.reindex(leads.index)).dt.to_period("Q")
    is_won = q_won.notna()

    shown = {}  # folded name -> the name shown: the leads' spelling, else the cost tab's
    for k, n in costs.rows[["key", "name"]].itertuples(index=False):
        shown.setdefault(k, n)
    for keys, names in ((ch_key, ch_name), (cp_key, cp_name)):
        m = keys.isin(set(shown))
        shown.update(dict(zip(keys[m], names[m])))

    r = costs.rows
    dated = r[r["quarter"].notna()]
    periods = sorted(set(dated["quarter"]))[-quarters:] if len(dated) else []
    lines: list[dict[str, Any]] = []

    def line(q: pd.Period | None, source: str, cost: float, keys: set[str]) -> dict[str, Any]:
        """One line: `keys`' leads (and wins) of quarter `q`, of all time when None."""
        hit = (ch_key.isin(keys) | cp_key.isin(keys)).to_numpy(bool)
        came = hit & (q_lead.eq(q).to_numpy(bool) if q is not None else True)
        won = hit & is_won.to_numpy(bool) & (q_won.eq(q).to_numpy(bool) if q is not None else True)
        n_leads, n_won = int(came.sum()), int(won.sum())
        return {"quarter": q, "source": source, "cost": float(cost), "leads": n_leads, "won": n_won,
                "per_lead": float(round(cost / n_leads)) if n_leads else None,
                "per_won": float(round(cost / n_won)) if n_won else None}

    for q in periods:
        part = dated[dated["quarter"] == q].groupby("key")["cost"].sum().sort_values(ascending=False,
                                                                                     kind="mergesort")
        lines.append(line(q, "", part.sum(), set(part.index)))
        lines += [line(q, shown.get(k, k), c, {k}) for k, c in part.items()]
    lines.append(line(None, "", r["cost"].sum(), set(r["key"])))
    return pd.DataFrame(lines, columns=["quarter", "source", "cost", "leads", "won", "per_lead", "per_won"])


def source_tables(leads: pd.DataFrame, won_key: str | None, lost_keys: set[str], costs: pd.Series | None,
                  aliases: Mapping[str, str] | None, blank: str, top: int = 15) -> dict[str, pd.DataFrame]:
    """Per channel and per campaign (the `top` largest): leads, won, lost, conversion
    (won / leads), win rate (won / closed), and with costs, cost, cost per lead, cost per won."""
    status = leads["status"] if "status" in leads else pd.Series(None, index=leads.index, dtype=object)
    won = status.eq(won_key).fillna(False).to_numpy(bool)
    lost = status.isin(list(lost_keys)).fillna(False).to_numpy(bool)
    src = leads["source"] if "source" in leads else pd.Series("", index=leads.index, dtype=object)
    channel, campaign = split_source(src)
    out = {}
    for name, key in (("channel", canonical(channel, aliases, blank)),
                      ("campaign", (canonical(channel, aliases, blank) + SEP + campaign).where(campaign.ne(""), ""))):
        f = pd.DataFrame({"k": key.to_numpy(), "won": won, "lost": lost})
        if name == "campaign":
            f = f[f["k"] != ""]
        t = f.groupby("k").agg(leads=("won", "size"), won=("won", "sum"), lost=("lost", "sum"))
        t = t.sort_values(["leads"], ascending=False, kind="mergesort")
        if name == "campaign":
            t = t.head(top)
        t["conversion"] = (t["won"] / t["leads"]).round(4)
        closed = t["won"] + t["lost"]
        t["win_rate"] = (t["won"] / closed.where(closed > 0)).round(4)
        if costs is not None:
            c = pd.Series([costs.get(fold(k), np.nan) for k in t.index], index=t.index, dtype=float)
            t["cost"] = c
            t["per_lead"] = (c / t["leads"]).round(0)
            t["per_won"] = (c / t["won"].where(t["won"] > 0)).round(0)
        out[name] = t
    return out


def overdue_backlog(leads: pd.DataFrame, schemas: Any, today: dt.date, days: int) -> dict[str, Any]:
    """Recontacts past their date (as the agenda counts them): how many, how old."""
    from .agenda import agenda_frame

    a = agenda_frame(leads, schemas, today)
    late = a[a["section"] == 0]
    age = (pd.Timestamp(today) - late["date"]).dt.days
    return {
        "overdue": int(len(late)),
        "oldest": int(age.max()) if len(age) else None,
        "median": float(age.median()) if len(age) else None,
        "over_n": int((age > days).sum()),
        "days": days,
    }
