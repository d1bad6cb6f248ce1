"""Planning an import (pure): canonical rows from `sheetcrm.intake` + the workbook's tabs
→ a change set (leads appended, intake log rows, due dates, nurture rows reactivated, the
team's cursor) and one outcome per input row. docs/intake.md describes the rules.

Nothing twice: a row whose event key (file digest + line) is already in `Nhập liệu` was
imported before; a lead is matched by the channel's lead id (the log maps it to the lead
it became), else by normalised phone or email against the leads tab and the rows before
it. The intake rows go before the lead rows in the change set, so an import cut off
between the two leaves log rows whose leads the rerun appends under the same ids.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd

from ..changes import AddColumns, ChangeSet
from ..schema import Schemas
from ..text import as_text, fold, fold_series, lookup, map_distinct, strip_text
from .assign import AssignSettings, assign, cursor_text, first_contact_due, open_counts, parse_team
from .dates import parse_dates
from .normalize import normalize_email, normalize_phone
from .pipeline import Settings, _append, _updates, _Writer, bind_all, private_columns
from .privacy import refusals
from .schedule import WorkCalendar
from .tables import Table, bind
from .validate import assign_ids, validate_leads

OUTCOMES = {
    "new": {"vi": "mới", "en": "new"},
    "duplicate": {"vi": "trùng", "en": "duplicate"},
    "returning": {"vi": "quay lại", "en": "returning"},
    "invalid": {"vi": "lỗi", "en": "invalid"},
    "skipped": {"vi": "bỏ qua", "en": "skipped"},
    # refused (docs/privacy.md): the person asked to be erased, or is marked do-not-contact
    "erased": {"vi": "đã yêu cầu xoá", "en": "erased on request"},
    "do_not_contact": {"vi": "không liên hệ", "en": "do not contact"},
    # an unsubscribe form's row: the lead it names gets no more nurture email
    # (docs/nurture-automation.md)
    "unsubscribed": {"vi": "hủy nhận email", "en": "unsubscribed"},
}
NOT_FOUND = {"vi": "không tìm thấy khách hàng", "en": "no such lead"}
CONSENT_LABELS = {True: {"vi": "có", "en": "yes"}, False: {"vi": "không", "en": "no"}}
REACTIVATED = {"vi": "Đã kích hoạt lại", "en": "Reactivated"}
ACTIVE_NURTURE = {"", "dang nuoi duong", "active"}
PERSON = ("name", "company", "email", "phone", "owner", "product", "status", "notes")
ROW_KEY = "#row:"


@dataclass
class ImportBatch:
    """One input table, read and turned into canonical rows."""

    file: str  # what the log shows: the file name (and tab)
    digest: str  # of the file's bytes: the same file gives the same event keys
    kind: str  # the source's name (facebook, google-forms, csv, map)
    rows: pd.DataFrame  # canonical rows (sheetcrm.intake.sources.CANONICAL)


@dataclass
class ImportPlan:
    changes: ChangeSet
    outcomes: pd.DataFrame  # file, line, outcome (key), lead_id, detail, logged (bool)
    counts: dict[str, int] = field(default_factory=dict)
    tabs: dict[str, str] = field(default_factory=dict)


def _rows(batches: Sequence[ImportBatch]) -> pd.DataFrame:
    parts = []
    for b in batches:
        r = b.rows.copy()
        r["file"], r["kind"] = b.file, b.kind
        r["event_key"] = "imp-" + b.digest[:16] + "-" + r["line"].astype(str)
        parts.append(r)
    rows = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()
    for k in PERSON:  # the sources give stripped text
        rows[k] = as_text(rows[k])
    return rows


def _existing(leads: Table, schemas: Schemas, region: str) -> pd.DataFrame:
    f = leads.frame
    # A row typed today has no id until the next sync: it is named by its sheet row.
    ids = as_text(f["lead_id"]).str.strip()
    ids = ids.where(ids.ne(""), ROW_KEY + f["row"].astype(str))
    dup = as_text(f["duplicate_of"]).str.strip()
    return pd.DataFrame({
        "lead_id": ids,
        "survivor": dup.where(dup.ne("") & dup.isin(set(ids)), ids),
        "status": lookup(fold_series(f["status"]), schemas.chain.lookup()),
        "owner": as_text(f["owner"]).str.strip(),
        "phone_e164": normalize_phone(f["phone"], region),
        "email_norm": normalize_email(f["email"]),
    }, index=f.index)


def _first_index(keys: pd.Series, ids: pd.Series) -> pd.Series:
    """key → the survivor id of the first row holding it (blank keys left out), as a
    Series for `Series.map` (a hash join, not a Python loop)."""
    ok = (keys.notna() & keys.astype(object).ne("")).to_numpy(bool)
    s = pd.Series(ids.to_numpy(dtype=object)[ok], index=keys.to_numpy(dtype=object)[ok], dtype=object)
    return s[~s.index.duplicated(keep="first")]


def _match(rows: pd.DataFrame, ex: pd.DataFrame, ext_map: pd.Series) -> pd.Series:
    """The existing lead id each row is, '' when none: channel id first, then phone, email."""
    survivor = _first_index(ex["lead_id"], ex["survivor"])
    out = rows["external_id"].map(ext_map).map(survivor)
    for key in ("phone_e164", "email_norm"):
        hit = rows[key].map(_first_index(ex[key], ex["survivor"]))
        out = out.where(out.notna(), hit)
    return as_text(out.where(out.isin(set(ex["lead_id"])), None))


def _first_in_batch(rows: pd.DataFrame, pending: pd.Series) -> pd.Series:
    """For rows not matched to the sheet: the position of the first row of the same person
    in this import (itself when it is the first), by channel id, phone or email."""
    pos = pd.Series(np.arange(len(rows)), index=rows.index)
    rep = pos.copy()
    for key in ("external_id", "phone_e164", "email_norm"):
        k = rows[key].where(pending & rows[key].notna() & rows[key].astype(str).ne(""))
        first = pos.groupby(k).transform("min")
        rep = rep.where(first.isna(), np.minimum(rep, first.fillna(len(rows))))
    # one more pass: the first row of the first row
    return pd.Series(rep.to_numpy()[rep.to_numpy().astype(int)], index=rows.index).astype(int)


def _log_state(log: Table) -> tuple[pd.DataFrame, pd.Series]:
    """The intake log's rows (one per event key) and channel id → lead id."""
    f = log.frame
    frame = pd.DataFrame({k: as_text(f[k]).str.strip() for k in ("event_key", "external_id", "outcome", "lead_id")})
    ok = frame["lead_id"].ne("")
    ext_map = _first_index(frame.loc[ok, "external_id"], frame.loc[ok, "lead_id"])
    return frame.drop_duplicates("event_key", keep="first"), ext_map


