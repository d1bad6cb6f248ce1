"""Lead deduplication (docs/dedupe.md): a thin lead-specific layer over `dedupe_engine`.

The leads map onto the generic engine as: exact keys `phone` (E.164) and `email`
(both veto keys: two different phones are two people), fuzzy fields and blocking
passes from `schemas/dedupe.toml`. Nothing here is needed by the engine itself.

Switchboard detection: after normalisation, a phone or email value carried by more than
`common_key_limit` leads is dropped as evidence (it neither joins nor contradicts), and
emails whose local part is a team address (`info@`, `lienhe@`…) are never keys.

"Not a duplicate": a person clears `Trùng với` and writes a marker such as `không trùng`
(optionally followed by the lead id it is not a duplicate of). That row is then kept out
of every cluster, so it is never flagged again, and its marker is returned unchanged in
`duplicate_of` so that the pipeline never overwrites it.
"""

from __future__ import annotations

import functools
import re
import string
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import numpy as np
import pandas as pd

from sheetcrm.sync import dedupe_engine as eng
from sheetcrm.sync import normalize
from sheetcrm.sync.normalize import (
    normalize_company,
    normalize_email,
    normalize_name,
    normalize_phone,
)
from sheetcrm.text import as_text, fold

MESSAGE_KEYS = ("duplicate", "reason_phone", "reason_email", "reason_fuzzy", "collision",
                "rejected", "nurture", "row")


def _req(d: Mapping[str, Any], key: str, path: str) -> Any:
    if key not in d:
        raise ValueError(f"dedupe rules: missing field {path}{key}")
    return d[key]


def _str_list(v: Any, name: str) -> tuple[str, ...]:
    if not isinstance(v, (list, tuple)) or not all(isinstance(x, str) for x in v):
        raise ValueError(f"dedupe rules: {name} must be a list of strings")
    return tuple(v)


def _number(v: Any, name: str) -> float:
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        raise ValueError(f"dedupe rules: {name} must be a number")
    return float(v)


@dataclass(frozen=True)
class DedupeRules:
    legal_forms: tuple[str, ...]
    not_duplicate_markers: tuple[str, ...]
    role_email_local_parts: tuple[str, ...]
    engine: eng.EngineRules
    messages: Mapping[str, Mapping[str, str]]
    phone_region: str = "VN"
    _folded_markers: tuple[str, ...] = field(default=(), repr=False, compare=False)

    @staticmethod
    def from_dict(d: Mapping[str, Any]) -> DedupeRules:
        """Build from the parsed `schemas/dedupe.toml`; ValueError names a bad field."""
        if not isinstance(d, Mapping):
            raise ValueError("dedupe rules: expected a table")
        keys = _req(d, "keys", "")
        match = _req(d, "match", "")
        markers = _req(d, "markers", "")
        limit = _req(keys, "common_key_limit", "keys.")
        if isinstance(limit, bool) or not isinstance(limit, int) or limit < 2:
            raise ValueError("dedupe rules: keys.common_key_limit must be an integer >= 2")
        region = keys.get("phone_region", "VN")
        if not isinstance(region, str) or len(region) != 2:
            raise ValueError("dedupe rules: keys.phone_region must be a 2-letter region code")
        fields = []
        for k, f in enumerate(_req(match, "fields", "match.")):
            name = f"match.fields[{k}]"
            col = _req(f, "column", name + ".")
            if col.split(":")[0] not in ("name", "company"):
                raise ValueError(f"dedupe rules: {name}.column must be 'name' or 'company'")
            if f.get("scorer", "ratio") not in eng.SCORERS:
                raise ValueError(f"dedupe rules: {name}.scorer must be one of {sorted(eng.SCORERS)}")
            try:
                fields.append(eng.FuzzyField(
                    column=col, scorer=f.get("scorer", "ratio"),
                    agree=_number(f.get("agree", 1.0), name + ".agree"),
                    disagree=_number(f.get("disagree", 1.0), name + ".disagree"),
                    mid=_number(f.get("mid", 0.8), name + ".mid"),
                ))
            except ValueError as e:
                raise ValueError(f"dedupe rules: {name}: {e}") from None
        blocks = []
        for k, b in enumerate(_req(match, "blocks", "match.")):
            cols = _str_list(b, f"match.blocks[{k}]")
            for c in cols:
                if c.split(":")[0] not in ("name", "company", "phone", "email"):
                    raise ValueError(f"dedupe rules: match.blocks[{k}]: unknown column {c!r}")
            blocks.append(eng.BlockKey(cols))
        try:
            engine = eng.EngineRules(
                exact_keys=(eng.ExactKey("phone"), eng.ExactKey("email")),
                fuzzy_fields=tuple(fields), blocks=tuple(blocks),
                threshold=_number(_req(match, "threshold", "match."), "match.threshold"),
                common_key_limit=limit,
                max_block_size=int(match.get("max_block_size", 5000)),
            )
        except ValueError as e:
            raise ValueError(f"dedupe rules: match: {e}") from None
        messages = {}
        for lang, table in _req(d, "messages", "").items():
            for m in MESSAGE_KEYS:
                if not isinstance(table.get(m), str):
                    raise ValueError(f"dedupe rules: missing field messages.{lang}.{m}")
            messages[lang] = MappingProxyType(dict(table))
        if "vi" not in messages:
            raise ValueError("dedupe rules: missing field messages.vi")
        marker_list = _str_list(_req(markers, "not_duplicate", "markers."), "markers.not_duplicate")
        return DedupeRules(
            legal_forms=_str_list(_req(d, "legal_forms", ""), "legal_forms"),
            not_duplicate_markers=marker_list,
            role_email_local_parts=_str_list(keys.get("role_email_local_parts", []),
                                             "keys.role_email_local_parts"),
            engine=engine,
            messages=MappingProxyType(messages),
            phone_region=region,
            _folded_markers=tuple(sorted({fold(m) for m in marker_list} - {""}, key=len,
                                         reverse=True)),
        )

    def msg(self, language: str) -> Mapping[str, str]:
        return self.messages.get(language, self.messages["vi"])


