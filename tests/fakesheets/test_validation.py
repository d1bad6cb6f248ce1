"""Requests are validated against Google's discovery documents; each probe compares
the fake's answer with the answer Google documents (wording in the fakesheets README)."""
import pytest
import requests
from hypothesis import given, settings
from hypothesis import strategies as st

from sheetcrm.testing.fakesheets import discovery
from sheetcrm.testing.fakesheets.models import SheetsError

BOT = "probe@sheetcrm-test.iam.gserviceaccount.com"
PAYLOAD = "Invalid JSON payload received. "


@pytest.fixture
def api(fake_sheets):
    fake_sheets.admin.service_account(BOT)
    sid = fake_sheets.admin.create_spreadsheet("probe", tabs={"Sheet1": [["a", "b"], ["1", "2"]]}, owner=BOT)
    s = requests.Session()
    s.headers["Authorization"] = "Bearer " + fake_sheets.admin.token(BOT)
    s.base = f"{fake_sheets.url}/v4/spreadsheets/{sid}"
    s.sid = sid
    return s


def batch(api, *reqs):
    return api.post(api.base + ":batchUpdate", json={"requests": list(reqs)})


def error(r, code=400):
    assert r.status_code == code, r.text
    err = r.json()["error"]
    assert err["code"] == code and err["status"] == ("INVALID_ARGUMENT" if code == 400 else err["status"])
    return err


def test_unknown_top_level_field(api):
    r = api.post(api.base + ":batchUpdate", json={"requests": [{"addSheet": {}}], "requets": []})
    assert error(r)["message"] == PAYLOAD + 'Unknown name "requets": Cannot find field.'


def test_misspelt_rename_is_refused_and_later_requests_still_work(api, fake_sheets):
    r = batch(api, {"updateSheetProperties": {"properties": {"sheetId": 0, "titel": "New"}, "fields": "title"}})
    err = error(r)
    msg = PAYLOAD + "Unknown name \"titel\" at 'requests[0].update_sheet_properties.properties': Cannot find field."
    assert err["message"] == msg
    assert err["details"] == [{"@type": "type.googleapis.com/google.rpc.BadRequest", "fieldViolations": [
        {"field": "requests[0].update_sheet_properties.properties", "description": msg}]}]
    assert api.get(api.base).json()["sheets"][0]["properties"]["title"] == "Sheet1"
    assert api.get(api.base + "/values/Sheet1!A1:B2").json()["values"] == [["a", "b"], ["1", "2"]]


def test_mask_naming_a_field_the_body_leaves_out_cannot_empty_the_title(api):
    r = batch(api, {"updateSheetProperties": {"properties": {"sheetId": 0}, "fields": "title"}})
    assert error(r)["message"] == "Invalid requests[0].updateSheetProperties: Sheet title cannot be empty."
    assert api.get(api.base).json()["sheets"][0]["properties"]["title"] == "Sheet1"


def test_every_violation_is_reported_one_per_line(api):
    r = batch(api, {"updateDimensionProperties": {"range": {"sheetId": "zero", "dimension": "ROW"}, "propertie": {}, "fields": "pixelSize"}})
    assert error(r)["message"].split("\n") == [
        "Invalid value at 'requests[0].update_dimension_properties.range.sheet_id' (TYPE_INT32), \"zero\"",
        "Invalid value at 'requests[0].update_dimension_properties.range.dimension' (type.googleapis.com/google.apps.sheets.v4.Dimension), \"ROW\"",
        PAYLOAD + "Unknown name \"propertie\" at 'requests[0].update_dimension_properties': Cannot find field.",
    ]


def test_lists_objects_and_scalars_in_the_wrong_place(api):
    r = batch(api, {"addSheet": {"properties": {"title": ["x"]}}})
    assert error(r)["message"] == PAYLOAD + "Unknown name \"title\" at 'requests[0].add_sheet.properties': Proto field is not repeating, cannot start list."
    r = batch(api, {"addSheet": {"properties": {"title": {"x": 1}}}})
    assert error(r)["message"] == "Invalid value at 'requests[0].add_sheet.properties' (title), Starting an object on a scalar field"
    r = batch(api, {"addSheet": {"properties": "x"}})
    assert error(r)["message"] == "Invalid value at 'requests[0].add_sheet.properties' (type.googleapis.com/google.apps.sheets.v4.SheetProperties), \"x\""
    r = batch(api, {"addSheet": {}, "deleteSheet": {"sheetId": 0}})
    assert error(r)["message"] == "Invalid value at 'requests[0]' (oneof), oneof field 'kind' is already set. Cannot set 'delete_sheet'"
    r = api.post(api.base + ":batchUpdate", json=[1])
    assert error(r)["message"] == PAYLOAD + "Root element must be a message."


