"""Frame builders and a one-day runner for the status-chain tests (frames of docs/frames.md)."""

from __future__ import annotations

import datetime as dt

import pandas as pd

from sheetcrm.schema import load_schemas
from sheetcrm.sync.status import apply_status_chain, normalize_status

SCHEMAS = load_schemas()
LEAD_COLS = ["row", "lead_id", "name", "company", "email", "phone", "owner", "product", "source", "status",
             "status_raw", "created_at", "last_contact", "reason_raw", "notes", "do_not_contact",
             "recontact_on", "duplicate_of", "issues_raw", "valid", "phone_e164", "email_norm"]
DATE_COLS = {"created_at", "last_contact", "recontact_on", "observed_at", "logged_at", "nurture_start",
             "next_touch", "last_touch"}


def D(s: str | None) -> pd.Timestamp:
    return pd.NaT if s is None else pd.Timestamp(s)


def leads_frame(rows: list[dict]) -> pd.DataFrame:
    """Leads as the pipeline hands them over; `status` is the typed text."""
    out = []
    for i, r in enumerate(rows):
        rec = {"row": i + 2, "lead_id": f"KH-{i + 1:06d}", "name": f"Khách {i + 1}", "company": "",
               "email": f"k{i + 1}@example.vn", "phone": "", "owner": "An", "product": "CRM", "source": "",
               "status_raw": "", "created_at": D("2026-01-05"), "last_contact": pd.NaT, "reason_raw": "",
               "notes": "", "do_not_contact": False, "recontact_on": pd.NaT, "duplicate_of": "",
               "issues_raw": "", "valid": True, "phone_e164": None, "email_norm": None}
        r = dict(r)
        if "status" in r:
            rec["status_raw"] = r.pop("status")
        if "reason" in r:
            rec["reason_raw"] = r.pop("reason")
        rec.update({k: (D(v) if k in DATE_COLS and (isinstance(v, str) or v is None) else v) for k, v in r.items()})
        out.append(rec)
    f = pd.DataFrame(out, columns=[c for c in LEAD_COLS if c != "status"])
    f["status"] = normalize_status(f["status_raw"], SCHEMAS.chain) if len(f) else pd.Series(dtype=object)
    for c in ("created_at", "last_contact", "recontact_on"):
        f[c] = pd.to_datetime(f[c])
    return f[LEAD_COLS]


def empty_tab(key: str) -> pd.DataFrame:
    cols = ["row", *SCHEMAS.tab(key).keys]
    f = pd.DataFrame({c: pd.Series(dtype="datetime64[ns]" if c in DATE_COLS else object) for c in cols})
    return f


def append(tab: pd.DataFrame, rows: pd.DataFrame) -> pd.DataFrame:
    """Feed appended rows back in as the tab's new content (as the next sync would read them)."""
    if rows is None or not len(rows):
        return tab
    rows = rows.copy()
    start = int(tab["row"].max()) + 1 if len(tab) else 2
    rows["row"] = range(start, start + len(rows))
    for c in rows.columns:
        if c in DATE_COLS:
            rows[c] = pd.to_datetime(rows[c])
        elif rows[c].dtype != object:
            rows[c] = rows[c].astype(object)
    out = pd.concat([tab, rows[[c for c in tab.columns if c in rows.columns]]], ignore_index=True)
    for c in out.columns:
        if c in DATE_COLS:
            out[c] = pd.to_datetime(out[c])
        elif c != "row":
            out[c] = out[c].astype(object).where(out[c].notna(), "" if c not in (
                "from_status", "to_status", "stage_before", "reason_category") else None)
    return out


class Book:
    """The four tabs of a workbook as parsed frames, synced one day at a time."""

    def __init__(self, leads: pd.DataFrame):
        self.leads = leads
        self.history = empty_tab("history")
        self.rejections = empty_tab("rejections")
        self.nurture = empty_tab("nurture")
        self.results = []

    def sync(self, today: str, **kw):
        res = apply_status_chain(self.leads, self.history, self.rejections, self.nurture, SCHEMAS,
                                 dt.date.fromisoformat(today), **kw)
        self.apply(res)
        return res

    def apply(self, res, parts=("leads", "history", "rejections", "nurture")):
        if "leads" in parts:
            moved = res.status.notna() & res.status.ne(self.leads["status"])
            self.leads.loc[moved, "status"] = res.status[moved]
            self.leads.loc[moved, "status_raw"] = res.status[moved].map(
                lambda k: SCHEMAS.chain.get(k).label)
            rec = res.recontact_on.notna()
            self.leads.loc[rec, "recontact_on"] = res.recontact_on[rec]
            if res.recontact_clear is not None:
                self.leads.loc[res.recontact_clear, "recontact_on"] = pd.NaT
        if "history" in parts:
            self.history = append(self.history, res.history_rows)
        if "rejections" in parts:
            self.rejections = append(self.rejections, res.rejection_rows)
        if "nurture" in parts:
            self.nurture = append(self.nurture, res.nurture_rows)
            for col in res.nurture_updates.columns:
                vals = res.nurture_updates[col].dropna()
                if col in DATE_COLS:
                    self.nurture[col] = pd.to_datetime(self.nurture[col])
                    self.nurture.loc[vals.index, col] = pd.to_datetime(vals)
                else:
                    self.nurture.loc[vals.index, col] = vals
        self.results.append(res)

    def edit(self, i: int, **values):
        """A person edits lead `i` (0-based) in the sheet."""
        for k, v in values.items():
            if k == "status":
                self.leads.loc[i, "status_raw"] = v
                self.leads.loc[i, "status"] = normalize_status(pd.Series([v]), SCHEMAS.chain).iloc[0]
            elif k == "reason":
                self.leads.loc[i, "reason_raw"] = v
            else:
                self.leads.loc[i, k] = D(v) if k in DATE_COLS else v
