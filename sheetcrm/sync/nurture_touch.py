"""Nurture that runs itself, pure part (docs/nurture-automation.md): which nurture rows are
due a touch today, the next content item each of those leads has not had, who must not get
anything, and the cells that record a touch once it is sent.

Everything comes from the workbook: the nurture rows (cadence, next touch, touches done,
`Nội dung đã gửi`), the leads (status, email, do-not-contact, `Đồng ý nhận email`), the
content tab, the intake log (unsubscribes imported) and the suppression list (erased people).
A row is due when its state is active, its lead is still in nurture, its next touch date has
come, a touch a person recorded does not already stand for it, and today is a working day.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..changes import ChangeSet
from ..schema import CADENCES, Offset, Schemas
from ..text import as_text, fold, fold_series, map_distinct
from .dates import parse_dates
from .normalize import normalize_email
from .pipeline import _append, _updates, _Writer
from .privacy import hashes, suppressed, workbook_salt
from .schedule import WorkCalendar, add_offsets, next_working_day
from .status import CADENCE_LABELS, DEFAULT_CADENCE, NURTURE_STATES, _fold_lookup, normalize_status
from .tables import Table
from .tombstone import erased

# Folded cell values of `Đồng ý nhận email` and of `Đang dùng`.
YES = {"co", "yes", "y", "x", "v", "1", "true", "dong y", "da dong y", "agree", "agreed", "ok", "✓", "✔",
       "dang dung", "active", "on"}
NO = {"khong", "no", "n", "0", "false", "khong dong y", "tu choi", "huy", "da huy", "huy dang ky",
      "unsubscribed", "off", "ngung", "inactive"}
# The intake outcome of an unsubscribe imported (sheetcrm/sync/intake.py writes it).
UNSUBSCRIBED = {"vi": "hủy nhận email", "en": "unsubscribed"}
# Why a due touch is not sent, in the order they are checked.
SKIPS = ("erased", "do_not_contact", "unsubscribed", "no_consent", "no_email", "no_content", "same_email")
CONTENT_PREFIX = "ND-"


def consent_of(values: pd.Series) -> pd.Series:
    """`Đồng ý nhận email` cells → True (agreed), False (refused) or None (blank/unknown).

    A form's checkbox answer is its option text ("Tôi đồng ý nhận email"): text that says
    agree without a negation counts as yes."""
    def one(u: str) -> bool | None:
        f = fold(u)
        if not f:
            return None
        if f in NO or f.startswith(("khong ", "no ", "chua ")) or "khong dong y" in f or "huy" in f.split():
            return False
        if f in YES or "dong y" in f or "agree" in f or "consent" in f or "opt in" in f:
            return True
        return None

    return map_distinct(as_text(values), one, None)


def unsubscribe_outcomes() -> set[str]:
    return {fold(v) for v in UNSUBSCRIBED.values()}


@dataclass
class Content:
    """The content tab parsed: one row per usable item, in sending order."""

    items: pd.DataFrame  # content_id, title, link, body, template, cats (tuple of keys; () = all), order, row
    ids_to_fill: pd.Series  # tab index → id to write where the team left `Mã nội dung` blank
    unknown_categories: list[str] = field(default_factory=list)


def parse_content(table: Table, schemas: Schemas, prefix: str = CONTENT_PREFIX) -> Content:
    """The items of `Nội dung nuôi dưỡng`: active ones with a title or a body; blank ids
    get the next `ND-nnn`; categories read as labels, English names or keys."""
    f = table.frame
    cols = ("content_id", "title", "link", "body", "template", "categories", "order", "active")
    t = {k: (as_text(f[k]).str.strip() if k in f else pd.Series("", index=f.index, dtype=object)) for k in cols}
    ids = t["content_id"]
    blank = ids.eq("") & (t["title"].ne("") | t["body"].ne(""))
    taken = ids[ids.ne("")]
    nums = pd.to_numeric(taken.str.removeprefix(prefix), errors="coerce")
    start = int(nums.max()) if nums.notna().any() else 0
    fill = pd.Series([f"{prefix}{start + i:03d}" for i in range(1, int(blank.sum()) + 1)],
                     index=ids.index[blank], dtype=object)
    ids = ids.where(~blank, fill.reindex(ids.index))
    lookup = schemas.reasons.lookup()
    unknown: list[str] = []

    def cats(text: str) -> tuple[str, ...]:
        out = []
        for part in text.replace(";", ",").split(","):
            p = part.strip()
            if not p:
                continue
            key = lookup.get(fold(p))
            if key is None:
                unknown.append(p)
            elif key not in out:
                out.append(key)
        return tuple(out)

    parsed_cats = map_distinct(t["categories"], cats, ())
    active = map_distinct(t["active"], lambda u: fold(u) not in NO, True)
    order = pd.to_numeric(t["order"].str.replace(",", ".", regex=False), errors="coerce")
    items = pd.DataFrame({
        "content_id": ids, "title": t["title"], "link": t["link"], "body": t["body"],
        "template": t["template"], "cats": parsed_cats, "order": order.fillna(np.inf),
        "row": f["row"].astype(int) if len(f) else pd.Series(dtype=int),
    }, index=f.index)
    keep = active.astype(bool) & ids.ne("") & (t["title"].ne("") | t["body"].ne("")) & ~ids.duplicated(keep="first")
    items = items[keep].sort_values(["order", "row"], kind="stable")
    return Content(items, fill, sorted(set(unknown)))


def starter_rows(starter: pd.DataFrame, schemas: Schemas, language: str) -> pd.DataFrame:
    """The shipped starter items (schemas/nurture_content.csv, or its _en twin) as rows of the content tab;
    categories shown in the run's language."""
    out = starter.fillna("").astype(str).copy()
    lookup = schemas.reasons.lookup()

    def shown(text: str) -> str:
        keys = [lookup.get(fold(p.strip())) for p in text.split(",") if p.strip()]
        return ", ".join(schemas.reasons.get(k).display(language) for k in keys if k)

    out["categories"] = out["categories"].map(shown)
    if language == "en":
        out["active"] = out["active"].map(lambda v: "yes" if fold(v) in YES else "no")
    return out