@dataclass
class DedupeResult:
    """`frame` is aligned to the input index: cluster (-1 = none), survivor (True for
    every row that is not someone's duplicate), duplicate_of, issue, collision,
    collision_issue. Counts: clusters (of 2+ rows), duplicates (non-survivors),
    collisions (clusters with 2+ owners), common_keys (phones/emails ignored as shared)."""

    frame: pd.DataFrame
    clusters: int
    duplicates: int
    collisions: int
    common_keys: int = 0


def _text(s: pd.Series) -> pd.Series:
    s = s.astype(object)
    if pd.api.types.infer_dtype(s, skipna=True) in ("string", "empty"):
        missing = s.isna()
        return s.where(~missing, "") if missing.any() else s  # already text: no per-cell str()
    return as_text(s)


def _fill(template: str, **columns: np.ndarray) -> np.ndarray:
    """`template.format(**row)` for every row of equally long object arrays, by
    element-wise concatenation (one C loop per piece, not a Python call per row)."""
    n = len(next(iter(columns.values())))
    out = np.full(n, "", dtype=object)
    for literal, name, _, _ in string.Formatter().parse(template):
        if literal:
            out = out + literal
        if name is not None:
            out = out + columns[name]  # object arrays of str
    return out


def _given(records: pd.DataFrame, col: str) -> pd.Series:
    """An already-normalised key column (blank -> None)."""
    s = records[col].astype(object)
    return s.where(s.notna() & (s != ""), None)


def key_columns(records: pd.DataFrame, rules: DedupeRules) -> pd.DataFrame:
    """Normalised phone/email/name/company of leads (or log rows) for matching.

    Validation already normalises phones and emails: when `records` carries its
    `phone_e164` / `email_norm` columns they are used as they are."""
    n = len(records)
    col = lambda c: records[c] if c in records else pd.Series([None] * n, index=records.index)
    email = _given(records, "email_norm") if "email_norm" in records else normalize_email(col("email"))
    phone = (_given(records, "phone_e164") if "phone_e164" in records
             else normalize_phone(col("phone"), rules.phone_region))
    codes, uniques = pd.factorize(email)
    if len(uniques):
        # One regex pass over all distinct addresses (ASCII, no newline in a valid one).
        marks = _role_pattern(rules.role_email_local_parts).sub("\x01", "\n".join(uniques))
        role = np.r_[normalize._line_heads(marks, len(uniques)) == 1, False]
        email = email.where(~role[codes], None)
    return pd.DataFrame({
        "phone": phone,
        "email": email,
        "name": normalize_name(col("name")),
        "company": normalize_company(col("company"), rules.legal_forms),
    }, index=records.index)


