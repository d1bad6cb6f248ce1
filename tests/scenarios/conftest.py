"""One set of behavioural scenarios, run against both backends.

The `backend` fixture yields a `Harness` with the same four verbs for an .xlsx file and
for a spreadsheet on the fake Sheets server (real gspread + google-auth over HTTP):
`create(grid_by_tab) -> target`, `sync(target, **kw)`, `read(target)`,
`edit(target, tab, {a1: value})` (as a person types).
`read` gives every tab as a grid of comparable values: text as str, numbers as float,
dates as `datetime.date`, formulas as `Formula(text)`, so one assertion fits both.
"""

from __future__ import annotations

import datetime as dt
import json
import sys
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # for helpers_xlsx

from helpers_xlsx import write_workbook
from openpyxl import load_workbook
from openpyxl.utils import column_index_from_string
from scenario_values import Formula

from sheetcrm import api
from sheetcrm.backends.retry import RetryPolicy
from sheetcrm.config import load_config
from sheetcrm.testing.fakesheets import FakeSheetsServer

FAST = RetryPolicy(attempts=4, max_seconds=10, initial=0.01, max_wait=0.05)


def _plain(v: Any) -> Any:
    if isinstance(v, bool) or v is None or isinstance(v, str):
        return "" if v is None else v
    if isinstance(v, dt.datetime):
        return v.date() if v.time() == dt.time() else v
    if isinstance(v, dt.date):
        return v
    if isinstance(v, (int, float)):
        return float(v)
    return v


def _trim(grid: list[list[Any]]) -> list[list[Any]]:
    out = []
    for row in grid:
        row = list(row)
        while row and row[-1] == "":
            row.pop()
        out.append(row)
    while out and not out[-1]:
        out.pop()
    return out


class XlsxHarness:
    name = "xlsx"
    counts_calls = False

    def __init__(self, tmp_path: Path):
        self.tmp = tmp_path
        self.n = 0

    def create(self, tabs: dict[str, list[list[Any]]]) -> Path:
        self.n += 1
        return write_workbook(self.tmp / f"crm{self.n}.xlsx", tabs)

    def sync(self, target: Path, **kw: Any):
        return api.sync(workbook=target, **kw)

    def read(self, target: Path) -> dict[str, list[list[Any]]]:
        wb = load_workbook(target, read_only=True)
        out = {}
        for ws in wb.worksheets:
            grid = []
            for row in ws.iter_rows():
                grid.append([Formula(c.value) if getattr(c, "data_type", None) == "f" else _plain(getattr(c, "value", None)) for c in row])
            out[ws.title] = _trim(grid)
        wb.close()
        return out

    def edit(self, target: Path, tab: str, values: dict[str, Any]) -> None:
        wb = load_workbook(target)
        for a1, value in values.items():
            cell = wb[tab][a1]
            cell.value = value
            if isinstance(value, str):
                cell.data_type = "s"  # typed text, as a person leaves it
        wb.save(target)

    def counters(self) -> None:
        return None

    def reset_counters(self) -> None:
        pass


def typed(v: Any) -> Any:
    """A value as a person types it into Sheets: text is forced to stay text (a leading
    apostrophe, as the Sheets UI does), dates as ISO dates (parsed to real dates)."""
    if v is None:
        return None
    if isinstance(v, str):
        return "'" + v if v else None
    if isinstance(v, (dt.date, dt.datetime)):
        return v.isoformat()
    return v


class GSheetsHarness:
    name = "gsheets"
    counts_calls = True

    def __init__(self, fake: FakeSheetsServer, tmp_path: Path):
        self.fake = fake
        self.info = fake.admin.service_account("scenario-bot@crm-test.iam.gserviceaccount.com")
        self.key = tmp_path / "sa.json"
        self.key.write_text(json.dumps(self.info))

    def create(self, tabs: dict[str, list[list[Any]]]) -> str:
        grids = {t: [[typed(v) for v in row] for row in g] for t, g in tabs.items()}
        sid = self.fake.admin.create_spreadsheet("CRM", tabs=grids, owner="boss@example.com")
        self.fake.admin.share(sid, self.info["client_email"], "writer")
        return sid

    def sync(self, target: str, **kw: Any):
        cfg = load_config(None, sheet=target, credentials=str(self.key), api_endpoint=self.fake.url)
        return api.sync(config=cfg, **kw)

    def read(self, target: str) -> dict[str, list[list[Any]]]:
        out = {}
        for sh in self.fake.admin.state(target)["sheets"]:
            cells: dict[tuple[int, int], Any] = {}
            for name, c in sh["cells"].items():
                letters = name.rstrip("0123456789")
                r, col = int(name[len(letters):]), column_index_from_string(letters)
                if "formula" in c:
                    v: Any = Formula(c["formula"])
                elif "value" not in c:
                    continue
                else:
                    v = c["value"]
                    kind = (c.get("numberFormat") or {}).get("type")
                    if kind in ("DATE", "DATE_TIME") and isinstance(v, (int, float)) and not isinstance(v, bool):
                        v = dt.datetime(1899, 12, 30) + dt.timedelta(days=v)
                    v = _plain(v)
                cells[(r, col)] = v
            rows = max((r for r, _ in cells), default=0)
            cols = max((c for _, c in cells), default=0)
            out[sh["properties"]["title"]] = _trim([[cells.get((r, c), "") for c in range(1, cols + 1)] for r in range(1, rows + 1)])
        return out

    def edit(self, target: str, tab: str, values: dict[str, Any]) -> None:
        for a1, value in values.items():
            self.fake.admin.edit_as_person(target, f"'{tab}'!{a1}", [[typed(value) if value is not None else ""]])

    def counters(self) -> dict:
        return self.fake.admin.counters()

    def reset_counters(self) -> None:
        self.fake.admin.reset_counters()


@pytest.fixture(scope="session")
def _scenario_fake():
    with FakeSheetsServer() as fake:
        yield fake


@pytest.fixture(params=["xlsx", "gsheets"])
def backend(request, tmp_path):
    if request.param == "xlsx":
        yield XlsxHarness(tmp_path)
    else:
        fake = request.getfixturevalue("_scenario_fake")
        fake.admin.reset()
        yield GSheetsHarness(fake, tmp_path)
