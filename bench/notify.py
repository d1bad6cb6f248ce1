"""The morning digests at scale: `python bench/notify.py [N_LEADS] [N_REPS] [--xlsx]`.

N leads (default 100,000) owned by N reps (default 50) and two managers; recontact dates
spread over ±40 days, every status of the chain, 1% marked do-not-contact. Timed: the
pipeline's reading of the leads (what the sync computes; the digests reuse it), the pure
plan of who gets what (sync/digest.py), and building every message: templates rendered,
email with its .ics calendar (target for plan + build: < 5 s). `--xlsx` also runs
`sheetcrm notify --outbox` end to end on a workbook file (reads, plans, builds, writes the
.eml files and the Thông báo log: one write per message). Peak memory: the process's peak RSS.
"""

from __future__ import annotations

import datetime as dt
import os
import platform
import resource
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import numpy as np
import pandas as pd

from sheetcrm import api
from sheetcrm.config import load_config
from sheetcrm.notify import Builder, NotifySettings
from sheetcrm.schema import load_schemas
from sheetcrm.sync.digest import plan_digests
from sheetcrm.sync.pipeline import Settings, plan_sync

TODAY = dt.date(2026, 12, 7)
STATUSES = ["Mới", "Đã tìm hiểu", "Tiềm năng", "Nóng", "Chốt", "Từ chối", "Chưa chốt", "Nuôi dưỡng"]
REASONS = ["giá cao quá", "chưa cần", "đang dùng bên khác", "chưa có ngân sách", ""]
HEADER = ["Mã KH", "Tên khách hàng", "Công ty", "Email", "Số điện thoại", "Người phụ trách", "Trạng thái",
          "Ngày tạo", "Ngày liên hệ cuối", "Lý do", "Ngày liên hệ lại", "Không liên hệ"]
FAMILY = ["Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Võ", "Đặng", "Bùi"]
GIVEN = ["An", "Bình", "Cường", "Dũng", "Hà", "Lan", "Minh", "Ngọc", "Phúc", "Thảo"]


def tabs(n: int, reps: int) -> dict[str, list[list]]:
    rng = np.random.default_rng(7)
    owners = [f"NV {i:02d}" for i in range(reps)]
    off = rng.integers(-40, 41, n)
    rows = [HEADER]
    for i in range(n):
        d = TODAY + dt.timedelta(days=int(off[i]))
        st = STATUSES[i % len(STATUSES)]
        rows.append([f"KH-{i + 1:06d}", f"{FAMILY[i % 8]} {GIVEN[(i // 8) % 10]} {i}", f"Công ty {i % 997}",
                     f"khach{i}@example.vn", f"09{i % 100_000_000:08d}", owners[i % reps], st,
                     TODAY - dt.timedelta(days=60 + i % 200), TODAY - dt.timedelta(days=1 + i % 50),
                     REASONS[i % 5] or None, d, "x" if i % 100 == 0 else None])
    team = [["Tên", "Email", "Vai trò", "Đang làm"],
            *[[o, f"nv{j:02d}@team.vn", "", "có"] for j, o in enumerate(owners)],
            ["Quản lý 1", "ql1@team.vn", "Quản lý", "có"], ["Quản lý 2", "ql2@team.vn", "manager", "có"]]
    return {"Khách hàng": rows, "Nhân viên": team}


def timed(fn):
    t0, c0 = time.perf_counter(), time.process_time()
    out = fn()
    return out, time.perf_counter() - t0, time.process_time() - c0


def main() -> None:
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    n = int(args[0]) if args else 100_000
    reps = int(args[1]) if len(args) > 1 else 50
    schemas = load_schemas()
    sheets = tabs(n, reps)
    rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    plan, t_sync, c_sync = timed(lambda: plan_sync(sheets, schemas, Settings(summaries=False), TODAY))
    digest, t_plan, c_plan = timed(lambda: plan_digests(plan.leads, plan.tables["nurture"].frame,
                                                        plan.tables["team"].frame, schemas, TODAY))
    builder = Builder(digest, schemas, "vi", load_config(None).zone, NotifySettings(sender="crm@team.vn"),
                      "1AbCdEf", 0, {}, "Lịch liên hệ lại")
    msgs, t_build, c_build = timed(builder.messages)
    size = sum(len(m.email.as_bytes()) for m in msgs if m.email is not None)
    events = len(digest.calendar)
    load = os.getloadavg()
    lines = [
        f"# bench/notify.py — {dt.date.today()} — {platform.machine()}, {os.cpu_count()} cores shared with other "
        f"jobs (load average {load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f}), Python {platform.python_version()}, "
        f"pandas {pd.__version__}",
        f"# command: .venv/bin/python bench/notify.py {' '.join(sys.argv[1:])}".rstrip(),
        "# wall time counts the other processes on the machine; CPU is this process's own time",
        f"notify bench: {n:,} leads, {reps} reps + 2 managers",
        "                                          wall      CPU",
        f"  pipeline reading of the leads (sync) : {t_sync:6.2f} s {c_sync:6.2f} s   ({n / t_sync:,.0f} rows/s)",
        f"  plan: who gets what (pure)           : {t_plan:6.2f} s {c_plan:6.2f} s",
        f"  {'build ' + str(len(msgs)) + ' messages (+ .ics)':<37}: {t_build:6.2f} s {c_build:6.2f} s",
        f"  plan + build                         : {t_plan + t_build:6.2f} s {c_plan + c_build:6.2f} s   (target < 5 s)",
        f"  items in digests: {len(digest.items):,}; calendar events: {events:,}; "
        f"emails: {size / 1e6:.1f} MB in all",
    ]
    if "--xlsx" in sys.argv:
        from openpyxl import Workbook

        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "team.xlsx"
            wb = Workbook()
            wb.remove(wb.active)
            for title, g in sheets.items():
                ws = wb.create_sheet(title)
                for r in g:
                    ws.append(r)
            wb.save(path)
            res, t_all, c_all = timed(lambda: api.notify(workbook=path, today=TODAY, outbox=Path(tmp) / "out"))
            again, t_again, _ = timed(lambda: api.notify(workbook=path, today=TODAY, outbox=Path(tmp) / "out"))
            lines.append(f"  xlsx end to end (--outbox)           : {t_all:6.2f} s {c_all:6.2f} s   "
                         f"({res.sent} sent, {res.log_rows} log rows in {res.sent + 1} writes)")
            lines.append(f"  rerun the same day                   : {t_again:6.2f} s            "
                         f"({again.sent} sent, {again.count('already_sent')} already sent)")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    lines.append(f"  peak RSS: {peak:.0f} MB (after generating the workbook: {rss0:.0f} MB)")
    text = "\n".join(lines) + "\n"
    print(text, end="")
    out = ROOT / "bench" / "results" / "notify.txt"
    out.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
