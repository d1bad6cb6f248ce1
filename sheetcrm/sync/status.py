"""The status chain step (docs/status-chain.md): history, rejection log, nurture list, scheduling.

`apply_status_chain` is pure: it reads the parsed frames of docs/frames.md and returns what
to write. Everything it needs lives in the workbook, so every rule is *convergent*: the
step computes what the tabs should contain from their current content, and a rerun (after
a retry, a crash half-way, or a reason typed a day later) adds only what is still missing.
It is `RULES`, small functions over one `ChainState`, applied in order; `build_result` turns
the state into the result.

History (`Lịch sử`) is the state. The last row per lead is its last known status. A lead
whose status differs from it (or that has no row yet: first sight) gets one row `by person`
(`by sync` when the sync filled a blank status with the initial one). Rows whose lead is
invalid still get history — the person did change the status — but no automatic move, log
row or schedule. A backward move in the chain or a move out of a terminal status is
recorded and flagged on the day it is observed (the flag is derived from the history row
dated today, so every sync of that day shows it and it clears the next day), never reverted.

Rejection events. An *episode* is a lead's latest history row entering a status that
`logs_rejection` (Từ chối, Chưa chốt), as long as no person-made row follows it (only the
sync's own moves to Nuôi dưỡng / Không tiếp cận may). Its key is
`<lead_id>|<status>|<observed date>|<position of that row in the lead's history>`; the
history is append-only, so the key is stable, and a lead rejected again later has a new row
and a new key. The episode is logged once its lead has a usable reason (a category, and a
detail for Khác); the key in `Mã sự kiện` makes that exactly-once.

Failed contact attempts. With a reason whose catalogue entry has `max_attempts`
(Không liên lạc được), every attempt is its own log row keyed
`<episode key>|try:<attempt date>`, where the attempt date is `Ngày liên hệ cuối` (the
episode's date when blank). Typing a later `Ngày liên hệ cuối` while the lead stays in
Từ chối/Chưa chốt with that reason is a new attempt. Attempts are counted from the log rows
of the episode; when they reach `max_attempts` the lead moves to the chain's `unreachable`
status (by sync), otherwise a retry is scheduled.

`Ngày liên hệ lại` is written only when an event calls for a date: a rejection row logged,
a failed attempt logged, a nurture row opened without a rejection this run, a nurture touch
recorded on or after the lead's recontact date, or (with `rules.overdue = "spread"`) a date
that has passed. Otherwise the cell is left alone. A future date the sync did not write
(not in the lead's log or nurture rows) is a person's and is kept instead of a new one.
Every existing date counts in the owner's daily cap. Leads marked do-not-contact, in a
non-schedulable status, or excluded (Sai đối tượng) are never scheduled. With
`overdue = "keep"` a passed date stays (the agenda shows it overdue).

`issues` in the result is a Series of lists of message strings (empty list when clean).
Unknown status values are reported by validation; pass `report_unknown=True` to have this
step report them too (when it runs without validation).
"""

from __future__ import annotations

import datetime as dt
import gc
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from sheetcrm.schema import CADENCES, Offset, Schemas, StatusChain
from sheetcrm.text import as_text, fold, fold_series, map_distinct, strip_text

from .frames import DATE_DTYPE, map_series, to_dates
from .reasons import map_reasons, team_corrections
from .schedule import WorkCalendar, add_offsets, apply_daily_cap, next_working_day

BY_PERSON, BY_SYNC = "person", "sync"

# Issue texts; `schemas/messages.toml` may override any of these keys per language.
MESSAGES = {
    "vi": {
        "unknown_status": "Trạng thái '{value}' không hợp lệ",
        "missing_reason": "Thiếu lý do cho trạng thái {status}",
        "other_needs_detail": "Lý do '{reason}' cần ghi rõ chi tiết",
        "unknown_reason": "Không nhận ra lý do '{value}' — hãy chọn một nhóm lý do",
        "backward_move": "Chuyển lùi trạng thái: {old} → {new}",
        "left_terminal": "Rời trạng thái kết thúc {old}",
    },
    "en": {
        "unknown_status": "Status '{value}' is not valid",
        "missing_reason": "Status {status} needs a reason",
        "other_needs_detail": "Reason '{reason}' needs a detail",
        "unknown_reason": "Reason '{value}' not recognised — pick a reason category",
        "backward_move": "Backward status move: {old} → {new}",
        "left_terminal": "Left the final status {old}",
    },
}
# Nurture tab texts written by the sync (read back by folding any of these spellings).
NURTURE_STATES = {
    "active": {"vi": "Đang nuôi dưỡng", "en": "Active"},
    "reactivated": {"vi": "Đã kích hoạt lại", "en": "Reactivated"},
    "won": {"vi": "Đã chốt", "en": "Won"},
    "stopped": {"vi": "Đã dừng", "en": "Stopped"},
}
CADENCE_LABELS = {
    "monthly": {"vi": "Hàng tháng", "en": "Monthly"},
    "quarterly": {"vi": "Hàng quý", "en": "Quarterly"},
}
DEFAULT_CADENCE = "monthly"