def _issues(new: pd.DataFrame, leads: Table, schemas: Schemas, today: dt.date, lang: str, region: str) -> pd.Series:
    """The problems validation finds on the rows to append, as `Lỗi dữ liệu` text."""
    schema = leads.schema
    grid = [list(schema.headers)] + new.reindex(columns=list(schema.keys)).astype(object) \
        .where(lambda d: d.notna(), None).values.tolist()
    table = bind(grid, leads.title, schema, required=False)
    v = validate_leads(table, schemas, today, lang, region)
    p = v.problems.frame()
    if not len(p):
        return pd.Series("", index=new.index, dtype=object)
    joined = p.groupby("index")["message"].agg("; ".join)
    return pd.Series(joined.reindex(range(len(new))).fillna("").to_numpy(), index=new.index, dtype=object)


def _label(kind: str, lang: str) -> str:
    return OUTCOMES[kind].get(lang, OUTCOMES[kind]["vi"])


def team_rows(tables: Mapping[str, Table], owners: pd.Series) -> pd.DataFrame:
    """The team tab's rows; when it is missing or empty, the owners found in the leads tab,
    each active and without an email (the rows `hand_out` appends)."""
    team = tables["team"]
    if team.exists and len(team.frame):
        return team.frame
    names = strip_text(owners)
    names = names[names.ne("")]
    keys = map_distinct(names, fold, "")
    listed = names[~keys.duplicated()].tolist()
    return pd.DataFrame({"name": pd.Series(listed, dtype=object), "active": "có"})


