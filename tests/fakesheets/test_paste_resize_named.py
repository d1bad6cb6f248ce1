"""copyPaste, cutPaste and autoResizeDimensions as gspread sends them, and named
ranges used as values ranges; behaviour as the Sheets API reference describes it."""
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sheetcrm.testing.fakesheets.paste import shift_formula

BOT = "sheetcrm-bot@sheetcrm-test.iam.gserviceaccount.com"


@pytest.fixture
def ws(fake_sheets, fake_gspread):
    rows = [["Tên", "Số"], ["An", "2"], ["Bình", "=B2*2"]]
    sid = fake_sheets.admin.create_spreadsheet("paste", tabs={"Sheet1": rows}, owner=BOT)
    return fake_gspread.open_by_key(sid).sheet1


def test_copy_range_normal_shifts_relative_references_and_keeps_formats(ws):
    ws.format("A1:B1", {"textFormat": {"bold": True}})
    ws.copy_range("A1:B3", "D5")
    assert ws.get("D5:E7") == [["Tên", "Số"], ["An", "2"], ["Bình", "4"]]
    assert ws.get("E7", value_render_option="FORMULA") == [["=E6*2"]]
    got = ws.spreadsheet.fetch_sheet_metadata({"ranges": "Sheet1!D5", "includeGridData": "true"})
    cell = got["sheets"][0]["data"][0]["rowData"][0]["values"][0]
    assert cell["userEnteredFormat"]["textFormat"]["bold"] is True


def test_copy_values_only_pastes_computed_values(ws):
    ws.copy_range("B3", "C3", paste_type="PASTE_VALUES")
    assert ws.get("C3", value_render_option="FORMULA") == [[4]]


def test_copy_fills_a_destination_that_is_a_multiple_of_the_source(ws):
    ws.copy_range("A2:A2", "F1:F4")
    assert ws.get("F1:F4") == [["An"], ["An"], ["An"], ["An"]]


def test_copy_transposed(ws):
    ws.spreadsheet.batch_update({"requests": [{"copyPaste": {
        "source": {"sheetId": ws.id, "startRowIndex": 0, "endRowIndex": 1, "startColumnIndex": 0, "endColumnIndex": 2},
        "destination": {"sheetId": ws.id, "startRowIndex": 9, "endRowIndex": 10, "startColumnIndex": 0, "endColumnIndex": 1},
        "pasteType": "PASTE_NORMAL", "pasteOrientation": "TRANSPOSE"}}]})
    assert ws.get("A10:B11") == [["Tên"], ["Số"]]


def test_cut_moves_everything_and_empties_the_source(ws):
    ws.cut_range("A2:B3", "D1")
    assert ws.get("A2:B3") == [[]]
    assert ws.get("D1:E2") == [["An", "2"], ["Bình", "4"]]
    # a reference into the cut block follows it
    assert ws.get("E2", value_render_option="FORMULA") == [["=E1*2"]]


def test_copy_beyond_the_grid_is_refused_and_changes_nothing(ws):
    import gspread

    with pytest.raises(gspread.exceptions.APIError) as e:
        ws.copy_range("A1:B3", "Z999")
    assert "exceeds grid limits" in str(e.value)
    assert ws.get("Z999:AA1000") == [[]]


def test_auto_resize_estimates_widths_from_the_text(ws, fake_sheets):
    ws.update([["a much longer header text"]], "C1")
    ws.columns_auto_resize(0, 4)
    meta = ws.spreadsheet.fetch_sheet_metadata({"includeGridData": "true", "ranges": "Sheet1!A1:D1"})
    widths = [c["pixelSize"] for c in meta["sheets"][0]["data"][0]["columnMetadata"]]
    assert widths == [len("Bình") * 7 + 10, len("Số") * 7 + 10, len("a much longer header text") * 7 + 10, 100]
    ws.rows_auto_resize(0, 1)
    meta = ws.spreadsheet.fetch_sheet_metadata({"includeGridData": "true", "ranges": "Sheet1!A1:A2"})
    assert [r["pixelSize"] for r in meta["sheets"][0]["data"][0]["rowMetadata"]] == [21, 21]


def test_named_range_as_values_range(ws):
    ws.define_named_range("A2:B3", "Khach")
    for rng in ("Khach", "Sheet1!Khach", "'Sheet1'!Khach"):
        got = ws.spreadsheet.values_get(rng)
        assert got["range"] == "Sheet1!A2:B3" and got["values"] == [["An", "2"], ["Bình", "4"]], rng
    ws.spreadsheet.values_update("Khach", params={"valueInputOption": "RAW"}, body={"values": [["Chi", "9"]]})
    assert ws.get("A2:B2") == [["Chi", "9"]]
    assert ws.spreadsheet.values_clear("Sheet1!Khach")["clearedRange"] == "Sheet1!A2:B3"


@settings(max_examples=100, deadline=None)
@given(st.integers(0, 50), st.integers(0, 50), st.integers(0, 20), st.integers(0, 20), st.booleans(), st.booleans())
def test_shifted_references_move_by_the_offset_unless_pinned(col, row, dc, dr, pin_col, pin_row):
    from sheetcrm.testing.fakesheets.a1 import col_to_letters

    ref = f"{'$' if pin_col else ''}{col_to_letters(col)}{'$' if pin_row else ''}{row + 1}"
    want = f"{'$' if pin_col else ''}{col_to_letters(col if pin_col else col + dc)}{'$' if pin_row else ''}{(row if pin_row else row + dr) + 1}"
    assert shift_formula(f'=SUM({ref})&"{ref}"', dr, dc) == f'=SUM({want})&"{ref}"'