@dataclass
class StatusResult:
    status: pd.Series            # status key per lead after automatic moves; None = unknown, leave
    recontact_on: pd.Series      # datetime64: date to write; NaT = leave the cell as it is
    issues: pd.Series            # list[str] per lead
    history_rows: pd.DataFrame   # history tab keys; dates as datetime.date, statuses as keys
    rejection_rows: pd.DataFrame
    nurture_rows: pd.DataFrame
    nurture_updates: pd.DataFrame  # indexed like the nurture frame; only changed columns, None = keep
    counts: dict[str, int] = field(default_factory=dict)
    # True where the sync's own recontact date belongs to an episode that has ended (the lead
    # is back in the chain, won, out for good or do-not-contact): the cell is cleared.
    recontact_clear: pd.Series | None = None


# ---------------------------------------------------------------- small helpers


def normalize_status(raw: pd.Series, chain: StatusChain) -> pd.Series:
    """Typed status text → status key (None when blank or unknown).

    Folds accents, case, spacing and Unicode form, accepts labels, keys, English names and
    aliases, and ignores punctuation or emoji around the word ("Nóng!", "🔥 Hot").
    """
    lookup = chain.lookup()

    def one(text: str) -> str | None:
        f = fold(text)
        if f in lookup:
            return lookup[f]
        cleaned = " ".join("".join(ch if ch.isalnum() else " " for ch in f).split())
        return lookup.get(cleaned)

    return map_distinct(as_text(pd.Series(raw, dtype=object)), one)


def _messages(schemas: Schemas, language: str) -> dict[str, str]:
    lang = "en" if language == "en" else "vi"
    out = dict(MESSAGES[lang])
    custom = schemas.messages.get(lang, {}) if schemas.messages else {}
    out.update({k: v for k, v in custom.items() if k in out and isinstance(v, str)})
    return out


def _text(df: pd.DataFrame, key: str) -> pd.Series:
    if key not in df:
        return pd.Series("", index=df.index, dtype=object)
    return as_text(df[key])


def _stripped(df: pd.DataFrame, key: str) -> pd.Series:
    """`_text(df, key).str.strip()`, by one comprehension."""
    if key not in df:
        return pd.Series("", index=df.index, dtype=object)
    return strip_text(df[key])


def _text_at(df: pd.DataFrame, key: str, mask: pd.Series) -> pd.Series:
    """`_text(df, key)[mask]`, converting only the rows kept."""
    if key not in df:
        return pd.Series("", index=df.index, dtype=object)[mask]
    return as_text(df[key][mask])


def _dates(df: pd.DataFrame, key: str) -> pd.Series:
    if key not in df:
        return pd.Series(pd.NaT, index=df.index, dtype=DATE_DTYPE)
    return to_dates(df[key]).dt.normalize()


def _keys(df: pd.DataFrame, key: str) -> pd.Series:
    if key not in df:
        return pd.Series(None, index=df.index, dtype=object)
    s = df[key].astype(object)
    return s.where(s.notna() & s.ne(""), None)


def _flag(df: pd.DataFrame, key: str, default: bool) -> pd.Series:
    if key not in df:
        return pd.Series(default, index=df.index, dtype=bool)
    return df[key].fillna(default).astype(bool)


def _fold_lookup(values: pd.Series, table: dict[str, dict[str, str]], blank: str | None) -> pd.Series:
    names = {fold(k): k for k in table}
    for k, labels in table.items():
        names.update({fold(v): k for v in labels.values()})
    return map_distinct(as_text(values), lambda u: names.get(fold(u)) if fold(u) else blank)


def _as_date(s: pd.Series) -> pd.Series:
    d = pd.to_datetime(s)
    return d.dt.date.astype(object).where(d.notna(), None)


def _label(key: str | None, table: dict[str, dict[str, str]], language: str) -> str:
    if not isinstance(key, str):
        return ""
    return table[key]["en" if language == "en" else "vi"]


# ---------------------------------------------------------------- the rules
#
# Each rule reads what the inputs and the earlier rules put on the `ChainState` and adds its
# own fields (named in its docstring). `RULES` is the order; docs/status-chain.md explains it.