def hand_out(tables: Mapping[str, Table], changes: ChangeSet, products: pd.Series, leads: pd.DataFrame,
             schemas: Schemas, rule: str, today: dt.date, lang: str) -> pd.Series:
    """Owners for leads whose owner is blank (`products`: their products), the team tab's
    cursor advanced, the tab created listing the leads' owners when it is missing."""
    team_t = tables["team"]
    frame = team_rows(tables, leads["owner"])
    listed_now = not (team_t.exists and len(team_t.frame))
    team = parse_team(frame, today)
    chain = schemas.chain
    opened = {s.key for s in chain.active if s.kind == "active"}
    owners, moved = assign(products, team, open_counts(leads["owner"], leads["status"], opened), rule)
    # A copy: without copy-on-write (pandas 2) writing into a view would change the frame
    # the update is diffed against, and nothing would be written.
    cursor = pd.Series(frame.get("last_turn", pd.Series("", index=frame.index)), index=frame.index,
                       dtype=object).copy()
    for i, r in moved.iterrows():
        cursor[i] = cursor_text(int(r["turn"]), today, int(r["count"]))
    if listed_now:
        if len(frame):
            rows = frame.assign(last_turn=cursor)
            _append(team_t, rows, changes, schemas, lang)
        elif not team_t.exists:
            _append(team_t, pd.DataFrame({"name": []}), changes, schemas, lang)
    elif len(moved):
        w = _Writer(team_t, changes)
        mask = pd.Series(team_t.frame.index.isin(moved.index), index=team_t.frame.index)
        changes.updates += _updates(w, "last_turn", cursor.reindex(team_t.frame.index), mask, team_t.frame,
                                    pd.Series([None] * len(team_t.frame), index=team_t.frame.index))
        w.flush()
    return owners


