"""The sync's plan (`plan_sync`, no I/O) at 10k, 100k and 600k leads, next to a calamine
read of the same workbook (the .xlsx backend reads with python-calamine).

For each size the demo generator makes the leads (duplicates, broken rows, rejected and
nurtured leads; first sync: empty log tabs), and the workbook it writes is cached in a
temporary folder. Each measurement runs in a fresh process so its peak memory is its own:
  - calamine: open the workbook and read every tab to Python values,
  - plan: `plan_sync` on the generated grid, summaries included. "peak" is the process's
    peak RSS while planning (the grid held in memory included), "grid" the RSS before
    (after the generator's garbage is collected and returned to the system).
Targets: 100k ≤ 2 s, 600k ≤ 12 s and ≤ 1 GB peak.

    python bench/pipeline.py                 # 10k, 100k, 600k
    python bench/pipeline.py 2000 50000      # custom sizes
    python bench/pipeline.py --repeat 3      # best of 3 plans per size
    python bench/pipeline.py --profile 100000  # where one plan's time goes (cProfile)
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TODAY = dt.date(2026, 11, 23)
SEED = 7

CHILD = r"""
import datetime as dt, gc, json, resource, sys, time
sys.path.insert(0, sys.argv[4])
what, n, path = sys.argv[1], int(sys.argv[2]), sys.argv[3]
today = dt.date.fromisoformat(sys.argv[5])
repeat = int(sys.argv[6])

def rss(key):
    for line in open("/proc/self/status"):
        if line.startswith(key):
            return int(line.split()[1]) / 1024

if what == "calamine":
    t = time.perf_counter()
    from python_calamine import CalamineWorkbook
    wb = CalamineWorkbook.from_path(path)
    rows = sum(len(wb.get_sheet_by_name(s).to_python()) for s in wb.sheet_names)
    out = {"seconds": time.perf_counter() - t, "peak_mb": rss("VmHWM"), "rows": rows}
else:
    from sheetcrm.demo import generate_leads
    from sheetcrm.schema import load_schemas
    from sheetcrm.sync.pipeline import Settings, plan_sync
    schemas = load_schemas()
    plan_sync({"Khách hàng": generate_leads(50, 1, today)}, schemas, Settings(), today)  # imports, caches
    grid = generate_leads(n, int(sys.argv[7]), today)
    gc.collect()
    import ctypes
    ctypes.CDLL("libc.so.6").malloc_trim(0)  # the generator's freed memory back: "grid" is the grid
    best = None
    for _ in range(repeat):
        gc.collect()
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")  # reset the peak: the plan's own high-water mark
        before = rss("VmRSS")
        t = time.perf_counter()
        c = time.process_time()
        plan = plan_sync({"Khách hàng": grid}, schemas, Settings(), today, dt.datetime.combine(today, dt.time(7)))
        run = {"seconds": time.perf_counter() - t, "cpu": time.process_time() - c, "grid_mb": before,
               "peak_mb": rss("VmHWM"), "steps": plan.report.timings,
               "updates": len(plan.changes.updates),
               "appended": sum(len(a.rows) for a in plan.changes.appends)}
        del plan
        if best is None or run["seconds"] < best["seconds"]:
            best = run
    out = best
