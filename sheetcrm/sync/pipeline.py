"""The sync pipeline: raw grids in → change set and report out. Pure: no I/O.

Steps, each callable alone: bind (find tabs and headers) → validate → ids → dedupe →
status chain (history, rejection log, nurture, scheduling) → issues column → summaries.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import gc
import hashlib
import pickle
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd

from ..changes import AddColumns, AppendRows, CellUpdate, ChangeSet, EnsureTab, SheetLayout
from ..schema import Schemas, TabSchema
from ..text import as_text, fold, fold_series, lookup, map_distinct
from .dates import parse_dates
from .dedupe import DedupeRules, find_duplicates, key_columns, match_previous_contacts
from .frames import to_dates
from .tables import Table, bind, find_tab
from .tombstone import erased
from .validate import _text, assign_ids, validate_leads

LOG_TABS = ("history", "rejections", "nurture")


@dataclass(frozen=True)
class Settings:
    language: str = "vi"
    id_prefix: str = "KH-"
    id_digits: int = 6
    region: str = "VN"
    sync_log_keep: int = 1000
    summaries: bool = True
    assignment: Any = None  # sync.assign.AssignSettings; None: the defaults
    retention_days: int = 0  # 0: off (docs/privacy.md)
    open_on: str = ""  # tab key the workbook opens on; "": left as people leave it


@dataclass
class Report:
    """What a sync found and plans; printed by the CLI and logged to `Nhật ký đồng bộ`."""

    rows_read: int = 0
    rows_with_issues: int = 0
    problems: pd.DataFrame = field(default_factory=pd.DataFrame)  # cell, kind, message
    # rows per kind of validation problem (the overview adds the other steps' kinds itself)
    validation_kinds: dict[str, int] = field(default_factory=dict)
    ids_assigned: int = 0
    duplicates: int = 0
    clusters: int = 0
    collisions: int = 0
    transitions: int = 0
    rows_appended: dict[str, int] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)
    tabs: dict[str, str] = field(default_factory=dict)  # tab key → title used
    timings: dict[str, float] = field(default_factory=dict)  # step → seconds
    # The workbook was as the last logged run left it, on the same day: nothing was planned,
    # and the counts the log keeps (rows read, issues, duplicates) are that run's.
    unchanged: bool = False

    def lap(self, step: str, started: float) -> float:
        now = time.perf_counter()
        self.timings[step] = round(now - started, 3)
        return now

    @property
    def appended(self) -> int:
        return sum(self.rows_appended.values())


@dataclass
class SyncPlan:
    changes: ChangeSet
    report: Report
    tables: dict[str, Table]
    leads: pd.DataFrame


class _Writer:
    """Collects changes for one tab, adding missing sync-owned columns at its end."""

    def __init__(self, table: Table, changes: ChangeSet):
        self.table, self.changes = table, changes
        self.col_of = dict(table.col_of)
        self.width = table.width
        self.added: list[str] = []
        self._rows: tuple[pd.DataFrame, np.ndarray] | None = None
        self._ids: tuple[pd.Series, np.ndarray] | None = None

    def rows_of(self, frame: pd.DataFrame) -> np.ndarray:
        """`frame`'s sheet rows as Python ints in an object array, made once: the updates
        of a row share one int, not one each."""
        if self._rows is None or self._rows[0] is not frame:
            self._rows = (frame, np.array(frame["row"].to_numpy().tolist(), dtype=object))
        return self._rows[1]

    def ids_of(self, lead_ids: pd.Series) -> np.ndarray:
        """`lead_ids` as the cell updates name them ('' → None), made once per Series."""
        if self._ids is None or self._ids[0] is not lead_ids:
            ids = np.empty(len(lead_ids), dtype=object)
            ids[:] = [i or None for i in lead_ids.to_numpy(dtype=object).tolist()]
            self._ids = (lead_ids, ids)
        return self._ids[1]

    def column(self, key: str) -> int:
        if key not in self.col_of:
            col = self.table.schema.column(key)
            self.width += 1
            self.col_of[key] = self.width
            self.added.append(col.header)
        return self.col_of[key]

    def flush(self) -> None:
        if self.added and self.table.exists:
            self.changes.add_columns.append(
                AddColumns(self.table.title, self.width - len(self.added) + 1, tuple(self.added)))


def _same(old: pd.Series, new: pd.Series, kind: str, old_text: pd.Series | None = None,
          absent: bool = False) -> np.ndarray:
    """Vectorised equality of what a cell holds and what the sync wants there. `absent`:
    the sheet has no such column (every cell empty)."""
    if absent and kind != "date":
        if pd.api.types.is_numeric_dtype(new) or pd.api.types.is_bool_dtype(new):
            return new.isna().to_numpy()  # a number's text is never empty
        return (as_text(new) == "").to_numpy()
    if kind == "date":
        o, _ = parse_dates(old)
        n = pd.to_datetime(new, errors="coerce")
        return ((o == n) | (o.isna() & n.isna())).to_numpy()
    return ((_text(old) if old_text is None else old_text) == as_text(new)).to_numpy()


def _updates(writer: _Writer, key: str, new: pd.Series, mask: pd.Series | None,
             frame: pd.DataFrame, lead_ids: pd.Series, kind: str = "text",
             old_text: pd.Series | None = None) -> list[CellUpdate]:
    """Cell updates where `new` differs from the sheet (limited to `mask` rows).
    `old_text`: `_text` of the sheet's column, when the caller has it already."""
    old = frame[key] if key in frame else pd.Series(None, index=frame.index, dtype=object)
    rows = np.ones(len(frame), bool) if mask is None else mask.to_numpy(bool)
    ot = old_text if key in frame else None
    sel = np.flatnonzero(rows) if mask is not None else None
    if sel is not None and len(sel) < len(rows) // 2:
        # Few rows asked: only they are compared (the comparison is cell by cell).
        differ = np.zeros(len(rows), dtype=bool)
        differ[sel] = ~_same(old.iloc[sel], new.iloc[sel], kind, None if ot is None else ot.iloc[sel],
                             absent=key not in frame)
    else:
        differ = rows & ~_same(old, new, kind, ot, absent=key not in frame)
    if not differ.any():
        return []
    col = writer.column(key)
    idx = np.flatnonzero(differ)
    tab = writer.table.title
    # Only the rows written are converted to cell values.
    sheet_rows = writer.rows_of(frame)[idx].tolist()
    old_v = old.to_numpy(dtype=object)[idx].tolist()
    ids = writer.ids_of(lead_ids)[idx].tolist()
    sub = new.iloc[idx]
    if kind == "date" and pd.api.types.is_datetime64_any_dtype(sub) and getattr(sub.dt, "tz", None) is None:
        values = sub.dt.date.astype(object).where(sub.notna(), None).tolist()
    elif kind == "date":
        values = [None if pd.isna(v) else pd.Timestamp(v).date() for v in sub.to_numpy(dtype=object)]
    else:
        arr = sub.to_numpy(dtype=object)
        if pd.api.types.infer_dtype(arr, skipna=False) in ("string", "integer"):
            values = arr.tolist()  # nothing missing: the cells as they are
        else:
            values = ["" if v is None or (isinstance(v, float) and v != v) else v for v in arr.tolist()]
    with _gc_paused():
        return [CellUpdate(tab, r, col, v, o, i) for r, v, o, i in zip(sheet_rows, values, old_v, ids)]