class ChainState:
    """The frames of one status-chain run and what the rules have worked out so far.

    Every Series a rule adds is indexed like `leads` unless its docstring says otherwise
    (the nurture rules add Series indexed like the nurture frame).
    """

    def __init__(self, leads: pd.DataFrame, history: pd.DataFrame, rejections: pd.DataFrame,
                 nurture: pd.DataFrame, schemas: Schemas, today: dt.date, language: str = "vi",
                 report_unknown: bool = False) -> None:
        self.leads, self.history, self.rejections, self.nurture = leads, history, rejections, nurture
        self.schemas, self.today, self.language, self.report_unknown = schemas, today, language, report_unknown
        chain, cat = schemas.chain, schemas.reasons
        self.chain, self.cat = chain, cat
        self.msgs = _messages(schemas, language)
        self.t = pd.Timestamp(today).as_unit("ns")  # the unit of the parsed frames' dates
        self.idx = leads.index
        self.st_by_key = {s.key: s for s in chain.statuses}
        self.r_by_key = {r.key: r for r in cat.reasons}
        self.logging = {s.key for s in chain.statuses if s.logs_rejection}
        self.requires_reason = {s.key for s in chain.statuses if s.requires_reason}
        self.terminal = {s.key for s in chain.statuses if s.terminal}
        self.order = {s.key: s.order for s in chain.active}
        self.active_kind = {s.key for s in chain.statuses if s.kind == "active"}
        self.won = {s.key for s in chain.statuses if s.kind == "won"}
        self.not_schedulable = {s.key for s in chain.statuses if not s.schedulable or s.excluded}
        self.nurture_reasons = {r.key for r in cat.reasons if r.nurture}
        self.attempt_reasons = {r.key for r in cat.reasons if r.max_attempts}
        self.label = {k: s.display(language) for k, s in self.st_by_key.items()}  # used with Series.map
        self.issues: list[pd.Series] = []  # one Series of texts per check, in rule order
        self.sync_rows: list[pd.DataFrame] = []  # history rows of the sync's own moves


def read_status(s: ChainState) -> None:
    """Typed status → key; blank → the initial status; which leads the chain tracks.

    Adds `lead_id`, `raw`, `status`, `blank`, `unknown`, `dnc`, `tracked` (a lead id, its first
    row, a known status) and `auto_ok` (tracked, valid and not marked a duplicate: the sync
    may move, log and schedule it).
    """
    leads, idx, chain = s.leads, s.idx, s.chain
    s.lead_id = lead_id = _stripped(leads, "lead_id")
    s.raw = raw = _text(leads, "status_raw") if "status_raw" in leads else pd.Series("", index=idx, dtype=object)
    given = _keys(leads, "status")
    status = given.where(given.notna(), normalize_status(raw, chain) if len(leads) else given)
    s.blank = blank = status.isna() & strip_text(raw).eq("")
    s.unknown = unknown = status.isna() & ~blank
    s.status = status.where(~blank, chain.initial)
    valid = _flag(leads, "valid", True)
    s.dnc = _flag(leads, "do_not_contact", False)
    dup_of = _stripped(leads, "duplicate_of")
    # Marked a duplicate of an id present: the few marked rows are looked up among the ids.
    has_dup = dup_of.ne("")
    present = set(lead_id[lead_id.isin(set(dup_of[has_dup])) & lead_id.ne("")])
    dup_marked = has_dup & dup_of.isin(present) & dup_of.ne(lead_id)
    s.tracked = lead_id.ne("") & ~lead_id.duplicated(keep="first") & ~unknown
    s.auto_ok = s.tracked & valid & ~dup_marked
    if s.report_unknown:
        s.issues.append(pd.Series(np.where(unknown, [s.msgs["unknown_status"].format(value=v) for v in raw], ""),
                                  index=idx))


def read_reasons(s: ChainState) -> None:
    """Typed reason → catalogue category. Adds `rcat`, `rdetail`, `rmatched`, `usable`."""
    cat = s.cat
    taught = team_corrections(s.rejections, s.leads, cat).pairs  # docs/reasons-classifier.md
    rm = map_reasons(_text(s.leads, "reason_raw"), cat, taught).set_index(s.idx)
    s.rcat, s.rdetail, s.rmatched = rm["category"], rm["detail"], rm["matched"]
    s.usable = s.rcat.notna() & ~(s.rcat.eq(cat.other) & s.rmatched & s.rdetail.eq(""))


def read_history(s: ChainState) -> None:
    """The history tab as the state: each lead's last known status and who set it.

    Adds `H` (history rows with their position `pos` per lead), `last_status`, `last_from`,
    `last_by`, `last_obs` and `n_hist`; then redoes a sync move whose cell write was lost.
    """
    history, lead_id, chain = s.history, s.lead_id, s.chain
    H = pd.DataFrame({
        "lead_id": _stripped(history, "lead_id"),
        "from_status": _keys(history, "from_status"),
        "to_status": _keys(history, "to_status"),
        "observed_at": _dates(history, "observed_at"),
        "by": fold_series(_text(history, "by")),
    }).reset_index(drop=True)
    H = H[H["lead_id"].ne("")]
    H["pos"] = H.groupby("lead_id").cumcount() + 1
    s.H = H
    known = H[H["to_status"].notna()]
    last = known.groupby("lead_id").tail(1).set_index("lead_id")
    count = H.groupby("lead_id").size()
    s.last_status = map_series(lead_id, last["to_status"]).astype(object).where(lambda x: x.notna(), None)
    s.last_from = map_series(lead_id, last["from_status"]).astype(object).where(lambda x: x.notna(), None)
    s.last_by = map_series(lead_id, last["by"]).fillna("")
    s.last_obs = map_series(lead_id, last["observed_at"])
    s.n_hist = map_series(lead_id, count).fillna(0).astype(int)

    # A sync move whose cell write was lost (crash): the sheet still shows the status it moved
    # from and the rule still holds → apply it again instead of reading a person's revert.
    lost = (s.tracked & s.last_by.eq(BY_SYNC) & s.last_status.notna() & s.status.eq(s.last_from) & (
        (s.last_status.eq(chain.nurture) & s.rcat.isin(s.nurture_reasons))
        | (s.last_status.eq(chain.unreachable) & s.rcat.isin(s.attempt_reasons))))
    s.status = s.status.where(~lost, s.last_status)