def ensure_content(tables: Mapping[str, Table], starter: pd.DataFrame, schemas: Schemas, language: str,
                   changes: ChangeSet) -> Table:
    """Create the content tab with the starter items when it is missing, and fill blank ids.
    Returns the tab as this run reads it (the starter rows when just created)."""
    from .tables import bind

    t = tables["nurture_content"]
    if not t.exists:
        rows = starter_rows(starter, schemas, language)
        _append(t, rows, changes, schemas, language)
        grid = [list(t.schema.headers)] + rows.reindex(columns=list(t.schema.keys)).fillna("").values.tolist()
        return bind(grid, t.title, t.schema, required=False)
    return t


def fill_content_ids(t: Table, content: Content, changes: ChangeSet) -> None:
    if not t.exists or not len(content.ids_to_fill):
        return
    w = _Writer(t, changes)
    new = pd.Series("", index=t.frame.index, dtype=object)
    new[content.ids_to_fill.index] = content.ids_to_fill
    mask = pd.Series(t.frame.index.isin(content.ids_to_fill.index), index=t.frame.index)
    changes.updates += _updates(w, "content_id", new, mask, t.frame, pd.Series([None] * len(t.frame),
                                                                                  index=t.frame.index))
    w.flush()


def sent_ids(values: pd.Series) -> pd.Series:
    """`Nội dung đã gửi` cells → tuple of content ids."""
    return map_distinct(as_text(values), lambda u: tuple(p.strip() for p in u.split(",") if p.strip()), ())


def touches_count(values: pd.Series) -> pd.Series:
    """`Số lần đã chăm sóc` → a count (blank = 0); NaN where a person typed something else."""
    text = as_text(values).str.strip()
    n = pd.to_numeric(text, errors="coerce")
    return n.where(text.ne(""), 0.0)


