"""Behavioural scenarios of a sync, one set run on both backends (see conftest.py)."""

from __future__ import annotations

import pytest

import datetime as dt
import unicodedata

from helpers_xlsx import CLEAN, LEADS, SYNC_LOG, TODAY, H, grid, lead, schemas
from openpyxl.utils import get_column_letter
from scenario_values import Formula

from sheetcrm.demo import generate_leads

MSG = schemas().messages["vi"]
FORMULA = '=IMPORTXML("http://x","//a")'
EXTRA = "Zalo riêng"
NOTES_TAB = "Ghi chú của tôi"


def NFD(s: str) -> str:
    return unicodedata.normalize("NFD", s)


def messy() -> tuple[dict, list[str]]:
    """Shuffled columns, NFD and English headers, an extra column a person added, and
    typed values of every kind."""
    keys = ["status", "phone", "name", "lead_id", "created_at", "email", "company", "notes",
            "owner", "last_contact", "product", "source", "reason"]
    headers = {"status": "Status", "phone": "Phone", "name": "Name", "email": "E-mail",
               "company": NFD("Công ty"), "owner": NFD("Người phụ trách"), "created_at": NFD("Ngày tạo"),
               "last_contact": NFD("ngày liên hệ cuối"), "lead_id": "MÃ KH", "product": NFD("Sản phẩm quan tâm")}
    leads = [dict(d) for d in CLEAN] + [
        lead(lead_id=None, name=FORMULA, email="web@form.vn", phone="0977 000 111", created_at=None, status="moi"),
        lead(lead_id=None, name="Đỗ Thị Én", email="en.do@gmail", phone="0988123123",
             created_at="05/03/2026", status="Tiềm năng"),
        lead(lead_id="KH-000010", name="Bùi Quang Phúc", email=None, phone="12345",
             created_at=dt.date(2026, 2, 14), status="Hot", company="#N/A"),
    ]
    extra = {EXTRA: ["0912000111", dt.date(2026, 1, 1), 42, "=SUM(A1:A2)", None, "ghi chú", 3.5]}
    return {LEADS: grid(leads, keys=keys, headers=headers, extra=extra), NOTES_TAB: [["Việc cần làm"], ["gọi chị Bình"]]}, keys


def cells(g: list[list]) -> dict[tuple[int, int], object]:
    return {(r, c): v for r, row in enumerate(g, 1) for c, v in enumerate(row, 1) if v != ""}


def col(g: list[list], header: str) -> list:
    c = g[0].index(header)
    return [(row[c] if c < len(row) else "") for row in g[1:]]


def a1(g: list[list], header: str, row: int) -> str:
    return f"{get_column_letter(g[0].index(header) + 1)}{row}"


def only_new_sync_log_row(before: dict, after: dict) -> None:
    assert set(before) == set(after)
    for tab in before:
        if tab != SYNC_LOG:
            assert after[tab] == before[tab], tab
    old, new = before[SYNC_LOG], after[SYNC_LOG]
    assert new[:len(old)] == old and len(new) == len(old) + 1


def test_messy_headers_keep_every_person_cell(backend):
    tabs, keys = messy()
    target = backend.create(tabs)
    before = backend.read(target)
    res = backend.sync(target, today=TODAY)
    assert res.applied.wrote and res.report.rows_read == len(tabs[LEADS]) - 1
    after = backend.read(target)
    old, new = cells(before[LEADS]), cells(after[LEADS])
    assert {k: new.get(k) for k in old} == old
    assert after[NOTES_TAB] == before[NOTES_TAB]
    g = after[LEADS]
    assert g[1][keys.index("phone")] == "0912345678"
    assert g[1][keys.index("created_at")] == dt.date(2026, 1, 5)
    assert g[5][keys.index("name")] == FORMULA  # text, not a Formula
    assert col(g, EXTRA)[3] == "=SUM(A1:A2)"
    assert g[0][keys.index("company")] == NFD("Công ty")  # headers are never rewritten
    # only sync-owned cells were added: ids, created dates, and columns at the end
    allowed = {keys.index("lead_id") + 1, keys.index("created_at") + 1}
    assert all(c in allowed or c > len(keys) + 1 for _, c in set(new) - set(old))
    assert H["issues"] in g[0]


def test_second_sync_changes_nothing_but_the_sync_log(backend):
    tabs, _ = messy()
    target = backend.create(tabs)
    backend.sync(target, today=TODAY)
    first = backend.read(target)
    res = backend.sync(target, today=TODAY)
    only_new_sync_log_row(first, backend.read(target))
    assert res.report.ids_assigned == 0 and not res.changes.updates