def record_changes(s: ChainState) -> None:
    """One history row per lead whose status differs from its last known one (or is new).

    Adds `changed`, `first_by` (`sync` for a blank filled with the initial status, else
    `person`) and `person_rows` (new history rows with their `pos`).
    """
    tracked, status, last_status, idx = s.tracked, s.status, s.last_status, s.idx
    s.changed = changed = tracked & (last_status.isna() | status.ne(last_status))
    s.first_by = pd.Series(np.where(s.blank & last_status.isna(), BY_SYNC, BY_PERSON), index=idx)
    s.person_rows = pd.DataFrame({
        "lead_id": s.lead_id[changed], "from_status": last_status[changed], "to_status": status[changed],
        "observed_at": s.t, "by": s.first_by[changed], "pos": s.n_hist[changed] + 1,
    })


def flag_moves(s: ChainState) -> None:
    """Backward moves and moves out of a terminal status, flagged on the day they are observed.

    The flag comes from each lead's latest history row dated today, so it shows on every sync
    of that day and clears the next.
    """
    changed, t = s.changed, s.t
    f_from = s.last_from.where(~changed, s.last_status)
    f_to = s.last_status.where(~changed, s.status)
    f_by = s.last_by.where(~changed, s.first_by)
    f_obs = s.last_obs.where(~changed, t)
    today_person = s.tracked & f_by.eq(BY_PERSON) & f_obs.eq(t) & f_from.notna()
    o_from, o_to = f_from.map(s.order), f_to.map(s.order)
    backward = today_person & o_from.notna() & o_to.notna() & (o_to < o_from)
    left_terminal = today_person & f_from.isin(s.terminal) & f_to.ne(f_from)
    s.issues.append(_msg(backward, s.msgs["backward_move"], old=f_from.map(s.label), new=f_to.map(s.label)))
    s.issues.append(_msg(left_terminal, s.msgs["left_terminal"], old=f_from.map(s.label)))


def find_episodes(s: ChainState) -> None:
    """Each lead's open rejection episode: its latest entry into a logging status, no person row after.

    Adds `pending` (the lead has one), `ep_key` (`lead|status|date|position`), `e_date`,
    `e_stage` (the furthest active stage reached before it) and `moves` (every status change
    read: lead_id, to_status, observed_at).
    """
    lead_id, H, person_rows = s.lead_id, s.H, s.person_rows
    cols = ["lead_id", "to_status", "observed_at", "by", "pos"]
    C = pd.concat([f[cols] for f in (H, person_rows) if len(f)], ignore_index=True) \
        if len(H) or len(person_rows) else H[cols]
    # Each lead's rows in order of position, grouped by an integer code of its id: the
    # text ids are hashed once here, not by every groupby (the groups' order is free).
    codes, ids = pd.factorize(C["lead_id"].to_numpy(dtype=object))
    order = np.lexsort((C["pos"].to_numpy(), codes))
    C = C.iloc[order].copy()
    C["code"] = codes = codes[order]
    s.moves = C[["lead_id", "to_status", "observed_at"]]
    reached = C["to_status"].where(C["to_status"].isin(set(s.order)))
    C["stage_before"] = reached.groupby(codes).shift(1)
    C["stage_before"] = C["stage_before"].groupby(codes).ffill()
    entries = C[C["to_status"].isin(s.logging).to_numpy()].groupby("code").tail(1).set_index("code")
    last_person = C[C["by"].ne(BY_SYNC).to_numpy()].groupby("code")["pos"].max()
    # Each lead's code (-1: no history), then every per-lead value is a lookup by code.
    lead_code = pd.Series(pd.Index(ids, dtype=object).get_indexer(lead_id.to_numpy(dtype=object)), index=s.idx)
    e_pos = map_series(lead_code, entries["pos"])
    e_status = map_series(lead_code, entries["to_status"])
    s.e_date = e_date = pd.to_datetime(map_series(lead_code, entries["observed_at"]))
    e_stage = map_series(lead_code, entries["stage_before"]).astype(object)
    s.e_stage = e_stage.where(e_stage.notna(), None)
    s.pending = pending = s.tracked & e_pos.notna() & (e_pos >= map_series(lead_code, last_person).fillna(0))
    ep_key = pd.Series("", index=s.idx, dtype=object)
    if pending.any():
        p = pending
        ep_key[p] = (lead_id[p] + "|" + e_status[p].astype(str) + "|" + e_date[p].dt.strftime("%Y-%m-%d")
                     + "|" + e_pos[p].astype(int).astype(str))
    s.ep_key = ep_key


