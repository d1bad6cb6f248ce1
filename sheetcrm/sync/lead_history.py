"""`Lịch sử` rows tied to the leads they are about, by position, for the forecast and
activity tabs (docs/scoring.md).

A million history rows are matched to the population once: each row gets the integer
position of its lead (lead ids are compared once, through an index, never sorted as
text), and the rows are ordered by lead, time and sheet row. Per-lead figures are then
groupbys over integers, reindexed to every lead.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ..text import as_text
from .frames import DATE_DTYPE, to_dates


def lead_positions(ids: pd.Series, wanted: pd.Series) -> np.ndarray:
    """Position in `ids` of each of `wanted` (-1 when absent; a repeated id: its first row)."""
    # One hash pass over both: a code per distinct id, then each code's first row in `ids`.
    keys = as_text(ids).to_numpy(dtype=object)
    codes, uniques = pd.factorize(np.concatenate([keys, as_text(wanted).to_numpy(dtype=object)]))
    n = len(keys)
    first = np.full(len(uniques) + 1, -1, dtype=np.int64)  # [-1]: never used (all text)
    first[codes[:n][::-1]] = np.arange(n - 1, -1, -1)  # later rows first: the first row wins
    return first[codes[n:]].astype(np.int64)


def prepare_history(ids: pd.Series, history: pd.DataFrame) -> pd.DataFrame:
    """History rows of the leads `ids`: `pos` (the lead's position), `from_status`,
    `to_status`, `observed_at`; rows of other leads and undated rows dropped; ordered by
    lead, time, sheet row."""
    n = len(history)
    col = (lambda k: history[k] if k in history else pd.Series(None, index=history.index, dtype=object))
    pos = lead_positions(ids, col("lead_id")) if n else np.empty(0, dtype=np.int64)
    at = to_dates(col("observed_at")).to_numpy()
    row = (pd.to_numeric(history["row"], errors="coerce").fillna(0).to_numpy() if "row" in history
           else np.arange(n))
    keep = (pos >= 0) & ~np.isnat(at)
    order = np.lexsort((row[keep], at[keep], pos[keep]))
    sel = np.flatnonzero(keep)[order]
    return pd.DataFrame({
        "pos": pos[sel],
        "from_status": col("from_status").to_numpy(dtype=object)[sel],
        "to_status": col("to_status").to_numpy(dtype=object)[sel],
        "observed_at": at[sel].astype(DATE_DTYPE),
    })


def per_lead(values: Any, pos: np.ndarray, n: int, how: str) -> pd.Series:
    """`how` ("min", "max", "size", "first") of `values` per lead position, for all `n` leads."""
    s = pd.Series(values) if not isinstance(values, pd.Series) else values.reset_index(drop=True)
    g = s.groupby(pos)
    out = g.size() if how == "size" else getattr(g, how)()
    return out.reindex(np.arange(n))


def status_values(keys: pd.Series | np.ndarray, table: dict) -> np.ndarray:
    """`table[key]` per status key as floats (NaN when not a key), each distinct key once."""
    codes, uniques = pd.factorize(np.asarray(keys, dtype=object))
    look = np.array([float(table.get(u, np.nan)) for u in uniques] + [np.nan], dtype=float)
    return look[codes]


def shared(i: Any) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(population, its prepared history) of a `SummaryInputs`, computed once per sync."""
    from .summary import population

    if "population_history" not in i.cache:
        pop, _ = population(i.leads)
        i.cache["population_history"] = (pop, prepare_history(as_text(pop["lead_id"]), i.history))
    return i.cache["population_history"]
