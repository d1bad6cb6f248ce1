"""Cron soak on the fake Google server, through gspread: 30 syncs on one spreadsheet,
people editing between runs (and once during one), faults injected at random."""

from __future__ import annotations

import random
import sys
from pathlib import Path

import pytest

from sheetcrm import api
from sheetcrm.backends.gsheets_plan import to_api
from sheetcrm.backends.retry import RetryPolicy
from sheetcrm.config import load_config
from sheetcrm.demo import generate_leads
from sheetcrm.google_http import make_gspread_client

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from soak_script import HISTORY, LEADS, STATUSES, TODAY, Soak, col_letter

FAST = RetryPolicy(attempts=6, max_seconds=20, initial=0.01, max_wait=0.05)
LEADS_N, RUNS = 200, 30


def typed(v):
    """As a person types it in the Sheets UI: text stays text, dates as ISO dates."""
    if v is None or v == "":
        return ""
    if isinstance(v, str):
        return "'" + v
    if hasattr(v, "isoformat"):
        return v.isoformat()
    return v


class SheetsPerson:
    def __init__(self, fake, sid: str):
        self.admin, self.sid = fake.admin, sid

    def _sheet(self, tab: str) -> dict:
        return next(s for s in self.admin.state(self.sid)["sheets"] if s["properties"]["title"] == tab)

    def titles(self) -> list[str]:
        return [s["properties"]["title"] for s in self.admin.state(self.sid)["sheets"]]

    def grid(self, tab: str) -> list[list]:
        return self.admin.values(self.sid, "'" + tab.replace("'", "''") + "'", "UNFORMATTED_VALUE")

    def _room(self, tab: str, row: int, col: int = 1) -> None:
        """The UI's "add 1000 more rows" (and a column), when typing past the grid."""
        props = self._sheet(tab)["properties"]
        grid = props["gridProperties"]
        for dim, want, have, more in (("ROWS", row, grid["rowCount"], 1000), ("COLUMNS", col, grid["columnCount"], 1)):
            if want > have:
                self.admin.person_batch_update(self.sid, [{"appendDimension": {
                    "sheetId": props["sheetId"], "dimension": dim, "length": max(more, want - have)}}])

    def type(self, tab: str, row: int, col: int, value) -> None:
        self._room(tab, row, col)
        self.admin.edit_as_person(self.sid, f"'{tab}'!{col_letter(col)}{row}", [[typed(value)]])

    def set_row(self, tab: str, row: int, values: list) -> None:
        self._room(tab, row)
        self.admin.edit_as_person(self.sid, f"'{tab}'!A{row}", [[typed(v) for v in values]])

    def insert_row(self, tab: str, at: int, values: list) -> None:
        sheet_id = self._sheet(tab)["properties"]["sheetId"]
        self.admin.person_batch_update(self.sid, [{"insertDimension": {"range": {
            "sheetId": sheet_id, "dimension": "ROWS", "startIndex": at - 1, "endIndex": at}}}])
        self.set_row(tab, at, values)

    def delete_row(self, tab: str, at: int) -> None:
        sheet_id = self._sheet(tab)["properties"]["sheetId"]
        self.admin.person_batch_update(self.sid, [{"deleteDimension": {"range": {
            "sheetId": sheet_id, "dimension": "ROWS", "startIndex": at - 1, "endIndex": at}}}])

    def sort(self, tab: str, col: int, last_row: int, width: int) -> None:
        sheet_id = self._sheet(tab)["properties"]["sheetId"]
        self.admin.person_batch_update(self.sid, [{"sortRange": {
            "range": {"sheetId": sheet_id, "startRowIndex": 1, "endRowIndex": last_row,
                      "startColumnIndex": 0, "endColumnIndex": width},
            "sortSpecs": [{"dimensionIndex": col - 1, "sortOrder": "ASCENDING"}]}}])

    def fit_grid(self, tab: str) -> None:
        """Drop the blank rows below the data."""
        props = self._sheet(tab)["properties"]
        used = len(self.grid(tab))
        self.admin.person_batch_update(self.sid, [{"deleteDimension": {"range": {
            "sheetId": props["sheetId"], "dimension": "ROWS", "startIndex": used,
            "endIndex": props["gridProperties"]["rowCount"]}}}])

    def rename(self, tab: str, new: str) -> None:
        sheet_id = self._sheet(tab)["properties"]["sheetId"]
        self.admin.person_batch_update(self.sid, [{"updateSheetProperties": {
            "properties": {"sheetId": sheet_id, "title": new}, "fields": "title"}}])