@contextlib.contextmanager
def _gc_paused() -> Iterator[None]:
    """The cyclic garbage collector paused while the plan's output is allocated: hundreds of
    thousands of cell updates or rows, no cycles among them, would each few hundred trigger
    a collection that walks every object of the grid (600k leads: a third of the time)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _grid_for(sheets: Mapping[str, list[list[Any]]], schema: TabSchema) -> tuple[list[list[Any]] | None, str | None]:
    title = find_tab(list(sheets), schema)
    return (sheets[title], title) if title is not None else (None, None)


def fingerprint(sheets: Mapping[str, list[list[Any]]], skip: str | None, schemas: Schemas,
                settings: Settings, today: dt.date, version: str) -> str:
    """A digest of everything a sync's plan depends on: every tab read (but `skip`, the
    sync log, which grows each run), the rules, the settings, the day and the version.
    The same digest means the same plan, so a run can skip planning when it matches
    the last run's."""
    h = hashlib.blake2b(digest_size=12)
    for title in sorted(sheets):
        if title != skip:
            h.update(title.encode())
            h.update(pickle.dumps(sheets[title], protocol=5))
    return plan_digest(h.hexdigest(), schemas, settings, today, version)


def plan_digest(content: str, schemas: Schemas, settings: Settings, today: dt.date, version: str) -> str:
    """`content` (a digest of what the tabs hold, however a backend computes it) combined
    with the rest a plan depends on."""
    h = hashlib.blake2b(digest_size=12)
    h.update(repr((version, settings, today.isoformat(), schemas, content)).encode())
    return h.hexdigest()


