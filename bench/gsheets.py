"""Sync vs peers against the fake Sheets server, 1% of rows changed.

    PYTHONPATH=. python bench/gsheets.py [--sizes 1000,10000,100000] [--naive-cap 200]

Prints API calls, cells written, bytes sent and time for: our backend (read, re-check,
write changed cells), gspread-dataframe's set_with_dataframe (whole-range rewrite) and a
naive per-cell `update_cell` loop (run for --naive-cap cells, extrapolated; said so).
Times are against a loopback fake: compare ratios, not absolute seconds.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sheetcrm.backends.gsheets import GSheetsBackend
from sheetcrm.changes import CellUpdate, ChangeSet
from sheetcrm.google_http import make_gspread_client
from sheetcrm.testing.fakesheets import FakeSheetsServer

TAB = "Khách hàng"
HEAD = ["Mã KH", "Tên khách hàng", "Công ty", "Email", "Số điện thoại", "Người phụ trách", "Sản phẩm quan tâm",
        "Nguồn", "Trạng thái", "Ngày tạo", "Ngày liên hệ cuối", "Lý do", "Ghi chú", "Ngày liên hệ lại", "Trùng với", "Lỗi dữ liệu"]


def grid(n: int, rng: random.Random) -> list[list]:
    rows = [HEAD]
    for i in range(1, n + 1):
        rows.append([f"KH-{i:06d}", f"Khách {i}", f"Cty {i % 500}", f"k{i}@mail.vn", f"09{rng.randrange(10**8):08d}",
                     f"NV{i % 12}", "CRM", "Web", "Mới", 46000 + i % 300, 46100, "", "", "", "", ""])
    return rows


def seed(fake, info, rows) -> str:
    sid = fake.admin.create_spreadsheet("bench", tabs={TAB: [HEAD]}, owner=info["client_email"])
    ws = make_gspread_client(info, api_endpoint=fake.url).open_by_key(sid).worksheet(TAB)
    ws.resize(rows=len(rows) + 10, cols=len(HEAD))
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


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="1000,10000,100000")
    ap.add_argument("--naive-cap", type=int, default=200)
    args = ap.parse_args()
    out = []
    with FakeSheetsServer() as fake:
        info = fake.admin.service_account("bench@bench.iam.gserviceaccount.com")
        key = Path(tempfile.mkdtemp()) / "sa.json"
        key.write_text(json.dumps(info))
        for n in [int(s) for s in args.sizes.split(",")]:
            rng = random.Random(n)
            rows = grid(n, rng)
            changed = rng.sample(range(2, n + 2), max(1, n // 100))
            sid = seed(fake, info, rows)
            b = GSheetsBackend.from_options(sid, str(key), fake.url, timeout=600)

            def ours() -> None:
                with b.lock():
                    b.read()
                    b.apply(ChangeSet(updates=[CellUpdate(TAB, r, 9, "Tiềm năng", old="Mới", lead_id=rows[r - 1][0]) for r in changed]))

            res = {"n": n, "ours": measure(fake, ours)}

            import pandas as pd
            from gspread_dataframe import set_with_dataframe

            new = [list(r) for r in rows]
            for r in changed:
                new[r - 1][8] = "Tiềm năng"
            df = pd.DataFrame(new[1:], columns=HEAD)
            ws = make_gspread_client(info, api_endpoint=fake.url).open_by_key(sid).worksheet(TAB)
            res["set_with_dataframe"] = measure(fake, lambda: set_with_dataframe(ws, df, resize=False))

            cap = min(args.naive_cap, len(changed))
            naive = measure(fake, lambda: [ws.update_cell(r, 9, "Chốt") for r in changed[:cap]])
            k = len(changed) / cap
            res["update_cell_loop"] = {key_: (round(v * k, 2) if key_ == "seconds" else int(v * k)) for key_, v in naive.items()}
            if cap < len(changed):
                res["update_cell_loop"]["extrapolated_from"] = cap
            res["update_cell_loop"]["minutes_at_60_per_min"] = round(len(changed) / 60, 1)
            out.append(res)
            print(json.dumps(res), flush=True)
    print()
    print(f"{'leads':>7} | {'method':<20} | {'calls':>6} | {'cells':>8} | {'bytes':>10} | {'s':>7}")
    for res in out:
        for m in ("ours", "set_with_dataframe", "update_cell_loop"):
            r = res[m]
            note = f"  (extrapolated from {r['extrapolated_from']} cells)" if "extrapolated_from" in r else ""
            print(f"{res['n']:>7} | {m:<20} | {r['calls']:>6} | {r['cells']:>8} | {r['bytes']:>10} | {r['seconds']:>7}{note}")


if __name__ == "__main__":
    main()
