"""Benchmark the .xlsx backend against a calamine read and openpyxl's load + save.

For each size: generate a messy demo workbook, then, each in a fresh process so peak
memory (max RSS) is per step:
  - python-calamine read of every tab (the yardstick for a sync that changes nothing),
  - openpyxl load_workbook + save (what a sync cost when it re-saved the workbook),
  - sheetcrm sync #1 (fills ids, issues, duplicates, history, logs, summaries),
  - sheetcrm sync #2 (the file as #1 left it: the log says so, only its row is appended),
  - sheetcrm sync #3 (nothing to change, but the file was saved since — as an office app does
    when nobody edited a cell —, so it plans again),
  - sheetcrm sync #4 (after 1% of the leads changed status: a typical changed run),
  - sheetcrm sync #5 (the next day, nobody touched the file: summaries move).
Each sync prints its split: read (backend.read), plan (the rest), write (backend.apply).
"Cells changed" counts, tab by tab, the cells whose value differs before and after the
sync (as calamine reads them), the yardstick for cells written.

    python bench/xlsx.py            # 10k and 100k leads
    python bench/xlsx.py 2000       # custom sizes
"""

from __future__ import annotations

import datetime as dt
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

TODAY = "2026-11-23"
NEXT_DAY = "2026-11-24"

STEP = r"""
import json, resource, sys, time
step, path, today = sys.argv[1], sys.argv[2], sys.argv[3]
t0 = time.perf_counter()
extra = {}
if step == "openpyxl_load_save":
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
    from sheetcrm.backends.xlsx import XlsxBackend
    spent = {"read": 0.0, "write": 0.0, "write_mb": 0.0}
    def status(key):
        for line in open("/proc/self/status"):
            if line.startswith(key):
                return int(line.split()[1]) / 1024
    def timed(name, key):
        real = getattr(XlsxBackend, name)
        def wrapper(self, *a, **k):
            t = time.perf_counter()
            if key == "write":  # the write's own peak: reset the high-water mark first
                with open("/proc/self/clear_refs", "w") as fh:
                    fh.write("5")
                rss = status("VmRSS")
            try:
                return real(self, *a, **k)
            finally:
                spent[key] += time.perf_counter() - t
                if key == "write":
                    spent["write_mb"] = status("VmHWM") - rss
        setattr(XlsxBackend, name, wrapper)
    timed("read", "read"); timed("read_tab", "read"); timed("apply", "write")
    r = api.sync(workbook=path, today=today)
    extra = {"cells_written": r.cells_written, "rows_read": r.report.rows_read, **spent}
t = time.perf_counter() - t0
ru = resource.getrusage(resource.RUSAGE_SELF)
out = {"step": step, "seconds": t, "cpu": ru.ru_utime + ru.ru_stime, "max_rss_mb": ru.ru_maxrss / 1024}
out.update(extra)
print(json.dumps(out))
"""


def run(step: str, path: Path, today: str = TODAY) -> dict:
    out = subprocess.run([sys.executable, "-c", STEP, step, str(path), today], capture_output=True, text=True,
                         check=True, env=dict(os.environ))
    return json.loads(out.stdout.strip().splitlines()[-1])


def grids(path: Path) -> dict[str, list[list]]:
    from python_calamine import CalamineWorkbook

    wb = CalamineWorkbook.from_path(str(path))
    return {n: wb.get_sheet_by_name(n).to_python() for n in wb.sheet_names}


def changed_cells(before: dict, after: dict) -> int:
    n = 0
    for tab in before.keys() | after.keys():
        a, b = before.get(tab, []), after.get(tab, [])
        for r in range(max(len(a), len(b))):
            ra = a[r] if r < len(a) else []
            rb = b[r] if r < len(b) else []
            for c in range(max(len(ra), len(rb))):
                va = ra[c] if c < len(ra) else ""
                vb = rb[c] if c < len(rb) else ""
                n += va != vb
    return n


