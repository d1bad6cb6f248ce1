"""`appendCells` through gspread's own batch_update: where rows land, grid growth, the
field mask, text never parsed, and all-or-nothing batches."""
import pytest
from gspread.exceptions import APIError

BOT = "sheetcrm-bot@sheetcrm-test.iam.gserviceaccount.com"


def text(s):
    return {"userEnteredValue": {"stringValue": s}}


def append(sh, sheet_id, rows, fields="userEnteredValue"):
    return sh.batch_update({"requests": [{"appendCells": {"sheetId": sheet_id, "rows": [{"values": r} for r in rows], "fields": fields}}]})


@pytest.fixture
def sheet(fake_sheets, fake_gspread):
    sid = fake_sheets.admin.create_spreadsheet("CRM", tabs={"Log": [["key", "what"], ["k1", "a"]]}, owner=BOT)
    return sid, fake_gspread.open_by_key(sid)


def test_lands_after_the_last_row_with_data_in_any_column(fake_sheets, sheet):
    sid, sh = sheet
    fake_sheets.admin.edit_as_person(sid, "Log!E7", [["a note far right"]])
    reply = append(sh, 0, [[text("k2"), text("b")]])
    assert reply["replies"] == [{}]
    assert fake_sheets.admin.values(sid, "Log!A1:E8") == [
        ["key", "what"], ["k1", "a"], [], [], [], [], ["", "", "", "", "a note far right"], ["k2", "b"]]


def test_formats_and_validation_alone_do_not_count_as_data(fake_sheets, sheet):
    sid, sh = sheet
    sh.batch_update({"requests": [
        {"repeatCell": {"range": {"sheetId": 0, "startRowIndex": 5, "endRowIndex": 9}, "cell": {"userEnteredFormat": {"textFormat": {"bold": True}}}, "fields": "userEnteredFormat.textFormat.bold"}},
        {"setDataValidation": {"range": {"sheetId": 0, "startRowIndex": 1, "startColumnIndex": 1, "endColumnIndex": 2},
                               "rule": {"condition": {"type": "ONE_OF_LIST", "values": [{"userEnteredValue": "a"}]}}}}]})
    append(sh, 0, [[text("k2"), text("b")]])
    assert fake_sheets.admin.values(sid, "Log!A3:B3") == [["k2", "b"]]
    # the cell kept its validation: appendCells wrote only the masked field
    assert fake_sheets.admin.state(sid)["sheets"][0]["cells"]["B3"]["dataValidation"]["condition"]["type"] == "ONE_OF_LIST"


def test_string_values_are_never_parsed(fake_sheets, sheet):
    sid, sh = sheet
    append(sh, 0, [[text('=IMPORTXML("http://x","//a")'), text("0042"), text("'007"), text("12/03/2026"), text("TRUE")]])
    row = fake_sheets.admin.values(sid, "Log!A3:E3", "FORMULA")
    assert row == [['=IMPORTXML("http://x","//a")', "0042", "'007", "12/03/2026", "TRUE"]]
    assert "formula" not in fake_sheets.admin.state(sid)["sheets"][0]["cells"]["A3"]


def test_numbers_booleans_formulas_and_number_formats(fake_sheets, sheet):
    sid, sh = sheet
    append(sh, 0, [[{"userEnteredValue": {"numberValue": 46093}, "userEnteredFormat": {"numberFormat": {"type": "DATE", "pattern": "dd/mm/yyyy"}}},
                    {"userEnteredValue": {"boolValue": True}}, {"userEnteredValue": {"formulaValue": "=1+1"}}]],
           fields="userEnteredValue,userEnteredFormat.numberFormat")
    assert fake_sheets.admin.values(sid, "Log!A3:C3") == [["12/03/2026", "TRUE", "2"]]


def test_grows_the_grid_and_an_empty_sheet_starts_at_row_1(fake_sheets, fake_gspread):
    sid = fake_sheets.admin.create_spreadsheet("CRM", tabs={"Log": []}, owner=BOT)
    sh = fake_gspread.open_by_key(sid)
    sh.sheet1.resize(rows=2)
    append(sh, 0, [[text(f"r{i}")] for i in range(5)])
    ws = sh.sheet1
    assert ws.row_count == 5
    assert ws.col_values(1) == ["r0", "r1", "r2", "r3", "r4"]


def test_mask_is_required_and_a_failed_batch_writes_nothing(fake_sheets, sheet):
    sid, sh = sheet
    with pytest.raises(APIError, match="At least one field"):
        append(sh, 0, [[text("x")]], fields="")
    with pytest.raises(APIError, match="No namedRange"):
        sh.batch_update({"requests": [{"appendCells": {"sheetId": 0, "rows": [{"values": [text("x")]}], "fields": "userEnteredValue"}},
                                      {"deleteNamedRange": {"namedRangeId": "gone"}}]})
    assert fake_sheets.admin.values(sid, "Log!A1:B5") == [["key", "what"], ["k1", "a"]]
    with pytest.raises(APIError, match="exceeds grid limits"):
        append(sh, 0, [[text("x")] * 27])


def test_counts_written_cells(fake_sheets, sheet):
    sid, sh = sheet
    fake_sheets.admin.reset_counters()
    append(sh, 0, [[text("k2"), text("b")], [text("k3"), text("c")]])
    c = fake_sheets.admin.counters()
    assert c["cells_written"] == 4 and c["batch_requests"] == {"appendCells": 1}
