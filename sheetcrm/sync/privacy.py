"""Privacy, pure: find every record of one person in every tab, plan the erasure of their
personal fields, the privacy-log row and the suppression list; tell an import which rows
it must refuse. docs/privacy.md describes the rules.

A person is what the dedupe calls one person (docs/dedupe.md): the same normalised phone
or email, or a lead and the records that name it in `Trùng với`. From the identifier
asked for, the search grows over those keys until it finds nothing new, one vectorised
pass per tab each round.

An erasure is planned in two change sets: the *intent* (the salt, the suppression rows
and the privacy-log row, which lists the lead ids) is written first, then the *erasure*
of the cells. A run cut off after the intent finds the lead ids in the log when it is
run again, even where the phone is already gone; the log row is keyed by the hash, so it
is written once.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from ..a1 import cell_name
from ..changes import AppendRows, CellUpdate, ChangeSet
from ..schema import Schemas
from ..text import as_text, fold_series, lookup, map_distinct
from .normalize import normalize_email, normalize_phone
from .pipeline import Settings, _append, _updates, _Writer, append_layout, bind_all
from .tables import Table
from .tombstone import TOMBSTONE, erased
from .validate import _TRUE as DNC_TRUE  # what marks `Không liên hệ`, as validation reads it

KINDS = ("phone", "email", "lead")
SALT_KIND = "salt"
REQUESTS = {"forget": {"vi": "xoá", "en": "erase"}, "export": {"vi": "xuất dữ liệu", "en": "export"}}
PRIVATE_TABS = ("privacy", "suppression")  # hold hashes only: never searched, never exported
MAX_ROUNDS = 6


def identifier(kind: str, value: str, region: str = "VN") -> str | None:
    """The normalised key of an identifier (E.164 phone, folded email, trimmed lead id),
    None when it is not a valid one."""
    if kind not in KINDS:
        raise ValueError(kind)
    if kind == "lead":
        return str(value).strip() or None
    s = pd.Series([value], dtype=object)
    key = (normalize_phone(s, region) if kind == "phone" else normalize_email(s)).iloc[0]
    return key if isinstance(key, str) and key else None


def salted_hash(salt: str, key: str) -> str:
    """HMAC-SHA256 of `key` under the workbook's salt (32 hex digits)."""
    return hmac.new(salt.encode(), key.encode(), hashlib.sha256).hexdigest()[:32]


def hashes(salt: str, keys: pd.Series) -> pd.Series:
    """`salted_hash` of each key ('' for none), computed once per distinct key."""
    return map_distinct(keys, lambda k: salted_hash(salt, str(k)) if isinstance(k, str) and k else "", "")


def workbook_salt(table: Table) -> str | None:
    f = table.frame
    if not len(f):
        return None
    kind = as_text(f["kind"]).str.strip()
    salt = as_text(f["hash"]).str.strip()[kind.eq(SALT_KIND) & as_text(f["hash"]).str.strip().ne("")]
    return salt.iloc[0] if len(salt) else None


def suppressed(table: Table) -> set[str]:
    f = table.frame
    if not len(f):
        return set()
    kind = as_text(f["kind"]).str.strip()
    return set(as_text(f["hash"]).str.strip()[kind.ne(SALT_KIND)]) - {""}


def do_not_contact(leads: Table) -> pd.Series:
    """True for leads marked in `Không liên hệ`."""
    return fold_series(as_text(leads.frame["do_not_contact"]).str.strip()).isin(DNC_TRUE)


# ---------------------------------------------------------------- finding a person


@dataclass
class Found:
    """Every record of one person: the masks over each schema tab's frame (by tab key),
    the cells of the other tabs (summary tabs), and the keys that tie them."""

    lead_ids: set[str] = field(default_factory=set)
    phones: set[str] = field(default_factory=set)
    emails: set[str] = field(default_factory=set)
    rows: dict[str, pd.Series] = field(default_factory=dict)
    other: dict[str, pd.DataFrame] = field(default_factory=dict)  # title → bool cells (grid-shaped)
    other_rows: dict[str, np.ndarray] = field(default_factory=dict)  # title → bool rows
    values: set[str] = field(default_factory=set)  # their personal values as typed, for other tabs

    @property
    def records(self) -> int:
        return int(sum(m.sum() for m in self.rows.values()))


