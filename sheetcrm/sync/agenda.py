"""The `Lịch liên hệ lại` (recontact agenda) tab: who to call, when, and what to say.

A lead is on the agenda when it has a `recontact_on` date no later than today + 30 days
(overdue ones included, however old), its status is schedulable and not excluded, it is
not marked do-not-contact, and it is not a duplicate record of another lead. Each such
lead appears exactly once: in its owner's block, in one section (overdue / today / the
rest of this week / the next 30 days), rows sorted by date then lead id. A per-owner
count table comes first so a manager sees the load at a glance.
"""

from __future__ import annotations

import datetime as dt
from itertools import repeat

import numpy as np
import pandas as pd

from ..changes import SheetLayout
from ..schema import Schemas, default_tab_title
from ..text import as_text, fold, map_distinct
from .reasons import map_reasons
from .summary import Grid, _col, _dates, _text, labels, population, week_end

AGENDA_TAB = default_tab_title("agenda")  # Vietnamese default; see Schemas.summary_title
HORIZON_DAYS = 30
SECTIONS = ("overdue", "today", "week", "month")
_TRUE = {"x", "1", "true", "yes", "y", "co", "dnc", "khong lien he"}


def reason_keys(leads: pd.DataFrame, schemas: Schemas) -> pd.Series:
    """Reason category key per lead: a key column when the pipeline provides one
    (`reason_category` or `reason`), else `reason_raw` mapped by the reason step."""
    cat_keys = {r.key for r in schemas.reasons.reasons}
    for name in ("reason_category", "reason"):
        if name in leads.columns and leads[name].isin(cat_keys).any():
            return leads[name].astype(object).where(leads[name].isin(cat_keys), None)
    raw = as_text(_col(leads, "reason_raw", ""))
    return map_reasons(raw, schemas.reasons)["category"]


def _flag(s: pd.Series) -> pd.Series:
    if s.dtype == bool:
        return s
    return map_distinct(as_text(s), lambda u: fold(u) in _TRUE).astype(bool)


def agenda_frame(leads: pd.DataFrame, schemas: Schemas, today: dt.date) -> pd.DataFrame:
    """The agenda's rows, sorted (owner, section, date, lead id), with a `section` column."""
    pop, _ = population(leads)
    blocked = {s.key for s in schemas.chain.statuses if not s.schedulable or s.excluded}
    when = _dates(pop, "recontact_on").dt.normalize()
    status = _col(pop, "status", None)
    t = pd.Timestamp(today)
    keep = (
        when.notna()
        & (when <= t + pd.Timedelta(days=HORIZON_DAYS))
        & ~status.isin(blocked)
        & ~_flag(_col(pop, "do_not_contact", False))
    )
    df = pop.loc[keep]
    when = when[keep]
    we = pd.Timestamp(week_end(today))
    section = np.select([when < t, when == t, when <= we], [0, 1, 2], default=3)
    out = pd.DataFrame(
        {
            "owner": _text(_col(df, "owner", ""), ""),
            "section": section,
            "date": when,
            "lead_id": as_text(_col(df, "lead_id", "")),
            "name": as_text(_col(df, "name", "")),
            "company": as_text(_col(df, "company", "")),
            "phone": dialable_phone(df),
            "email": as_text(_col(df, "email", "")),
            "status": _col(df, "status", None),
            "reason": reason_keys(df, schemas),
            "product": as_text(_col(df, "product", "")),
            "last_contact": _dates(df, "last_contact"),
            "notes": as_text(_col(df, "notes", "")),
        },
        index=df.index,
    )
    # owners alphabetical (accent-insensitive), the unassigned last: an integer rank sorts fast
    owners = sorted(pd.unique(out["owner"].to_numpy()), key=lambda o: (o == "", fold(o), o))
    out["owner_key"] = out["owner"].map({o: i for i, o in enumerate(owners)})
    # In each section, new leads nobody has called yet and returning people come first.
    fresh = out["status"].eq(schemas.chain.initial) & _dates(df, "last_contact").isna()
    fresh |= _col(df, "returning", False).eq(True).to_numpy()
    out["later"] = (~fresh).astype(int)
    out = out.sort_values(["owner_key", "section", "later", "date", "lead_id"], kind="mergesort")
    return out.drop(columns=["owner_key", "later"])


