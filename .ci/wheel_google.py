"""The installed wheel on the Google path, as a cron host runs it: the fake Sheets server
(the `fake` extra) on loopback, a spreadsheet a team typed, then sync, import, a person's
edit, sync, check, all through the `sheetcrm` command. Run with the wheel's venv python
from outside the checkout: python wheel_google.py VENV_BIN DEMO_DIR"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from openpyxl import load_workbook

from sheetcrm.testing.fakesheets import FakeSheetsServer

BOT = "cron-bot@example.iam.gserviceaccount.com"


def main(bin_dir: str, demo: str) -> None:
    demo_dir = Path(demo)
    wb = load_workbook(demo_dir / "sheetcrm-demo.xlsx")
    typed = [["" if v is None else v.strftime("%d/%m/%Y") if hasattr(v, "strftime") else v for v in r]
             for r in wb["Khách hàng"].iter_rows(values_only=True)]
    with FakeSheetsServer() as fake:
        creds = demo_dir / "sa.json"
        creds.write_text(json.dumps(fake.admin.service_account(BOT)))
        sid = fake.admin.create_spreadsheet("CRM", tabs={"Khách hàng": typed}, owner=BOT)
        env = {**os.environ, "SHEETCRM_API_ENDPOINT": fake.url}
        target = ["--sheet", sid, "--credentials", str(creds)]

        def run(*args: str, ok=(0,)) -> str:
            p = subprocess.run([f"{bin_dir}/sheetcrm", *args], env=env, capture_output=True, text=True)
            print(f"$ sheetcrm {' '.join(args[:1])} … -> {p.returncode}\n{p.stdout}{p.stderr}", flush=True)
            assert p.returncode in ok, p.returncode
            return p.stdout

        run("sync", *target)
        run("import", str(demo_dir / "facebook-leads.csv"), *target)
        assert "imported before" in run("import", str(demo_dir / "facebook-leads.csv"), *target)
        run("sync", *target)
        rows = fake.admin.values(sid, "'Khách hàng'")
        status, reason = rows[0].index("Trạng thái"), rows[0].index("Lý do")
        n = next(i for i, r in enumerate(rows) if i and len(r) > status and r[status] == "Mới")
        fake.admin.edit_as_person(sid, f"'Khách hàng'!A{n + 1}:P{n + 1}",
                                  [[None] * status + ["Từ chối", None, None, "Giá cao quá"]])
        assert "status changes: 1;" in run("sync", *target)  # the person's edit, logged once
        assert "status changes: 0" in run("sync", *target)
        run("check", *target, "--limit", "3", ok=(0, 1))


if __name__ == "__main__":
    main(*sys.argv[1:])