def private_columns(tables: Mapping[str, Table], changes: ChangeSet) -> dict[tuple[str, int], Any]:
    """(tab, column) → `personal` marker of every personal column present or added by
    `changes`, so a dry run does not print what a person typed (docs/privacy.md)."""
    out = {(t.title, t.col_of[c.key]): c.personal for t in tables.values() if t.exists
           for c in t.schema.columns if c.personal and c.key in t.col_of}
    by_title = {t.title: t for t in tables.values()}
    for a in changes.add_columns:
        if a.tab in by_title:
            marks = {c.header: c.personal for c in by_title[a.tab].schema.columns if c.personal}
            out.update({(a.tab, a.first_col + i): marks[h] for i, h in enumerate(a.headers) if h in marks})
    return out


def bind_all(sheets: Mapping[str, list[list[Any]]], schemas: Schemas) -> dict[str, Table]:
    tables = {}
    for key, schema in schemas.tabs.items():
        grid, title = _grid_for(sheets, schema)
        if key == "leads" and grid is None:
            from ..errors import HeaderError

            raise HeaderError(
                f"No tab '{schema.title}' (or {', '.join(schema.aliases[:3])}) in the workbook; "
                f"tabs present: {', '.join(sheets) or 'none'}."
            )
        tables[key] = bind(grid, title, schema, required=(key == "leads"))
    return tables


def parse_log_tab(table: Table, schemas: Schemas) -> pd.DataFrame:
    """Raw log-tab frame → parsed frame (docs/frames.md): dates parsed, status and reason
    labels turned back into keys."""
    f = table.frame
    out = pd.DataFrame(index=f.index)
    out["row"] = f["row"].astype(int) if len(f) else pd.Series(dtype=int)
    status_lookup = schemas.chain.lookup()
    reason_lookup = schemas.reasons.lookup()
    for c in table.schema.columns:
        s = f[c.key]
        if c.type == "date":
            out[c.key] = parse_dates(s)[0]
        elif c.type == "status":
            out[c.key] = lookup(fold_series(_text(s)), status_lookup)
        elif c.type == "reason":
            out[c.key] = lookup(fold_series(_text(s)), reason_lookup)
        else:
            out[c.key] = _text(s)
    return out


def _render(value: Any, col_type: str, schemas: Schemas, language: str) -> Any:
    """A step's value → what goes into the cell (labels for keys, dates as dates)."""
    if value is None or (isinstance(value, float) and value != value):
        return None
    if isinstance(value, pd.Timestamp):
        return None if pd.isna(value) else value.date()
    if isinstance(value, np.generic):
        value = value.item()
    if col_type == "status" and isinstance(value, str):
        try:
            return schemas.chain.get(value).display(language)
        except KeyError:
            return value
    if col_type == "reason" and isinstance(value, str):
        try:
            return schemas.reasons.get(value).display(language)
        except KeyError:
            return value
    return value


def _render_column(values: pd.Series, col_type: str, schemas: Schemas, language: str) -> pd.Series:
    """Vectorised `_render`: each distinct value is rendered once."""
    if pd.api.types.is_datetime64_any_dtype(values):
        return values.dt.date.astype(object).where(values.notna(), None)
    if col_type not in ("status", "reason") and values.dtype == object:
        arr = values.to_numpy(dtype=object)
        if pd.api.types.infer_dtype(arr, skipna=False) == "string":
            return pd.Series(arr, index=values.index, dtype=object)  # text renders as itself
    return map_distinct(values, lambda u: _render(u, col_type, schemas, language))


def append_layout(table: Table) -> tuple[dict[str, int], int, list]:
    """Where `_append` puts each column of a row appended to `table`: (1-based column by
    key, width, the schema columns it adds to an existing tab)."""
    schema = table.schema
    if not table.exists:
        return {c.key: i for i, c in enumerate(schema.columns, start=1)}, len(schema.columns), []
    col_of = dict(table.col_of)
    width = table.width
    missing = [c for c in schema.columns if c.key not in col_of and not c.optional]
    for c in missing:
        width += 1
        col_of[c.key] = width
    return col_of, width, missing


