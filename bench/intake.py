"""`sheetcrm import` at scale: `python bench/intake.py [N] [--google N2]`.

A Facebook Lead Ads export of N rows (default 100,000; half of the people are already in the
sheet) into a workbook of N leads. Timed: reading the file (encoding, CSV, detection,
canonical rows) and planning the import (pure: dedupe against the sheet, outcomes, ids,
validation, assignment, due dates). Peak memory is the process's peak RSS. The baseline,
timed in the same run, is the least any import must do: pandas.read_csv of the file and
an exact merge of normalised phones against the sheet. `--google N2` also imports N2 rows
into the fake Sheets server and counts the API calls (target: at most 5 + payload chunks).
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

from zoneinfo import ZoneInfo

import pandas as pd

from sheetcrm.intake.load import read_inputs, to_batches
from sheetcrm.intake.sample import facebook_rows, write_facebook_export
from sheetcrm.schema import load_schemas
from sheetcrm.sync.assign import AssignSettings
from sheetcrm.sync.intake import plan_import
from sheetcrm.sync.normalize import clear_memo, normalize_phone
from sheetcrm.sync.pipeline import Settings

TODAY = dt.date(2026, 12, 4)
NOW = dt.datetime(2026, 12, 4, 16, 0)
ZONE = ZoneInfo("Asia/Ho_Chi_Minh")
STATUSES = ["Mới", "Đã tìm hiểu", "Tiềm năng", "Nóng", "Chốt", "Từ chối", "Chưa chốt", "Nuôi dưỡng"]
HEADER = ["Mã KH", "Tên khách hàng", "Email", "Số điện thoại", "Người phụ trách", "Trạng thái", "Ngày tạo",
          "Nguồn", "Ghi chú"]


def workbook(n: int, people: list[list[str]]) -> dict:
    owners = [f"NV{i:02d}" for i in range(7)]
    rows = [HEADER]
    for i, p in enumerate(people[:n]):
        rows.append([f"KH-{i + 1:06d}", p[12], p[14], p[13][2:].replace("+84", "0"), owners[i % 7],
                     STATUSES[i % len(STATUSES)], 46000 + i % 300, "Facebook", ""])
    team = [["Tên", "Đang làm", "Tối đa mỗi ngày"], *[[o, "có", ""] for o in owners]]
    return {"Khách hàng": rows, "Nhân viên": team}


LAST_CPU = [0.0]


def timed(fn):
    """(result, wall seconds); the CPU seconds of the call go to LAST_CPU: on a shared
    machine the wall time also counts the other processes."""
    t0, c0 = time.perf_counter(), time.process_time()
    out = fn()
    LAST_CPU[0] = time.process_time() - c0
    return out, time.perf_counter() - t0


def main() -> None:
    args = sys.argv[1:]
    google = int(args[args.index("--google") + 1]) if "--google" in args else 0
    n = int(args[0]) if args and not args[0].startswith("--") else 100_000
    people = facebook_rows(n + n // 2, seed=1, start=dt.datetime(2026, 11, 1, 8), hours=24 * 30)
    sheets = workbook(n, people)
    export = people[n // 2:]  # half already in the sheet, half new
    schemas = load_schemas()
    with tempfile.TemporaryDirectory() as tmp:
        path = write_facebook_export(Path(tmp) / "facebook.csv", export)
        size = path.stat().st_size
        clear_memo()
        base_read, t_base_read = timed(lambda: pd.read_csv(path, dtype=str, keep_default_na=False))

        def baseline_merge():
            mine = pd.DataFrame({"k": normalize_phone(pd.Series([r[3] for r in sheets["Khách hàng"][1:]]))})
            theirs = pd.DataFrame({"k": normalize_phone(base_read["phone_number"].str[2:])})
            return theirs.merge(mine, on="k", how="left")

        _, t_base_merge = timed(baseline_merge)
        clear_memo()
        rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        (batches, _), t_read = timed(lambda: to_batches(read_inputs([str(path)]), "auto", None, schemas, ZONE))
        c_read = LAST_CPU[0]
        plan, t_plan = timed(lambda: plan_import(sheets, batches, schemas, Settings(), AssignSettings(),
                                                 TODAY, NOW))
        c_plan = LAST_CPU[0]
        rss1 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(f"intake bench, {dt.date.today()}, {platform.machine()} {os.cpu_count()} cores, "
          f"python {platform.python_version()}, pandas {pd.__version__}")
    print(f"  export: {len(export):,} rows ({size / 1e6:.1f} MB) into {n:,} leads")
    print("                                   wall      CPU")
    print(f"  read + detect + canonical rows : {t_read:6.2f} s {c_read:6.2f} s")
    print(f"  plan (pure)                    : {t_plan:6.2f} s {c_plan:6.2f} s   (target < 10 s)")
    print(f"  total                          : {t_read + t_plan:6.2f} s {c_read + c_plan:6.2f} s")
    print(f"  baseline read_csv + phone merge: {t_base_read + t_base_merge:6.2f} s "
          f"(read {t_base_read:.2f} s, normalise + merge {t_base_merge:.2f} s)")
    print(f"  peak RSS: {rss1 / 1024:,.0f} MB (before the import: {rss0 / 1024:,.0f} MB)")
    print("  outcomes: " + ", ".join(f"{k} {v:,}" for k, v in plan.counts.items()))
    if google:
        bench_google(google)


def bench_google(n: int) -> None:
    import json

    from sheetcrm import api
    from sheetcrm.backends import gsheets
    from sheetcrm.testing.fakesheets import FakeSheetsServer

    with FakeSheetsServer() as fake, tempfile.TemporaryDirectory() as tmp:
        info = fake.admin.service_account("bench@crm.iam.gserviceaccount.com")
        key = Path(tmp) / "sa.json"
        key.write_text(json.dumps(info))
        sid = fake.admin.create_spreadsheet("CRM", tabs={"Khách hàng": [HEADER]}, owner=info["client_email"])
        rows = facebook_rows(n, seed=2, start=dt.datetime(2026, 12, 1, 8), hours=60)
        path = write_facebook_export(Path(tmp) / "fb.csv", rows)
        fake.admin.reset_counters()
        res, took = timed(lambda: api.import_leads([path], sheet=sid, credentials=str(key), api_endpoint=fake.url,
                                                   today=TODAY.isoformat()))
        calls = {k: v for k, v in fake.admin.counters()["requests"].items() if k != "oauth2.token"}
        reqs = [gsheets._append_cells(0, list(a.rows)) for a in res.plan.changes.appends if a.rows]
        payload = sum(len(json.dumps(r)) for r in reqs)
        chunks = len(list(gsheets._chunks(reqs, gsheets.PAYLOAD_LIMIT)))  # a request is never split
        print(f"  google (fake server): {n:,} rows in {took:.1f} s, {sum(calls.values())} API calls "
              f"({', '.join(f'{k} {v}' for k, v in calls.items())}); payload ~{payload / 1e6:.1f} MB = "
              f"{chunks} chunk(s); target <= 5 + {chunks}")


if __name__ == "__main__":
    main()