def check_reasons(s: ChainState) -> None:
    """Issues for a status that needs a reason: none, Khác without detail, a guessed reason."""
    status, rcat, msgs = s.status, s.rcat, s.msgs
    needs = s.tracked & status.isin(s.requires_reason)
    s.issues.append(_msg(needs & rcat.isna(), msgs["missing_reason"], status=status.map(s.label)))
    no_detail = needs & rcat.notna() & ~s.usable
    s.issues.append(_msg(no_detail, msgs["other_needs_detail"], reason=rcat.map(
        {k: r.display(s.language) for k, r in s.r_by_key.items()})))
    guessed = (needs | status.eq(s.chain.nurture)) & rcat.notna() & ~s.rmatched
    s.issues.append(_msg(guessed, msgs["unknown_reason"], value=_stripped(s.leads, "reason_raw")))


def log_rejections(s: ChainState) -> None:
    """Which episodes and failed attempts get a rejection-log row this run (exactly once by key).

    Adds `last_contact`, `base_ok`, `is_attempt`, `in_logging`, `log_plain` (an episode's
    row), `a_date`/`a_key` (the attempt's date and key), `log_try` (an attempt's row) and
    `attempts` (the episode's attempts including this one).
    """
    rejections, status, ep_key = s.rejections, s.status, s.ep_key
    existing = set(_stripped(rejections, "event_key"))
    existing.discard("")
    tries = pd.Series(sorted(k for k in existing if "|try:" in k), dtype=object)
    t_split = tries.str.rsplit("|try:", n=1, expand=True) if len(tries) else pd.DataFrame({0: [], 1: []})
    t_count = t_split.groupby(0).size() if len(tries) else pd.Series(dtype=int)
    t_max = pd.to_datetime(t_split[1], errors="coerce").groupby(t_split[0]).max() if len(tries) else pd.Series(
        dtype="datetime64[ns]")

    s.last_contact = last_contact = _dates(s.leads, "last_contact")
    s.is_attempt = is_attempt = s.rcat.isin(s.attempt_reasons)
    s.in_logging = in_logging = status.isin(s.logging)
    s.base_ok = base_ok = s.pending & s.auto_ok & s.usable
    s.log_plain = base_ok & ~is_attempt & (in_logging | status.eq(s.chain.nurture)) & ~ep_key.isin(existing)
    s.a_date = a_date = last_contact.where(last_contact.notna(), s.e_date)
    # An attempt's key, built only where an attempt can be logged ('' elsewhere).
    a_key = pd.Series("", index=s.idx, dtype=object)
    can_try = base_ok & is_attempt & in_logging
    if can_try.any():
        a_key[can_try] = ep_key[can_try] + "|try:" + a_date[can_try].dt.strftime("%Y-%m-%d").fillna("")
    s.a_key = a_key
    prev_n = map_series(ep_key, t_count).fillna(0).astype(int)
    prev_max = pd.to_datetime(map_series(ep_key, t_max))
    s.log_try = (base_ok & is_attempt & in_logging & ~a_key.isin(existing)
                 & (prev_max.isna() | (a_date > prev_max)))
    s.attempts = prev_n + s.log_try.astype(int)


def move_automatically(s: ChainState) -> None:
    """The sync's own moves: to `unreachable` after max attempts, to nurture for a nurture reason.

    Adds `to_unreachable`, `to_nurture`, their history rows to `sync_rows`, and moves `status`.
    """
    chain, status, rcat = s.chain, s.status, s.rcat
    max_att = pd.to_numeric(rcat.map({k: r.max_attempts for k, r in s.r_by_key.items()}), errors="coerce")
    s.to_unreachable = to_unreachable = (s.base_ok & s.is_attempt & s.in_logging & max_att.notna()
                                         & (s.attempts >= max_att) & status.ne(chain.unreachable))
    s.to_nurture = to_nurture = s.base_ok & s.in_logging & rcat.isin(s.nurture_reasons) & ~to_unreachable
    for mask, target in ((to_nurture, chain.nurture), (to_unreachable, chain.unreachable)):
        if mask.any():
            s.sync_rows.append(pd.DataFrame({"lead_id": s.lead_id[mask], "from_status": status[mask],
                                             "to_status": target, "observed_at": s.t, "by": BY_SYNC}))
    s.status = status.where(~to_nurture, chain.nurture).where(~to_unreachable, chain.unreachable)