def _append(table: Table, rows: pd.DataFrame, changes: ChangeSet, schemas: Schemas,
            language: str, key: str | None = None) -> int:
    """Queue `rows` (schema keys) for appending to `table`, in the tab's column order."""
    if rows is None or len(rows) == 0:
        return 0
    schema = table.schema
    col_of, width, missing = append_layout(table)
    if not table.exists:
        changes.ensure_tabs.append(EnsureTab(table.title, schema.headers))
    elif missing:
        changes.add_columns.append(AddColumns(table.title, table.width + 1, tuple(c.header for c in missing)))
    types = {c.key: c.type for c in schema.columns}
    empty = [None] * len(rows)  # columns the rows do not fill stay empty cells
    columns: list[list] = [empty] * width
    for k in rows.columns:
        if k in col_of:
            rendered = _render_column(rows[k].reset_index(drop=True), types.get(k, "text"), schemas, language)
            values = rendered.to_numpy(dtype=object, copy=True)  # written to: never a read-only view
            values[pd.isna(values)] = None
            columns[col_of[k] - 1] = values.tolist()
    with _gc_paused():
        out = list(zip(*columns))  # the rows as tuples, built column by column
    key_col = col_of[key] - 1 if key and key in col_of else None
    changes.appends.append(AppendRows(table.title, tuple(out), key_col))
    return len(out)


@dataclass
class _Run:
    """What the steps of one `plan_sync` share; each step reads and extends it."""

    schemas: Schemas
    settings: Settings
    today: dt.date
    changes: ChangeSet
    report: Report
    tables: dict[str, Table]
    leads: pd.DataFrame = field(default_factory=pd.DataFrame)
    validation: Any = None  # validate_leads(...)
    problems: pd.DataFrame = field(default_factory=pd.DataFrame)  # validation problems
    issues: dict[str, pd.Series] = field(default_factory=dict)  # step → issue text per lead row
    w: _Writer | None = None  # the leads tab's writer
    new_ids: pd.Series | None = None
    rules: DedupeRules | None = None
    parsed: dict[str, pd.DataFrame] = field(default_factory=dict)  # log tabs, parsed
    st: Any = None  # the status chain's StatusResult
    lead_keys: pd.DataFrame | None = None  # dedupe's normalised keys of the leads, when reusable
    gone: pd.Series | None = None  # erased(leads["name"]): no step before the issues changes a name
    now: dt.datetime | None = None

    @property
    def lang(self) -> str:
        return self.settings.language

    @property
    def raw(self) -> pd.DataFrame:
        return self.tables["leads"].frame


def plan_sync(sheets: Mapping[str, list[list[Any]]], schemas: Schemas, settings: Settings,
              today: dt.date, now: dt.datetime | None = None) -> SyncPlan:
    """Everything one sync would write, given every tab's raw grid."""
    now = now or dt.datetime.combine(today, dt.time(0, 0))
    t = time.perf_counter()
    tables = bind_all(sheets, schemas)
    r = _Run(schemas, settings, today, ChangeSet(), Report(), tables, now=now)
    r.report.tabs = {k: tb.title for k, tb in tables.items()}
    r.report.rows_read = len(tables["leads"].frame)
    t = r.report.lap("bind", t)
    for name, step in (("validate", _validate), ("ids", _ids), ("dedupe", _dedupe), ("status", _status),
                       ("previous_contacts", _previous_contacts), ("scoring", _scoring), ("issues", _issues_column),
                       ("retention", _retention)):
        step(r)
        t = r.report.lap(name, t)
    if settings.summaries:
        _plan_summaries(sheets, tables, r.parsed, r.st, r.leads, r.report, schemas, settings, today, now,
                        r.changes)
        r.report.lap("summaries", t)
    r.changes.private = private_columns(tables, r.changes)
    return SyncPlan(r.changes, r.report, tables, r.leads)


def _validate(r: _Run) -> None:
    """Validation: the parsed leads, their problems, and the leads tab's writer."""
    v = validate_leads(r.tables["leads"], r.schemas, r.today, r.lang, r.settings.region)
    r.leads, r.validation = v.leads, v
    r.problems = problems = v.problems.frame()
    r.gone = gone = erased(v.leads["name"])
    if gone.any() and len(problems):  # erased rows keep their tombstones unflagged
        r.problems = problems = problems[~problems["index"].isin(v.leads.index[gone])]
    if len(problems):
        r.issues["validate"] = _joined_messages(problems).reindex(r.leads.index).fillna("")
    r.w = _Writer(r.tables["leads"], r.changes)