def _keys(table: Table, region: str) -> pd.DataFrame:
    f = table.frame
    return pd.DataFrame({
        "lead_id": as_text(f["lead_id"]).str.strip() if "lead_id" in table.col_of else "",
        "duplicate_of": as_text(f["duplicate_of"]).str.strip() if "duplicate_of" in table.col_of else "",
        "phone": normalize_phone(f["phone"], region) if "phone" in table.col_of else None,
        # The notifications log names a person by `address` (a nurture email's recipient).
        "email": normalize_email(f["email"]) if "email" in table.col_of
        else (normalize_email(f["address"]) if "address" in table.col_of else None),
    }, index=f.index)


def _hit(k: pd.DataFrame, found: Found) -> pd.Series:
    return (k["lead_id"].isin(found.lead_ids - {""}) | k["duplicate_of"].isin(found.lead_ids - {""})
            | k["phone"].isin(found.phones) | k["email"].isin(found.emails))


def find_person(tables: Mapping[str, Table], sheets: Mapping[str, list[list[Any]]], kind: str, key: str,
                schemas: Schemas, region: str, known_ids: set[str] = frozenset()) -> Found:
    """Every record of the person `key` (a normalised identifier of `kind`) in every tab."""
    found = Found(lead_ids={key} if kind == "lead" else set(),
                  phones={key} if kind == "phone" else set(), emails={key} if kind == "email" else set())
    found.lead_ids |= set(known_ids)
    searched = {k: t for k, t in tables.items() if t.exists and k not in PRIVATE_TABS and len(t.frame)}
    keys = {k: _keys(t, region) for k, t in searched.items()}
    # A switchboard number or shared inbox on many leads is not evidence (docs/dedupe.md):
    # such keys found on the person's rows do not widen the search.
    limit = int((schemas.dedupe.get("keys") or {}).get("common_key_limit", 4))
    common: set[str] = set()
    if "leads" in keys:
        for col in ("phone", "email"):
            counts = keys["leads"][col].value_counts()
            common |= set(counts.index[counts > limit])
    common -= {key}
    for _ in range(MAX_ROUNDS):
        before = (len(found.lead_ids), len(found.phones), len(found.emails))
        for k, kk in keys.items():
            hit = _hit(kk, found)
            found.lead_ids |= set(kk.loc[hit, "lead_id"]) | set(kk.loc[hit, "duplicate_of"])
            found.lead_ids -= {""}
            found.phones |= set(kk.loc[hit, "phone"].dropna()) - common
            found.emails |= set(kk.loc[hit, "email"].dropna()) - common
        if (len(found.lead_ids), len(found.phones), len(found.emails)) == before:
            break
    found.rows = {k: _hit(kk, found) for k, kk in keys.items()}
    found.values = _personal_values(tables, found)
    bound = {t.title for t in tables.values() if t.exists}
    for title, grid in sheets.items():
        if title not in bound and grid:
            cells, rows = _other_tab(grid, found, region)
            if cells.to_numpy().any():
                found.other[title], found.other_rows[title] = cells, rows
    return found


def _other_tab(grid: list[list[Any]], found: Found, region: str) -> tuple[pd.DataFrame, np.ndarray]:
    """A tab no schema describes (the agenda, the overview, a team's own tab): the cells
    holding the person's phone or email, and on rows naming one of their lead ids, the
    cells holding their personal values as typed (`found.values`); and the rows hit."""
    longest = max(map(len, grid))
    if any(len(r) != longest for r in grid):  # ragged rows (Google trims them): pad, as tables.bind does
        grid = [r if len(r) == longest else [*r, *[None] * (longest - len(r))] for r in grid]
    frame = pd.DataFrame(grid, dtype=object)
    text = frame.apply(lambda c: as_text(c).str.strip())
    ids = found.lead_ids - {""}
    row_hit = text.isin(ids).any(axis=1).to_numpy()
    values = found.values
    cells = pd.DataFrame(False, index=frame.index, columns=frame.columns)
    for c in frame.columns:
        col = text[c]
        maybe = col.ne("") & col.ne(TOMBSTONE)
        if not maybe.any():
            continue
        hit = normalize_phone(col.where(maybe), region).isin(found.phones) | \
            normalize_email(col.where(maybe)).isin(found.emails)
        hit |= maybe & col.isin(values) & pd.Series(row_hit, index=col.index)
        cells[c] = hit.to_numpy(bool)
    return cells, row_hit | cells.to_numpy().any(axis=1)


# ---------------------------------------------------------------- planning an erasure


