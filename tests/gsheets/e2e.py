"""Run the real `sheetcrm` CLI as a subprocess against the fake server."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from pathlib import Path

from sheetcrm.backends.gsheets_plan import to_api
from sheetcrm.google_http import make_gspread_client

ROOT = Path(__file__).resolve().parents[2]


def seed_sheet(fake, info: dict, grid: list[list], tab: str = "Khách hàng") -> str:
    """A spreadsheet shared with the service account, leads stored as a person's typed
    text would be (phone numbers as text), dates as real dates."""
    sid = fake.admin.create_spreadsheet("CRM", tabs={tab: [grid[0]]}, owner="boss@example.com")
    fake.admin.share(sid, info["client_email"], "writer")
    gc = make_gspread_client(info, api_endpoint=fake.url)
    ws = gc.open_by_key(sid).worksheet(tab)
    ws.resize(rows=len(grid) + 100, cols=max(26, len(grid[0])))
    ws.update([[to_api(v) for v in r] for r in grid], "A1", raw=True)
    return sid


def cli(*args: str, env: dict | None = None, timeout: float = 300) -> subprocess.CompletedProcess:
    e = dict(os.environ, PYTHONPATH=str(ROOT))
    e.update(env or {})
    return subprocess.run([sys.executable, "-c", "from sheetcrm.cli import main; main()", *args],
                          capture_output=True, text=True, env=e, timeout=timeout, cwd=ROOT)


def today() -> str:
    return "2026-11-23"


def as_date(s: str) -> dt.date:
    return dt.date.fromisoformat(s)
