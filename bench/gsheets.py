"""Whole syncs against the fake Sheets server, next to gspread-dataframe.

    PYTHONPATH=. python bench/gsheets.py [--sizes 10000,100000]

For each size: a spreadsheet whose lead tab is sized to its rows, then `sheetcrm.api.sync`
three times: the first sync, a sync with nothing changed, and a sync after 1% of the
statuses were edited by a person. Printed per sync: API calls (token requests apart),
cells written and bytes sent as the server counted them, seconds, and for the 1% sync the
cells whose value changed (a cell-by-cell comparison of the spreadsheet before and after).
Baseline in the same run: gspread-dataframe's `set_with_dataframe` writing the lead tab
(it has no summary tabs, so it writes less than a sync's first run would need) for the
same three moments. Times are against a loopback fake: compare calls and cells.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import json
import os
import platform
import random
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import pandas as pd

from sheetcrm import api
from sheetcrm.backends.gsheets_plan import to_api
from sheetcrm.config import load_config
from sheetcrm.demo import generate_leads
from sheetcrm.google_http import make_gspread_client
from sheetcrm.testing.fakesheets import FakeSheetsServer

TAB = "Khách hàng"
TODAY = dt.date(2026, 11, 23)


def seed(fake, info: dict, grid: list[list]) -> str:
    sid = fake.admin.create_spreadsheet("bench", tabs={TAB: [grid[0]]}, owner=info["client_email"])
    ws = make_gspread_client(info, api_endpoint=fake.url, timeout=600).open_by_key(sid).worksheet(TAB)
    ws.resize(rows=len(grid), cols=len(grid[0]))
    rows = [[to_api(v) for v in r] for r in grid]
    for i in range(0, len(rows), 20000):
        ws.update(rows[i:i + 20000], f"A{i + 1}", raw=True)
    return sid


def measure(fake, fn) -> dict:
    fake.admin.reset_counters()
    t0 = time.perf_counter()
    fn()
    took = time.perf_counter() - t0
    c = fake.admin.counters()
    calls = sum(v for k, v in c["requests"].items() if not k.startswith("oauth2"))
    return {"calls": calls, "cells": c["cells_written"], "bytes": c["bytes_received"], "seconds": round(took, 2)}


def values(fake, sid) -> dict:
    return {(sh["properties"]["title"], a1): c.get("value") for sh in fake.admin.state(sid)["sheets"]
            for a1, c in sh["cells"].items() if c.get("value") not in (None, "")}


def edit_one_percent(fake, sid, rng: random.Random) -> int:
    grid = fake.admin.values(sid, f"'{TAB}'")
    col = grid[0].index("Trạng thái")
    letter = chr(65 + col)
    rows = rng.sample(range(2, len(grid) + 1), max(1, (len(grid) - 1) // 100))
    for r in rows:
        fake.admin.edit_as_person(sid, f"'{TAB}'!{letter}{r}", [["Tiềm năng"]])
    return len(rows)


def ours(fake, info: dict, key: Path, n: int) -> dict:
    sid = seed(fake, info, generate_leads(n, seed=n % 997, today=TODAY))
    cfg = load_config(None, sheet=sid, credentials=str(key), api_endpoint=fake.url)
    cfg = dataclasses.replace(cfg, retry=dataclasses.replace(cfg.retry, max_seconds=600, timeout=600))

    def sync() -> None:
        api.sync(config=cfg, today=TODAY)

    res = {"first": measure(fake, sync), "no_change": measure(fake, sync)}
    edited = edit_one_percent(fake, sid, random.Random(n))
    before = values(fake, sid)
    res["one_percent"] = measure(fake, sync)
    after = values(fake, sid)
    res["one_percent"]["status_edits"] = edited
    res["one_percent"]["cells_changed"] = sum(1 for k in before.keys() | after.keys() if before.get(k) != after.get(k))
    return res


def with_dataframe(fake, info: dict, n: int) -> dict:
    from gspread_dataframe import set_with_dataframe

    grid = generate_leads(n, seed=n % 997, today=TODAY)
    sid = fake.admin.create_spreadsheet("bench-df", tabs={TAB: [["x"]]}, owner=info["client_email"])
    ws = make_gspread_client(info, api_endpoint=fake.url, timeout=600).open_by_key(sid).worksheet(TAB)
    df = pd.DataFrame([[to_api(v) for v in r] for r in grid[1:]], columns=grid[0])
    res = {"first": measure(fake, lambda: set_with_dataframe(ws, df, resize=True)),
           "no_change": measure(fake, lambda: set_with_dataframe(ws, df, resize=False))}
    status = df.columns.get_loc("Trạng thái")
    for r in random.Random(n).sample(range(len(df)), max(1, n // 100)):
        df.iat[r, status] = "Tiềm năng"
    res["one_percent"] = measure(fake, lambda: set_with_dataframe(ws, df, resize=False))
    return res


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="10000,100000")
    args = ap.parse_args()
    from importlib.metadata import version

    print(f"# bench/gsheets.py --sizes {args.sizes}")
    print(f"# {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC, nproc {os.cpu_count()}, python {platform.python_version()}, "
          f"pandas {pd.__version__}, gspread-dataframe {version('gspread-dataframe')}")
    table = []
    with FakeSheetsServer() as fake:
        info = fake.admin.service_account("bench@bench.iam.gserviceaccount.com")
        key = Path(tempfile.mkdtemp()) / "sa.json"
        key.write_text(json.dumps(info))
        for n in [int(s) for s in args.sizes.split(",")]:
            for who, res in (("sheetcrm sync", ours(fake, info, key, n)), ("set_with_dataframe", with_dataframe(fake, info, n))):
                for moment, r in res.items():
                    table.append((n, who, moment, r))
                    print(json.dumps({"leads": n, "method": who, "sync": moment, **r}), flush=True)
    print()
    print(f"{'leads':>7} | {'method':<18} | {'sync':<11} | {'calls':>5} | {'cells':>8} | {'changed':>8} | {'MB':>6} | {'s':>7}")
    for n, who, moment, r in table:
        changed = r.get("cells_changed", "")
        print(f"{n:>7} | {who:<18} | {moment:<11} | {r['calls']:>5} | {r['cells']:>8} | {changed:>8} | "
              f"{r['bytes'] / 1e6:>6.1f} | {r['seconds']:>7}")


if __name__ == "__main__":
    main()
