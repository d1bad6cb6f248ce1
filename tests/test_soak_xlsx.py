"""The cron soak of tests/gsheets/test_soak.py on an .xlsx workbook: the same people,
the same edits between runs (no network, so no faults)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from helpers_xlsx import write_workbook
from openpyxl import load_workbook

from sheetcrm import api
from sheetcrm.demo import generate_leads

sys.path.insert(0, str(Path(__file__).resolve().parent))
from soak_script import LEADS, TODAY, Soak

LEADS_N, RUNS = 200, 30  # as many cron runs as the Google soak


class XlsxPerson:
    """Edits as a person saves them from a spreadsheet app (openpyxl, normal mode)."""

    def __init__(self, path: Path):
        self.path = path

    def _edit(self, fn) -> None:
        wb = load_workbook(self.path)
        fn(wb)
        wb.save(self.path)

    def titles(self) -> list[str]:
        return load_workbook(self.path, read_only=True).sheetnames

    def grid(self, tab: str) -> list[list]:
        wb = load_workbook(self.path, read_only=True)
        rows = [["" if v is None else v for v in r] for r in wb[tab].iter_rows(values_only=True)]
        wb.close()
        while rows and not any(str(v) for v in rows[-1]):
            rows.pop()
        return rows

    def type(self, tab: str, row: int, col: int, value) -> None:
        self._edit(lambda wb: setattr(wb[tab].cell(row, col), "value", value))

    def set_row(self, tab: str, row: int, values: list) -> None:
        def put(wb):
            for c, v in enumerate(values, 1):
                wb[tab].cell(row, c).value = None if v == "" else v
        self._edit(put)

    def insert_row(self, tab: str, at: int, values: list) -> None:
        self._edit(lambda wb: wb[tab].insert_rows(at))
        self.set_row(tab, at, values)

    def delete_row(self, tab: str, at: int) -> None:
        self._edit(lambda wb: wb[tab].delete_rows(at))

    def sort(self, tab: str, col: int, last_row: int, width: int) -> None:
        def sort(wb):
            ws = wb[tab]
            rows = [[ws.cell(r, c).value for c in range(1, width + 1)] for r in range(2, last_row + 1)]
            rows.sort(key=lambda r: str(r[col - 1] or ""))
            for r, vals in enumerate(rows, 2):
                for c, v in enumerate(vals, 1):
                    ws.cell(r, c).value = v
        self._edit(sort)

    def rename(self, tab: str, new: str) -> None:
        self._edit(lambda wb: setattr(wb[tab], "title", new))


@pytest.mark.soak
def test_cron_soak_xlsx(tmp_path, record_property):
    path = write_workbook(tmp_path / "crm.xlsx", {LEADS: generate_leads(LEADS_N, seed=14, today=TODAY)})
    soak = Soak(XlsxPerson(path), lambda: api.sync(workbook=path, today=TODAY),
                lambda: api.sync(workbook=path, today=TODAY, dry_run=True))
    soak.run()
    actions = []
    for run in range(1, RUNS):
        actions.append(soak.between_runs(run))
        soak.run()
    record_property("figure", f"xlsx soak: {LEADS_N} leads, {RUNS} runs, exits {soak.exits}")
    assert soak.exits == [0] * RUNS, actions