def _ids(r: _Run) -> None:
    """Blank ids and creation dates filled."""
    leads, v, w, raw, changes = r.leads, r.validation, r.w, r.raw, r.changes
    r.new_ids = new_ids = assign_ids(leads["lead_id"], r.settings.id_prefix, r.settings.id_digits)
    blank_id = leads["lead_id"].eq("")
    r.report.ids_assigned = int(blank_id.sum())
    texts = v.texts
    changes.updates += _updates(w, "lead_id", new_ids, blank_id, raw, new_ids, old_text=texts.get("lead_id"))
    leads["lead_id"] = new_ids
    today_ts = pd.Timestamp(r.today).as_unit("ns")
    created = leads["created_at"].where(~v.created_filled, today_ts)
    changes.updates += _updates(w, "created_at", created, v.created_filled, raw, new_ids, "date")
    leads["created_at"] = created
    # New leads typed without an owner get one, and a first-call date (docs/intake.md).
    from .intake import plan_owners

    plan_owners(r.tables, leads, blank_id, w, changes, r.schemas, r.settings.assignment, r.today, r.now, r.lang)


def _dedupe(r: _Run) -> None:
    """Duplicates marked in `Trùng với`; the log tabs parsed for the steps after."""
    leads, report = r.leads, r.report
    r.rules = rules = DedupeRules.from_dict(r.schemas.dedupe) if r.schemas.dedupe else None
    r.parsed = {k: parse_log_tab(r.tables[k], r.schemas) for k in LOG_TABS}
    if rules is not None and len(leads):
        # Keys normalised once by validation are reused, not parsed again.
        records = leads[["lead_id", "name", "company", "email", "phone", "owner", "created_at",
                         "duplicate_of", "row", "phone_e164", "email_norm"]]
        gone = r.gone
        if gone.any():  # an erased row is no evidence, and keeps its `Trùng với`
            records = records.copy()
            records.loc[gone, ["name", "company", "email", "phone"]] = ""
            records.loc[gone, ["phone_e164", "email_norm"]] = None
        # The keys are normalised once: for the duplicates and, when no row is erased (the
        # same records then), for the previous contacts.
        keys = key_columns(records, rules)
        r.lead_keys = None if gone.any() else keys
        dd = find_duplicates(records.reset_index(drop=True), rules, r.lang, keys=keys.copy())
        res = dd.frame.set_index(leads.index)
        if gone.any():
            res = res.copy()
            res.loc[gone, "duplicate_of"] = leads.loc[gone, "duplicate_of"]
        report.duplicates, report.clusters, report.collisions = dd.duplicates, dd.clusters, dd.collisions
        r.changes.updates += _updates(r.w, "duplicate_of", as_text(res["duplicate_of"]), None, r.raw, r.new_ids,
                                      old_text=r.validation.texts.get("duplicate_of"))
        leads["duplicate_of"] = as_text(res["duplicate_of"])
        r.issues["dedupe"] = _join(res["issue"], res["collision_issue"])
        leads["cluster"] = res["cluster"]
        leads["collision"] = res["collision"]