def update_nurture_list(s: ChainState) -> None:
    """Close nurture rows whose lead left nurture; which leads open a new row.

    Adds, indexed like the nurture frame: `n_lead`, `n_cadence`, `n_reason`, `close_state`
    (reactivated / won / stopped, None = stays) and `still_active`; indexed like leads:
    `open_n` (a new nurture row).
    """
    N, status, tracked, lead_id = s.nurture, s.status, s.tracked, s.lead_id
    s.n_lead = n_lead = _stripped(N, "lead_id")
    n_state = _fold_lookup(_text(N, "state"), NURTURE_STATES, blank="active")
    n_active = n_state.eq("active") & n_lead.ne("")
    s.n_cadence = _fold_lookup(_text(N, "cadence"), CADENCE_LABELS, blank=None).fillna(DEFAULT_CADENCE)
    s.n_reason = _keys(N, "reason_category")
    final_by_id = pd.Series(status[tracked].to_numpy(), index=lead_id[tracked].to_numpy())
    n_final = map_series(n_lead, final_by_id)
    close_state = pd.Series(None, index=N.index, dtype=object)
    close_state[n_active & n_final.isin(s.active_kind)] = "reactivated"
    close_state[n_active & n_final.isin(s.won)] = "won"
    close_state[n_active & n_final.notna() & ~n_final.isin(s.active_kind | s.won | {s.chain.nurture})] = "stopped"
    s.close_state = close_state
    s.still_active = n_active & close_state.isna()
    # A row an import reactivated (the person wrote again) while the lead is still in nurture
    # closes that episode: no new row until the lead enters nurture again (docs/intake.md).
    moves = pd.concat([s.moves, *s.sync_rows], ignore_index=True)
    into = moves[moves["to_status"].eq(s.chain.nurture)].groupby("lead_id")["observed_at"].max()
    same_episode = n_state.eq("reactivated") & (_dates(N, "nurture_start") >= map_series(n_lead, into))
    has_active = lead_id.isin(set(n_lead[n_active | same_episode]))
    s.open_n = s.auto_ok & status.eq(s.chain.nurture) & ~has_active


def schedule_events(s: ChainState) -> None:
    """The nominal recontact date of each event: a rejection row, an attempt, a nurture row opened.

    Adds `cal` (the working calendar), `offsets` (per lead, from its reason), `base` (last
    contact, else today) and `nominal` (NaT = no event this run).
    """
    today, rcat, idx = s.today, s.rcat, s.idx
    years = range(today.year - 1, today.year + 3)
    s.cal = cal = WorkCalendar(s.cat.extra_days_off, years)
    s.offsets = offsets = rcat.map({k: r.recontact for k, r in s.r_by_key.items()})
    nominal = pd.Series(pd.NaT, index=idx, dtype="datetime64[ns]")
    s.base = base = s.last_contact.where(s.last_contact.notna(), s.t)
    ev_plain = s.log_plain & ~s.to_unreachable
    nominal[ev_plain] = add_offsets(base[ev_plain], offsets[ev_plain], cal)
    ev_try = s.log_try & ~s.to_unreachable
    nominal[ev_try] = add_offsets(s.a_date[ev_try], offsets[ev_try], cal)
    ev_open = s.open_n & nominal.isna()
    open_off = offsets.where(rcat.isin(s.nurture_reasons) | rcat.notna(),
                             Offset(CADENCES[DEFAULT_CADENCE], "m"))
    nominal[ev_open] = add_offsets(base[ev_open], open_off[ev_open], cal)
    s.nominal = nominal


def schedule_nurture_touches(s: ChainState) -> None:
    """Touches recorded on the nurture list advance the next touch; a touch on or after the
    lead's recontact date stands for that recontact, so the next one counts from it.

    Adds `existing_rec` (the leads' recontact dates), and indexed like the nurture frame:
    `touch_next`, `advance` (next touch to write) and `touch_rec` (the touch stands for the
    recontact); fills `nominal` for the leads touched.
    """
    N, cal, lead_id, tracked, still_active = s.nurture, s.cal, s.lead_id, s.tracked, s.still_active
    n_lead = s.n_lead
    s.existing_rec = existing_rec = _dates(s.leads, "recontact_on")
    n_touch = _dates(N, "last_touch")
    n_next = _dates(N, "next_touch")
    n_months = s.n_cadence.map(CADENCES).fillna(1).astype(int)
    touch_next = pd.Series(pd.NaT, index=N.index, dtype="datetime64[ns]")
    for months in pd.unique(n_months.to_numpy()):
        m = still_active & n_touch.notna() & n_months.eq(months)
        if m.any():
            touch_next[m] = next_working_day(
                add_offsets(n_touch[m], pd.Series(Offset(int(months), "m"), index=n_touch[m].index), cal), cal)
    s.touch_next = touch_next
    s.advance = still_active & touch_next.notna() & (n_next.isna() | (n_next < touch_next))
    rec_by_id = pd.Series(existing_rec[tracked].to_numpy(), index=lead_id[tracked].to_numpy())
    n_rec = pd.to_datetime(map_series(n_lead, rec_by_id))
    s.touch_rec = touch_rec = still_active & n_touch.notna() & (n_rec.isna() | (n_touch >= n_rec))
    touched_ids = n_lead[touch_rec]
    touch_base = pd.Series(n_touch[touch_rec].to_numpy(), index=touched_ids.to_numpy())
    touch_base = touch_base[~touch_base.index.duplicated(keep="last")]
    n_off = s.n_reason.map({k: r.recontact for k, r in s.r_by_key.items()})
    n_off = n_off.where(n_off.notna(), n_months.map(lambda m: Offset(int(m), "m")))
    touch_off = pd.Series(n_off[touch_rec].to_numpy(), index=touched_ids.to_numpy())
    touch_off = touch_off[~touch_off.index.duplicated(keep="last")]
    ev_touch = s.auto_ok & lead_id.isin(set(touched_ids)) & s.nominal.isna()
    if ev_touch.any():
        tb = pd.to_datetime(map_series(lead_id[ev_touch], touch_base))
        s.nominal[ev_touch] = add_offsets(tb, map_series(lead_id[ev_touch], touch_off), cal)