def exact_grid_sheet(fake, info: dict, grid: list[list]) -> str:
    """The lead tab sized to its rows, as a sheet imported from a CSV is."""
    sid = fake.admin.create_spreadsheet("CRM", tabs={LEADS: [grid[0]]}, owner="boss@example.com")
    fake.admin.share(sid, info["client_email"], "writer")
    ws = make_gspread_client(info, api_endpoint=fake.url).open_by_key(sid).worksheet(LEADS)
    ws.resize(rows=len(grid), cols=len(grid[0]))
    ws.update([[to_api(v) for v in r] for r in grid], "A1", raw=True)
    return sid


def api_calls(fake) -> int:
    """Requests the fake server answered, token requests apart."""
    return sum(n for k, n in fake.admin.counters()["requests"].items() if not k.startswith("oauth2"))


@pytest.fixture
def soak(fake, account, monkeypatch):
    monkeypatch.setattr(RetryPolicy, "from_settings", classmethod(lambda cls, s: FAST))
    info, keyfile = account
    sid = exact_grid_sheet(fake, info, generate_leads(LEADS_N, seed=14, today=TODAY))
    cfg = load_config(None, sheet=sid, credentials=keyfile, api_endpoint=fake.url)
    return Soak(SheetsPerson(fake, sid), lambda: api.sync(config=cfg, today=TODAY),
                lambda: api.sync(config=cfg, today=TODAY, dry_run=True), lambda: api_calls(fake))


def test_first_sync_then_one_percent_statuses_then_two_more(fake, soak):
    """Every changing sync after the first used to fail: the re-read asked for the row
    past the history tab, whose grid the first sync had sized exactly."""
    soak.run()
    soak.person.fit_grid(HISTORY)  # as appendCells leaves it past 1,000 events
    soak.edit_statuses(n=LEADS_N // 100)
    assert soak.run() == 0
    assert soak.run() == 0
    assert soak.exits == [0, 0, 0]


def inject(fake, rng: random.Random, soak: Soak, run: int) -> str:
    """A fault (or an edit during the sync) for this run, drawn with the soak's seed."""
    kind = "edit_during_sync" if run == 9 else rng.choice(["none"] * 5 + ["429", "503", "drop", "drop_lock", "reset"])
    if kind == "429":
        fake.admin.inject_fault(status=429, count=3, retry_after=0)
    elif kind == "503":
        fake.admin.inject_fault(status=503, count=1)
    elif kind == "drop":  # the write batch applied, its answer lost
        fake.admin.after_requests(2, lambda a: a.inject_fault(match="spreadsheets.batchUpdate", lose_answer=True))
    elif kind == "reset":  # the connection dropped mid-write, nothing applied
        fake.admin.after_requests(2, lambda a: a.inject_fault(match="spreadsheets.batchUpdate", drop=True))
    elif kind == "drop_lock":  # the lock taken, its answer lost
        fake.admin.inject_fault(match="spreadsheets.batchUpdate", lose_answer=True)
    elif kind == "edit_during_sync":
        header, rows = soak.leads()
        i, value = rng.randrange(len(rows)), rng.choice(STATUSES)
        col = header.index("Trạng thái")
        soak.typed[(soak.key_of(header, rows[i]), header[col])] = value
        fake.admin.after_requests(2, lambda a: soak.person.type(LEADS, i + 2, col + 1, value))
    return kind


@pytest.mark.soak
def test_cron_soak(fake, soak, record_property):
    rng = random.Random(1414)
    soak.run()
    for run in range(1, RUNS):
        action = soak.between_runs(run)
        fake.admin.reset_counters()  # first: it restarts the count that hooks wait on
        fault = inject(fake, rng, soak, run)
        soak.run(converged=fault != "edit_during_sync")
        calls, c = soak.calls[-1], fake.admin.counters()
        chunks = 1 + c["bytes_received"] // 2_000_000
        failed = sum(n for code, n in c["statuses"].items() if str(code) != "200")
        # lock, read, re-read, write; a retry per failed answer, 2 checks after a lost one
        allowed = 4 + chunks - 1 + failed + (2 if fault in ("drop", "drop_lock", "reset") else 0)
        assert calls <= max(allowed, 5 + chunks - 1) if soak.exits[-1] == 0 else 2 * allowed, (run, action, fault, calls)
        if fault == "none":
            assert calls <= 4, (run, action, calls)
        fake.admin.clear_faults()
        if fault == "edit_during_sync":
            soak.run()  # the next cron run picks up what the person typed meanwhile
    record_property("figure", f"Google soak: {LEADS_N} leads, {RUNS} runs, exits {soak.exits}, "
                              f"API calls per run {soak.calls}")
    assert soak.exits.count(0) >= RUNS - 3
