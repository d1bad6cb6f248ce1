"""100k leads through the status step (history, log, nurture, scheduling): `python bench/status.py [N]`.

The workbook is synced once (first sight of every lead), then reps change about a third of
the statuses and type reasons, and the timed run is the next day's sync. Prints the time
(target < 5 s) and rows/s.
"""

from __future__ import annotations

import datetime as dt
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sheetcrm.schema import load_schemas
from sheetcrm.sync.status import apply_status_chain, normalize_status

SCHEMAS = load_schemas()
STATUSES = ["Mới", "Đã tìm hiểu", "Tiềm năng", "Nóng", "Chốt", "Từ chối", "Chưa chốt", "Nuôi dưỡng",
            "Không tiếp cận", "Sai đối tượng", "moi", "Hot", "Qualified", ""]
REASONS = ["đắt quá", "gia cao hon ben X", "chưa cần, 3-6 tháng nữa", "dùng bên khác rồi", "ko nghe máy",
           "hết ngân sách", "không phù hợp", "Khác: khách đi nước ngoài", "abc", ""]


def tab(key: str) -> pd.DataFrame:
    dates = {"observed_at", "logged_at", "nurture_start", "next_touch", "last_touch", "recontact_on",
             "last_contact"}
    return pd.DataFrame({c: pd.Series(dtype="datetime64[ns]" if c in dates else object)
                         for c in ["row", *SCHEMAS.tab(key).keys]})


def make_leads(n: int, rng: np.random.Generator) -> pd.DataFrame:
    raw = rng.choice(np.array(STATUSES, dtype=object), n)
    f = pd.DataFrame({
        "row": np.arange(2, n + 2),
        "lead_id": [f"KH-{i:06d}" for i in range(1, n + 1)],
        "name": "Khách", "company": "", "email": "", "phone": "",
        "owner": rng.choice(np.array([f"NV{i:02d}" for i in range(30)], dtype=object), n),
        "product": "CRM", "source": "", "status_raw": raw,
        "created_at": pd.Timestamp("2026-01-05"),
        "last_contact": pd.Timestamp("2026-03-01") - pd.to_timedelta(rng.integers(0, 60, n), unit="D"),
        "reason_raw": rng.choice(np.array(REASONS, dtype=object), n),
        "notes": "", "do_not_contact": rng.random(n) < 0.02,
        "recontact_on": pd.Series(pd.NaT, index=range(n), dtype="datetime64[ns]"),
        "duplicate_of": "", "issues_raw": "", "valid": rng.random(n) > 0.05,
    })
    f["status"] = normalize_status(f["status_raw"], SCHEMAS.chain)
    return f


def rows_in(frame: pd.DataFrame, tab_frame: pd.DataFrame) -> pd.DataFrame:
    rows = frame.copy()
    rows["row"] = range(2, len(rows) + 2)
    for c in rows.columns:
        if c in ("observed_at", "logged_at", "nurture_start", "next_touch", "recontact_on", "last_contact"):
            rows[c] = pd.to_datetime(rows[c])
    return rows.reindex(columns=tab_frame.columns)


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    rng = np.random.default_rng(7)
    leads = make_leads(n, rng)
    day1, day2 = dt.date(2026, 3, 2), dt.date(2026, 3, 3)
    first = apply_status_chain(leads, tab("history"), tab("rejections"), tab("nurture"), SCHEMAS, day1)
    history = rows_in(first.history_rows, tab("history"))
    rejections = rows_in(first.rejection_rows, tab("rejections"))
    nurture = rows_in(first.nurture_rows, tab("nurture"))
    leads["status"] = first.status.where(first.status.notna(), leads["status"])
    leads["recontact_on"] = first.recontact_on.where(first.recontact_on.notna(), leads["recontact_on"])
    # Reps edit a third of the leads.
    edit = rng.random(n) < 0.33
    leads.loc[edit, "status_raw"] = rng.choice(np.array(STATUSES[:10], dtype=object), int(edit.sum()))
    leads.loc[edit, "status"] = normalize_status(leads.loc[edit, "status_raw"], SCHEMAS.chain)
    leads.loc[edit, "reason_raw"] = rng.choice(np.array(REASONS, dtype=object), int(edit.sum()))

    t0 = time.perf_counter()
    res = apply_status_chain(leads, history, rejections, nurture, SCHEMAS, day2)
    took = time.perf_counter() - t0
    c = res.counts
    print(f"status: {n} leads, {len(history)} history rows in, in {took:.2f} s = {n / took:,.0f} rows/s "
          f"(target < 5 s)")
    print(f"  first sync: {len(first.history_rows)} history, {len(first.rejection_rows)} log rows, "
          f"{len(first.nurture_rows)} nurture rows, {first.counts['scheduled']} scheduled")
    print("  timed sync: " + ", ".join(f"{k}={v}" for k, v in c.items()))


if __name__ == "__main__":
    main()