def test_issues_land_in_their_row_and_clear_when_fixed(backend):
    target = backend.create({LEADS: grid([dict(d) for d in CLEAN] + [lead(email="abc@", phone="12345", status="Đang xem xét")])})
    backend.sync(target, today=TODAY)
    g = backend.read(target)[LEADS]
    issues = col(g, H["issues"])
    assert issues[:4] == [""] * 4
    for m in (MSG["bad_email"], MSG["bad_phone"], MSG["unknown_status"].format(value="Đang xem xét")):
        assert m in issues[4]
    backend.edit(target, LEADS, {a1(g, H["email"], 6): "vo.hai@example.vn", a1(g, H["phone"], 6): "0935 123 456",
                                 a1(g, H["status"], 6): "Mới"})
    backend.sync(target, today=TODAY)
    assert col(backend.read(target)[LEADS], H["issues"])[4] == ""
    backend.edit(target, LEADS, {a1(g, H["email"], 6): "vo.hai@"})
    backend.sync(target, today=TODAY)
    assert col(backend.read(target)[LEADS], H["issues"])[4] == MSG["bad_email"]


def test_blank_ids_and_created_dates_are_filled(backend):
    leads = [lead(lead_id="KH-000122", name="A", email="a@x.vn", phone=None),
             lead(lead_id=None, name="B", email="b@x.vn", phone=None, created_at=None),
             lead(lead_id="KH-000007", name="C", email="c@x.vn", phone=None)]
    target = backend.create({LEADS: grid(leads)})
    res = backend.sync(target, today=TODAY)
    g = backend.read(target)[LEADS]
    assert col(g, H["lead_id"]) == ["KH-000122", "KH-000123", "KH-000007"]
    assert col(g, H["created_at"])[:2] == [dt.date(2026, 3, 1), TODAY]  # a real date
    assert res.report.ids_assigned == 1


def test_formula_looking_text_stays_text(backend):
    target = backend.create({LEADS: grid([lead(name=FORMULA, notes="=1+1", status="=A1")])})
    backend.sync(target, today=TODAY)
    tabs = backend.read(target)
    g = tabs[LEADS]
    assert col(g, H["name"]) == [FORMULA] and col(g, H["notes"]) == ["=1+1"]
    assert "=A1" in col(g, H["issues"])[0]
    found = [(t, v) for t, rows in tabs.items() for row in rows for v in row if isinstance(v, Formula)]
    assert found == []


def test_dry_run_writes_nothing(backend):
    tabs, _ = messy()
    target = backend.create(tabs)
    before = backend.read(target)
    backend.reset_counters()
    res = backend.sync(target, today=TODAY, dry_run=True)
    assert res.changes.updates and res.applied is None
    assert backend.read(target) == before
    if backend.counts_calls:
        assert backend.counters()["cells_written"] == 0


@pytest.mark.soak
def test_10k_leads_in_five_calls_then_only_the_sync_log_row(backend):
    """The first sync of a 10k workbook back-fills ~100k log cells: past the ~2 MB payload
    limit the write is chunked, one more call per 2 MB. After that a sync with a person's
    edits, and one with none, each make at most 5 calls."""
    from sheetcrm.backends.gsheets import PAYLOAD_LIMIT

    g = generate_leads(10_000, seed=5, today=TODAY)
    target = backend.create({LEADS: g})
    backend.reset_counters()
    backend.sync(target, today=TODAY)
    boot = backend.counters()
    edited = None
    if backend.counts_calls:  # call counts only; the xlsx file makes no calls
        backend.edit(target, LEADS, {a1(g, H["notes"], row): f"gọi lại lần {row}" for row in (2, 500, 9000)})
        backend.reset_counters()
        backend.sync(target, today=TODAY)
        edited = backend.counters()
    first = backend.read(target)
    backend.reset_counters()
    backend.sync(target, today=TODAY)
    second = backend.counters()
    only_new_sync_log_row(first, backend.read(target))
    if backend.counts_calls:
        def calls(c):
            return sum(v for k, v in c["requests"].items() if k != "oauth2.token")

        assert calls(boot) <= 5 + boot["bytes_received"] // PAYLOAD_LIMIT, boot
        assert calls(edited) <= 5 and calls(second) <= 5, (edited, second)
        assert second["cells_written"] == len(schemas().tab("sync_log").columns)