def _status(r: _Run) -> None:
    """The status chain: status and recontact cells, its issues, and the log rows to append."""
    from .status import apply_status_chain

    leads, schemas, lang, w, raw, new_ids, changes, report = (
        r.leads, r.schemas, r.lang, r.w, r.raw, r.new_ids, r.changes, r.report)
    parsed, tables = r.parsed, r.tables
    r.st = st = apply_status_chain(leads, parsed["history"], parsed["rejections"], parsed["nurture"],
                                   schemas, r.today, lang)
    moved = st.status.ne(leads["status"]) & st.status.notna()
    if moved.any():
        labels = map_distinct(st.status, lambda k: schemas.chain.get(k).display(lang) if k else "", "")
        changes.updates += _updates(w, "status", labels, moved, raw, new_ids,
                                    old_text=r.validation.texts.get("status"))
        leads.loc[moved, "status"] = st.status[moved]
    rec = pd.to_datetime(st.recontact_on, errors="coerce")
    has_rec = rec.notna()
    clear = st.recontact_clear if st.recontact_clear is not None else pd.Series(False, index=leads.index)
    clear = clear.reindex(leads.index).fillna(False).astype(bool) & ~has_rec
    changes.updates += _updates(w, "recontact_on", rec, has_rec | clear, raw, new_ids, "date")
    leads["recontact_on"] = leads["recontact_on"].where(~has_rec, rec).where(~clear, pd.NaT)
    st_issues = st.issues
    if len(st_issues) and not isinstance(st_issues.iloc[0], str):
        st_issues = pd.Series([("; ".join(x) if x else "") if isinstance(x, (list, tuple)) else (x or "")
                               for x in st_issues.to_numpy(dtype=object).tolist()],
                              index=st_issues.index, dtype=object)
    r.issues["status"] = st_issues.reindex(leads.index).fillna("")
    st.issues = r.issues["status"]  # the texts, not a list per lead kept to the plan's end
    report.transitions = int(getattr(st, "counts", {}).get("transitions", len(st.history_rows)))
    report.counts.update(getattr(st, "counts", {}) or {})

    appended = {
        "history": _append(tables["history"], st.history_rows, changes, schemas, lang),
        "rejections": _append(tables["rejections"], st.rejection_rows, changes, schemas, lang, key="event_key"),
        "nurture": _append(tables["nurture"], st.nurture_rows, changes, schemas, lang),
    }
    report.rows_appended = {k: n for k, n in appended.items() if n}


def _previous_contacts(r: _Run) -> None:
    """Leads already rejected or in nurture under another id; then the nurture cells to write."""
    st, schemas, lang, leads = r.st, r.schemas, r.lang, r.leads
    # A new lead that matches someone already rejected or in nurture — including the rows
    # logged just now, so the next run has nothing new to say.
    if r.rules is not None and len(leads):
        logged = {k: _reason_labels(_with_new(r.parsed[k], rows), schemas, lang)
                  for k, rows in (("rejections", st.rejection_rows), ("nurture", st.nurture_rows))}
        prev = match_previous_contacts(leads, logged["rejections"], logged["nurture"], r.rules, lang,
                                       lead_keys=r.lead_keys)
        r.issues["previous"] = prev.reindex(leads.index).fillna("")
    r.lead_keys = None  # no later step reads the normalised names: freed before the summaries
    nu = st.nurture_updates
    if nu is not None and len(nu):
        _nurture_cells(r.tables["nurture"], r.parsed["nurture"]["lead_id"], nu, schemas, lang, r.changes)


def _scoring(r: _Run) -> None:
    """`Điểm`, `Hạng`, `Lý do điểm`, and the deal columns parsed for the forecast (docs/scoring.md)."""
    from .scoring import SCORE_COLUMNS, score_frame

    out = score_frame(r.leads, r.raw, r.schemas, r.today, r.lang)
    if out is None:
        return
    for c in r.tables["leads"].schema.columns:  # computed columns in the schema's order
        if c.writer in ("sync", "both") and not c.optional:
            r.w.column(c.key)
    for key in SCORE_COLUMNS:
        r.changes.updates += _updates(r.w, key, out[key], None, r.raw, r.new_ids)
    for c in out.columns:
        r.leads[c] = out[c]


def _nurture_cells(nt: Table, nids: pd.Series, nu: pd.DataFrame, schemas: Schemas, lang: str,
                   changes: ChangeSet) -> None:
    """Cell updates on existing nurture rows (`nu`: same index, None = keep)."""
    nw = _Writer(nt, changes)
    nraw = nt.frame
    for key in nu.columns:
        col_type = nt.schema.column(key).type
        full = nraw[key].copy() if key in nraw else pd.Series(None, index=nraw.index, dtype=object)
        mask = pd.Series(False, index=nraw.index)
        mask[nu.index] = nu[key].notna()
        new = pd.Series(None, index=nraw.index, dtype=object)
        vals = map_distinct(nu[key], lambda x, t=col_type: _render(x, t, schemas, lang))
        new[nu.index] = vals
        kind = "date" if col_type == "date" else "text"
        if kind == "date":
            new = pd.to_datetime(new, errors="coerce")
        else:
            new = new.where(mask, full).map(lambda x: "" if x is None else str(x))
        changes.updates += _updates(nw, key, new, mask, nraw, nids, kind)
    nw.flush()