def test_proto_json_spellings_google_accepts(api):
    # snake_case names, numbers as strings, booleans as strings, enums by number
    r = batch(api, {"add_sheet": {"properties": {"title": "T", "sheet_id": "77", "hidden": "false", "gridProperties": {"rowCount": 5.0}}}},
              {"updateDimensionProperties": {"range": {"sheetId": 77, "dimension": 2}, "properties": {"pixelSize": 40}, "fields": "pixelSize"}})
    assert r.status_code == 200, r.text
    props = r.json()["replies"][0]["addSheet"]["properties"]
    assert props["sheetId"] == 77 and props["gridProperties"]["rowCount"] == 5


def test_unknown_query_parameter_and_bad_values(api):
    r = api.get(api.base + "/values/Sheet1!A1", params={"valueRenderOptoin": "FORMULA"})
    assert error(r)["message"] == PAYLOAD + "Unknown name \"valueRenderOptoin\": Cannot bind query parameter. Field 'valueRenderOptoin' could not be found in request message."
    r = api.get(api.base + "/values/Sheet1!A1", params={"valueRenderOption": "FORMULAS"})
    assert error(r)["message"] == "Invalid value at 'value_render_option' (type.googleapis.com/google.apps.sheets.v4.ValueRenderOption), \"FORMULAS\""
    r = api.get(api.base, params={"includeGridData": "yes"})
    assert error(r)["message"] == "Invalid value at 'include_grid_data' (TYPE_BOOL), \"yes\""
    r = api.post(api.base + "/values:batchUpdate", params={"data": "x"}, json={"valueInputOption": "RAW"})
    assert error(r)["message"] == PAYLOAD + "Unknown name \"data\": Cannot bind query parameter. 'data' is a message type. Parameters can only be bound to primitive types."
    # system parameters are always accepted, and booleans in any case (gspread sends "True")
    assert api.get(api.base, params={"prettyPrint": "false", "alt": "json", "includeGridData": "False"}).status_code == 200


def test_drive_ignores_unknown_query_parameters_as_recorded(api, fake_sheets):
    r = api.get(f"{fake_sheets.url}/drive/v3/files/{api.sid}", params={"supportsAllDrives": "True", "includeItemsFromAllDrives": "True"})
    assert r.status_code == 200
    r = api.get(f"{fake_sheets.url}/drive/v3/files/{api.sid}", params={"fields": "id,nmae"})
    assert r.status_code == 400 and r.json()["error"]["errors"][0]["reason"] == "invalidParameter"


def test_response_fields_mask_must_name_real_fields(api):
    assert api.get(api.base, params={"fields": "sheets.properties(title,gridProperties)"}).status_code == 200
    for bad in ("sheets.propertes", "properties, sheets.properties", "sheets(properties.titel)"):
        assert error(api.get(api.base, params={"fields": bad}))["message"] == "Request contains an invalid argument."


def test_update_mask_must_name_real_fields(api):
    r = batch(api, {"repeatCell": {"range": {"sheetId": 0}, "cell": {}, "fields": "userEnteredFormat.textFormat.bolder"}})
    assert error(r)["message"] == "Invalid requests[0].repeatCell: Invalid field mask: userEnteredFormat.textFormat.bolder"


def test_cell_longer_than_50000_characters_is_refused_and_nothing_is_written(api):
    big = "x" * 50_001
    msg = "Your input contains more than the maximum of 50000 characters in a single cell."
    r = api.put(api.base + "/values/Sheet1!A5", params={"valueInputOption": "RAW"}, json={"values": [["ok", big]]})
    assert error(r)["message"] == msg
    r = batch(api, {"updateCells": {"start": {"sheetId": 0, "rowIndex": 5}, "rows": [{"values": [{"userEnteredValue": {"stringValue": big}}]}], "fields": "userEnteredValue"}})
    assert error(r)["message"] == "Invalid requests[0].updateCells: " + msg
    assert api.get(api.base + "/values/Sheet1!A5:B6").json().get("values") is None
    ok = api.put(api.base + "/values/Sheet1!A5", params={"valueInputOption": "RAW"}, json={"values": [["x" * 50_000]]})
    assert ok.status_code == 200


def test_a_failing_batch_changes_nothing(api):
    r = batch(api, {"addSheet": {"properties": {"title": "New"}}},
              {"updateCells": {"start": {"sheetId": 0}, "rows": [{"values": [{"userEnteredValue": {"stringValue": "z"}}]}], "fields": "userEnteredValue"}},
              {"deleteSheet": {"sheetId": 12345}})
    assert error(r)["message"] == "Invalid requests[2].deleteSheet: No grid with id: 12345"
    got = api.get(api.base).json()
    assert [s["properties"]["title"] for s in got["sheets"]] == ["Sheet1"]
    assert api.get(api.base + "/values/Sheet1!A1").json()["values"] == [["a"]]