def plan_import(sheets: Mapping[str, list[list[Any]]], batches: Sequence[ImportBatch], schemas: Schemas,
                settings: Settings, assignment: AssignSettings, today: dt.date, now: dt.datetime) -> ImportPlan:
    """Everything an import of `batches` would write into the workbook `sheets`."""
    lang = settings.language
    tables = bind_all(sheets, schemas)
    changes = ChangeSet()
    rows = _rows(batches)
    consent_given = bool(len(rows)) and "email_consent" in tables["leads"].schema.keys and bool(
        rows["consent"].ne("").any())
    tables["leads"] = _complete(tables["leads"], changes, ("email_consent",) if consent_given else ())
    leads_t, log_t = tables["leads"], tables["intake"]
    if not len(rows):
        return ImportPlan(changes, pd.DataFrame(columns=["file", "line", "outcome", "lead_id", "detail"]))
    rows["phone_e164"] = normalize_phone(rows["phone"], settings.region)
    rows["email_norm"] = normalize_email(rows["email"])
    ex = _existing(leads_t, schemas, settings.region)
    logged, ext_map = _log_state(log_t)
    rows["outcome"], rows["lead_id"], rows["detail"] = "", "", ""

    prior = logged.set_index("event_key")
    seen = rows["event_key"].isin(prior.index)
    rows["logged"] = seen
    rows.loc[seen, "lead_id"] = rows.loc[seen, "event_key"].map(prior["lead_id"])
    rows.loc[seen, "outcome"] = rows.loc[seen, "event_key"].map(prior["outcome"])
    unsub = rows["kind"].eq("unsubscribe") & ~seen
    blank = rows[list(PERSON)].eq("").all(axis=1) & ~seen & ~unsub
    rows.loc[blank, "outcome"] = "skipped"
    _unsubscribes(rows, unsub, ex, ext_map, lang)
    # Logged as new by an import cut off before its leads were written: append them now.
    new_words = {fold(_label(k, x)) for k in ("new", "invalid") for x in ("vi", "en")}
    redo = seen & map_distinct(rows["outcome"], fold, "").isin(new_words) & ~rows["lead_id"].isin(set(ex["lead_id"]))

    todo = ~seen & ~blank & ~unsub
    match = _match(rows[todo], ex, ext_map).reindex(rows.index).fillna("")
    refused = refusals(rows, tables, match).where(todo, "")
    rows.loc[refused.ne(""), "outcome"] = refused[refused.ne("")]
    todo &= refused.eq("")
    match = match.where(todo, "")
    closed = {s.key for s in schemas.chain.statuses if s.logs_rejection} | {schemas.chain.nurture,
                                                                            schemas.chain.unreachable}
    status_of = dict(zip(ex["lead_id"], ex["status"]))
    hit = todo & match.ne("")
    rows.loc[hit, "lead_id"] = match[hit]
    back = hit & match.map(lambda i: status_of.get(i) in closed)
    rows.loc[hit, "outcome"] = np.where(back[hit], "returning", "duplicate")
    by_row = hit & rows["lead_id"].str.startswith(ROW_KEY)
    rows.loc[by_row, "detail"] = leads_t.title + "!" + rows.loc[by_row, "lead_id"].str[len(ROW_KEY):]

    pending = todo & ~hit
    first = _first_in_batch(rows, pending)
    pos = np.arange(len(rows))
    fresh = (pending & (first.to_numpy() == pos)) | redo
    again = pending & ~fresh
    _new_ids(rows, fresh, redo, ex, log_t, settings)
    rows.loc[again, "lead_id"] = rows["lead_id"].to_numpy()[first[again].to_numpy()]
    rows.loc[again, "outcome"] = "duplicate"

    cal = WorkCalendar(schemas.reasons.extra_days_off, range(today.year - 1, today.year + 3))
    when = rows["submitted_at"].where(rows["submitted_at"].notna(), pd.Timestamp(now))
    rows["due"] = first_contact_due(when, cal, assignment.cutoff)
    new = _lead_rows(rows[fresh], leads_t, schemas, today, lang, settings.region)
    rows.loc[fresh & ~redo, "outcome"] = np.where(new["issues"].ne("").to_numpy(), "invalid", "new")[
        ~redo[fresh].to_numpy()]
    rows.loc[fresh, "detail"] = new["issues"].to_numpy()
    _assign_new(tables, changes, rows, new, ex, schemas, assignment, today, lang)
    _returning(tables, changes, rows, schemas, lang)
    return _finish(tables, changes, rows, new, schemas, lang, now)


def _unsubscribes(rows: pd.DataFrame, unsub: pd.Series, ex: pd.DataFrame, ext_map: pd.Series, lang: str) -> None:
    """Rows of an unsubscribe form: outcome `hủy nhận email` with the lead each names (by
    lead id, phone or email), or `bỏ qua` when the answer says no. No lead is added."""
    if not unsub.any():
        return
    from .nurture_touch import consent_of

    part = rows[unsub]
    match = _match(part, ex, ext_map)
    ref = as_text(part["lead_ref"]).str.strip()
    survivor = dict(zip(ex["lead_id"], ex["survivor"]))
    by_ref = ref.map(lambda r: survivor.get(r, ""))
    match = by_ref.where(by_ref.ne(""), match)
    said_no = consent_of(part["unsubscribe"]).eq(False) & part["unsubscribe"].ne("")
    rows.loc[part.index, "outcome"] = np.where(said_no, "skipped", "unsubscribed")
    found = ~said_no & match.ne("") & ~match.str.startswith(ROW_KEY)
    rows.loc[part.index[found.to_numpy()], "lead_id"] = match[found].to_numpy()
    lost = part.index[(~said_no & ~found).to_numpy()]
    rows.loc[lost, "detail"] = NOT_FOUND.get(lang, NOT_FOUND["vi"])