@functools.lru_cache(maxsize=16)
def _role_pattern(local_parts: tuple[str, ...]) -> re.Pattern[str]:
    """Matches the start of a line whose address has one of `local_parts` before '@'."""
    alts = "|".join(map(re.escape, sorted(local_parts, key=len, reverse=True))) or "(?!)"
    return re.compile(rf"^(?=(?:{alts})@)", re.M)


@functools.lru_cache(maxsize=16)
def _marker_pattern(markers: tuple[str, ...]) -> re.Pattern[str] | None:
    if not markers:
        return None
    return re.compile(r"^(?:" + "|".join(re.escape(m) for m in markers) + r")(?![0-9a-z])")


def _markers(raw: pd.Series, rules: DedupeRules) -> np.ndarray:
    """True where a person wrote a not-a-duplicate marker into `Trùng với`."""
    text = _text(raw).to_numpy()
    codes, uniques = pd.factorize(text)
    pattern = _marker_pattern(rules._folded_markers)
    if pattern is None:
        return np.zeros(len(text), dtype=bool)
    marked = np.array([bool(u) and pattern.match(fold(u)) is not None for u in uniques], dtype=bool)
    return marked[codes] if len(uniques) else np.zeros(len(text), dtype=bool)


def find_duplicates(records: pd.DataFrame, rules: DedupeRules, language: str = "vi",
                    keys: pd.DataFrame | None = None) -> DedupeResult:
    """`keys`: `key_columns(records, rules)` when the caller has them already."""
    msg = rules.msg(language)
    n = len(records)
    keys = (key_columns(records, rules) if keys is None else keys).reset_index(drop=True)
    marked = _markers(records["duplicate_of"], rules) if "duplicate_of" in records else np.zeros(n, bool)
    linked = eng.link(keys, rules.engine, exclude=marked)
    cluster = linked.cluster
    lead_id, ref = _references(records, msg)
    order, survivor_row, survivor = _survivors(records, cluster)
    members = cluster >= 0

    dup = members & ~survivor
    sref = np.full(n, "", dtype=object)
    sref[members] = ref[survivor_row[cluster[members]]]
    duplicate_of = np.full(n, "", dtype=object)
    duplicate_of[dup] = np.where(lead_id[survivor_row[cluster[dup]]] != "",
                                 lead_id[survivor_row[cluster[dup]]], "")
    if marked.any():
        duplicate_of[marked] = _text(records["duplicate_of"]).to_numpy()[marked]
    reason_text = {k: msg.get(f"reason_{k}", k) for k in ("phone", "email", "fuzzy")}
    issue = np.full(n, "", dtype=object)
    d = np.flatnonzero(dup)
    if len(d):
        why = linked.reason[d]
        issue[d] = _fill(msg["duplicate"], survivor=sref[d], reason=np.array(
            [reason_text.get(w, w) for w in why.tolist()], dtype=object))
    collision, collision_issue, n_coll = _collisions(records, cluster, survivor, order, ref, sref, msg)
    # Arrays made here, used nowhere else: no copy. Text stays object (pandas 3 would
    # otherwise convert it to its `str` dtype).
    text = lambda a: pd.Series(a, index=records.index, dtype=object, copy=False)
    frame = pd.DataFrame({
        "cluster": cluster, "survivor": survivor, "duplicate_of": text(duplicate_of),
        "issue": text(issue), "collision": collision, "collision_issue": text(collision_issue),
    }, index=records.index, copy=False)
    return DedupeResult(frame=frame, clusters=int(cluster.max(initial=-1)) + 1,
                        duplicates=int(dup.sum()), collisions=n_coll,
                        common_keys=sum(len(v) for v in linked.common_keys.values()))


def _references(records: pd.DataFrame, msg: Mapping[str, str]) -> tuple[np.ndarray, np.ndarray]:
    """Each record's lead id, and how a message names it (its id, else its sheet row)."""
    n = len(records)
    lead_id = _text(records["lead_id"]).to_numpy() if "lead_id" in records else np.full(n, "", object)
    if "row" in records:
        rows = records["row"].to_numpy()
    else:
        rows = np.arange(n) + 2  # header on row 1
    ref = lead_id.copy()
    no_id = np.flatnonzero(lead_id == "")
    ref[no_id] = [msg["row"].format(row=r) for r in rows[no_id]]
    return lead_id, ref