def _issues_column(r: _Run) -> None:
    """`Lỗi dữ liệu`: every step's issues joined; the computed columns ensured; `check`'s table."""
    leads, issues, w, leads_t = r.leads, r.issues, r.w, r.tables["leads"]
    joined = _join(*[issues[k] for k in ("validate", "dedupe", "previous", "status") if k in issues])
    joined = joined.reindex(leads.index).fillna("").where(~r.gone, "")
    r.changes.updates += _updates(w, "issues", joined, None, r.raw, r.new_ids,
                                  old_text=r.validation.texts.get("issues"))
    leads["issues"] = joined
    r.report.rows_with_issues = int(joined.ne("").sum())
    # The computed columns exist even while nothing needs them, so people see them.
    for c in leads_t.schema.columns:
        if c.writer in ("sync", "both") and not c.optional:
            w.column(c.key)
    others = [issues[k] for k in ("dedupe", "previous", "status") if k in issues]
    other = (_join(*others).reindex(leads.index).fillna("").where(~r.gone, "") if others
             else pd.Series("", index=leads.index, dtype=object))
    r.report.problems = _problem_table(r.problems, leads, other, leads_t.title, w.column("issues"), r.schemas)
    if len(r.problems):
        r.report.validation_kinds = r.problems.groupby("kind")["index"].nunique().to_dict()
    _leave_uncalculated_rows(r.changes, r.problems, leads, leads_t.title, w.column("issues"), r.report,
                             r.tables["history"].title)
    w.flush()


def _retention(r: _Run) -> None:
    """Closed leads past the retention period erased (off by default; docs/privacy.md)."""
    if r.settings.retention_days:
        from .privacy import plan_retention

        plan_retention(r.tables, r.leads, r.parsed["history"], r.schemas, r.settings, r.today, r.now, r.changes)


def _leave_uncalculated_rows(changes: ChangeSet, problems: pd.DataFrame, leads: pd.DataFrame, tab: str,
                             issues_col: int, report: Report, history_tab: str) -> None:
    """A row holding a formula with no cached result was read in part: only its issue is
    written there, nothing the sync would derive from what it could not read."""
    if not len(problems) or not problems["kind"].eq("formula_uncalculated").any():
        return
    idx = problems.loc[problems["kind"].eq("formula_uncalculated"), "index"]
    rows = set(leads.loc[idx, "row"].astype(int).tolist())
    changes.updates = [u for u in changes.updates
                       if not (u.tab == tab and u.row in rows and u.col != issues_col)]
    # Nor a log row about them (history, rejection, nurture): the id given to such a row is
    # not written, and the next sync, reading the row whole, logs what it finds then.
    ids = {i for i in leads.loc[idx, "lead_id"].astype(str) if i and i != "nan"}
    if ids:
        kept = [replace(a, rows=tuple(row for row in a.rows if not ids.intersection(map(str, row))))
                for a in changes.appends]
        report.transitions -= sum(len(a.rows) - len(k.rows) for a, k in zip(changes.appends, kept)
                                  if a.tab == history_tab)
        changes.appends = kept


def _joined_messages(problems: pd.DataFrame) -> pd.Series:
    """Each row's problem messages joined by '; ' (each once, in order), by row index: a
    row with one message (most) takes it as it is; only the others are joined."""
    one = ~problems["index"].duplicated(keep=False)
    single = pd.Series(problems.loc[one, "message"].to_numpy(dtype=object), index=problems.loc[one, "index"].to_numpy())
    many = problems[~one]
    if len(many):
        single = pd.concat([single, many.groupby("index")["message"].agg(_join_unique)])
    return single.sort_index()


def _join_unique(messages: pd.Series) -> str:
    """One row's messages, each once (three uncalculated formulas are one issue)."""
    return "; ".join(dict.fromkeys(messages))


def _join(*parts: pd.Series) -> pd.Series:
    """Join issue texts column-wise with '; ', skipping blanks (vectorised)."""
    if not parts:
        return pd.Series(dtype=object)
    out = as_text(parts[0]).to_numpy()
    for p in parts[1:]:
        q = as_text(p.reindex(parts[0].index)).to_numpy()
        both = (out != "") & (q != "")
        out = np.where(both, out + "; " + q, np.where(out == "", q, out))
    return pd.Series(out, index=parts[0].index, dtype=object)


