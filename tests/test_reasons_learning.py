"""The team's corrections in the workbook teach the reason classifier (docs/reasons-classifier.md)."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest
from helpers_xlsx import LEADS, column_values, grid, lead, set_cell, write_workbook

from sheetcrm import api
from sheetcrm.schema import load_schemas
from sheetcrm.sync.reasons import map_reasons, team_corrections

CAT = load_schemas().reasons
LOG = "Từ chối"
CATEGORY, TEXT = "Nhóm lý do", "Lý do (nguyên văn)"
# A team's own way of saying it: the shipped examples read both as something else.
TAUGHT = "khách vướng hóa đơn VAT"
SIMILAR = "vướng hóa đơn VAT nên chưa ký"


def shipped(text: str) -> str:
    return map_reasons(pd.Series([text]), CAT)["category"].iloc[0]


def test_the_phrases_are_not_price_before_any_correction():
    assert shipped(TAUGHT) != "price" and shipped(SIMILAR) != "price"


def test_a_changed_log_category_is_a_correction():
    rej = pd.DataFrame({"lead_id": ["KH-1", "KH-2", "KH-3"],
                        "reason_text": [TAUGHT, "đắt quá", "Giá quá cao"],
                        "reason_category": ["price", "price", "competitor"]})
    tc = team_corrections(rej, pd.DataFrame({"lead_id": [], "reason_raw": []}), CAT)
    # "đắt quá" already reads as price; a category name in the text teaches nothing
    assert tc.pairs == ((TAUGHT, "price"),) and tc.in_log == 1 and tc.in_leads == 0
    out = map_reasons(pd.Series([TAUGHT, SIMILAR, "đắt quá"]), CAT, tc.pairs)
    assert out["category"].tolist() == ["price", "price", "price"]
    assert out["matched"].all()


def test_a_category_picked_in_the_lead_settles_an_unsure_log_row():
    unsure = "qwzx plonk"
    assert not map_reasons(pd.Series([unsure]), CAT)["matched"].iloc[0]
    rej = pd.DataFrame({"lead_id": ["KH-1", "KH-2"], "reason_text": [unsure, unsure],
                        "reason_category": ["other", "other"]})
    leads = pd.DataFrame({"lead_id": ["KH-1", "KH-2"], "reason_raw": ["Chưa cần ngay", unsure]})
    tc = team_corrections(rej, leads, CAT)
    assert tc.pairs == ((unsure, "not_now"),) and tc.in_leads == 1 and tc.in_log == 0
    # only the lead's latest log row counts: a later row with another text ends it
    later = pd.concat([rej, pd.DataFrame({"lead_id": ["KH-1"], "reason_text": ["Chưa cần ngay"],
                                          "reason_category": ["not_now"]})], ignore_index=True)
    assert team_corrections(later, leads, CAT).pairs == ()


def test_the_latest_correction_of_a_text_wins():
    rej = pd.DataFrame({"lead_id": ["KH-1", "KH-2"], "reason_text": [TAUGHT, TAUGHT.upper()],
                        "reason_category": ["price", "budget"]})
    tc = team_corrections(rej, pd.DataFrame(), CAT)
    assert tc.pairs == ((TAUGHT.upper(), "budget"),) and tc.in_log == 1  # one text corrected twice


def test_no_log_no_corrections():
    assert team_corrections(pd.DataFrame(), pd.DataFrame(), CAT).pairs == ()


# ---- end to end: a person corrects the log, the next sync reads a similar phrase their way

DAY1, DAY2 = dt.date(2026, 3, 2), dt.date(2026, 3, 3)


def _leads() -> list[list]:
    return grid([lead(lead_id="KH-000001", status="Từ chối", reason=TAUGHT, last_contact=DAY1),
                 lead(lead_id="KH-000002", name="Lý Thu Hà", email="ha.ly@example.vn", phone="0936222333",
                      status="Nóng", last_contact=DAY1)],
                keys=["lead_id", "name", "email", "phone", "owner", "status", "created_at",
                      "last_contact", "reason"])


def _log_rows(values: list[list]) -> list[dict]:
    hdr = values[0]
    return [dict(zip(hdr, r)) for r in values[1:] if any(v not in (None, "") for v in r)]


def _label(key: str) -> str:
    return CAT.get(key).label


@pytest.mark.parametrize("correct", [True, False])
def test_xlsx_a_log_correction_changes_the_next_sync(tmp_path, correct):
    path = write_workbook(tmp_path / "crm.xlsx", {LEADS: _leads()})
    api.sync(workbook=path, today=DAY1)
    assert column_values(path, TEXT, LOG) == [TAUGHT]
    first = column_values(path, CATEGORY, LOG)[0]
    assert first == _label(shipped(TAUGHT))
    if correct:
        set_cell(path, LOG, 2, CATEGORY, _label("price"))
    set_cell(path, LEADS, 3, "Trạng thái", "Từ chối")
    set_cell(path, LEADS, 3, "Lý do", SIMILAR)
    api.sync(workbook=path, today=DAY2)
    texts, cats = column_values(path, TEXT, LOG), column_values(path, CATEGORY, LOG)
    assert texts == [TAUGHT, SIMILAR]
    assert cats[1] == (_label("price") if correct else _label(shipped(SIMILAR)))
    assert cats[0] == (_label("price") if correct else first)  # the person's cell is kept


@pytest.fixture(scope="module")
def sheets_server():
    from sheetcrm.testing.fakesheets import FakeSheetsServer

    with FakeSheetsServer() as fake:
        yield fake


def test_gsheets_a_log_correction_changes_the_next_sync(sheets_server, tmp_path):
    from gsheets.e2e import seed_sheet
    from gsheets.fake import key_file

    fake = sheets_server
    fake.admin.reset()
    info = fake.admin.service_account("sync-bot@crm-test.iam.gserviceaccount.com")
    keyfile = key_file(tmp_path, info)
    sid = seed_sheet(fake, info, _leads(), tab=LEADS)
    opts = dict(sheet=sid, credentials=keyfile, api_endpoint=fake.url)
    api.sync(today=DAY1, **opts)
    log = _log_rows(fake.admin.values(sid, f"'{LOG}'!A1:Z20"))
    assert [r[TEXT] for r in log] == [TAUGHT] and log[0][CATEGORY] == _label(shipped(TAUGHT))
    col = chr(ord("A") + fake.admin.values(sid, f"'{LOG}'!A1:Z1")[0].index(CATEGORY))
    fake.admin.edit_as_person(sid, f"'{LOG}'!{col}2", [[_label("price")]])
    hdr = fake.admin.values(sid, f"'{LEADS}'!A1:Z1")[0]
    for header, value in (("Trạng thái", "Từ chối"), ("Lý do", SIMILAR)):
        c = chr(ord("A") + hdr.index(header))
        fake.admin.edit_as_person(sid, f"'{LEADS}'!{c}3", [[value]])
    api.sync(today=DAY2, **opts)
    log = _log_rows(fake.admin.values(sid, f"'{LOG}'!A1:Z20"))
    assert [r[TEXT] for r in log] == [TAUGHT, SIMILAR]
    assert [r[CATEGORY] for r in log] == [_label("price"), _label("price")]


def test_overview_counts_unsure_reasons_and_corrections():
    from sheetcrm.sync.summary import build_overview

    schemas = load_schemas()
    leads = pd.DataFrame({"lead_id": ["KH-1", "KH-2", "KH-3", "KH-4"], "status": ["rejected"] * 4,
                          "reason_raw": ["zzqx wvvk", "qwzx plonk", "Giá quá cao", ""]})
    rej = pd.DataFrame({"lead_id": ["KH-5", "KH-3"], "reason_text": [TAUGHT, "qwzx plonk"],
                        "reason_category": ["price", "other"]})
    layout = build_overview(leads, pd.DataFrame(), rej, pd.DataFrame(), None, schemas,
                            dt.date(2026, 3, 2), dt.datetime(2026, 3, 2, 9), "en")
    by_label = {row[0]: row[1] for row in layout.cells if len(row) >= 2}
    labels = schemas.labels["en"]
    # "qwzx plonk" was unsure, but KH-3 settled it as price, so KH-2's is no longer unsure
    assert by_label[labels["learning_unsure"]] == 1
    assert by_label[labels["learning_corrected_in_log"]] == 1
    assert by_label[labels["learning_settled_in_leads"]] == 1


def test_the_overview_counts_each_corrected_text_once_not_each_row():
    """A text corrected in the log and then logged again (the lead rejected a second time,
    or another lead with the same words, now read the team's way) is one correction; a text
    settled in a lead and also corrected in the log counts in the log only."""
    unsure = "qwzx plonk"
    rej = pd.DataFrame({"lead_id": ["KH-1", "KH-1", "KH-2", "KH-3", "KH-4"],
                        "reason_text": [TAUGHT, TAUGHT, f"  {TAUGHT.upper()} ", unsure, "đắt quá"],
                        "reason_category": ["price", "price", "price", "other", "price"]})
    leads = pd.DataFrame({"lead_id": ["KH-1", "KH-2", "KH-3", "KH-4"],
                          "reason_raw": [TAUGHT, TAUGHT, "Chưa cần ngay", "đắt quá"]})
    tc = team_corrections(rej, leads, CAT)
    assert (tc.in_log, tc.in_leads) == (1, 1)
    assert {k for _, k in tc.pairs} == {"price", "not_now"} and len(tc.pairs) == 2
    # the same unsure text settled in a second lead is still one text
    rej2 = pd.concat([rej, pd.DataFrame({"lead_id": ["KH-5"], "reason_text": [unsure],
                                         "reason_category": ["other"]})], ignore_index=True)
    leads2 = pd.concat([leads, pd.DataFrame({"lead_id": ["KH-5"], "reason_raw": ["Giá quá cao"]})],
                       ignore_index=True)
    assert team_corrections(rej2, leads2, CAT).in_leads == 1
    # corrected in the log as well: counted there, not twice
    rej3 = pd.concat([rej, pd.DataFrame({"lead_id": ["KH-6"], "reason_text": [unsure],
                                         "reason_category": ["budget"]})], ignore_index=True)
    tc3 = team_corrections(rej3, leads, CAT)
    assert (tc3.in_log, tc3.in_leads) == (2, 0)