def build_agenda(
    leads: pd.DataFrame,
    schemas: Schemas,
    today: dt.date,
    language: str = "vi",
    now: dt.datetime | None = None,
    tab: str = AGENDA_TAB,
) -> SheetLayout:
    """The recontact agenda for `today` (see the module doc for who is on it)."""
    L = labels(language, schemas)
    a = agenda_frame(leads, schemas, today)
    status_name = {s.key: s.display(language) for s in schemas.chain.statuses}
    reasons = {r.key: r for r in schemas.reasons.reasons}
    reason_name = {k: r.display(language) for k, r in reasons.items()}
    action = {k: (r.action_en or r.action) if language == "en" else r.action for k, r in reasons.items()}
    sec_name = [L["agenda_overdue"], L["agenda_today"], L["agenda_week"], L["agenda_month"]]
    ncols = 12

    g = Grid()
    g.put(1, 1, L["agenda_title"], "title")
    g.put(2, 1, L["updated_at"], "note")
    g.put(2, 2, (now or dt.datetime.combine(today, dt.time())).replace(microsecond=0, tzinfo=None))
    g.merges.append((2, 2, 2, 3))
    g.put(3, 1, L["as_of"], "note")
    g.put(3, 2, today, "date")
    g.row = 5

    if a.empty:
        g.put(g.row, 1, L["agenda_empty"], "note")
        return g.layout(tab, (16.0, 12.0, 24.0, 22.0, 14.0, 26.0, 14.0, 22.0, 60.0, 18.0, 12.0, 40.0),
                        freeze_rows=3)

    # per-owner load
    owners = list(dict.fromkeys(a["owner"].tolist()))  # already in display order
    ct = pd.crosstab(a["owner"], a["section"]).reindex(index=owners, columns=range(4), fill_value=0)
    rows = [[o or L["no_owner"], *[int(v) for v in ct.loc[o]], int(ct.loc[o].sum())] for o in owners]
    sums = [int(ct[c].sum()) for c in range(4)]
    g.table(
        L["agenda_summary_title"],
        [L["owner_col"], *sec_name, L["total"]],
        rows,
        [None] + ["integer"] * 5,
        total=[L["total"], *sums, sum(sums)],
    )
    _manager_block(g, L, a, today, _manager_days(schemas))

    header = [
        L["agenda_date"], L["agenda_lead_id"], L["agenda_name"], L["agenda_company"], L["agenda_phone"],
        L["agenda_email"], L["agenda_status"], L["agenda_reason"], L["agenda_action"],
        L["agenda_product"], L["agenda_last_contact"], L["agenda_notes"],
    ]
    dates = a["date"].dt.date.to_numpy()
    st = a["status"].map(status_name).fillna("").to_numpy()
    rs = a["reason"].map(reason_name).fillna("").to_numpy()
    ac = a["reason"].map(action).fillna("").to_numpy()
    last = a["last_contact"].dt.date.astype(object).where(a["last_contact"].notna(), None).to_numpy()
    detail = list(zip(dates, *(a[c].to_numpy() for c in ("lead_id", "name", "company", "phone", "email")), st, rs, ac,
                      a["product"].to_numpy(), last, a["notes"].to_numpy()))
    owner_arr = a["owner"].to_numpy()
    sec_arr = a["section"].to_numpy()
    # block boundaries: where owner or section changes (the frame is sorted)
    change = np.ones(len(a), dtype=bool)
    change[1:] = (owner_arr[1:] != owner_arr[:-1]) | (sec_arr[1:] != sec_arr[:-1])
    starts = np.flatnonzero(change).tolist() + [len(a)]
    r = g.row
    for b in range(len(starts) - 1):
        i, j = starts[b], starts[b + 1]
        if i == 0 or owner_arr[i] != owner_arr[i - 1]:
            if i:
                r += 1
            owner = owner_arr[i] or L["no_owner"]
            g.put(r, 1, f"{L['agenda_owner_row']}: {owner} ({int(ct.loc[owner_arr[i]].sum())})", "subtitle")
            g.merges.append((r, 1, r, ncols))
            g.put_row(r + 1, header, "header")
            r += 2
        g.put(r, 1, f"{sec_name[sec_arr[i]]} ({j - i})", "bold")
        r += 1
        g.put_rows(r, detail[i:j])
        g.styles.extend(zip(range(r, r + j - i), repeat(1), repeat("date")))
        g.styles.extend(zip(range(r, r + j - i), repeat(11), repeat("date")))
        r += j - i
    g.row = r + 1
    widths = _agenda_widths(a, rows, status_name, reason_name)
    return g.layout(tab, widths, freeze_rows=3)


