"""The cron soak of tests/gsheets/test_soak.py at bench size, on the fake Sheets server.

    PYTHONPATH=. python bench/soak.py [--leads 10000] [--runs 30] [--seed 1414]

Same people, same edits between runs, same random faults (fixed seed) and the same
invariants checked after every run as the CI test; printed per run: what was done, the
fault, exit code, seconds, API calls (token requests apart) and cells written, as the
server counted them. Times are against a loopback fake.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import random
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

import pandas as pd
from gsheets.test_soak import SheetsPerson, api_calls, exact_grid_sheet, inject
from soak_script import TODAY, Soak

from sheetcrm import api
from sheetcrm.backends.retry import RetryPolicy
from sheetcrm.config import load_config
from sheetcrm.demo import generate_leads
from sheetcrm.testing.fakesheets import FakeSheetsServer

FAST = RetryPolicy(attempts=6, max_seconds=600, initial=0.05, max_wait=0.5)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--leads", type=int, default=10000)
    ap.add_argument("--runs", type=int, default=30)
    ap.add_argument("--seed", type=int, default=1414)
    args = ap.parse_args()
    print(f"# bench/soak.py --leads {args.leads} --runs {args.runs} --seed {args.seed}")
    print(f"# {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC, nproc {os.cpu_count()}, python {platform.python_version()}, pandas {pd.__version__}")
    RetryPolicy.from_settings = classmethod(lambda cls, s: FAST)
    with FakeSheetsServer() as fake:
        info = fake.admin.service_account("soak@bench.iam.gserviceaccount.com")
        key = Path(tempfile.mkdtemp()) / "sa.json"
        key.write_text(json.dumps(info))
        sid = exact_grid_sheet(fake, info, generate_leads(args.leads, seed=14, today=TODAY))
        cfg = load_config(None, sheet=sid, credentials=str(key), api_endpoint=fake.url)
        soak = Soak(SheetsPerson(fake, sid), lambda: api.sync(config=cfg, today=TODAY),
                    lambda: api.sync(config=cfg, today=TODAY, dry_run=True), lambda: api_calls(fake))
        rng = random.Random(args.seed)
        print(f"{'run':>3} | {'action':<22} | {'fault':<16} | exit | {'s':>6} | calls | {'cells':>7}")
        for run in range(args.runs):
            action = soak.between_runs(run) if run else "first sync"
            fake.admin.reset_counters()
            fault = inject(fake, rng, soak, run) if run else "none"
            # seconds of the sync alone; calls and cells of the sync (the check's dry run writes none)
            soak.run(converged=fault != "edit_during_sync")
            took = soak.seconds[-1]
            cells = fake.admin.counters()["cells_written"]
            print(f"{run:>3} | {action:<22} | {fault:<16} | {soak.exits[-1]:>4} | {took:>6.1f} | {soak.calls[-1]:>5} | {cells:>7}", flush=True)
            fake.admin.clear_faults()
            if fault == "edit_during_sync":
                soak.run()
        print(f"# exits {soak.exits}; every run's invariants held")


if __name__ == "__main__":
    main()