def _complete(table: Table, changes: ChangeSet, also: tuple[str, ...] = ()) -> Table:
    """`table` with its missing columns added at the end, so every writer of this plan
    (the appended rows, the cell updates) uses the same columns; optional columns in
    `also` too (the consent column when an import carries consent)."""
    missing = [c for c in table.schema.columns if c.key not in table.col_of and (not c.optional or c.key in also)]
    if not table.exists or not missing:
        return table
    changes.add_columns.append(AddColumns(table.title, table.width + 1, tuple(c.header for c in missing)))
    col_of = dict(table.col_of)
    col_of.update({c.key: table.width + 1 + i for i, c in enumerate(missing)})
    return replace(table, header=[*table.header, *(c.header for c in missing)], col_of=col_of,
                   missing=[c for c in table.missing if c.optional and c.key not in also])


def _new_ids(rows: pd.DataFrame, fresh: pd.Series, redo: pd.Series, ex: pd.DataFrame, log: Table,
             settings: Settings) -> None:
    """Ids for the leads to append after every id in the sheet or in the intake log."""
    want = fresh & ~redo
    taken = pd.concat([ex["lead_id"], as_text(log.frame["lead_id"]).str.strip()], ignore_index=True)
    n = int(want.sum())
    if n:
        ids = assign_ids(pd.concat([taken, pd.Series([""] * n, dtype=object)], ignore_index=True),
                         settings.id_prefix, settings.id_digits)
        rows.loc[want, "lead_id"] = ids.iloc[len(taken):].to_numpy()


def _py_datetimes(stamps: pd.Series) -> np.ndarray:
    """datetime.datetime objects (None for NaT), the same on pandas 2 and 3."""
    return stamps.to_numpy(dtype="datetime64[us]").astype(object)


def _lead_rows(fresh: pd.DataFrame, leads: Table, schemas: Schemas, today: dt.date, lang: str,
               region: str) -> pd.DataFrame:
    """The leads tab's cells for the rows to append (schema keys), with their issues."""
    created = fresh["submitted_at"].dt.normalize()  # for validation: a date
    if fresh["created_raw"].ne("").any():
        typed, _ = parse_dates(fresh["created_raw"])
        created = created.where(created.notna(), typed)
    created = created.where(created.notna(), pd.Timestamp(today)).astype("datetime64[ns]")
    status = fresh["status"].where(fresh["status"].ne(""), schemas.chain.initial)
    new = pd.DataFrame({k: fresh[k] for k in ("lead_id", "name", "company", "email", "phone", "owner",
                                              "product", "source", "notes")}, index=fresh.index)
    new["status"] = status
    if "consent" in fresh:
        from .nurture_touch import consent_of

        agreed = consent_of(fresh["consent"])
        new["email_consent"] = agreed.map(lambda v: CONSENT_LABELS[v].get(lang, CONSENT_LABELS[v]["vi"])
                                          if isinstance(v, bool) else "")
    # The submission's date and time (datetime objects: a Timestamp would be written as a
    # date only); a typed or today's date otherwise.
    stamped = fresh["submitted_at"].notna()
    new["created_at"] = pd.Series(created.dt.date, index=fresh.index, dtype=object).where(
        ~stamped, pd.Series(_py_datetimes(fresh["submitted_at"]), index=fresh.index, dtype=object))
    new["recontact_on"] = fresh["due"]
    shown = new.assign(status=status.map(lambda s: _status_label(s, schemas, lang)),
                       created_at=created.dt.date.astype(object), recontact_on=None)
    new["issues"] = _issues(shown, leads, schemas, today, lang, region)
    return new