def _problem_table(validation: pd.DataFrame, leads: pd.DataFrame, other: pd.Series, tab: str,
                   issues_col: int, schemas: Schemas | None = None) -> pd.DataFrame:
    """One line per problem for `check`: the validation problems with their exact cells,
    then each issue text of the other steps (`other`: dedupe's, the status chain's, joined
    per row) with its row's `Lỗi dữ liệu` cell and its kind, as the overview counts it."""
    from ..a1 import cell_name
    from .summary import issue_kind_of

    rows = []
    if len(validation):
        v = validation.copy()
        v["row"] = leads.loc[v["index"], "row"].to_numpy()
        rows.append(v[["row", "cell", "kind", "message"]])
    other = other[other.ne("")]
    if len(other):
        parts = other.str.split("; ").explode()
        parts = parts[parts.ne("")]
        at = leads.loc[parts.index, "row"].to_numpy()
        rows.append(pd.DataFrame({
            "row": at,
            "cell": [cell_name(tab, r, issues_col) for r in at],
            "kind": issue_kind_of(parts, schemas).to_numpy(dtype=object),
            "message": parts.to_numpy(dtype=object),
        }))
    if not rows:
        return pd.DataFrame(columns=["row", "cell", "kind", "message"])
    out = pd.concat(rows, ignore_index=True).sort_values(["row", "cell"], kind="stable").reset_index(drop=True)
    return out.astype({"cell": object, "kind": object, "message": object})  # as on pandas 2, not `str`


def _plan_summaries(sheets, tables, parsed, st, leads, report, schemas, settings, today, now, changes) -> None:
    from .summary import layout_matches
    from .summary_tabs import SUMMARY_TABS, SummaryInputs, summary_layouts

    history = _with_new(parsed["history"], st.history_rows)
    rejections = _with_new(parsed["rejections"], st.rejection_rows)
    nurture = _with_new(_with_updates(parsed["nurture"], st.nurture_updates), st.nurture_rows)
    quality = _quality(report, leads)
    layouts: list[SheetLayout] = summary_layouts(SummaryInputs(
        leads, history, rejections, nurture, quality, schemas, today, now, settings.language, tuple(sheets),
        sheets))
    report.tabs.update({key: layout.tab for key, layout in zip(SUMMARY_TABS, layouts)})
    for layout in layouts:
        existing = None
        for title, grid in sheets.items():
            if _fold_eq(title, layout.tab):
                existing = grid
        if existing is None or not layout_matches(existing, layout):
            changes.replacements.append(layout)
    if settings.open_on:
        changes.open_on = report.tabs.get(settings.open_on)


def _with_updates(frame: pd.DataFrame, updates: pd.DataFrame | None) -> pd.DataFrame:
    """`frame` as this run leaves it: `updates` (same index, None = keep) applied, so the
    summaries count what the run itself changed (a nurture row it closes, say)."""
    if updates is None or not len(updates):
        return frame
    out = frame.copy()
    for key in updates.columns:
        set_ = updates[key].notna()
        if not set_.any():
            continue
        vals = updates.loc[set_, key]
        if key in out and pd.api.types.is_datetime64_any_dtype(out[key]):
            vals = pd.to_datetime(vals, errors="coerce")  # keep the column's dates
        elif key not in out or out[key].dtype != object:
            out[key] = (out[key] if key in out else pd.Series(None, index=out.index)).astype(object)
        out.loc[vals.index, key] = vals
    return out


def _fold_eq(a: str, b: str) -> bool:
    return fold(a) == fold(b)


def _with_new(frame: pd.DataFrame, new: pd.DataFrame | None) -> pd.DataFrame:
    if new is None or not len(new):
        return frame
    add = new.copy()
    for c in add.columns:
        if c in frame and pd.api.types.is_datetime64_any_dtype(frame[c]):
            add[c] = to_dates(add[c])
    return pd.concat([frame, add], ignore_index=True)


def _reason_labels(frame: pd.DataFrame, schemas: Schemas, language: str) -> pd.DataFrame:
    """Reason keys → labels, for texts that quote the reason."""
    if "reason_category" not in frame or not len(frame):
        return frame
    out = frame.copy()
    out["reason_category"] = map_distinct(
        out["reason_category"], lambda k: _render(k, "reason", schemas, language) if isinstance(k, str) else k)
    return out


def _quality(report: Report, leads: pd.DataFrame) -> dict[str, Any]:
    return {
        "issues_by_kind": dict(report.validation_kinds),
        "rows_with_issues": report.rows_with_issues,
        "duplicates": report.duplicates,
        "clusters": report.clusters,
        "collisions": report.collisions,
    }
