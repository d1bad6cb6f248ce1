"""Benchmark the .xlsx backend against openpyxl's own load + save (the floor).

For each size: generate a messy demo workbook, then, each in a fresh process so peak
memory (max RSS) is per step:
  - openpyxl load_workbook, and load + save (the floor for a sync that writes),
  - python-calamine read (the floor for a sync that finds nothing to change),
  - sheetcrm sync #1 (fills ids, issues, duplicates, history, logs, summaries),
  - sheetcrm sync #2 (nothing changed, but the input differs from what #1 read: plans again),
  - sheetcrm sync #3 (the same input as #2: only the sync-log row is appended),
  - sheetcrm sync #4 (after 1% of the leads changed status: a typical changed run), with
    openpyxl loading in a child while the sync plans (the default) and, on a copy, with
    that turned off (SHEETCRM_XLSX_PRELOAD=0). Peak memory counts the child.

    python bench/xlsx.py            # 10k and 100k leads
    python bench/xlsx.py 2000       # custom sizes
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TODAY = "2026-11-23"

STEP = r"""
import json, resource, sys, time
step, path = sys.argv[1], sys.argv[2]
t0 = time.perf_counter()
if step == "openpyxl_load":
    import openpyxl
    openpyxl.load_workbook(path)
elif step == "openpyxl_load_save":
    import openpyxl
    wb = openpyxl.load_workbook(path)
    wb.save(path + ".copy.xlsx")
elif step == "calamine_read":
    from python_calamine import CalamineWorkbook
    wb = CalamineWorkbook.from_path(path)
    for n in wb.sheet_names:
        wb.get_sheet_by_name(n).to_python()
else:
    from sheetcrm import api
    r = api.sync(workbook=path, today="%s")
    extra = {"cells_written": r.cells_written, "rows_read": r.report.rows_read}
t = time.perf_counter() - t0
# A sync may load the workbook in a child beside it: count the child's peak too.
rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss + resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
out = {"step": step, "seconds": t, "max_rss_mb": rss / 1024}
if step.startswith("sync"):
    out.update(extra)
print(json.dumps(out))
""" % TODAY


def run(step: str, path: Path, **env: str) -> dict:
    out = subprocess.run([sys.executable, "-c", STEP, step, str(path)], capture_output=True, text=True,
                         check=True, env={**os.environ, **env})
    return json.loads(out.stdout.strip().splitlines()[-1])


def edit_statuses(path: Path, count: int) -> None:
    """Move `count` leads to 'Nóng' as reps would, saving with openpyxl."""
    import openpyxl

    wb = openpyxl.load_workbook(path)
    ws = wb["Khách hàng"]
    col = [c.value for c in ws[1]].index("Trạng thái") + 1
    step = max(1, (ws.max_row - 1) // max(count, 1))
    for r in range(2, ws.max_row + 1, step)[:count]:
        ws.cell(row=r, column=col).value = "Nóng"
    wb.save(path)


def bench(n: int, folder: Path) -> None:
    from sheetcrm.demo import write_demo_workbook

    path = folder / f"leads-{n}.xlsx"
    t0 = time.perf_counter()
    write_demo_workbook(path, n, 7, dt.date.fromisoformat(TODAY))
    print(f"\n== {n:,} leads (generated in {time.perf_counter() - t0:.1f} s, {path.stat().st_size / 1e6:.1f} MB)")
    base = {s: run(s, path) for s in ("openpyxl_load", "openpyxl_load_save", "calamine_read")}
    s1 = run("sync_first", path)
    s2 = run("sync_nochange", path)  # plans again: the input differs from what sync #1 read
    s3 = run("sync_nochange_again", path)  # same input as sync #2 read: only the log row
    edit_statuses(path, n // 100)  # a day of work: 1% of the leads move on (not timed)
    base4 = run("openpyxl_load_save", path)  # the synced workbook is bigger: its own floor
    floor4 = base4["seconds"]
    serial = folder / f"leads-{n}-serial.xlsx"
    shutil.copy(path, serial)
    s4 = run("sync_after_edits", path)
    s4_serial = run("sync_after_edits", serial, SHEETCRM_XLSX_PRELOAD="0")
    floor = base["openpyxl_load_save"]["seconds"]
    print(f"{'step':<34}{'time s':>9}{'rows/s':>11}{'peak MB':>9}{'vs floor':>10}")
    for label, r, ref in (
        ("openpyxl load", base["openpyxl_load"], None),
        ("openpyxl load + save (floor)", base["openpyxl_load_save"], floor),
        ("calamine read (no-change floor)", base["calamine_read"], None),
        ("sheetcrm sync #1 (changes)", s1, floor),
        ("sheetcrm sync #2 (no change, plans)", s2, None),
        ("sheetcrm sync #3 (same input)", s3, None),
        ("openpyxl load + save, synced workbook", base4, floor4),
        ("sheetcrm sync #4 (1% of leads edited)", s4, floor4),
        ("  #4 with the load after planning", s4_serial, floor4),
    ):
        ratio = f"{r['seconds'] / ref:.2f}x" if ref else ""
        print(f"{label:<34}{r['seconds']:>9.2f}{n / r['seconds']:>11,.0f}{r['max_rss_mb']:>9.0f}{ratio:>10}")
    print(f"sync #1 wrote {s1['cells_written']:,} cells; #2 {s2['cells_written']:,}; #3 {s3['cells_written']:,}; "
          f"sync #3 / calamine read = {s3['seconds'] / base['calamine_read']['seconds']:.1f}x")


def main() -> None:
    sizes = [int(a) for a in sys.argv[1:]] or [10_000, 100_000]
    folder = Path(tempfile.mkdtemp(prefix="sheetcrm-bench-"))
    try:
        for n in sizes:
            bench(n, folder)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