def _status_label(value: str, schemas: Schemas, lang: str) -> str:
    try:
        return schemas.chain.get(value).display(lang)
    except KeyError:
        return value


def _assign_new(tables: Mapping[str, Table], changes: ChangeSet, rows: pd.DataFrame, new: pd.DataFrame,
                ex: pd.DataFrame, schemas: Schemas, assignment: AssignSettings, today: dt.date, lang: str) -> None:
    """Owners for the new leads that have none (a file's own owner column is kept)."""
    need = new["owner"].eq("")
    everyone = pd.concat([ex[["owner", "status"]], new[["owner", "status"]]], ignore_index=True)
    owners = hand_out(tables, changes, new.loc[need, "product"], everyone, schemas, assignment.rule, today, lang)
    new.loc[need, "owner"] = owners.to_numpy()
    late = need & new["owner"].eq("")
    if late.any():
        note = {"vi": "chưa giao: không còn nhân viên nhận được hôm nay",
                "en": "not assigned: no rep can take a lead today"}[lang if lang == "en" else "vi"]
        rows.loc[late[late].index, "detail"] = (rows.loc[late[late].index, "detail"] + "; " + note).str.strip("; ")


def _returning(tables: Mapping[str, Table], changes: ChangeSet, rows: pd.DataFrame, schemas: Schemas,
               lang: str) -> None:
    """Returning people: their lead's `Ngày liên hệ lại` becomes the first-contact due date
    and their active nurture row is marked reactivated. Person cells stay as they are."""
    back = rows[rows["outcome"].eq("returning")]
    if not len(back):
        return
    due = back.groupby("lead_id")["due"].min()
    leads = tables["leads"]
    raw = leads.frame
    ids = as_text(raw["lead_id"]).str.strip()
    new_rec = pd.to_datetime(ids.map(due), errors="coerce")
    w = _Writer(leads, changes)
    changes.updates += _updates(w, "recontact_on", new_rec, new_rec.notna(), raw, ids, "date")
    w.flush()
    nt = tables["nurture"]
    if nt.exists and len(nt.frame):
        n_ids = as_text(nt.frame["lead_id"]).str.strip()
        state = fold_series(nt.frame["state"])
        mask = n_ids.isin(set(due.index)) & state.isin(ACTIVE_NURTURE)
        nw = _Writer(nt, changes)
        label = REACTIVATED.get(lang, REACTIVATED["vi"])
        changes.updates += _updates(nw, "state", pd.Series(label, index=nt.frame.index, dtype=object),
                                    mask, nt.frame, n_ids)
        nw.flush()


def _finish(tables: Mapping[str, Table], changes: ChangeSet, rows: pd.DataFrame, new: pd.DataFrame,
            schemas: Schemas, lang: str, now: dt.datetime) -> ImportPlan:
    """Queue the intake rows, then the leads; the outcomes and counts."""
    todo = rows[~rows["logged"]]
    when = now.replace(microsecond=0)
    log = pd.DataFrame({
        "event_key": todo["event_key"],
        "imported_at": pd.Series([when] * len(todo), index=todo.index, dtype=object),
        "file": todo["file"],
        "line": todo["line"].astype(str),
        "source": todo["kind"],
        "external_id": todo["external_id"],
        # datetime objects, not Timestamps: the cell keeps the time of day
        "submitted_at": pd.Series(_py_datetimes(todo["submitted_at"]), index=todo.index,
                                  dtype=object).where(todo["submitted_at"].notna(), None),
        "outcome": todo["outcome"].map(lambda k: _label(k, lang)),
        "lead_id": todo["lead_id"].where(~todo["lead_id"].str.startswith(ROW_KEY), ""),
        "detail": todo["detail"],
    })
    _append(tables["intake"], log, changes, schemas, lang, key="event_key")
    _append(tables["leads"], new, changes, schemas, lang, key="lead_id")
    done = rows["logged"] & ~rows.index.isin(new.index)
    counts = todo["outcome"].value_counts().to_dict()
    counts["already_imported"] = int(done.sum())
    counts["completed"] = int((rows["logged"] & rows.index.isin(new.index)).sum())
    out = rows[["file", "line", "outcome", "lead_id", "detail", "logged"]].copy()
    out["lead_id"] = out["lead_id"].where(~out["lead_id"].str.startswith(ROW_KEY), "")
    changes.private = private_columns(tables, changes)
    return ImportPlan(changes, out, {k: int(v) for k, v in counts.items() if v},
                      {k: t.title for k, t in tables.items()})