@pytest.mark.parametrize("name", ["1abc", "A1", "R1C1", "r2", "true", "has space", "dot.ted", "x" * 251, ""])
def test_invalid_named_range_names(api, name):
    r = batch(api, {"addNamedRange": {"namedRange": {"name": name, "range": {"sheetId": 0, "endRowIndex": 1}}}})
    assert error(r)["message"].startswith("Invalid requests[0].addNamedRange: ")
    assert "namedRanges" not in api.get(api.base).json()


def test_named_range_names_are_unique_regardless_of_case(api):
    assert batch(api, {"addNamedRange": {"namedRange": {"name": "Leads_2", "range": {"sheetId": 0}}}}).status_code == 200
    r = batch(api, {"addNamedRange": {"namedRange": {"name": "LEADS_2", "range": {"sheetId": 0}}}})
    assert error(r)["message"] == "Invalid requests[0].addNamedRange: Named range with name LEADS_2 already exists."


def test_sheet_titles_unique_and_non_empty(api):
    r = batch(api, {"duplicateSheet": {"sourceSheetId": 0, "newSheetName": "SHEET1"}})
    assert "already exists" in error(r)["message"]
    # proto3 cannot tell "" from unset: addSheet picks the next default name
    r = batch(api, {"addSheet": {"properties": {"title": ""}}})
    assert r.json()["replies"][0]["addSheet"]["properties"]["title"] == "Sheet2"


def test_value_input_option_is_required(api):
    r = api.put(api.base + "/values/Sheet1!A1", json={"values": [["x"]]})
    assert error(r)["message"] == "'valueInputOption' is required but not specified"


# ------------------------------------------------------------ properties of the checker

def _check(body):
    return discovery.check_body("spreadsheets.batchUpdate", body)


def _sheet_id_body(v):
    return {"requests": [{"deleteSheet": {"sheetId": v}}]}


@settings(max_examples=150, deadline=None)
@given(st.integers(-(2**31), 2**31 - 1), st.booleans())
def test_int32_accepted_as_number_or_decimal_string(n, as_text):
    out = _check(_sheet_id_body(str(n) if as_text else n))
    assert out["requests"][0]["deleteSheet"]["sheetId"] == n


@settings(max_examples=150, deadline=None)
@given(st.one_of(st.integers(min_value=2**31), st.integers(max_value=-(2**31) - 1), st.booleans(),
                 st.floats().filter(lambda x: not float(x).is_integer()), st.text().filter(lambda t: not t.strip("-").isdigit())))
def test_anything_else_is_refused_for_int32(v):
    with pytest.raises(SheetsError) as e:
        _check(_sheet_id_body(v))
    assert e.value.message.startswith("Invalid value at 'requests[0].delete_sheet.sheet_id' (TYPE_INT32), ")


@settings(max_examples=100, deadline=None)
@given(st.text(alphabet="abcdefghijklmnopqrstuvwxyzABC_", min_size=1, max_size=12))
def test_unknown_names_are_named_in_the_message(name):
    props = discovery.document("sheets")["schemas"]["SheetProperties"]["properties"]
    body = {"requests": [{"addSheet": {"properties": {name: 1}}}]}
    if name in props or discovery.camel(name) in props:
        return
    with pytest.raises(SheetsError) as e:
        _check(body)
    assert e.value.message == PAYLOAD + f"Unknown name \"{name}\" at 'requests[0].add_sheet.properties': Cannot find field."


@settings(max_examples=100, deadline=None)
@given(st.lists(st.lists(st.sampled_from(["a", "b", "c", "*"]), min_size=1, max_size=3), min_size=1, max_size=4))
def test_mask_names_reads_back_dotted_paths(paths):
    text = ",".join(".".join(p) for p in paths)
    assert discovery.mask_names(text) == paths


@pytest.mark.parametrize("req", [
    {"sortRange": {"range": {"sheetId": 0, "endRowIndex": 2, "endColumnIndex": 2}, "sortSpecs": [{"dimensionIndex": -1}]}},
    {"sortRange": {"range": {"sheetId": 0, "endRowIndex": 2, "endColumnIndex": 2}, "sortSpecs": [{"dimensionIndex": 5}]}},
    {"updateDimensionProperties": {"range": {"sheetId": 0, "dimension": "ROWS", "startIndex": -3, "endIndex": 2}, "properties": {"pixelSize": 9}, "fields": "pixelSize"}},
    {"updateDimensionProperties": {"range": {"sheetId": 0, "dimension": "ROWS", "startIndex": 0, "endIndex": 5000}, "properties": {"pixelSize": 9}, "fields": "pixelSize"}},
    {"deleteConditionalFormatRule": {"sheetId": 0, "index": -1}},
    {"appendDimension": {"sheetId": 0, "length": 3}},
])
def test_out_of_range_indices_are_refused_not_guessed(api, req):
    before = api.get(api.base, params={"includeGridData": "true"}).json()
    error(batch(api, req))
    assert api.get(api.base, params={"includeGridData": "true"}).json() == before