@dataclass
class ForgetPlan:
    intent: ChangeSet  # salt, suppression rows, privacy-log row: written first
    erase: ChangeSet  # the personal cells
    kind: str
    identifier_hash: str
    lead_ids: list[str]
    cells: list[str]  # "Tab!B3 (header)" of every cell the erasure writes
    tabs: list[str]
    records: int
    logged: bool  # the privacy log already holds this request


def _personal_values(tables: Mapping[str, Table], found: Found) -> set[str]:
    out: set[str] = set()
    for k, mask in found.rows.items():
        t = tables[k]
        for c in t.schema.columns:
            if c.personal == "tombstone" and c.key in t.col_of:
                out |= set(as_text(t.frame.loc[mask, c.key]).str.strip())
    return out - {"", TOMBSTONE}


def _category_labels(tables: Mapping[str, Table], text: pd.Series, ids: pd.Series, schemas: Schemas,
                     lang: str) -> pd.Series:
    """What an erased reason becomes: the category the rejection log gave that lead, else
    the one the sync's classifier gives the text, else the tombstone. A category's name is
    the catalogue's words, not the person's, and the counts by reason stay as they were."""
    from .reasons import map_reasons

    cat = schemas.reasons
    names = {r.key: r.display(lang) for r in cat.reasons}
    out = pd.Series(None, index=text.index, dtype=object)
    rej = tables["rejections"]
    if rej.exists and len(rej.frame):
        rid = as_text(rej.frame["lead_id"]).str.strip()
        rcat = lookup(fold_series(as_text(rej.frame["reason_category"])), cat.lookup()).map(names)
        by_lead = pd.Series(rcat.to_numpy(), index=rid.to_numpy()).dropna()
        by_lead = by_lead[~by_lead.index.duplicated(keep="last")]
        out = ids.map(by_lead).astype(object)
    todo = out.isna() & text.ne("") & text.ne(TOMBSTONE)
    if todo.any():
        m = map_reasons(text[todo], cat)
        out[todo] = m["category"].where(m["matched"], None).map(names).to_numpy()
    return out.where(out.notna(), TOMBSTONE)


def _erase_tab(t: Table, mask: pd.Series, tables: Mapping[str, Table], schemas: Schemas, lang: str,
               changes: ChangeSet) -> None:
    f = t.frame
    ids = as_text(f["lead_id"]).str.strip() if "lead_id" in t.col_of else pd.Series("", index=f.index)
    w = _Writer(t, changes)
    for c in t.schema.columns:
        if not c.personal or c.key not in t.col_of:
            continue
        text = as_text(f[c.key]).str.strip()
        todo = mask & text.ne("")
        if c.personal == "blank":
            new = pd.Series("", index=f.index, dtype=object)
        elif c.personal == "category":
            new = _category_labels(tables, text, ids, schemas, lang)
        else:
            todo &= text.ne(TOMBSTONE)
            new = pd.Series(TOMBSTONE, index=f.index, dtype=object)
        if todo.any():
            changes.updates += _updates(w, c.key, new, todo, f, ids)