def dialable_phone(df: pd.DataFrame) -> pd.Series:
    """The number a rep can dial: a Vietnamese number in its national form after the 2018
    prefix change (0168… typed years ago is 038… now), others in E.164; what was typed
    when it is not a valid number."""
    typed = as_text(_col(df, "phone", ""))
    if "phone_e164" not in df:
        return typed
    e164 = df["phone_e164"].astype(object)
    vn = e164.str.startswith("+84", na=False)
    out = e164.where(~vn, "0" + e164.str[3:])
    return as_text(out.where(e164.notna(), typed))


def _agenda_widths(a: pd.DataFrame, owner_rows: list[list], status_name: dict, reason_name: dict) -> tuple[float, ...]:
    """Fit the detail columns to their longest value (vectorised), within sane bounds."""

    def longest(s: pd.Series, lo: int, hi: int) -> float:
        n = max(map(len, pd.unique(as_text(s).to_numpy())), default=0)
        return float(min(max(n + 2, lo), hi))

    owner_w = max((len(str(r[0])) for r in owner_rows), default=0) + 2
    return (
        float(min(max(18, owner_w), 28)),  # wide enough for the "Ngày liên hệ lại" header
        longest(a["lead_id"], 13, 18),
        longest(a["name"], 16, 30),
        longest(a["company"], 14, 30),
        longest(a["phone"], 14, 18),
        longest(a["email"], 16, 32),
        longest(a["status"].map(status_name).fillna(""), 12, 18),
        longest(a["reason"].map(reason_name).fillna(""), 14, 36),
        70.0,
        longest(a["product"], 12, 24),
        12.0,
        longest(a["notes"], 16, 50),
    )


def _manager_days(schemas: Schemas) -> int:
    rules = getattr(schemas, "scoring", None)
    return rules.activity.overdue_manager_days if rules is not None else 7


def _manager_block(g: Grid, L: dict[str, str], a: pd.DataFrame, today: dt.date, days: int) -> None:
    """Recontacts overdue more than `days` days, per owner: for the manager to take up."""
    t = pd.Timestamp(today)
    late = a[(a["section"] == 0) & (a["date"] < t - pd.Timedelta(days=days))]
    if late.empty:
        return
    by = late.groupby("owner", sort=False).agg(n=("lead_id", "size"), oldest=("date", "min"))
    rows = [[o or L["no_owner"], int(r.n), r.oldest.date(), int((t - r.oldest).days)] for o, r in by.iterrows()]
    pos = g.table(L["agenda_manager_title"].format(days=days),
                  [L["owner_col"], L["agenda_manager_count"], L["agenda_manager_oldest"], L["agenda_manager_age"]],
                  rows, [None, "integer", "date", "integer"],
                  total=[L["total"], int(len(late)), late["date"].min().date(), int((t - late["date"].min()).days)])
    g.styles.append((pos["end"], 3, "date"))
