"""The pure part of `sheetcrm nurture` over N nurture rows: `python bench/nurture.py [N]`.

N leads in nurture (a tenth do-not-contact, consent yes / no / blank, a few unsubscribed in the
intake log), each with a nurture row of which about a third are due today and have had 0–3 of
the 7 starter items; the timed steps are the selection of due touches with the next unseen item
(`plan_touches`) and the cells that record them (`record_touches`). Building and sending the
messages is per message and not measured here. Prints wall and CPU time, rows/s, peak memory.
"""

from __future__ import annotations

import datetime as dt
import os
import platform
import resource
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sheetcrm.changes import ChangeSet
from sheetcrm.schema import SCHEMA_DIR, load_schemas
from sheetcrm.sync.nurture_touch import ensure_content, plan_touches, record_touches
from sheetcrm.sync.pipeline import bind_all

SCHEMAS = load_schemas()
TODAY = dt.date(2026, 12, 7)  # a Monday


def workbook(n: int, seed: int = 5) -> dict[str, list[list]]:
    rng = np.random.default_rng(seed)
    ids = [f"KH-{i:06d}" for i in range(1, n + 1)]
    consent = rng.choice(np.array(["có", "không", ""], dtype=object), n, p=[0.7, 0.1, 0.2])
    dnc = np.where(rng.random(n) < 0.1, "x", "")
    reason = rng.choice(np.array(["Chưa cần ngay", "Ngân sách chưa cho phép"], dtype=object), n)
    leads = [["Mã KH", "Tên khách hàng", "Email", "Người phụ trách", "Trạng thái", "Lý do", "Không liên hệ",
              "Đồng ý nhận email"]]
    leads += [[i, f"Khách {k}", f"k{k}@mail.vn", f"NV{k % 30:02d}", "Nuôi dưỡng", r, d, c]
              for k, (i, r, d, c) in enumerate(zip(ids, reason, dnc, consent))]
    nurture = [list(SCHEMAS.tab("nurture").headers)]
    keys = SCHEMAS.tab("nurture").keys
    due = rng.random(n) < 0.35
    nxt = np.where(due, dt.date(2026, 12, 1), dt.date(2027, 1, 7))
    had = rng.integers(0, 4, n)
    items = ["ND-001", "ND-002", "ND-003", "ND-005", "ND-007"]
    for k, i in enumerate(ids):
        row = dict(lead_id=i, reason_category=reason[k], cadence="Hàng tháng", next_touch=nxt[k],
                   nurture_start=dt.date(2026, 6, 1), touches_done=str(had[k]) if had[k] else "",
                   sent_content=", ".join(items[: had[k]]), state="Đang nuôi dưỡng")
        nurture.append([row.get(c, "") for c in keys])
    intake = [list(SCHEMAS.tab("intake").headers)]
    okeys = SCHEMAS.tab("intake").keys
    for k in rng.choice(n, n // 100, replace=False):
        intake.append([dict(event_key=f"u{k}", outcome="hủy nhận email", lead_id=ids[k]).get(c, "") for c in okeys])
    return {"Khách hàng": leads, "Nuôi dưỡng": nurture, "Nhập liệu": intake}


def timed(fn):
    w, c = time.perf_counter(), time.process_time()
    out = fn()
    return out, time.perf_counter() - w, time.process_time() - c


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    print(f"# bench/nurture.py — {dt.date.today()} — {platform.machine()}, {os.cpu_count()} cores, "
          f"load average {', '.join(f'{x:.1f}' for x in os.getloadavg())}, Python {platform.python_version()}, "
          f"pandas {pd.__version__}")
    print(f"# command: python bench/nurture.py {n}")
    sheets = workbook(n)
    rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    tables, t_bind, c_bind = timed(lambda: bind_all(sheets, SCHEMAS))
    starter = pd.read_csv(SCHEMA_DIR / "nurture_content.csv", dtype=str, keep_default_na=False)
    content = ensure_content(tables, starter, SCHEMAS, "vi", ChangeSet())
    plan, t_plan, c_plan = timed(lambda: plan_touches(tables, content, SCHEMAS, TODAY))
    changes = ChangeSet()
    _, t_rec, c_rec = timed(lambda: record_touches(tables["nurture"], plan.touches, TODAY, changes))
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    c = plan.counts
    print(f"nurture bench: {n:,} leads and nurture rows; {c['due']:,} due, {c['to_send']:,} to send, "
          f"skipped: " + ", ".join(f"{k[8:]} {v:,}" for k, v in c.items() if k.startswith("skipped_") and v))
    print("                                   wall      CPU")
    print(f"  bind the tabs                  : {t_bind:6.2f} s {c_bind:6.2f} s")
    print(f"  plan_touches (due + next item) : {t_plan:6.2f} s {c_plan:6.2f} s   ({n / t_plan:,.0f} rows/s; target < 5 s)")
    print(f"  record_touches ({len(changes.updates):,} cells)  : {t_rec:6.2f} s {c_rec:6.2f} s")
    print(f"  peak RSS: {rss:.0f} MB (after building the workbook: {rss0:.0f} MB)")


if __name__ == "__main__":
    main()