@dataclass
class TouchPlan:
    """The touches of one run. `touches`: one row per message (its nurture row's index
    `n_index` and sheet `row`, the lead's fields, the content item, `touch_no`, `cadence`,
    `next_touch` after it). `skipped`: due rows not sent and why (`skip`, a key of SKIPS).
    `not_due`: counts of the active rows that were not due, by why."""

    touches: pd.DataFrame
    skipped: pd.DataFrame
    counts: dict[str, int]
    content: Content
    today_is_working_day: bool = True


def _leads_view(leads: Table, schemas: Schemas) -> pd.DataFrame:
    f = leads.frame
    txt = lambda k: (as_text(f[k]).str.strip() if k in f else pd.Series("", index=f.index, dtype=object))
    ids = txt("lead_id")
    dup = txt("duplicate_of")
    present = set(ids[ids.ne("")])
    view = pd.DataFrame({
        "lead_id": ids, "name": txt("name"), "company": txt("company"), "product": txt("product"),
        "owner": txt("owner"), "email_raw": txt("email"),
        "email": normalize_email(f["email"]) if "email" in f else None,
        "status": normalize_status(f["status"], schemas.chain) if "status" in f else None,
        "dnc": fold_series(txt("do_not_contact")).isin(_dnc_words()),
        "consent": consent_of(f["email_consent"]) if "email_consent" in f else None,
        "erased": erased(f["name"]) if "name" in f else False,
        "dup": dup.ne("") & dup.isin(present) & dup.ne(ids),
    }, index=f.index)
    view = view[ids.ne("") & ~ids.duplicated(keep="first")]
    return view.set_index("lead_id", drop=False)


def _dnc_words() -> set[str]:
    from .validate import _TRUE

    return _TRUE


def unsubscribed_leads(intake: Table) -> set[str]:
    """Lead ids an imported unsubscribe names (intake outcome `hủy nhận email`)."""
    f = intake.frame
    if not intake.exists or not len(f):
        return set()
    out = map_distinct(as_text(f["outcome"]), fold, "").isin(unsubscribe_outcomes())
    return set(as_text(f["lead_id"][out]).str.strip()) - {""}