def place_dates(s: ChainState) -> None:
    """Nominal dates → written dates: eligibility, overdue spread, a person's date kept, daily cap.

    Adds `recontact_out` (NaT = leave the cell), `recontact_clear` (the sync's date of an
    ended episode) and `effective` (the date the logs record for an event).
    """
    leads, status, dnc, t, lead_id, existing_rec = s.leads, s.status, s.dnc, s.t, s.lead_id, s.existing_rec
    nominal = s.nominal
    eligible = s.auto_ok & ~dnc & ~status.isin(s.not_schedulable)
    if s.cat.overdue == "spread":
        ev_spread = eligible & nominal.isna() & existing_rec.notna() & (existing_rec < t)
        nominal[ev_spread] = t
    nominal = nominal.where(eligible)
    # A future date the sync never wrote for this lead is a person's: keep it.
    sync_dates = pd.concat([
        pd.DataFrame({"lead_id": _stripped(s.rejections, "lead_id"),
                      "d": _dates(s.rejections, "recontact_on")}),
        pd.DataFrame({"lead_id": s.n_lead, "d": _dates(s.nurture, "recontact_on")}),
    ]).dropna()
    sync_keys = set(sync_dates["lead_id"] + "|" + sync_dates["d"].dt.strftime("%Y-%m-%d"))
    # A lead's recontact date as a key, only where it has one ('' elsewhere: it is never tested).
    rec_key = pd.Series("", index=s.idx, dtype=object)
    has_rec = existing_rec.notna()
    if has_rec.any():
        rec_key[has_rec] = lead_id[has_rec] + "|" + existing_rec[has_rec].dt.strftime("%Y-%m-%d")
    persons = existing_rec.notna() & (existing_rec >= t) & ~rec_key.isin(sync_keys)
    kept = nominal.notna() & persons
    to_place = nominal.notna() & ~kept
    counts_in_cap = existing_rec.notna() & ~to_place & ~dnc & ~status.isin(s.not_schedulable)
    fixed = existing_rec.where(counts_in_cap)
    placed = apply_daily_cap(_stripped(leads, "owner"), nominal.where(to_place), lead_id, fixed,
                             s.cat.daily_cap, s.cal)
    s.recontact_out = recontact_out = placed.where(to_place)
    # A date the sync wrote for a rejection or nurture episode means nothing once the lead
    # has left it; a person's date stays.
    episode = s.logging | {s.chain.nurture}
    ended = ~status.isin(episode) | dnc
    s.recontact_clear = (s.auto_ok & ended & existing_rec.notna() & rec_key.isin(sync_keys)
                         & recontact_out.isna())
    s.effective = placed.where(to_place | kept)


# The order matters: each rule reads what the rules before it added (docs/status-chain.md).
RULES = (
    read_status,
    read_reasons,
    read_history,
    record_changes,
    flag_moves,
    find_episodes,
    check_reasons,
    log_rejections,
    move_automatically,
    update_nurture_list,
    schedule_events,
    schedule_nurture_touches,
    place_dates,
)


def apply_status_chain(leads: pd.DataFrame, history: pd.DataFrame, rejections: pd.DataFrame,
                       nurture: pd.DataFrame, schemas: Schemas, today: dt.date,
                       language: str = "vi", report_unknown: bool = False) -> StatusResult:
    """Apply the status chain to the parsed tabs (docs/status-chain.md); rules in `RULES` order."""
    s = ChainState(leads, history, rejections, nurture, schemas, today, language, report_unknown)
    for rule in RULES:
        rule(s)
    return build_result(s)


# ---------------------------------------------------------------- output rows


def build_result(s: ChainState) -> StatusResult:
    """The rows to append and the cells to write, from a state every rule has run on."""
    hist_out = history_rows(s)
    rej = rejection_rows(s)
    nur = nurture_rows(s)
    upd = nurture_updates(s)
    counts = {
        "transitions": len(hist_out),
        "rejections_logged": len(rej),
        "nurtured": len(nur),
        "reactivated": int(s.close_state.eq("reactivated").sum()),
        "won_from_nurture": int(s.close_state.eq("won").sum()),
        "moved_unreachable": int(s.to_unreachable.sum()),
        "scheduled": int(s.recontact_out.notna().sum()),
        "recontact_cleared": int(s.recontact_clear.sum()),
    }
    out_status = s.status.where(~s.unknown, None).astype(object)
    return StatusResult(out_status, s.recontact_out, _merge_issues(s.issues, s.idx), hist_out, rej, nur, upd,
                        counts, s.recontact_clear)


