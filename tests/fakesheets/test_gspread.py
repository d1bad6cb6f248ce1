"""gspread 6, unmodified, against the fake over loopback HTTP."""
import gspread
import pytest

BOT = "sheetcrm-bot@sheetcrm-test.iam.gserviceaccount.com"


@pytest.fixture
def sheet(fake_sheets, fake_gspread):
    sid = fake_sheets.admin.create_spreadsheet(
        "CRM", tabs={"Khách hàng": [["Mã KH", "Tên", "Ngày tạo"], ["KH-000001", "An", "2026-03-12"]]}, owner=BOT
    )
    return sid, fake_gspread.open_by_key(sid)


def test_open_and_read(sheet):
    sid, sh = sheet
    assert sh.title == "CRM"
    ws = sh.worksheet("Khách hàng")
    assert ws.row_count == 1000 and ws.col_count == 26
    assert ws.get_all_values() == [["Mã KH", "Tên", "Ngày tạo"], ["KH-000001", "An", "2026-03-12"]]
    assert ws.get("C2", value_render_option="UNFORMATTED_VALUE") == [[46093]]
    assert ws.get_all_records() == [{"Mã KH": "KH-000001", "Tên": "An", "Ngày tạo": "2026-03-12"}]


def test_write_raw_vs_user_entered(fake_sheets, sheet):
    sid, sh = sheet
    ws = sh.sheet1
    ws.update([["=1+1", "0042", "12%", "'007", "TRUE", "12/03/2026"]], "A3", value_input_option="RAW")
    ws.update([["=1+1", "0042", "12%", "'007", "TRUE", "12/03/2026"]], "A4", value_input_option="USER_ENTERED")
    assert ws.get("A3:F4") == [
        ["=1+1", "0042", "12%", "'007", "TRUE", "12/03/2026"],
        ["2", "42", "12%", "007", "TRUE", "12/03/2026"],
    ]
    assert ws.get("A4:F4", value_render_option="UNFORMATTED_VALUE") == [[2, 42, 0.12, "007", True, 46359]]
    assert ws.get("A4:F4", value_render_option="FORMULA") == [["=1+1", 42, 0.12, "007", True, 46359]]
    assert ws.get(
        "F4", value_render_option="UNFORMATTED_VALUE", date_time_render_option="FORMATTED_STRING"
    ) == [["12/03/2026"]]
    cell = fake_sheets.admin.state(sid)["sheets"][0]["cells"]["F4"]
    assert cell["numberFormat"]["type"] == "DATE" and cell["value"] == 46359


def test_append_finds_table_end_and_grows_grid(fake_sheets, fake_gspread):
    sid = fake_sheets.admin.create_spreadsheet("t", owner=BOT)
    ws = fake_gspread.open_by_key(sid).sheet1
    ws.resize(rows=3)
    ws.append_row(["h1", "h2"])
    ws.append_row(["a", "b"])
    fake_sheets.admin.edit_as_person(sid, "A3", [["typed by a person"]])
    res = ws.append_row(["c", "d"])
    assert res["updates"]["updatedRange"] == "Sheet1!A4:B4"
    assert ws.get_all_values()[-1] == ["c", "d"]
    assert fake_gspread.open_by_key(sid).sheet1.row_count == 4


def test_batch_get_and_quoted_titles(fake_gspread, fake_sheets):
    sid = fake_sheets.admin.create_spreadsheet("t", tabs={"Sheet1": [["x"]], "Anh's Lịch sử": [["a", "b"], ["c"]]}, owner=BOT)
    sh = fake_gspread.open_by_key(sid)
    got = sh.values_batch_get(["Sheet1!A:A", "'Anh''s Lịch sử'!A1:B"])
    assert [r["range"] for r in got["valueRanges"]] == ["Sheet1!A1:A1000", "'Anh''s Lịch sử'!A1:B1000"]
    assert got["valueRanges"][1]["values"] == [["a", "b"], ["c"]]
    cols = sh.values_get("'Anh''s Lịch sử'!A1:B2", params={"majorDimension": "COLUMNS"})
    assert cols["values"] == [["a", "c"], ["b"]]


def test_add_delete_worksheet_and_format(fake_sheets, sheet):
    sid, sh = sheet
    ws = sh.add_worksheet("Từ chối", rows=10, cols=5)
    assert [w.title for w in sh.worksheets()] == ["Khách hàng", "Từ chối"]
    ws.update([["x"]], "A1")
    ws.format("A1:B1", {"textFormat": {"bold": True}, "backgroundColor": {"red": 1}})
    fmt = fake_sheets.admin.state(sid)["sheets"][1]["cells"]["A1"]["format"]
    assert fmt["textFormat"] == {"bold": True} and fmt["backgroundColorStyle"] == {"rgbColor": {"red": 1}}
    with pytest.raises(gspread.exceptions.APIError) as e:
        sh.add_worksheet("Từ chối", rows=1, cols=1)
    assert e.value.response.status_code == 400 and "already exists" in str(e.value)
    sh.del_worksheet(ws)
    assert [w.title for w in sh.worksheets()] == ["Khách hàng"]


def test_write_beyond_grid_is_refused_with_googles_message(sheet):
    _, sh = sheet
    with pytest.raises(gspread.exceptions.APIError) as e:
        sh.sheet1.update([["x"]], "A1001")
    err = e.value.response.json()["error"]
    assert err == {
        "code": 400,
        "message": "Range ('Khách hàng'!A1001) exceeds grid limits. Max rows: 1000, max columns: 26",
        "status": "INVALID_ARGUMENT",
    }


def test_ten_million_cell_cap(fake_sheets, fake_gspread):
    sid = fake_sheets.admin.create_spreadsheet("t", owner=BOT)
    sh = fake_gspread.open_by_key(sid)
    with pytest.raises(gspread.exceptions.APIError) as e:
        sh.add_worksheet("big", rows=1_000_000, cols=10)
    assert "above the limit of 10000000 cells" in str(e.value)


def test_create_list_delete_via_drive(fake_gspread):
    sh = fake_gspread.create("Brand new")
    assert sh.sheet1.title == "Sheet1"
    assert [f["name"] for f in fake_gspread.list_spreadsheet_files()] == ["Brand new"]
    fake_gspread.del_spreadsheet(sh.id)
    with pytest.raises(gspread.exceptions.SpreadsheetNotFound):
        fake_gspread.open_by_key(sh.id)


def test_batch_update_values_and_clear(sheet):
    _, sh = sheet
    ws = sh.sheet1
    ws.batch_update([{"range": "A5", "values": [["p"]]}, {"range": "B7:C7", "values": [["q", "r"]]}])
    assert ws.get("A5:C7") == [["p"], [], ["", "q", "r"]]
    ws.batch_clear(["A5", "B7:C7"])
    assert "values" not in sh.values_get("'Khách hàng'!A5:C7")
    ws.insert_row(["new"], 2)
    assert ws.col_values(1)[:3] == ["Mã KH", "new", "KH-000001"]
    ws.delete_rows(2)
    assert ws.col_values(1) == ["Mã KH", "KH-000001"]