def plan_forget(sheets: Mapping[str, list[list[Any]]], schemas: Schemas, settings: Settings, kind: str,
                key: str, now: dt.datetime, new_salt: str) -> ForgetPlan:
    """Everything `forget` writes for the person `key` (normalised, of `kind`). `new_salt`
    is used only when the workbook has no salt yet."""
    lang = settings.language
    tables = bind_all(sheets, schemas)
    supp, log = tables["suppression"], tables["privacy"]
    salt = workbook_salt(supp) or new_salt
    intent = ChangeSet()
    h = salted_hash(salt, f"{kind}:{key}")
    event = "forget-" + h[:20]
    logged_ids: set[str] = set()
    logged = False
    if log.exists and len(log.frame):
        keys = as_text(log.frame["event_key"]).str.strip()
        mine = log.frame[keys.eq(event)]
        logged = bool(len(mine))
        for v in as_text(mine["lead_ids"]):
            logged_ids |= {s.strip() for s in v.split(",") if s.strip()}
    found = find_person(tables, sheets, kind, key, schemas, settings.region, logged_ids)

    erase = ChangeSet()
    for k, mask in found.rows.items():
        if mask.any():
            _erase_tab(tables[k], mask, tables, schemas, lang, erase)
    for title, cells in found.other.items():
        grid = sheets[title]
        r, c = np.nonzero(cells.to_numpy())
        erase.updates += [CellUpdate(title, int(i) + 1, int(j) + 1, TOMBSTONE, grid[i][j], None)
                          for i, j in zip(r, c)]

    # The intent: the salt (first use), the person's keys suppressed, the request logged.
    have = suppressed(supp)
    new_keys = sorted(({key} if kind != "lead" else set()) | found.phones | found.emails)
    want = [(salted_hash(salt, k), "email" if "@" in k else "phone") for k in new_keys]
    rows = [(hh, kk) for hh, kk in want if hh not in have]
    add = pd.DataFrame({"hash": [hh for hh, _ in rows], "kind": [kk for _, kk in rows]}, dtype=object)
    if workbook_salt(supp) is None:
        add = pd.concat([pd.DataFrame({"hash": [salt], "kind": [SALT_KIND]}), add], ignore_index=True)
    add["added_at"] = now.date()
    if len(add):
        _append(supp, add, intent, schemas, lang, key="hash")
    lead_ids = sorted(found.lead_ids | logged_ids)
    tabs = sorted({u.tab for u in erase.updates})
    if not logged:
        _log_request(log, intent, schemas, lang, now, event, "forget", kind, h, lead_ids, len(erase.updates), tabs)
    headers = {}
    for t in tables.values():
        if t.exists:
            for ck, col in t.col_of.items():
                headers[(t.title, col)] = t.schema.column(ck).header
    cells_shown = [f"{cell_name(u.tab, u.row, u.col)}"
                   + (f" ({headers[(u.tab, u.col)]})" if (u.tab, u.col) in headers else "")
                   for u in erase.updates]
    return ForgetPlan(intent, erase, kind, h, lead_ids, cells_shown, tabs, found.records, logged)


def _log_request(log: Table, changes: ChangeSet, schemas: Schemas, lang: str, now: dt.datetime, event: str,
                 request: str, kind: str, h: str, lead_ids: list[str], cells: int, tabs: list[str]) -> None:
    """One row of the privacy log: when, what, the kind and salted hash of the identifier,
    the lead ids, the cells erased and the tabs; never the identifier."""
    when = pd.Series([now.replace(microsecond=0, tzinfo=None)], dtype=object)  # keeps the time
    row = {"event_key": event, "request": REQUESTS[request].get(lang, REQUESTS[request]["vi"]),
           "identifier_kind": kind, "identifier_hash": h, "lead_ids": ", ".join(lead_ids),
           "cells": str(cells), "tabs": ", ".join(tabs)}
    frame = pd.DataFrame({k: [v] for k, v in row.items()}, dtype=object)
    frame.insert(1, "logged_at", when)
    _append(log, frame, changes, schemas, lang, key="event_key")


# ---------------------------------------------------------------- an access request


@dataclass
class ExportPlan:
    records: list[dict[str, Any]]
    log: ChangeSet  # the salt (first use) and the request's privacy-log row
    identifier_hash: str
    lead_ids: list[str]
    tabs: list[str]


def plan_export(sheets: Mapping[str, list[list[Any]]], schemas: Schemas, settings: Settings, kind: str,
                key: str, now: dt.datetime, new_salt: str, nonce: str) -> ExportPlan:
    """An access request: every row about the person (`person_records`), and the row that
    logs the request in the privacy log (its event key is the hash and the request's
    `nonce`: each request is one row, however its write is retried). `new_salt` is used
    only when the workbook has no salt yet."""
    lang = settings.language
    tables = bind_all(sheets, schemas)
    supp = tables["suppression"]
    salt = workbook_salt(supp)
    log = ChangeSet()
    if salt is None:
        salt = new_salt
        add = pd.DataFrame({"hash": [salt], "kind": [SALT_KIND], "added_at": [now.date()]}, dtype=object)
        _append(supp, add, log, schemas, lang, key="hash")
    h = salted_hash(salt, f"{kind}:{key}")
    found = find_person(tables, sheets, kind, key, schemas, settings.region)
    records = _records(tables, sheets, found)
    tabs = sorted({r["tab"] for r in records})
    lead_ids = sorted(found.lead_ids - {""})
    event = f"export-{h[:12]}-{nonce}"
    _log_request(tables["privacy"], log, schemas, lang, now, event, "export", kind, h, lead_ids, 0, tabs)
    return ExportPlan(records, log, h, lead_ids, tabs)