def history_rows(s: ChainState) -> pd.DataFrame:
    """History rows to append: the person-made changes, then the sync's own moves."""
    person_rows, sync_rows = s.person_rows, s.sync_rows
    hist_out = pd.concat([person_rows.drop(columns="pos"), *sync_rows], ignore_index=True) \
        if len(person_rows) or sync_rows else pd.DataFrame(
            columns=["lead_id", "from_status", "to_status", "observed_at", "by"])
    hist_out["observed_at"] = [s.today] * len(hist_out)
    hist_out = hist_out.astype(object)  # rows to append: keys, texts and dates, all object
    hist_out["from_status"] = hist_out["from_status"].where(hist_out["from_status"].notna(), None)
    return hist_out


def rejection_rows(s: ChainState) -> pd.DataFrame:
    """Rejection-log rows to append: one per episode logged and one per failed attempt."""
    leads, log_try = s.leads, s.log_try
    log_mask = s.log_plain | log_try
    return pd.DataFrame({
        "event_key": s.ep_key.where(~log_try, s.a_key)[log_mask],
        "lead_id": s.lead_id[log_mask],
        **{k: _text_at(leads, k, log_mask) for k in ("name", "company", "email", "phone", "owner", "product")},
        "stage_before": s.e_stage[log_mask],
        "last_contact": _as_date(s.last_contact[log_mask]),
        "reason_category": s.rcat[log_mask],
        "reason_text": _text_at(leads, "reason_raw", log_mask),
        "notes": _text_at(leads, "notes", log_mask),
        "logged_at": [s.today] * int(log_mask.sum()),
        "recontact_on": _as_date(s.effective[log_mask]),
        "outcome": "",
    }, dtype=object).reset_index(drop=True)


def nurture_rows(s: ChainState) -> pd.DataFrame:
    """Nurture rows to append for the leads that entered nurture, first touch one cadence on."""
    leads, open_n, idx, rcat, language = s.leads, s.open_n, s.idx, s.rcat, s.language
    o_cad = rcat.map({k: r.cadence for k, r in s.r_by_key.items() if r.cadence}).fillna(DEFAULT_CADENCE)
    o_next = pd.Series(pd.NaT, index=idx, dtype="datetime64[ns]")
    for cadence in pd.unique(o_cad[open_n].to_numpy()):
        m = open_n & o_cad.eq(cadence)
        o_next[m] = next_working_day(add_offsets(pd.Series(s.t, index=idx[m]), pd.Series(
            Offset(CADENCES[cadence], "m"), index=idx[m]), s.cal), s.cal)
    return pd.DataFrame({
        "lead_id": s.lead_id[open_n],
        **{k: _text_at(leads, k, open_n) for k in ("name", "email", "phone", "owner")},
        "reason_category": rcat[open_n],
        "nurture_start": [s.today] * int(open_n.sum()),
        "cadence": o_cad[open_n].map(lambda c: _label(c, CADENCE_LABELS, language)),
        "next_touch": _as_date(o_next[open_n]),
        "recontact_on": _as_date(s.effective[open_n]),
        "touches_done": "",
        "last_touch": None,
        "last_touch_result": "",
        "state": _label("active", NURTURE_STATES, language),
    }, dtype=object).reset_index(drop=True)


def nurture_updates(s: ChainState) -> pd.DataFrame:
    """Cells to write on existing nurture rows (state, next touch, recontact); None = keep."""
    language, lead_id = s.language, s.lead_id
    upd = pd.DataFrame(index=s.nurture.index)
    upd["state"] = s.close_state.map(
        lambda k: _label(k, NURTURE_STATES, language) if isinstance(k, str) else None)
    upd["next_touch"] = _as_date(s.touch_next.where(s.advance))
    rec_by_id = pd.Series(s.recontact_out.to_numpy(), index=lead_id.to_numpy()).loc[lambda x: ~x.index.duplicated()]
    rec_for_row = pd.to_datetime(map_series(s.n_lead, rec_by_id))
    upd["recontact_on"] = _as_date(rec_for_row.where(s.touch_rec & rec_for_row.notna()))
    upd = upd[upd.notna().any(axis=1)]
    return upd.astype(object).where(upd.notna(), None)


def _msg(mask: pd.Series, template: str, **values: pd.Series) -> pd.Series:
    out = pd.Series("", index=mask.index, dtype=object)
    if mask.any():
        names = list(values)
        cols = [values[k][mask].to_numpy(dtype=object) for k in names]
        out[mask] = [template.format(**dict(zip(names, vals))) for vals in zip(*cols)]
    return out


def _merge_issues(parts: list[pd.Series], index: pd.Index) -> pd.Series:
    """Per lead, the list of its issue texts (empty list when clean)."""
    # Allocating a list per lead is collector work, not cycles: pause it for these lists.
    paused = gc.isenabled()
    gc.disable()
    try:
        out = [[] for _ in range(len(index))]
    finally:
        if paused:
            gc.enable()
    for p in parts:
        values = p.to_numpy(dtype=object)
        for i in np.flatnonzero(values != ""):
            out[i].append(values[i])
    return pd.Series(out, index=index, dtype=object)