def plan_touches(tables: Mapping[str, Table], content_table: Table, schemas: Schemas, today: dt.date) -> TouchPlan:
    """The touches due today and the item each lead gets (module docstring). The item is
    the first, in order, that no nurture row of the lead lists in `Nội dung đã gửi`; a run
    cut off after sending and before recording picks the same item again, and the
    notifications log (keyed by lead and item) knows it went out."""
    content = parse_content(content_table, schemas)
    N = tables["nurture"].frame
    chain = schemas.chain
    cal = WorkCalendar(schemas.reasons.extra_days_off, range(today.year - 1, today.year + 3))
    t = pd.Timestamp(today)
    working = cal.is_working_day(today)
    txt = lambda k: (as_text(N[k]).str.strip() if k in N else pd.Series("", index=N.index, dtype=object))
    n_lead = txt("lead_id")
    state = _fold_lookup(txt("state"), NURTURE_STATES, blank="active")
    cadence = _fold_lookup(txt("cadence"), CADENCE_LABELS, blank=None).fillna(DEFAULT_CADENCE)
    months = cadence.map(CADENCES).fillna(1).astype(int)
    nxt = _parsed(N, "next_touch")
    last = _parsed(N, "last_touch")
    reason = map_distinct(txt("reason_category"), lambda u: schemas.reasons.lookup().get(fold(u)), None)
    leads = _leads_view(tables["leads"], schemas)

    def lead_col(key: str, default):
        s = n_lead.map(leads[key]) if len(leads) else pd.Series(default, index=N.index)
        return s.where(n_lead.isin(leads.index), default)

    # A touch a person recorded counts from its date: next due one cadence after it.
    after_last = pd.Series(pd.NaT, index=N.index, dtype="datetime64[ns]")
    for m in pd.unique(months.to_numpy()):
        sel = last.notna() & months.eq(m)
        if sel.any():
            after_last[sel] = next_working_day(add_offsets(last[sel], pd.Series(Offset(int(m), "m"),
                                                                               index=last[sel].index), cal), cal)
    active = state.eq("active") & n_lead.ne("")
    in_nurture = lead_col("status", None).eq(chain.nurture) & ~lead_col("dup", False).astype(bool)
    has_date = nxt.notna()
    come = has_date & (nxt <= t) & (after_last.isna() | (after_last <= t))
    # One touch per lead per run, from its latest active row.
    first = ~n_lead.where(active).duplicated(keep="last") | ~active
    due = active & in_nurture & come & first & working
    counts = {
        "active": int(active.sum()),
        "not_in_nurture": int((active & ~in_nurture).sum()),
        "no_next_touch": int((active & in_nurture & ~has_date).sum()),
        "not_yet": int((active & in_nurture & has_date & ~come).sum()),
        "holiday": int((active & in_nurture & come & ~working).sum()),
    }

    skip = pd.Series("", index=N.index, dtype=object)
    unsub = unsubscribed_leads(tables["intake"])
    email = lead_col("email", None)
    supp = tables["suppression"]
    salt = workbook_salt(supp) if supp.exists else None
    blocked = suppressed(supp) if salt else set()
    in_supp = hashes(salt, email).isin(blocked) if blocked else pd.Series(False, index=N.index)
    consent = lead_col("consent", None)
    checks = (
        ("erased", lead_col("erased", False).astype(bool) | in_supp),
        ("do_not_contact", lead_col("dnc", False).astype(bool)),
        ("unsubscribed", n_lead.isin(unsub) | consent.eq(False)),
        ("no_consent", ~consent.eq(True)),
        ("no_email", email.isna() | email.astype(object).eq("")),
    )
    for key, mask in checks:
        skip[due & skip.eq("") & mask.fillna(False).astype(bool)] = key

    # The next item each remaining lead has not had.
    seen = _seen(n_lead, txt("sent_content"))
    want = due & skip.eq("")
    pick = _next_items(n_lead[want], reason[want], content.items, seen)
    skip[want & ~n_lead.index.isin(pick.index)] = "no_content"
    sent = want & n_lead.index.isin(pick.index)
    # Two leads with one address (not marked duplicates yet): one message to it per run.
    twice = sent & email.where(sent).duplicated(keep="first") & sent
    skip[twice] = "same_email"
    sent &= ~twice

    idx = N.index[sent]
    touches = pd.DataFrame({
        "n_index": idx,
        "row": N.loc[idx, "row"].astype(int).to_numpy(),
        "lead_id": n_lead[idx].to_numpy(),
        "reason_category": reason[idx].to_numpy(),
        "cadence": cadence[idx].to_numpy(),
        "touch_no": (touches_count(txt("touches_done"))[idx].fillna(0) + 1).astype(int).to_numpy(),
    })
    for k in ("name", "company", "product", "owner", "email", "email_raw"):
        touches[k] = lead_col(k, "")[idx].to_numpy()
    item = content.items.set_index("content_id")
    chosen = pick.reindex(idx).to_numpy()
    touches["content_id"] = chosen
    for k in ("title", "link", "body", "template", "order"):
        touches[k] = item[k].reindex(chosen).to_numpy() if len(touches) else []
    nt = pd.Series(pd.NaT, index=idx, dtype="datetime64[ns]")
    for m in pd.unique(months[idx].to_numpy()):
        sel = idx[months[idx].eq(m).to_numpy()]
        nt[sel] = next_working_day(add_offsets(pd.Series(t, index=sel), pd.Series(Offset(int(m), "m"), index=sel),
                                               cal), cal)
    touches["next_touch"] = nt.to_numpy()
    skipped = pd.DataFrame({"n_index": N.index[due & skip.ne("")], "lead_id": n_lead[due & skip.ne("")].to_numpy(),
                            "skip": skip[due & skip.ne("")].to_numpy()})
    counts["due"] = int(due.sum())
    counts["to_send"] = len(touches)
    counts.update({f"skipped_{k}": int(skip[due].eq(k).sum()) for k in SKIPS})
    return TouchPlan(touches.reset_index(drop=True), skipped, counts, content, working)