def _survivors(records: pd.DataFrame, cluster: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Survivor: oldest `Ngày tạo` (blank last), then sheet order. Returns the rows in
    (cluster, age, sheet) order, the survivor row per cluster, and whether each row is one
    (True outside clusters)."""
    n = len(records)
    if "created_at" not in records:
        created = pd.Series(pd.NaT, index=records.index)
    elif pd.api.types.is_datetime64_any_dtype(records["created_at"]):
        created = records["created_at"]  # the parsed frame's dates: nothing to parse
    else:
        created = pd.to_datetime(records["created_at"], errors="coerce")
    c = created.to_numpy(dtype="datetime64[ns]")
    nat = np.isnat(c)
    order = np.lexsort((np.arange(n), np.where(nat, 0, c.astype(np.int64)), nat, cluster))
    in_cluster = cluster[order] >= 0
    first = np.r_[True, cluster[order][1:] != cluster[order][:-1]] & in_cluster
    survivor_row = np.full(int(cluster.max(initial=-1)) + 1, -1, dtype=np.int64)
    survivor_row[cluster[order][first]] = order[first]
    survivor = np.ones(n, dtype=bool)
    members = cluster >= 0
    survivor[members] = survivor_row[cluster[members]] == np.flatnonzero(members)
    return order, survivor_row, survivor


def _collisions(records: pd.DataFrame, cluster: np.ndarray, survivor: np.ndarray, order: np.ndarray,
                ref: np.ndarray, sref: np.ndarray, msg: Mapping[str, str]) -> tuple[np.ndarray, np.ndarray, int]:
    """Collisions: a cluster whose members have two or more different owners. Returns the
    rows in one, their issue texts, and how many clusters collide."""
    n = len(records)
    members = cluster >= 0
    collision = np.zeros(n, dtype=bool)
    collision_issue = np.full(n, "", dtype=object)
    if "owner" not in records or not members.any():
        return collision, collision_issue, 0
    ocodes, ouniq = pd.factorize(_text(records["owner"]).to_numpy())
    owner = np.array([o.strip() for o in ouniq] + [""], dtype=object)[ocodes]
    ocodes, ouniq = pd.factorize(owner[members])
    ofold = pd.factorize(np.array([fold(o) for o in ouniq], dtype=object))[0]
    # Distinct (cluster, owner) pairs, owners compared folded, in first-seen order.
    given = ~(ouniq == "")[ocodes]
    mc, mo, mf = cluster[members][given], owner[members][given], ofold[ocodes][given]
    _, first = np.unique(mc * (int(mf.max(initial=0)) + 1) + mf, return_index=True)
    first = first[np.lexsort((first, mc[first]))]
    dc, do = mc[first], mo[first]
    counts = np.bincount(dc, minlength=int(cluster.max()) + 1)
    hot = counts > 1
    n_coll = int(hot.sum())
    if not n_coll:
        return collision, collision_issue, 0
    # Owners of each hot cluster joined without a Python group loop.
    h = hot[dc]
    hc, ho = dc[h], do[h]
    starts = np.flatnonzero(np.r_[True, hc[1:] != hc[:-1]])
    joined = np.add.reduceat((ho + ", ").astype(object), starts)
    names = {c: t[:-2] for c, t in zip(hc[starts].tolist(), joined)}
    collision = members & hot[np.maximum(cluster, 0)]
    rc = np.flatnonzero(collision)
    # A duplicate names its survivor; the survivor names the others (up to 3).
    same_as = sref[rc].copy()
    head = survivor[rc]
    if head.any():
        co = cluster[order]
        start = np.flatnonzero(np.r_[True, co[1:] != co[:-1]])
        rank = np.arange(n) - np.repeat(start, np.diff(np.r_[start, n]))
        k = np.flatnonzero((co >= 0) & (rank >= 1) & (rank <= 3) & hot[np.maximum(co, 0)])
        kstart = np.flatnonzero(np.r_[True, co[k][1:] != co[k][:-1]])
        joined = np.add.reduceat((ref[order[k]] + ", ").astype(object), kstart)
        size = np.bincount(cluster[members])
        others = {c: t[:-2] + (", …" if size[c] > 4 else "")
                  for c, t in zip(co[k][kstart].tolist(), joined.tolist())}
        same_as[head] = [others[c] for c in cluster[rc[head]].tolist()]
    collision_issue[rc] = _fill(msg["collision"], survivor=same_as, owners=np.array(
        [names[c] for c in cluster[rc].tolist()], dtype=object))
    return collision, collision_issue, n_coll


def _fmt_date(v: Any) -> str:
    t = pd.to_datetime(v, errors="coerce")
    return "" if pd.isna(t) else t.strftime("%d/%m/%Y")


def match_previous_contacts(leads: pd.DataFrame, rejections: pd.DataFrame, nurture: pd.DataFrame,
                            rules: DedupeRules, language: str = "vi",
                            reason_labels: Mapping[str, str] | None = None,
                            lead_keys: pd.DataFrame | None = None) -> pd.Series:
    """Issue text per lead whose person is in the rejection log or the nurture list
    under a *different* lead id (matched on phone, email, or name+company); '' otherwise.
    The most recent event wins. `reason_labels` maps reason keys to display labels;
    `lead_keys` is `key_columns(leads, rules)` when the caller has it already."""
    msg = rules.msg(language)
    labels = dict(reason_labels or {})
    logs = []
    for kind, df, date_col in (("rejected", rejections, "logged_at"), ("nurture", nurture, "nurture_start")):
        if df is None or len(df) == 0:
            continue
        k = key_columns(df, rules)
        k["lead_id"] = _text(df["lead_id"]) if "lead_id" in df else ""
        k["date"] = pd.to_datetime(df[date_col], errors="coerce") if date_col in df else pd.NaT
        k["reason"] = _text(df["reason_category"]) if "reason_category" in df else ""
        k["kind"] = kind
        logs.append(k)
    out = pd.Series("", index=leads.index, dtype=object)
    if not logs or len(leads) == 0:
        return out
    log = pd.concat(logs, ignore_index=True)
    lk = (key_columns(leads, rules) if lead_keys is None else lead_keys).reset_index(drop=True)
    n = len(lk)
    lead = pd.DataFrame({"pos": np.arange(n),
                         "lead_id": _text(leads["lead_id"]).to_numpy() if "lead_id" in leads else ""})
    # Each key as integer codes shared by the leads and the log (-1: no key), so the joins
    # compare integers; the codes of a column are found in one pass over both sides.
    def joint(c: str) -> tuple[np.ndarray, int]:
        codes, uniques = pd.factorize(np.concatenate([lk[c].to_numpy(dtype=object), log[c].to_numpy(dtype=object)]))
        return codes.astype(np.int64), len(uniques)

    codes: dict[str, np.ndarray] = {}
    # A switchboard or shared inbox says nothing about who the person is.
    limit = rules.engine.common_key_limit
    for c in ("phone", "email"):
        k, m = joint(c)
        common = np.r_[np.bincount(k[k >= 0], minlength=m) > limit, True]  # [-1]: no key stays so
        codes[c] = np.where(common[k], -1, k)
    name, _ = joint("name")
    company, m = joint("company")
    both = np.concatenate([((lk.name != "") & (lk.company != "")).to_numpy(bool),
                           ((log.name != "") & (log.company != "")).to_numpy(bool)])
    codes["nc"] = np.where(both, name * max(m, 1) + company, -1)  # the pair (name, company)
    hits = []
    for c in ("phone", "email", "nc"):
        lc, gc_ = codes[c][:n], codes[c][n:]
        left = lead.loc[lc >= 0].assign(_key=lc[lc >= 0])
        right = log.loc[gc_ >= 0, ["lead_id", "date", "reason", "kind"]].assign(_key=gc_[gc_ >= 0])
        hits.append(left.merge(right, on="_key", suffixes=("", "_log")).drop(columns="_key"))
    h = pd.concat(hits, ignore_index=True)
    h = h[(h.lead_id_log != h.lead_id) | (h.lead_id == "")]
    if h.empty:
        return out
    h = h.sort_values(["pos", "date", "lead_id_log"], na_position="first").drop_duplicates("pos", keep="last")
    text = []
    for row in h.itertuples(index=False):
        reason = labels.get(row.reason, row.reason)
        template = msg["rejected"] if row.kind == "rejected" else msg["nurture"]
        text.append(template.format(date=_fmt_date(row.date), reason=reason, lead_id=row.lead_id_log))
    out.iloc[h.pos.to_numpy()] = text
    return out