def person_records(sheets: Mapping[str, list[list[Any]]], schemas: Schemas, settings: Settings, kind: str,
                   key: str) -> list[dict[str, Any]]:
    """Every row about the person, from every tab: {"tab", "row", "values": {header: value}}."""
    tables = bind_all(sheets, schemas)
    return _records(tables, sheets, find_person(tables, sheets, kind, key, schemas, settings.region))


def _records(tables: Mapping[str, Table], sheets: Mapping[str, list[list[Any]]], found: Found) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for k, mask in found.rows.items():
        t = tables[k]
        grid = sheets[t.title]
        header = [str(h) if h is not None else "" for h in grid[0]]
        for r in t.frame.loc[mask, "row"].astype(int):
            out.append({"tab": t.title, "row": int(r), "values": _row_values(header, grid[r - 1])})
    for title, rows in found.other_rows.items():
        grid = sheets[title]
        header = [str(h) if h is not None else "" for h in grid[0]]
        for i in np.flatnonzero(rows):
            out.append({"tab": title, "row": int(i) + 1, "values": _row_values(header, grid[i])})
    return out


def _row_values(header: list[str], row: list[Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for i, v in enumerate(row):
        if v is None or v == "":
            continue
        name = header[i] if i < len(header) and header[i] else f"#{i + 1}"
        out[name] = v
    return out


# ---------------------------------------------------------------- refusals of an import


def refusals(rows: pd.DataFrame, tables: Mapping[str, Table], match: pd.Series) -> pd.Series:
    """The outcome key for input rows an import must refuse ('' for the others): `erased`
    when the row's phone or email is on the suppression list, `do_not_contact` when it is a
    lead marked `Không liên hệ`. `rows` has `phone_e164` and `email_norm`; `match` is the
    existing lead each row is ('' for none)."""
    out = pd.Series("", index=rows.index, dtype=object)
    supp = tables["suppression"]
    salt = workbook_salt(supp) if supp.exists else None
    blocked = suppressed(supp) if salt else set()
    if blocked:
        gone = hashes(salt, rows["phone_e164"]).isin(blocked) | hashes(salt, rows["email_norm"]).isin(blocked)
        out[gone] = "erased"
    leads = tables["leads"]
    if "do_not_contact" in leads.col_of and len(leads.frame):
        dnc = do_not_contact(leads)
        ids = as_text(leads.frame["lead_id"]).str.strip()
        dup = as_text(leads.frame["duplicate_of"]).str.strip()
        marked = (set(ids[dnc]) | set(dup[dnc])) - {""}
        out[out.eq("") & match.reindex(rows.index).fillna("").isin(marked)] = "do_not_contact"
    return out


# ---------------------------------------------------------------- retention


RETENTION = {"vi": "lưu giữ hết hạn", "en": "retention"}


def _scrub_appends(tables: Mapping[str, Table], changes: ChangeSet, lead_ids: set[str]) -> dict[str, int]:
    """In the rows `changes` appends to the log tabs, the personal cells of rows naming one
    of `lead_ids` (in `Mã KH` or `Trùng với`) become the tombstone (empty ones stay empty;
    a `blank` column is emptied). Returns the cells it changed, by tab."""
    out: dict[str, int] = {}
    by_title = {t.title: t for k, t in tables.items() if k not in PRIVATE_TABS}
    for i, a in enumerate(changes.appends):
        t = by_title.get(a.tab)
        if t is None or not a.rows or "lead_id" not in {c.key for c in t.schema.columns}:
            continue
        col_of, width, _ = append_layout(t)
        grid = pd.DataFrame(list(a.rows), dtype=object)
        keys = [col_of[k] - 1 for k in ("lead_id", "duplicate_of") if k in col_of and col_of[k] - 1 < grid.shape[1]]
        hit = np.zeros(len(grid), bool)
        for j in keys:
            hit |= as_text(grid[j]).str.strip().isin(lead_ids).to_numpy()
        if not hit.any():
            continue
        changed = 0
        for c in t.schema.columns:
            j = col_of.get(c.key, 0) - 1
            if not c.personal or j < 0 or j >= grid.shape[1]:
                continue
            todo = hit & as_text(grid[j]).str.strip().ne("").to_numpy()
            if todo.any():
                grid.loc[todo, j] = None if c.personal == "blank" else TOMBSTONE
                changed += int(todo.sum())
        if not changed:
            continue
        values = grid.to_numpy(dtype=object, copy=True)
        values[pd.isna(values)] = None
        changes.appends[i] = AppendRows(a.tab, tuple(map(tuple, values.tolist())), a.key_col)
        out[a.tab] = out.get(a.tab, 0) + changed
    return out


def plan_retention(tables: Mapping[str, Table], leads: pd.DataFrame,
                   history: pd.DataFrame, schemas: Schemas, settings: Settings, today: dt.date,
                   now: dt.datetime, changes: ChangeSet) -> int:
    """With `retention_days` set: the personal fields of leads closed (rejected, not closed,
    unreachable, wrong target) whose last activity (created, last contact, recontact date,
    last status change in the history) is more than that many days ago are erased like `forget` does, in
    every tab, and the run is logged in the privacy log. Not suppressed: such a person may
    come back through an import. `leads` is the sync's parsed frame; its erased rows get the
    tombstone so this run's agenda shows it too. Returns the number of leads."""
    days = settings.retention_days
    if not days or not len(leads):
        return 0
    chain = schemas.chain
    closed = {s.key for s in chain.statuses if s.logs_rejection or s.excluded} | {chain.unreachable}
    ids = as_text(leads["lead_id"]).str.strip()
    last = pd.concat([pd.to_datetime(leads[k], errors="coerce") for k in ("created_at", "last_contact", "recontact_on")],
                     axis=1).max(axis=1)
    moves = history[history["from_status"].notna()] if len(history) else history
    if len(moves):  # a lead's first row is when a sync first saw it, not an activity
        changed = moves.groupby(as_text(moves["lead_id"]).str.strip())["observed_at"].max()
        last = pd.concat([last, pd.to_datetime(ids.map(changed), errors="coerce")], axis=1).max(axis=1)
    old = leads["status"].isin(closed) & last.notna() & (last < pd.Timestamp(today) - pd.Timedelta(days=days))
    old &= ~erased(leads["name"]) & ids.ne("")
    if not old.any():
        return 0
    found = Found(lead_ids=set(ids[old]))
    searched = {k: t for k, t in tables.items() if t.exists and k not in PRIVATE_TABS and len(t.frame)}
    for k, t in searched.items():
        kk = _keys(t, settings.region)
        found.rows[k] = kk["lead_id"].isin(found.lead_ids) | kk["duplicate_of"].isin(found.lead_ids)
    found.values = _personal_values(tables, found)
    erase = ChangeSet()
    for k, mask in found.rows.items():
        if mask.any():
            _erase_tab(tables[k], mask, tables, schemas, settings.language, erase)
    # The summary tabs are not written cell by cell here: this sync rebuilds them from
    # `leads`, which gets the tombstones below.
    if not erase.updates:
        return 0
    # These cells are written last: the sync's own updates of them this run give way.
    mine = {(u.tab, u.row, u.col) for u in erase.updates}
    changes.updates = [u for u in changes.updates if (u.tab, u.row, u.col) not in mine] + erase.updates
    changes.add_columns += erase.add_columns
    # Rows this same sync appends about them (a rejection logged today) are erased too.
    appended = _scrub_appends(tables, changes, found.lead_ids)
    gone = found.rows["leads"].reindex(leads.index, fill_value=False).to_numpy(bool) \
        if "leads" in found.rows else np.zeros(len(leads), bool)
    for key in ("name", "company", "email", "phone", "notes"):
        if key in leads.columns:
            typed = as_text(leads[key]).str.strip().ne("").to_numpy()
            leads.loc[gone & typed, key] = TOMBSTONE
    for key in ("phone_e164", "email_norm"):  # the agenda dials phone_e164
        if key in leads.columns:
            leads.loc[gone, key] = None
    lead_ids = sorted(found.lead_ids)
    when = pd.Series([now.replace(microsecond=0, tzinfo=None)], dtype=object)
    frame = pd.DataFrame({"event_key": [f"retention-{today.isoformat()}"],
                          "request": [RETENTION.get(settings.language, RETENTION["vi"])],
                          "identifier_kind": ["retention"], "identifier_hash": [""],
                          "lead_ids": [", ".join(lead_ids)], "cells": [str(len(erase.updates) + sum(appended.values()))],
                          "tabs": [", ".join(sorted({u.tab for u in erase.updates} | set(appended)))]}, dtype=object)
    frame.insert(1, "logged_at", when)
    _append(tables["privacy"], frame, changes, schemas, settings.language, key="event_key")
    return len(lead_ids)
