"""The `Tổng quan` (overview) tab: what a manager reads after each sync.

Pure: parsed frames in (docs/frames.md), a `SheetLayout` out. Every figure is computed
with groupby/crosstab over whole columns, so 100k leads cost milliseconds, not a loop.

Definitions (also what the tests recompute):
- population: every lead row except duplicate records (`duplicate_of` names a lead id
  present in the tab); they are counted once, under the surviving record.
- first seen: the lead's earliest history row, else `created_at`.
- won at: the lead's earliest history row into the won status.
- funnel: a lead "reached" a chain stage when its history (from or to) or its current
  status is at that stage or further along; every lead reached the first stage.
- closed = won + lost, lost = current status is an exit that is neither the nurture
  status nor excluded (a wrong-target lead says nothing about how we sell).
- time in stage: completed stays only (a history row into the stage until the lead's
  next history row), chain stages before won.

Layout: blocks stacked from column A, each a subtitle row, a bold header row, data rows
and one blank row; the funnel and reason charts sit to the right of their (narrow)
tables from column `CHART_COL`, the owner chart under its (wide) table. The cell
`SYNC_TIME_CELL` holds the update time and is left out of change detection
(`layout_matches`), so a run that changes nothing rewrites nothing.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import numpy as np
import pandas as pd

from ..changes import ChartSpec, SheetLayout
from ..schema import Schemas, default_tab_title
from ..text import as_text, fold, map_distinct
from .frames import DATE_DTYPE, map_series, to_dates

OVERVIEW_TAB = default_tab_title("overview")  # Vietnamese default; see Schemas.summary_title
SYNC_TIME_CELL = (2, 2)  # B2 on every summary tab: "updated at", volatile
CHART_COL = 6  # F: charts beside narrow tables
STATUS_COL = 4  # D: the status table sits beside the key figures
ROW_PX = 17  # default row height (0.45 cm) in pixels: how many rows a chart covers
TOP_PRODUCTS = 10
_EXCEL_EPOCH = dt.datetime(1899, 12, 30)

NURTURE_STATES = ("active", "reactivated", "won", "stopped")
# Folded spellings of the nurture states, vi and en, for a state column typed by a
# person or written as a label by the sync.
_NURTURE_ALIASES = {
    "active": ("active", "dang nuoi duong", "nuoi duong", "dang cham soc", "hoat dong", ""),
    "reactivated": ("reactivated", "da kich hoat lai", "kich hoat lai", "quay lai", "da quay lai", "reactivate"),
    "won": ("won", "chot", "da chot", "thanh cong"),
    "stopped": ("stopped", "dung", "da dung", "ngung", "da ngung", "stop", "huy"),
}


# ---------------------------------------------------------------- labels


def labels(language: str = "vi", schemas: Schemas | None = None) -> dict[str, str]:
    """Texts of the summary tabs in `language` ("vi" default, "en"), from the team's
    schemas (`summary_labels.toml`) or the shipped defaults."""
    lang = "en" if language == "en" else "vi"
    data = schemas.labels if schemas is not None and schemas.labels else _default_labels()
    # a team's own labels file from before a tab existed lacks its texts: the shipped ones
    return {**_default_labels()[lang], **data[lang]}


@lru_cache(maxsize=1)
def _default_labels() -> dict[str, dict[str, str]]:
    from ..schema import load_schemas

    return load_schemas().labels


def status_order(schemas: Schemas) -> list[str]:
    """Status keys as a manager reads them: the chain in order, then the exits."""
    chain = [s.key for s in schemas.chain.active]
    return chain + [s.key for s in schemas.chain.statuses if s.key not in chain]


# ---------------------------------------------------------------- quality input


@dataclass
class QualitySummary:
    """Data-quality counts the validation and dedupe steps hand to the overview."""

    rows_with_issues: int = 0
    issues_by_kind: dict[str, int] = field(default_factory=dict)  # kind (or its label) -> rows
    duplicate_clusters: int = 0
    duplicates: int = 0
    collisions: int = 0

    @classmethod
    def coerce(cls, q: QualitySummary | Mapping[str, Any] | None) -> QualitySummary:
        if q is None:
            return cls()
        if isinstance(q, cls):
            return q
        return cls(
            rows_with_issues=int(q.get("rows_with_issues", 0)),
            issues_by_kind=dict(q.get("issues_by_kind", {})),
            duplicate_clusters=int(q.get("duplicate_clusters", q.get("clusters", 0))),
            duplicates=int(q.get("duplicates", 0)),
            collisions=int(q.get("collisions", 0)),
        )


# ---------------------------------------------------------------- grid builder


class Grid:
    """A growing cell grid with styles, merges and charts, frozen into a SheetLayout."""

    def __init__(self) -> None:
        self.rows: list[list[Any]] = []  # row-major, 0-based, ragged
        self.styles: list[tuple[int, int, str]] = []
        self.merges: list[tuple[int, int, int, int]] = []
        self.charts: list[ChartSpec] = []
        self.row = 1  # next free row

    def _ensure(self, r: int) -> list[Any]:
        while len(self.rows) < r:
            self.rows.append([])
        line = self.rows[r - 1]
        if type(line) is tuple:  # a bulk row (put_rows) written to again
            line = self.rows[r - 1] = list(line)
        return line

    def put(self, r: int, c: int, value: Any, style: str | None = None) -> None:
        line = self._ensure(r)
        if len(line) < c:
            line.extend([None] * (c - len(line)))
        line[c - 1] = value
        if style:
            self.styles.append((r, c, style))

    def put_row(self, r: int, values: Iterable[Any], styles: Iterable[str | None] | str | None = None, col: int = 1) -> None:
        values = list(values)
        line = self._ensure(r)
        end = col - 1 + len(values)
        if len(line) < end:
            line.extend([None] * (end - len(line)))
        line[col - 1 : end] = values
        if styles is None:
            return
        if isinstance(styles, str):
            styles = [styles] * len(values)
        self.styles.extend((r, col + i, s) for i, s in enumerate(styles) if s)

    def put_rows(self, r: int, rows: list[tuple[Any, ...]]) -> None:
        """Bulk write of whole rows from column A (the agenda's detail lines)."""
        self._ensure(r - 1)
        if len(self.rows) >= r:
            for i, values in enumerate(rows):
                self.put_row(r + i, values)
        else:
            self.rows.extend(rows)  # tuples, kept as they are (the agenda's 50k lines)

    def table(
        self,
        title: str,
        header: list[str],
        rows: list[list[Any]],
        col_styles: list[str | None],
        total: list[Any] | None = None,
        col: int = 1,
    ) -> dict[str, int]:
        """Write a titled table at the next free row; return where its parts landed."""
        r0 = self.row
        self.put(r0, col, title, "subtitle")
        self.put_row(r0 + 1, header, "header", col)
        first = r0 + 2
        for i, values in enumerate(rows):
            self.put_row(first + i, values, col_styles, col)
        last = first + len(rows) - 1
        end = last
        if total is not None:
            end = last + 1
            self.put_row(end, total, col_styles, col)
            self.styles.extend((end, col + i, "bold") for i in range(len(total)))
        self.row = end + 2
        return {"title": r0, "header": r0 + 1, "first": first, "last": last, "end": end}

    def reserve(self, top: int, rows: int) -> None:
        """Make sure `rows` rows from `top` stay free of the next block (a chart)."""
        self.row = max(self.row, top + rows + 1)

    def iter_cells(self) -> Iterable[tuple[int, int, Any]]:
        for r, line in enumerate(self.rows, start=1):
            for c, v in enumerate(line, start=1):
                if v is not None:
                    yield r, c, v

    def layout(self, tab: str, col_widths: tuple[float, ...], freeze_rows: int) -> SheetLayout:
        ncols = max((len(line) for line in self.rows), default=0)
        pads = [(None,) * (ncols - k) for k in range(ncols + 1)]
        return SheetLayout(
            tab=tab,
            cells=tuple(
                line if type(line) is tuple and len(line) == ncols else tuple(line) + pads[len(line)]
                for line in self.rows
            ),
            styles=tuple(self.styles),
            col_widths=col_widths,
            freeze_rows=freeze_rows,
            charts=tuple(self.charts),
            merges=tuple(self.merges),
        )


def fit_widths(g: Grid, skip_rows: set[int], lo: float, hi: float, first: tuple[float, float] | None = None) -> tuple[float, ...]:
    """Column widths (characters) that fit the longest value, clamped to [lo, hi]."""
    ncols = max((len(line) for line in g.rows), default=0)
    widths = [lo] * ncols
    for r, c, v in g.iter_cells():
        if r in skip_rows:
            continue
        if isinstance(v, (dt.date, dt.datetime)):
            n = 16 if isinstance(v, dt.datetime) else 10
        elif isinstance(v, float):
            n = 8
        else:
            n = len(str(v))
        widths[c - 1] = max(widths[c - 1], n + 2)
    out = [min(w, hi) for w in widths]
    if first and out:
        out[0] = min(max(widths[0], first[0]), first[1])
    return tuple(float(w) for w in out)


def chart_rows(chart: ChartSpec) -> int:
    """Rows a chart covers from its anchor row, at the default row height."""
    return math.ceil(chart.height / ROW_PX) + 1


def _ratio(num: float, den: float) -> float | None:
    return round(num / den, 4) if den else None


def _r1(x: float) -> float | None:
    return None if x is None or (isinstance(x, float) and math.isnan(x)) else round(float(x), 1)


# ---------------------------------------------------------------- frame helpers


def _col(df: pd.DataFrame, name: str, default: Any) -> pd.Series:
    if name in df.columns:
        return df[name]
    return pd.Series([default] * len(df), index=df.index, dtype=object if not isinstance(default, float) else float)


def _dates(df: pd.DataFrame, name: str) -> pd.Series:
    if name in df.columns:
        return to_dates(df[name])
    return pd.Series(pd.NaT, index=df.index, dtype=DATE_DTYPE)


def _text(s: pd.Series, blank: str) -> pd.Series:
    """Trimmed text, `blank` for empty cells; each distinct value trimmed once."""
    return map_distinct(as_text(s), lambda u: u.strip() or blank)


def population(leads: pd.DataFrame) -> tuple[pd.DataFrame, int]:
    """Leads minus duplicate records that point at a surviving lead id present here."""
    dup = _text(_col(leads, "duplicate_of", ""), "")
    marked = dup != ""
    # The ids present among the few marked rows' targets (not a set of every id).
    lead_ids = as_text(_col(leads, "lead_id", ""))
    ids = set(lead_ids[lead_ids.isin(set(dup[marked]))])
    ids.discard("")
    is_dup = dup.isin(ids) & marked
    return leads.loc[~is_dup], int(is_dup.sum())


def nurture_state_keys(states: pd.Series) -> pd.Series:
    """Nurture state column (keys or vi/en labels) -> state key, unknown -> None."""
    table = {alias: key for key, aliases in _NURTURE_ALIASES.items() for alias in aliases}
    return map_distinct(as_text(states), lambda u: table.get(fold(u)))


def week_end(today: dt.date) -> dt.date:
    """Sunday of `today`'s week (Vietnamese weeks run Monday to Sunday)."""
    return today + dt.timedelta(days=6 - today.weekday())


# ---------------------------------------------------------------- figures


def _history_sorted(history: pd.DataFrame) -> pd.DataFrame:
    h = pd.DataFrame(
        {
            "lead_id": as_text(_col(history, "lead_id", "")),
            "from_status": _col(history, "from_status", None),
            "to_status": _col(history, "to_status", None),
            "observed_at": _dates(history, "observed_at"),
            "row": _col(history, "row", 0.0) if "row" in history.columns else pd.Series(np.arange(len(history)), index=history.index),
        }
    )
    h = h[(h["lead_id"] != "") & h["observed_at"].notna()]
    # Each lead's rows in date order, leads by an integer code of their id (text sorts slowly;
    # every use groups by lead).
    code = pd.Series(pd.factorize(h["lead_id"].to_numpy(dtype=object))[0], index=h.index)
    return h.assign(_lead=code).sort_values(["_lead", "observed_at", "row"], kind="mergesort").drop(
        columns="_lead")


def compute_figures(leads, history, rejections, nurture, schemas: Schemas, today: dt.date) -> dict[str, Any]:
    """All overview numbers as plain Python values (used by build_overview and bench)."""
    pop, n_dup = population(leads)
    status = _col(pop, "status", None)
    won_key = next((s.key for s in schemas.chain.statuses if s.kind == "won"), None)
    lost_keys = {
        s.key
        for s in schemas.chain.statuses
        if s.kind == "exit" and not s.excluded and s.key != schemas.chain.nurture
    }
    keys = status_order(schemas)

    counts = status.value_counts(dropna=False)
    by_status = {k: int(counts.get(k, 0)) for k in keys}
    unknown = int(len(pop) - sum(by_status.values()))

    # owners x status
    owner = _text(_col(pop, "owner", ""), "")
    st = status.where(status.isin(keys), "__unknown__")
    ct = pd.crosstab(owner.to_numpy(), st.to_numpy()) if len(pop) else pd.DataFrame()

    ids = as_text(_col(pop, "lead_id", ""))
    h = _history_sorted(history)
    h = h[h["lead_id"].isin(set(ids))]  # duplicates and deleted rows say nothing about the team
    days = _cycle_days(pop, status, ids, h, won_key)
    won_at = _won_at(pop, status, ids, h, won_key)
    pre_won = [s.key for s in schemas.chain.active if s.kind == "active"]
    n_won = by_status.get(won_key, 0)
    n_lost = sum(by_status[k] for k in lost_keys)
    n_open = sum(by_status[k] for k in pre_won)

    return {
        "leads": len(pop),
        "duplicates_excluded": n_dup,
        "by_status": by_status,
        "unknown_status": unknown,
        "owner_status": ct,
        "funnel": _funnel(status, ids, h, schemas),
        "won": n_won,
        "lost": n_lost,
        "open": n_open,
        "win_rate": _ratio(n_won, n_won + n_lost),
        "cycle_avg": _r1(days.mean()) if len(days) else None,
        "cycle_median": _r1(days.median()) if len(days) else None,
        "cycle_n": len(days),
        "stage_time": _stage_time(h, pre_won),
        "reasons": _reason_figures(rejections, schemas, today),
        "lost_keys": lost_keys,
        "won_key": won_key,
        "won_at": won_at,
        "nurture": _nurture_figures(nurture, today),
        "reactivation": reactivation_figures(nurture, schemas),
    }


def _funnel(status: pd.Series, ids: pd.Series, h: pd.DataFrame, schemas: Schemas) -> list[tuple]:
    """(stage, leads that reached it, leads that reached the next) per chain stage; a lead
    reached the furthest stage its history (from or to) or its status shows, and the first."""
    order = {s.key: s.order for s in schemas.chain.active}
    # The furthest of each row's two statuses, then per lead (NaN: neither is a stage).
    ords = pd.Series(np.fmax(h["from_status"].map(order).to_numpy(dtype=float),
                             h["to_status"].map(order).to_numpy(dtype=float)), index=h.index)
    hist_max = ords.groupby(h["lead_id"]).max()
    reached = np.maximum(ids.map(hist_max).fillna(0).to_numpy(float), status.map(order).fillna(0).to_numpy(float))
    reached = np.maximum(reached, 1.0)
    chain = list(schemas.chain.active)
    funnel = []
    for i, s in enumerate(chain):
        n_reach = int((reached >= s.order).sum())
        n_next = int((reached >= chain[i + 1].order).sum()) if i + 1 < len(chain) else None
        funnel.append((s.key, n_reach, n_next))
    return funnel


def _cycle_days(pop: pd.DataFrame, status: pd.Series, ids: pd.Series, h: pd.DataFrame,
                won_key: str | None) -> pd.Series:
    """Sales cycle in days of the leads currently won: first seen (else created) to won."""
    first_seen = h.groupby("lead_id")["observed_at"].min()
    won_at = h[h["to_status"] == won_key].groupby("lead_id")["observed_at"].min()
    is_won = (status == won_key).to_numpy()
    won_ids = ids[is_won]
    start = map_series(won_ids, first_seen)
    start = start.fillna(_dates(pop, "created_at")[is_won])
    end = map_series(won_ids, won_at)
    days = ((end - start).dt.total_seconds() / 86400.0).dropna()
    return days[days >= 0]


def _won_at(pop: pd.DataFrame, status: pd.Series, ids: pd.Series, h: pd.DataFrame, won_key: str | None) -> pd.Series:
    """When each lead currently won was won (NaT for the others): its earliest history row
    into won, else its last contact, else its created date (as the forecast dates a close)."""
    first = h[h["to_status"] == won_key].groupby("lead_id")["observed_at"].min()
    is_won = status.eq(won_key).fillna(False).astype(bool)
    at = map_series(ids, first).astype(DATE_DTYPE)
    at = at.fillna(_dates(pop, "last_contact")).fillna(_dates(pop, "created_at"))
    return at.where(is_won)


def _stage_time(h: pd.DataFrame, pre_won: list[str]) -> list[tuple]:
    """(stage, mean days, stays) over completed stays per chain stage before won."""
    nxt = h.groupby("lead_id")["observed_at"].shift(-1)
    stay = (nxt - h["observed_at"]).dt.total_seconds() / 86400.0
    stays = pd.DataFrame({"stage": h["to_status"], "days": stay})
    stays = stays[stays["days"].notna() & stays["stage"].isin(pre_won)]
    stage_stats = stays.groupby("stage")["days"].agg(["mean", "count"])
    return [
        (k, _r1(stage_stats["mean"].get(k)) if k in stage_stats.index else None, int(stage_stats["count"].get(k, 0)))
        for k in pre_won
    ]


def _reason_figures(rej: pd.DataFrame, schemas: Schemas, today: dt.date) -> dict[str, Any]:
    cat_keys = [r.key for r in schemas.reasons.reasons]
    cat = _col(rej, "reason_category", None)
    cat = cat.where(cat.isin(cat_keys), "__unclassified__")
    counts = cat.value_counts()
    catalogue_pos = {k: i for i, k in enumerate(cat_keys)}
    # top first; ties keep the catalogue's order, unclassified after them
    present = list(cat_keys) + (["__unclassified__"] if counts.get("__unclassified__", 0) else [])
    ordered = sorted(present, key=lambda k: (-int(counts.get(k, 0)), catalogue_pos.get(k, 99)))
    owner = _text(_col(rej, "owner", ""), "")
    product = _products(_col(rej, "product", ""), schemas)
    logged = _dates(rej, "logged_at")
    first_month = (pd.Timestamp(today).to_period("M") - 11)
    months = pd.period_range(first_month, periods=12, freq="M")
    month = logged.dt.to_period("M")
    in_range = month.notna() & (month >= months[0]) & (month <= months[-1])

    def ctab(key: pd.Series, mask=None) -> pd.DataFrame:
        k, c = (key, cat) if mask is None else (key[mask], cat[mask])
        if not len(k):
            return pd.DataFrame(columns=ordered)
        return pd.crosstab(k.to_numpy(), c.to_numpy()).reindex(columns=ordered, fill_value=0)

    return {
        "order": ordered,
        "counts": {k: int(counts.get(k, 0)) for k in ordered},
        "total": len(rej),
        "by_owner": ctab(owner),
        "by_product": ctab(product),
        "by_month": ctab(month.astype(str), in_range).reindex([str(m) for m in months], fill_value=0),
        "months": list(months),
    }


def _products(values: pd.Series, schemas: Schemas) -> pd.Series:
    """Product names merged: folded, with scoring.toml's aliases (docs/scoring.md)."""
    from .channels import canonical

    rules = getattr(schemas, "scoring", None)
    return canonical(values, dict(rules.product_aliases) if rules is not None else None, "")


def _nurture_figures(nur: pd.DataFrame, today: dt.date) -> dict[str, int | float | None]:
    state = nurture_state_keys(_col(nur, "state", ""))
    nxt = _dates(nur, "next_touch")
    t = pd.Timestamp(today)
    we = pd.Timestamp(week_end(today))
    active = state == "active"
    n = {k: int((state == k).sum()) for k in NURTURE_STATES}
    total = len(nur)
    return {
        **n,
        "overdue": int((active & (nxt < t)).sum()),
        "this_week": int((active & (nxt >= t) & (nxt <= we)).sum()),
        "total": total,
        "reactivation_rate": _ratio(n["reactivated"] + n["won"], total),
        "win_rate": _ratio(n["won"], total),
    }


# A rate over fewer nurture rows than this carries a "few data" note (the counts are shown).
FEW = 10
NO_CONTENT = "__none__"


def reactivation_figures(nur: pd.DataFrame, schemas: Schemas) -> dict[str, pd.DataFrame]:
    """What brings nurture leads back (docs/nurture-automation.md). Each nurture row is one
    stay in nurture; it *came back* when its state is reactivated or won (the sync sets it
    when the lead returns to the active chain or is won; an import when the person writes
    again). Per reason category, per cadence, and per content item: the item the stay got
    last (`Nội dung đã gửi`), so a stay that came back credits the email it came back
    after; `received` counts every stay an item was sent in. Frames: key, rows, back."""
    state = nurture_state_keys(_col(nur, "state", ""))
    back = state.isin(["reactivated", "won"])
    reason = _col(nur, "reason_category", None).astype(object)
    reason = reason.where(reason.isin([r.key for r in schemas.reasons.reasons]), "__unclassified__")
    from .status import CADENCE_LABELS, DEFAULT_CADENCE, _fold_lookup

    cadence = _fold_lookup(as_text(_col(nur, "cadence", "")), CADENCE_LABELS, blank=None).fillna(DEFAULT_CADENCE)
    sent = map_distinct(as_text(_col(nur, "sent_content", "")),
                        lambda u: tuple(p.strip() for p in u.split(",") if p.strip()), ())
    last = sent.map(lambda t: t[-1] if t else NO_CONTENT)

    def by(key: pd.Series) -> pd.DataFrame:
        g = pd.DataFrame({"key": key.to_numpy(), "back": back.to_numpy()}).groupby("key", sort=False)["back"]
        out = pd.DataFrame({"rows": g.size(), "back": g.sum().astype(int)})
        return out.sort_values(["rows"], ascending=False, kind="stable")

    received = pd.DataFrame({"key": sent.to_numpy()}).explode("key").dropna()["key"].value_counts()
    items = by(last)
    items["received"] = [int(received.get(k, 0)) if k != NO_CONTENT else int(items.loc[k, "rows"])
                         for k in items.index]
    return {"reason": by(reason), "cadence": by(cadence), "content": items}


# ---------------------------------------------------------------- layout
#
# The overview is `OVERVIEW_BLOCKS` in order, stacked from the top; each block writes its
# tables to the grid at `g.row` and adds its charts. To add a block, write a function over
# an `OverviewContext` and put it in the list (docs/architecture.md, "Add a summary block").


@dataclass
class OverviewContext:
    """What every overview block reads: the figures, the labels and the display names."""

    L: dict[str, str]           # summary labels in the run's language
    f: dict[str, Any]           # compute_figures(...)
    q: QualitySummary
    schemas: Schemas
    today: dt.date
    now: dt.datetime
    name: dict[str, str]        # status key -> display name
    rname: dict[str, str]       # reason key -> display name
    leads: pd.DataFrame | None = None
    rejections: pd.DataFrame | None = None
    costs: pd.Series | None = None  # cost per folded source name, from a `Chi phí` tab
    cost_detail: Any = None  # channels.Costs: the `Chi phí` tab's rows, for the quarterly review


def header_block(c: OverviewContext, g: Grid) -> None:
    """Title, update time (volatile, `SYNC_TIME_CELL`) and the as-of date."""
    L = c.L
    g.put(1, 1, L["overview_title"], "title")
    g.put(2, 1, L["updated_at"], "note")
    g.put(2, 2, c.now.replace(microsecond=0, tzinfo=None))
    g.merges.append((2, 2, 2, 3))
    g.put(3, 1, L["as_of"], "note")
    g.put(3, 2, c.today, "date")
    g.row = 5


def key_figures_block(c: OverviewContext, g: Grid) -> None:
    """Key figures, with the leads-by-status table beside them from `STATUS_COL`."""
    L, f, name = c.L, c.f, c.name
    kpis = [
        (L["kpi_leads"], f["leads"], "integer"),
        (L["kpi_open"], f["open"], "integer"),
        (L["kpi_won"], f["won"], "integer"),
        (L["kpi_lost"], f["lost"], "integer"),
        (L["kpi_win_rate"], f["win_rate"], "percent"),
        (L["kpi_cycle_avg"], f["cycle_avg"], "decimal"),
        (L["kpi_cycle_median"], f["cycle_median"], "decimal"),
        (L["kpi_cycle_n"], f["cycle_n"], "integer"),
        (L["kpi_duplicates_excluded"], f["duplicates_excluded"], "integer"),
    ]
    top = g.row
    _kv_block(g, L["kpi_title"], [L["kpi_metric"], L["kpi_value"]], kpis)
    kpi_end = g.row

    n = f["leads"]
    rows = [[name[k], f["by_status"][k], _ratio(f["by_status"][k], n)] for k in status_order(c.schemas)]
    if f["unknown_status"]:
        rows.append([L["unknown_status"], f["unknown_status"], _ratio(f["unknown_status"], n)])
    g.row = top
    g.table(
        L["status_title"],
        [L["status_col"], L["count_col"], L["share_col"]],
        rows,
        [None, "integer", "percent"],
        total=[L["total"], n, _ratio(n, n)],
        col=STATUS_COL,
    )
    g.row = max(g.row, kpi_end)


def funnel_block(c: OverviewContext, g: Grid) -> None:
    """The funnel with its bar chart beside it, and time in stage under the funnel."""
    L, f, name = c.L, c.f, c.name
    rows = []
    for key, n_reach, n_next in f["funnel"]:
        rows.append([name[key], n_reach, n_next, _ratio(n_next, n_reach) if n_next is not None else None])
    first_reach, last_reach = f["funnel"][0][1], f["funnel"][-1][1]
    pos = g.table(
        L["funnel_title"],
        [L["funnel_stage"], L["funnel_reached"], L["funnel_next"], L["funnel_rate"]],
        rows,
        [None, "integer", "integer", "percent"],
        total=[L["funnel_overall"], first_reach, last_reach, _ratio(last_reach, first_reach)],
    )
    g.charts.append(
        ChartSpec(
            key="funnel",
            kind="bar",
            title=L["funnel_chart"],
            categories=(pos["first"], 1, pos["last"], 1),
            series=((pos["header"], 2, pos["last"], 2),),
            anchor=(pos["title"], CHART_COL),
            width=560,
            height=300,
        )
    )
    g.table(
        L["stage_time_title"],
        [L["funnel_stage"], L["stage_days"], L["stage_stays"]],
        [[name[k], d, cnt] for k, d, cnt in f["stage_time"]],
        [None, "decimal", "integer"],
    )
    g.reserve(pos["title"], chart_rows(g.charts[-1]))


def owner_status_block(c: OverviewContext, g: Grid) -> None:
    """Owner × status counts, with a stacked column chart under the table."""
    L, f, name = c.L, c.f, c.name
    keys = status_order(c.schemas)
    st_cols = keys + (["__unknown__"] if f["unknown_status"] else [])
    st_names = [name[k] for k in keys] + ([L["unknown_status"]] if f["unknown_status"] else [])
    ct = f["owner_status"].reindex(columns=st_cols, fill_value=0)
    owners = sorted(ct.index, key=lambda o: (o == "", fold(o)))
    rows = [[o or L["no_owner"], *[int(v) for v in ct.loc[o]], int(ct.loc[o].sum())] for o in owners]
    totals = [int(ct[col].sum()) for col in st_cols]
    pos = g.table(
        L["owner_title"],
        [L["owner_col"], *st_names, L["total"]],
        rows,
        [None] + ["integer"] * (len(st_cols) + 1),
        total=[L["total"], *totals, sum(totals)],
    )
    if rows:
        chart_top = pos["end"] + 2
        g.charts.append(
            ChartSpec(
                key="owner_status",
                kind="stacked_column",
                title=L["owner_chart"],
                categories=(pos["first"], 1, pos["last"], 1),
                series=tuple((pos["header"], 2 + i, pos["last"], 2 + i) for i in range(len(st_cols))),
                anchor=(chart_top, 1),
                width=900,
                height=320,
            )
        )
        g.reserve(chart_top, chart_rows(g.charts[-1]))


def reasons_block(c: OverviewContext, g: Grid) -> None:
    """Rejection reasons with their share, and a bar chart beside the table."""
    L, rf = c.L, c.f["reasons"]
    total = rf["total"]
    rows = [[c.rname[k], rf["counts"][k], _ratio(rf["counts"][k], total)] for k in rf["order"]]
    pos = g.table(
        L["reasons_title"],
        [L["reason_col"], L["reason_count"], L["reason_share"]],
        rows,
        [None, "integer", "percent"],
        total=[L["total"], total, _ratio(total, total)],
    )
    g.charts.append(
        ChartSpec(
            key="reasons",
            kind="bar",
            title=L["reasons_chart"],
            categories=(pos["first"], 1, pos["last"], 1),
            series=((pos["header"], 2, pos["last"], 2),),
            anchor=(pos["title"], CHART_COL),
            width=560,
            height=300,
        )
    )
    g.reserve(pos["title"], chart_rows(g.charts[-1]))


def _reason_crosstab(c: OverviewContext, g: Grid, title: str, first_col: str, table: pd.DataFrame,
                     row_names: list[str], blank: str) -> None:
    """A table of rejections per reason (columns) for each of `row_names`, with totals."""
    L, order = c.L, c.f["reasons"]["order"]
    header = [c.rname[k] for k in order] + [L["total"]]
    num = ["integer"] * (len(order) + 1)
    rows = [[(r or blank), *[int(v) for v in table.loc[r]], int(table.loc[r].sum())] for r in row_names]
    sums = [int(table[k].sum()) for k in order] if len(table) else [0] * len(order)
    g.table(title, [first_col, *header], rows, [None, *num], total=[L["total"], *sums, sum(sums)])


def reasons_by_owner_block(c: OverviewContext, g: Grid) -> None:
    """Rejections per owner and reason."""
    L, bo = c.L, c.f["reasons"]["by_owner"]
    _reason_crosstab(c, g, L["reasons_owner_title"], L["owner_col"], bo,
                     sorted(bo.index, key=lambda o: (o == "", fold(o))), L["no_owner"])


def reasons_by_product_block(c: OverviewContext, g: Grid) -> None:
    """Rejections per product and reason: the `TOP_PRODUCTS` biggest, the rest in one row."""
    L, bp = c.L, c.f["reasons"]["by_product"]
    if len(bp) > TOP_PRODUCTS:
        sizes = bp.sum(axis=1).sort_values(ascending=False, kind="mergesort")
        keep = [p for p in sizes.index[:TOP_PRODUCTS]]
        rest = bp.drop(index=keep).sum().to_frame().T
        rest.index = ["__other__"]
        bp = pd.concat([bp.loc[keep], rest])
        names = keep + ["__other__"]
    else:
        names = list(bp.sum(axis=1).sort_values(ascending=False, kind="mergesort").index)
    bp = bp.rename(index={"__other__": L["other_products"]})
    names = [L["other_products"] if p == "__other__" else p for p in names]
    _reason_crosstab(c, g, L["reasons_product_title"], L["product_col"], bp, names, L["no_product"])


def reasons_by_month_block(c: OverviewContext, g: Grid) -> None:
    """Rejections per month (MM/YYYY) and reason."""
    rf = c.f["reasons"]
    bm = rf["by_month"]
    bm.index = [m.strftime("%m/%Y") for m in rf["months"]]
    _reason_crosstab(c, g, c.L["reasons_month_title"], c.L["month_col"], bm, list(bm.index), "")


def sources_block(c: OverviewContext, g: Grid) -> None:
    """Conversion and win rate by source channel and by campaign; with a `Chi phí` tab, the
    cost per lead and per won customer (docs/scoring.md)."""
    from .channels import source_tables

    if c.leads is None:
        return
    L, rules = c.L, getattr(c.schemas, "scoring", None)
    pop, _ = population(c.leads)
    aliases = dict(rules.source_aliases) if rules is not None else None
    tables = source_tables(pop, c.f["won_key"], c.f["lost_keys"], c.costs, aliases, L["no_source"])
    head = [L["src_leads"], L["kpi_won"], L["kpi_lost"], L["src_conversion"], L["kpi_win_rate"]]
    styles = ["integer", "integer", "integer", "percent", "percent"]
    if c.costs is not None:
        head += [L["src_cost"], L["src_per_lead"], L["src_per_won"]]
        styles += ["integer"] * 3
    for name, title, first in (("channel", "src_title", "src_channel"), ("campaign", "src_campaign_title",
                                                                          "src_campaign")):
        t = tables[name]
        if name == "campaign" and not len(t):
            continue
        cols = ["leads", "won", "lost", "conversion", "win_rate"] + (
            ["cost", "per_lead", "per_won"] if c.costs is not None else [])
        rows = [[k, *[_plain(r[col]) for col in cols]] for k, r in t.iterrows()]
        g.table(L[title], [L[first], *head], rows, [None, *styles])


COST_NOTES = 10  # unreadable cells of the `Chi phí` tab named one by one; the rest counted


def cost_quarter_block(c: OverviewContext, g: Grid) -> None:
    """The quarterly cost review of a `Chi phí` tab with months: per quarter the cost, the
    new leads and wins, the cost per lead and per won customer, for the sources spent on
    together and one by one, then all time; under it the cells that could not be read
    (docs/scoring.md#the-managers-view)."""
    from .channels import cost_by_quarter

    cd = c.cost_detail
    if cd is None or c.leads is None or not cd.bad and not (cd.has_month and len(cd.rows)):
        return
    L, rules = c.L, getattr(c.schemas, "scoring", None)
    if cd.has_month:
        pop, _ = population(c.leads)
        aliases = dict(rules.source_aliases) if rules is not None else None
        t = cost_by_quarter(pop, c.f["won_at"], cd, aliases, L["no_source"])

        def quarter(q: Any) -> str:
            return L["cost_q_label"].format(q=q.quarter, year=q.year)

        def cells(r: Any) -> list[Any]:
            return [_plain(r.cost), int(r.leads), int(r.won), _plain(r.per_lead), _plain(r.per_won)]

        body = t.iloc[:-1]
        rows = [[quarter(r.quarter), r.source or L["cost_q_all"], *cells(r)]
                for r in body.itertuples(index=False)]
        last = t.iloc[-1]
        at = g.table(L["cost_q_title"], [L["cost_q_quarter"], L["src_channel"], L["src_cost"], L["cost_q_leads"],
                                          L["cost_q_won"], L["src_per_lead"], L["src_per_won"]],
                     rows, [None, None, "integer", "integer", "integer", "integer", "integer"],
                     total=[L["cost_q_total"], L["cost_q_all"], *cells(last)])
        # each quarter's all-sources line in bold, its sources under it
        g.styles.extend((at["first"] + i, col, "bold") for i, r in enumerate(body.itertuples(index=False))
                        if not r.source for col in (1, 2))
        top = g.row - 1
    else:
        top = g.row
        g.put(top, 1, L["cost_q_title"], "subtitle")
        top += 1
    notes = [L["cost_bad_" + kind].format(cell=cell, value=value) for cell, value, kind in cd.bad[:COST_NOTES]]
    if len(cd.bad) > COST_NOTES:
        notes.append(L["cost_bad_more"].format(n=len(cd.bad) - COST_NOTES))
    for i, text in enumerate(notes):
        g.put(top + i, 1, text, "note")
    if notes:
        g.row = top + len(notes) + 1


def _plain(v: Any) -> Any:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return None
    if isinstance(v, (np.integer,)):
        return int(v)
    if isinstance(v, (np.floating,)):
        x = float(v)
        return None if math.isnan(x) else x
    return v


def backlog_block(c: OverviewContext, g: Grid) -> None:
    """How far behind the recontacts are: overdue, the oldest and median age, and how many
    are late enough for the manager (docs/scoring.md)."""
    from .channels import overdue_backlog

    if c.leads is None:
        return
    rules = getattr(c.schemas, "scoring", None)
    days = rules.activity.overdue_manager_days if rules is not None else 7
    b = overdue_backlog(c.leads, c.schemas, c.today, days)
    L = c.L
    _kv_block(g, L["backlog_title"], [L["kpi_metric"], L["kpi_value"]], [
        (L["backlog_overdue"], b["overdue"], "integer"),
        (L["backlog_oldest"], b["oldest"], "integer"),
        (L["backlog_median"], _r1(b["median"]) if b["median"] is not None else None, "decimal"),
        (L["backlog_over_n"].format(days=days), b["over_n"], "integer"),
    ])


def nurture_block(c: OverviewContext, g: Grid) -> None:
    """Nurture list figures: active, due, outcomes and rates."""
    L, nf = c.L, c.f["nurture"]
    items = [
        (L["nurture_active"], nf["active"], "integer"),
        (L["nurture_overdue"], nf["overdue"], "integer"),
        (L["nurture_this_week"], nf["this_week"], "integer"),
        (L["nurture_reactivated"], nf["reactivated"], "integer"),
        (L["nurture_won"], nf["won"], "integer"),
        (L["nurture_stopped"], nf["stopped"], "integer"),
        (L["nurture_total"], nf["total"], "integer"),
        (L["nurture_reactivation_rate"], nf["reactivation_rate"], "percent"),
        (L["nurture_win_rate"], nf["win_rate"], "percent"),
    ]
    _kv_block(g, L["nurture_title"], [L["kpi_metric"], L["kpi_value"]], items)


def reactivation_block(c: OverviewContext, g: Grid) -> None:
    """Reactivation rate by reason, by cadence and by content item, each with its counts;
    a rate over fewer than `FEW` stays says so."""
    L, rf = c.L, c.f["reactivation"]

    def note(n: int) -> str:
        return L["few_data"].format(n=n) if n < FEW else ""

    def rows(frame: pd.DataFrame, name: Callable[[str], str]) -> list[list[Any]]:
        return [[name(k), int(r.rows), int(r.back), _ratio(int(r.back), int(r.rows)), note(int(r.rows))]
                for k, r in frame.iterrows()]

    head = [L["react_stays"], L["react_back"], L["react_rate"], L["react_note"]]
    styles = [None, "integer", "integer", "percent", "note"]
    total = rf["reason"]
    n, b = int(total["rows"].sum()), int(total["back"].sum())
    g.table(L["react_reason_title"], [L["reason_col"], *head],
            rows(rf["reason"], lambda k: c.rname.get(k, k)), styles,
            total=[L["total"], n, b, _ratio(b, n), note(n)])
    cad = {"monthly": L["cadence_monthly"], "quarterly": L["cadence_quarterly"]}
    g.table(L["react_cadence_title"], [L["cadence_col"], *head], rows(rf["cadence"], lambda k: cad.get(k, k)), styles)
    ct = rf["content"]
    g.table(L["react_content_title"], [L["content_col"], L["react_received"], L["react_last"], L["react_back"],
                                       L["react_rate"], L["react_note"]],
            [[L["no_content"] if k == NO_CONTENT else k, int(r.received), int(r.rows), int(r.back),
              _ratio(int(r.back), int(r.rows)), note(int(r.rows))] for k, r in ct.iterrows()],
            [None, "integer", "integer", "integer", "percent", "note"])


# Problem kinds, most actionable first (docs/scoring.md#the-managers-view): a reason the rep
# still has to type for a closed lead (`Từ chối`, `Chưa chốt`), then a lead nobody can call
# or write to, then what blocks the status chain, then the people the team meets twice
# (two owners on one customer, someone rejected or in nurture under another id, a duplicate
# record the sync already linked), then the cells to tidy, then the status moves to check.
ACTIONABLE = ("missing_reason", "other_needs_detail", "unknown_reason", "no_contact", "bad_phone", "bad_email",
              "missing_name", "unknown_status", "owner_collision", "previously_rejected", "in_nurture",
              "duplicate", "bad_date", "future_date", "sheet_error", "formula_uncalculated", "duplicate_id",
              "bad_id", "backward_move", "left_terminal", "issue")
# Kinds validation reports: on a row it flagged, its own count (QualitySummary) is the one
# shown, the row's texts are not counted again.
VALIDATION_KINDS = frozenset({"missing_name", "no_contact", "bad_email", "bad_phone", "bad_date", "future_date",
                              "sheet_error", "formula_uncalculated", "unknown_status", "duplicate_id", "bad_id"})
# Issue texts of the dedupe step (schemas/dedupe.toml [messages]) by kind.
_DEDUPE_KINDS = {"duplicate": "duplicate", "collision": "owner_collision", "rejected": "previously_rejected",
                 "nurture": "in_nurture"}


def issue_templates(schemas: Schemas | None = None) -> list[tuple[str, str]]:
    """(kind, text template) of every issue text the sync writes into `Lỗi dữ liệu`, both
    languages: validation's (messages.toml), the status chain's (with a team's own wording
    from messages.toml), the dedupe step's (dedupe.toml [messages])."""
    from ..schema import load_schemas
    from .status import MESSAGES

    sch = schemas if schemas is not None else load_schemas()
    out: list[tuple[str, str]] = []
    for lang in ("vi", "en"):
        msgs = (sch.messages or {}).get(lang, {})
        out += [(k, v) for k, v in MESSAGES.get(lang, {}).items()]
        out += [(k, v) for k, v in msgs.items() if isinstance(v, str) and (k in VALIDATION_KINDS or k in MESSAGES[lang])]
        dd = ((sch.dedupe or {}).get("messages") or {}).get(lang, {})
        out += [(kind, dd[k]) for k, kind in _DEDUPE_KINDS.items() if isinstance(dd.get(k), str)]
    return out


@dataclass(frozen=True)
class _Template:
    kind: str
    literal: int  # characters of literal text: the more, the more specific
    prefix: str   # literal text before the first placeholder, after the last
    suffix: str
    pattern: re.Pattern[str]


def _matchers(templates: list[tuple[str, str]]) -> tuple[dict[str, list[_Template]], list[_Template]]:
    """Templates as whole-text patterns (each `{placeholder}` any text, the rest literal),
    the most literal text first, keyed by their first 3 characters (the few starting with
    a placeholder apart). Templates with under 4 literal characters (a team's own
    `{header}`) match nothing."""
    seen, out = set(), []
    for kind, tmpl in templates:
        parts = re.split(r"\{[^{}]*\}", tmpl)
        literal = sum(len(p.strip()) for p in parts)
        if literal < 4 or (kind, tmpl) in seen:
            continue
        seen.add((kind, tmpl))
        rx = re.compile(r"\A" + ".*?".join(re.escape(p) for p in parts) + r"\Z", re.S)
        out.append(_Template(kind, literal, parts[0], parts[-1] if len(parts) > 1 else "", rx))
    out.sort(key=lambda t: -t.literal)
    keyed: dict[str, list[_Template]] = {}
    loose = []
    for t in out:
        if len(t.prefix) >= 3:
            keyed.setdefault(t.prefix[:3], []).append(t)
        else:
            loose.append(t)
    # a text starting like some templates is tried on them and on those starting anyhow
    keyed = {k: sorted(v + loose, key=lambda t: -t.literal) for k, v in keyed.items()}
    return keyed, loose


def issue_kind_of(texts: pd.Series, schemas: Schemas | None = None) -> pd.Series:
    """The kind of each single issue text (one part of a `Lỗi dữ liệu` cell), `issue` when
    no known template matches; each distinct text matched once, against the few templates
    it starts and ends like."""
    keyed, loose = _matchers(issue_templates(schemas))

    def one(u: str) -> str:
        u = u.strip()
        for t in keyed.get(u[:3], loose):
            if u.startswith(t.prefix) and u.endswith(t.suffix) and t.pattern.match(u):
                return t.kind
        return "issue"

    return map_distinct(as_text(texts), one, "issue")


def issue_kinds(leads: pd.DataFrame | None, q: QualitySummary, language: str = "vi",
                schemas: Schemas | None = None) -> dict[str, int]:
    """Rows per problem kind: validation's own kinds (its counts), and the kinds of the
    other texts of `Lỗi dữ liệu` (the status chain's, dedupe's) by their templates, on
    every row; a text no template matches stays `issue` (rows validation did not flag
    only, since on a flagged row it is validation's own text). `language` is kept for
    callers; both languages' texts are recognised."""
    kinds = dict(q.issues_by_kind)
    if leads is None or "issues" not in leads or not len(leads):
        return kinds
    texts = as_text(leads["issues"])
    has = texts.ne("")
    if not has.any():
        return kinds
    valid = leads["valid"].astype(bool) if "valid" in leads else pd.Series(True, index=leads.index)
    parts = texts[has].str.split("; ").explode()
    kind = issue_kind_of(parts, schemas)
    ok = valid.reindex(parts.index).to_numpy(bool)
    kv = kind.to_numpy(dtype=object)
    # on a row validation flagged, only the other steps' kinds are added to its counts
    keep = ok | ~(pd.Series(kv).isin(VALIDATION_KINDS | {"issue"}).to_numpy())
    rows = pd.DataFrame({"row": parts.index[keep], "kind": kv[keep]}).drop_duplicates()
    kinds.pop("issue", None)  # the rows validation did not flag, counted again by kind
    for k, n in rows.groupby("kind")["row"].nunique().items():
        kinds[k] = kinds.get(k, 0) + int(n)
    return kinds


def quality_block(c: OverviewContext, g: Grid) -> None:
    """Data quality: rows with issues, one line per kind of problem, most actionable first,
    then duplicate counts."""
    L, q = c.L, c.q
    lang = "en" if L.get("total") == "Total" else "vi"
    kinds = issue_kinds(c.leads, q, lang, c.schemas)
    rank = {k: i for i, k in enumerate(ACTIONABLE)}
    items = [(L["quality_rows_with_issues"], q.rows_with_issues, "bold")]
    for kind, rows_n in sorted(kinds.items(), key=lambda kv: (rank.get(str(kv[0]), len(rank) - 1), -kv[1],
                                                              str(kv[0]))):
        items.append(("   " + L.get(f"issue_{kind}", str(kind)), int(rows_n), "integer"))
    items += [
        (L["quality_clusters"], q.duplicate_clusters, "integer"),
        (L["quality_duplicates"], q.duplicates, "integer"),
        (L["quality_collisions"], q.collisions, "integer"),
    ]
    _kv_block(g, L["quality_title"], [L["quality_kind"], L["quality_rows"]], items)


def reason_learning_block(c: OverviewContext, g: Grid) -> None:
    """Typed reasons the classifier was unsure of, and the team's corrections
    (docs/reasons-classifier.md)."""
    if c.leads is not None and c.rejections is not None:
        _reason_learning_block(g, c.L, c.leads, c.rejections, c.schemas)


OVERVIEW_BLOCKS: list[Callable[[OverviewContext, Grid], None]] = [
    header_block,
    key_figures_block,
    funnel_block,
    owner_status_block,
    sources_block,
    cost_quarter_block,
    reasons_block,
    reasons_by_owner_block,
    reasons_by_product_block,
    reasons_by_month_block,
    nurture_block,
    reactivation_block,
    backlog_block,
    quality_block,
    reason_learning_block,
]


def build_overview(
    leads: pd.DataFrame,
    history: pd.DataFrame,
    rejections: pd.DataFrame,
    nurture: pd.DataFrame,
    quality: QualitySummary | Mapping[str, Any] | None,
    schemas: Schemas,
    today: dt.date,
    now: dt.datetime,
    language: str = "vi",
    tab: str = OVERVIEW_TAB,
    blocks: Sequence[Callable[[OverviewContext, Grid], None]] | None = None,
    costs: pd.Series | None = None,
    cost_detail: Any = None,
) -> SheetLayout:
    """The overview tab for the frames of one sync (see the module doc for definitions).

    `blocks` defaults to `OVERVIEW_BLOCKS`, written top to bottom. `costs` is the cost per
    source name (`channels.cost_table`), `cost_detail` the `Chi phí` tab as read
    (`channels.read_costs`, for the quarterly cost review; its `by_source` when `costs` is None).
    """
    L = labels(language, schemas)
    if costs is None and cost_detail is not None:
        costs = cost_detail.by_source
    f = compute_figures(leads, history, rejections, nurture, schemas, today)
    name = {s.key: s.display(language) for s in schemas.chain.statuses}
    rname = {r.key: r.display(language) for r in schemas.reasons.reasons}
    rname["__unclassified__"] = L["unclassified"]
    ctx = OverviewContext(L, f, QualitySummary.coerce(quality), schemas, today, now, name, rname,
                          leads, rejections, costs, cost_detail)
    g = Grid()
    for block in OVERVIEW_BLOCKS if blocks is None else blocks:
        block(ctx, g)

    skip = {1, 2, 3} | {r for (r, c, s) in g.styles if s in ("subtitle", "title")}
    widths = list(fit_widths(g, skip, lo=11.0, hi=14.0, first=(24.0, 42.0)))
    # the status table's label column must show every status name
    if len(widths) >= STATUS_COL:  # a list of blocks without the status table may be narrower
        longest = max(len(v) for v in name.values()) + 2
        widths[STATUS_COL - 1] = max(widths[STATUS_COL - 1], min(longest, 22))
    return g.layout(tab, tuple(widths), freeze_rows=3)


def _reason_learning_block(g: Grid, L: dict[str, str], leads, rejections, schemas: Schemas) -> None:
    """Typed reasons the classifier was unsure of, and the team's corrections
    (docs/reasons-classifier.md)."""
    from .reasons import reason_learning

    n = reason_learning(leads, rejections, schemas.reasons)
    _kv_block(g, L["learning_title"], [L["kpi_metric"], L["kpi_value"]], [
        (L["learning_unsure"], n["unsure"], "integer"),
        (L["learning_corrected_in_log"], n["corrected_in_log"], "integer"),
        (L["learning_settled_in_leads"], n["settled_in_leads"], "integer"),
    ])


def _kv_block(g: Grid, title: str, header: list[str], items: list[tuple[str, Any, str]]) -> None:
    top = g.row
    g.put(top, 1, title, "subtitle")
    g.put_row(top + 1, header, "header")
    for i, (label, value, style) in enumerate(items):
        if style == "bold":
            g.put_row(top + 2 + i, [label, value], ["bold", "bold"])
            g.styles.append((top + 2 + i, 2, "integer"))
        else:
            g.put_row(top + 2 + i, [label, value], [None, style])
    g.row = top + 2 + len(items) + 1


# ---------------------------------------------------------------- change detection


def _norm(v: Any) -> Any:
    """A cell value as comparable across backends: dates as serial days, numbers as float."""
    if v is None:
        return ""
    if isinstance(v, bool):
        return float(v)
    if isinstance(v, dt.datetime):
        return (v.replace(tzinfo=None) - _EXCEL_EPOCH).total_seconds() / 86400.0
    if isinstance(v, dt.date):
        return float((v - _EXCEL_EPOCH.date()).days)
    if isinstance(v, (int, float, np.integer, np.floating)):
        x = float(v)
        return "" if math.isnan(x) else x
    if isinstance(v, pd.Timestamp):
        return _norm(v.to_pydatetime())
    return str(v)


def layout_matches(
    existing_grid: list[list[Any]] | None,
    layout: SheetLayout,
    ignore: Iterable[tuple[int, int]] = (SYNC_TIME_CELL,),
) -> bool:
    """True when the tab already shows `layout`'s values, so it need not be rewritten.

    `existing_grid` is the tab as a backend reads it back (ragged rows, dates as
    date/datetime or serial numbers, numbers as int/float). `ignore` lists 1-based
    cells left out (the update time, which changes on every run)."""
    if existing_grid is None:
        return False
    skip = set(ignore)
    nrows = max(len(existing_grid), len(layout.cells))
    for r in range(nrows):
        have = existing_grid[r] if r < len(existing_grid) else []
        want = layout.cells[r] if r < len(layout.cells) else ()
        for c in range(max(len(have), len(want))):
            if (r + 1, c + 1) in skip:
                continue
            a = _norm(have[c]) if c < len(have) else ""
            b = _norm(want[c]) if c < len(want) else ""
            if isinstance(a, str) and a.strip() == "" and b == "":
                continue
            if isinstance(a, float) and isinstance(b, float):
                if not math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-6):
                    return False
            elif isinstance(a, str) and isinstance(b, float):
                # a number a backend handed back as text ("12", "45%")
                try:
                    if not math.isclose(float(a.rstrip("%")) / (100 if a.endswith("%") else 1), b, abs_tol=1e-6):
                        return False
                except ValueError:
                    return False
            elif a != b:
                return False
    return True
