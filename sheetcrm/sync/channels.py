"""Sources, campaigns, products and costs as a manager reads them (docs/scoring.md#the-managers-view).

- Names typed many ways are one: `Gói DN`, `gói doanh nghiệp` and `Gói Doanh nghiệp` fold
  to the same key (case, accents, spacing, plus the aliases of scoring.toml `[products]`
  and `[sources]`), shown under the spelling most rows use (the alias target when there is one).
- `Nguồn` is `channel · campaign / form` when an import wrote it (docs/intake.md); the
  channel is the part before ` · `, the campaign the rest.
- `Chi phí` (*Costs*), an optional tab the team keeps: `Nguồn` (a channel or a whole
  source) and `Chi phí` (VND), optionally `Tháng`; summed per folded name, all months.

Pure: frames and grids in, tables out; each distinct value is worked out once.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from ..text import as_text, fold, map_distinct

SEP = " · "
COST_TABS = ("chi phi", "costs", "cost", "chi phi marketing")
COST_SOURCE = ("nguon", "source", "kenh", "channel", "chien dich", "campaign")
COST_AMOUNT = ("chi phi", "cost", "so tien", "amount", "spend")


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


def cost_table(grids: Mapping[str, list[list[Any]]]) -> pd.Series | None:
    """Cost per folded source name from a `Chi phí` tab, None when the workbook has none."""
    from .scoring import money

    grid = next((g for t, g in grids.items() if fold(t) in COST_TABS), None)
    if not grid:
        return None
    head = [fold(h) for h in grid[0]]
    src = next((i for i, h in enumerate(head) if h in COST_SOURCE), None)
    amt = next((i for i, h in enumerate(head) if h in COST_AMOUNT), None)
    if src is None or amt is None:
        return None
    rows = [r for r in grid[1:] if len(r) > max(src, amt)]
    f = pd.DataFrame({"key": [fold(r[src]) for r in rows], "cost": [money(r[amt]) for r in rows]})
    f = f[(f["key"] != "") & f["cost"].notna()]
    return f.groupby("key")["cost"].sum()


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