def plan_owners(tables: Mapping[str, Table], leads: pd.DataFrame, new: pd.Series, writer: _Writer,
                changes: ChangeSet, schemas: Schemas, assignment: AssignSettings | None, today: dt.date,
                now: dt.datetime, lang: str) -> None:
    """The sync's part for leads typed by hand: a new lead (`new`: it gets its id in this
    run) with a blank owner and status `Mới` gets an owner, and a first-contact due date
    when it has no `Ngày liên hệ lại` and no contact yet. `leads` is updated in place, and
    gets `returning` (see `returning_leads`) for the agenda."""
    leads["returning"] = returning_leads(leads, tables["intake"])
    a = assignment or AssignSettings()
    initial = schemas.chain.initial
    fresh = new & leads["status"].fillna(initial).eq(initial)
    need = fresh & strip_text(leads["owner"]).eq("")
    ids = leads["lead_id"]
    if need.any():
        owners = hand_out(tables, changes, leads.loc[need, "product"], leads[["owner", "status"]], schemas,
                          a.rule, today, lang)
        got = owners[owners.ne("")]
        if len(got):
            value = leads["owner"].astype(object).copy()
            value[got.index] = got
            changes.updates += _updates(writer, "owner", value, pd.Series(leads.index.isin(got.index),
                                        index=leads.index), writer.table.frame, ids)
            leads.loc[got.index, "owner"] = got
    due_for = fresh & leads["recontact_on"].isna() & leads["last_contact"].isna() & leads["created_at"].notna()
    if due_for.any():
        created = leads.loc[due_for, "created_at"]
        at = created + (pd.Timestamp(now) - pd.Timestamp(now).normalize())
        at = at.where(created.dt.normalize().eq(pd.Timestamp(today)), created)  # earlier days: their start
        cal = WorkCalendar(schemas.reasons.extra_days_off, range(today.year - 1, today.year + 3))
        due = pd.Series(pd.NaT, index=leads.index, dtype="datetime64[ns]")
        due[due_for] = first_contact_due(at, cal, a.cutoff)
        changes.updates += _updates(writer, "recontact_on", due, due_for, writer.table.frame, ids, "date")
        leads.loc[due_for, "recontact_on"] = due[due_for]


def returning_leads(leads: pd.DataFrame, log: Table) -> pd.Series:
    """True for leads an import logged as returning (`quay lại`) and that nobody has
    contacted since: the agenda puts them first for their owner."""
    f = log.frame
    if not len(f):
        return pd.Series(False, index=leads.index)
    words = {fold(v) for v in OUTCOMES["returning"].values()}
    back = map_distinct(as_text(f["outcome"]), fold, "").isin(words)
    when, _ = parse_dates(f["imported_at"][back])
    latest = pd.Series(when.to_numpy(), index=as_text(f["lead_id"][back]).str.strip().to_numpy())
    latest = latest.groupby(level=0).max()
    if not len(latest):  # mapping through an empty datetime series fails on pandas 3
        return pd.Series(False, index=leads.index)
    came = pd.Series(latest.reindex(as_text(leads["lead_id"]).str.strip()).to_numpy(), index=leads.index)
    last = pd.to_datetime(leads["last_contact"], errors="coerce")
    return (came.notna() & (last.isna() | (last < came))).astype(bool)