print(json.dumps(out))
"""


def child(what: str, n: int, path: Path, repeat: int = 1) -> dict:
    out = subprocess.run([sys.executable, "-c", CHILD, what, str(n), str(path), str(ROOT), TODAY.isoformat(),
                          str(repeat), str(SEED)], capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def workbook(n: int, folder: Path) -> Path:
    path = folder / f"leads-{n}-{SEED}-{TODAY.isoformat()}.xlsx"
    if not path.exists():
        sys.path.insert(0, str(ROOT))
        from sheetcrm.demo import write_demo_workbook

        write_demo_workbook(path.with_suffix(".tmp.xlsx"), n, SEED, TODAY)
        path.with_suffix(".tmp.xlsx").rename(path)
    return path


def profile(n: int, top: int = 30) -> None:
    """cProfile of one plan of `n` leads (in this process): the steps, then the functions
    of sheetcrm by cumulative time and every function by own time."""
    import cProfile
    import io
    import pstats

    sys.path.insert(0, str(ROOT))
    from sheetcrm.demo import generate_leads
    from sheetcrm.schema import load_schemas
    from sheetcrm.sync.pipeline import Settings, plan_sync

    schemas = load_schemas()
    plan_sync({"Khách hàng": generate_leads(50, 1, TODAY)}, schemas, Settings(), TODAY)
    grid = generate_leads(n, SEED, TODAY)
    prof = cProfile.Profile()
    prof.enable()
    plan = plan_sync({"Khách hàng": grid}, schemas, Settings(), TODAY, dt.datetime.combine(TODAY, dt.time(7)))
    prof.disable()
    print(f"# cProfile of plan_sync, {n} leads (profiled: times inflated, proportions kept)")
    print("# steps (s): " + " ".join(f"{k} {v:.2f}" for k, v in plan.report.timings.items()))
    for title, key, restrict in (("sheetcrm functions by cumulative time", "cumulative", "sheetcrm/"),
                                 ("all functions by own time", "tottime", "")):
        out = io.StringIO()
        stats = pstats.Stats(prof, stream=out)
        stats.strip_dirs() if not restrict else None
        stats.sort_stats(key).print_stats(restrict, top) if restrict else stats.sort_stats(key).print_stats(top)
        lines = [ln for ln in out.getvalue().splitlines() if ln.strip()]
        start = next(i for i, ln in enumerate(lines) if ln.lstrip().startswith("ncalls"))
        print(f"\n## {title}")
        for ln in lines[start:]:
            print(ln.replace(str(ROOT) + "/", "").replace(sys.prefix + "/", ""))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("sizes", nargs="*", type=int, default=[10_000, 100_000, 600_000])
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--cache", default=str(Path(tempfile.gettempdir()) / "sheetcrm-bench-pipeline"))
    ap.add_argument("--no-calamine", action="store_true")
    ap.add_argument("--profile", type=int, metavar="N", help="print a cProfile of one plan of N leads instead")
    args = ap.parse_args()
    # The models' answer cache (docs/cache.md) off: each plan trains and fits, as a first run.
    os.environ["SHEETCRM_CACHE_DIR"] = "off"
    if args.profile:
        profile(args.profile)
        return
    folder = Path(args.cache)
    folder.mkdir(parents=True, exist_ok=True)
    import pandas as pd

    print(f"# {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC, nproc {os.cpu_count()}, "
          f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}, python {platform.python_version()}, "
          f"pandas {pd.__version__}")
    print(f"# command: python bench/{Path(__file__).name} {' '.join(sys.argv[1:])}".rstrip())
    print(f"# first sync of a generated workbook (seed {SEED}, day {TODAY}), summaries on; best of {args.repeat}")
    print(f"{'leads':>8} {'plan s':>7} {'cpu s':>6} {'rows/s':>9} {'peak MB':>8} {'grid MB':>8} "
          f"{'calamine s':>10} {'cal. MB':>8}  steps (s)")
    for n in args.sizes:
        cal = {"seconds": float("nan"), "peak_mb": float("nan")}
        if not args.no_calamine:
            cal = child("calamine", n, workbook(n, folder))
        p = child("plan", n, folder / "unused", args.repeat)
        steps = " ".join(f"{k} {v:.2f}" for k, v in p["steps"].items() if v >= 0.005)
        print(f"{n:>8} {p['seconds']:>7.2f} {p['cpu']:>6.2f} {n / p['seconds']:>9,.0f} {p['peak_mb']:>8.0f} "
              f"{p['grid_mb']:>8.0f} {cal['seconds']:>10.2f} {cal['peak_mb']:>8.0f}  {steps}", flush=True)
    print(f"# load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