def _parsed(frame: pd.DataFrame, key: str) -> pd.Series:
    if key not in frame:
        return pd.Series(pd.NaT, index=frame.index, dtype="datetime64[ns]")
    return parse_dates(frame[key])[0].astype("datetime64[ns]").dt.normalize()


def _seen(n_lead: pd.Series, sent: pd.Series) -> pd.DataFrame:
    """(lead_id, content_id) pairs a lead has had, in any of its nurture rows."""
    ids = sent_ids(sent)
    pairs = pd.DataFrame({"lead_id": n_lead, "content_id": ids}).explode("content_id").dropna()
    return pairs.drop_duplicates()


def _next_items(leads: pd.Series, reasons: pd.Series, items: pd.DataFrame, seen: pd.DataFrame) -> pd.Series:
    """Per nurture row (index of `leads`): the first item, in order, for its reason that
    its lead has not had. Rows with none left are absent."""
    if not len(leads) or not len(items):
        return pd.Series(dtype=object)
    it = items.reset_index(drop=True).copy()
    it["pos"] = np.arange(len(it))
    it["cat"] = it["cats"].map(lambda c: c if c else ("*",))
    it = it.explode("cat")[["content_id", "cat", "pos"]]
    rows = pd.DataFrame({"n_index": leads.index, "lead_id": leads.to_numpy(), "cat": reasons.to_numpy()})
    pairs = pd.concat([rows.merge(it, on="cat"), rows.drop(columns="cat").merge(it[it["cat"].eq("*")], how="cross")],
                      ignore_index=True)
    had = pairs.merge(seen.assign(_had=True), on=["lead_id", "content_id"], how="left")["_had"].eq(True).to_numpy()
    pairs = pairs[~had].sort_values(["n_index", "pos"], kind="stable")
    first = pairs.drop_duplicates("n_index", keep="first")
    return pd.Series(first["content_id"].to_numpy(), index=first["n_index"].to_numpy(), dtype=object)


def record_touches(nurture: Table, done: pd.DataFrame, today: dt.date, changes: ChangeSet) -> None:
    """The cells of the nurture rows whose touch went out (`done`: rows of
    `TouchPlan.touches`): touches done + 1 (left alone when a person typed other than a
    number), last touch today, the next touch one cadence on, the item added to
    `Nội dung đã gửi`. Each update carries the value read, so a cell a person changed
    meanwhile is left as they have it."""
    if not len(done):
        return
    f = nurture.frame
    w = _Writer(nurture, changes)
    idx = pd.Index(done["n_index"])
    ids = as_text(f["lead_id"]).str.strip()
    mask = pd.Series(f.index.isin(idx), index=f.index)
    by = done.set_index("n_index")
    count = touches_count(f["touches_done"]) if "touches_done" in f else pd.Series(0.0, index=f.index)
    new_count = pd.Series("", index=f.index, dtype=object)
    new_count[idx] = (count[idx] + 1).map(lambda x: "" if pd.isna(x) else str(int(x)))
    ok = mask & count.notna()
    changes.updates += _updates(w, "touches_done", new_count, ok, f, ids)
    changes.updates += _updates(w, "last_touch", pd.Series(pd.Timestamp(today), index=f.index), mask, f, ids, "date")
    nt = pd.Series(pd.NaT, index=f.index, dtype="datetime64[ns]")
    nt[idx] = pd.to_datetime(by["next_touch"]).to_numpy()
    changes.updates += _updates(w, "next_touch", nt, mask, f, ids, "date")
    old = as_text(f["sent_content"]).str.strip() if "sent_content" in f else pd.Series("", index=f.index, dtype=object)
    add = pd.Series("", index=f.index, dtype=object)
    add[idx] = by["content_id"].to_numpy()
    joined = old.where(old.eq(""), old + ", ") + add
    changes.updates += _updates(w, "sent_content", joined.where(mask, old), mask, f, ids)
    w.flush()