def edit_statuses(path: Path, count: int) -> None:
    """Move `count` leads to 'Nóng' as reps would, saving with openpyxl (not timed)."""
    import openpyxl

    wb = openpyxl.load_workbook(path)
    ws = wb["Khách hàng"]
    col = [c.value for c in ws[1]].index("Trạng thái") + 1
    step = max(1, (ws.max_row - 1) // max(count, 1))
    for r in range(2, ws.max_row + 1, step)[:count]:
        ws.cell(row=r, column=col).value = "Nóng"
    wb.save(path)


def resave_unchanged(path: Path) -> None:
    """Rewrite the package with one byte added to docProps/app.xml (whitespace after the
    root, as a save that changed no cell): the content digest moves, the cells do not."""
    tmp = path.with_suffix(".resaved.xlsx")
    with zipfile.ZipFile(path) as zin, zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as zout:
        names = zin.namelist()
        for name in names:
            data = zin.read(name)
            if name == "docProps/app.xml" or (name == names[-1] and "docProps/app.xml" not in names):
                data += b"\n"
            zout.writestr(zin.getinfo(name), data)
    os.replace(tmp, path)


def unzipped_mb(path: Path) -> float:
    with zipfile.ZipFile(path) as z:
        return sum(i.file_size for i in z.infolist()) / 1e6


def sync(label: str, path: Path, today: str = TODAY) -> dict:
    before = grids(path)
    r = run("sync", path, today)
    r["changed"] = changed_cells(before, grids(path))
    r["label"] = label
    return r


def bench(n: int, folder: Path) -> None:
    from sheetcrm.demo import write_demo_workbook

    path = folder / f"leads-{n}.xlsx"
    t0 = time.perf_counter()
    write_demo_workbook(path, n, 7, dt.date.fromisoformat(TODAY))
    print(f"\n== {n:,} leads (generated in {time.perf_counter() - t0:.1f} s, {path.stat().st_size / 1e6:.1f} MB)")
    s1 = sync("sync #1 (first: fills, logs, summaries)", path)
    s2 = sync("sync #2 (as #1 left it: log row only)", path)
    resave_unchanged(path)
    s3 = sync("sync #3 (no change, saved: plans again)", path)
    read = run("calamine_read", path)
    edit_statuses(path, n // 100)
    read4 = run("calamine_read", path)
    floor4 = run("openpyxl_load_save", path)
    s4 = sync("sync #4 (1% of leads edited)", path)
    s5 = sync("sync #5 (next day, untouched)", path, NEXT_DAY)
    size = unzipped_mb(path)
    print(f"unzipped size {size:.0f} MB; yardsticks: calamine read {read['seconds']:.2f} s "
          f"(after the edits {read4['seconds']:.2f} s), openpyxl load + save {floor4['seconds']:.2f} s")
    head = f"{'step':<40}{'time s':>8}{'read':>7}{'plan':>7}{'write':>7}{'/read':>7}{'/opx':>7}"
    print(head + f"{'cells wr':>10}{'changed':>9}{'wr/chg':>7}{'peak MB':>8}{'/unzip':>7}{'write MB':>9}{'/unzip':>7}")
    for r in (s1, s2, s3, s4, s5):
        plan = r["seconds"] - r["read"] - r["write"]
        ratio = r["cells_written"] / r["changed"] if r["changed"] else float("nan")
        yard = read4["seconds"] if r is s4 else read["seconds"]
        print(f"{r['label']:<40}{r['seconds']:>8.2f}{r['read']:>7.2f}{plan:>7.2f}{r['write']:>7.2f}"
              f"{r['seconds'] / yard:>7.2f}{r['seconds'] / floor4['seconds']:>7.2f}"
              f"{r['cells_written']:>10,}{r['changed']:>9,}{ratio:>7.2f}{r['max_rss_mb']:>8.0f}"
              f"{r['max_rss_mb'] / size:>7.2f}{r['write_mb']:>9.0f}{r['write_mb'] / size:>7.2f}")
    print(f"{'calamine read':<40}{read['seconds']:>8.2f}{'':>35}{read['max_rss_mb']:>8.0f}")
    print(f"{'openpyxl load + save':<40}{floor4['seconds']:>8.2f}{'':>35}{floor4['max_rss_mb']:>8.0f}")
    # CPU seconds of each step's process: on a shared machine they move less than wall time.
    print(f"CPU s: calamine read {read['cpu']:.2f} (after the edits {read4['cpu']:.2f}); openpyxl load + save "
          f"{floor4['cpu']:.2f}; " + "; ".join(
              f"{r['label'].split(' (')[0]} {r['cpu']:.2f} ({r['cpu'] / (read4 if r is s4 else read)['cpu']:.2f} x read, "
              f"{r['cpu'] / floor4['cpu']:.2f} x openpyxl)" for r in (s1, s2, s3, s4, s5)))
    print(f"load average at the end: {' '.join(f'{x:.1f}' for x in os.getloadavg())} (on {os.cpu_count()} cores)")
    print("goals: #3 and #5 <= 1.5 x read; #4 <= 3 x read and <= 0.2 x openpyxl; cells written <= 1.1 x "
          "changed; peak <= 2 x unzipped. 'peak MB' is the whole sync process (pandas and the plan included); "
          "'write MB' is what the write adds above the process as it was when the write began.")


def main() -> None:
    import pandas

    sizes = [int(a) for a in sys.argv[1:]] or [10_000, 100_000]
    print(f"{dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC; nproc {os.cpu_count()}; "
          f"python {platform.python_version()}; pandas {pandas.__version__}; "
          f"command: python bench/xlsx.py {' '.join(sys.argv[1:])}".rstrip())
    print(f"load average at the start: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    folder = Path(tempfile.mkdtemp(prefix="sheetcrm-bench-"))
    # the reason classifier's answer cache starts empty, as on a new cron host
    os.environ["SHEETCRM_CACHE_DIR"] = str(folder / "cache")
    try:
        for n in sizes:
            bench(n, folder)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
