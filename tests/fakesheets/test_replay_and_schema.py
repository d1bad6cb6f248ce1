"""Fidelity: cassette replay against recorded Google responses, and response bodies
validated against the Sheets v4 discovery document's schemas."""
import json
from pathlib import Path

import pytest
import requests

from sheetcrm.testing.fakesheets.replay import replay_cassettes

CASSETTES = Path(__file__).resolve().parents[2].parent / "shared" / "sheets-cassettes"
BOT = "sheetcrm-bot@sheetcrm-test.iam.gserviceaccount.com"


@pytest.mark.skipif(not CASSETTES.is_dir(), reason=f"recorded cassettes not found at {CASSETTES}")
def test_cassette_replay_matches_google(fake_sheets):
    report = replay_cassettes(CASSETTES, server=fake_sheets)
    matched, implemented, total = report.totals()
    assert total > 1000
    assert matched / implemented >= 0.99, "\n".join(f"{o.cassette}#{o.index}: {o.diff}" for o in report.failures()[:20])
    # what sheetcrm's Google backend calls must match everywhere it was recorded
    per = report.per_endpoint()
    for ep in ("spreadsheets.values.get", "spreadsheets.values.update", "spreadsheets.values.append",
               "spreadsheets.values.batchGet", "spreadsheets.values.batchUpdate", "spreadsheets.values.clear",
               "spreadsheets.batchUpdate", "drive.files.create", "drive.files.delete"):
        m, n, _ = per[ep]
        assert n and m / n >= 0.97, (ep, m, n)
    for kind, (m, n, _) in report.per_kind().items():
        assert n and m == n, kind


# ------------------------------------------------------------ discovery schemas

def _discovery():
    import googleapiclient

    path = Path(googleapiclient.__file__).parent / "discovery_cache/documents/sheets.v4.json"
    return json.loads(path.read_text())["schemas"]


def validate(schemas, schema, value, path="$"):
    """Minimal JSON-schema check for discovery documents: types, enums, $ref, arrays,
    objects (unknown properties are errors), additionalProperties."""
    if "$ref" in schema:
        return validate(schemas, schemas[schema["$ref"]], value, path)
    t = schema.get("type")
    errors = []
    if t == "object":
        if not isinstance(value, dict):
            return [f"{path}: expected object, got {type(value).__name__}"]
        props = schema.get("properties", {})
        addl = schema.get("additionalProperties")
        for k, v in value.items():
            if k in props:
                errors += validate(schemas, props[k], v, f"{path}.{k}")
            elif addl:
                errors += validate(schemas, addl, v, f"{path}.{k}")
            else:
                errors.append(f"{path}.{k}: not in schema {schema.get('id')}")
    elif t == "array":
        if not isinstance(value, list):
            return [f"{path}: expected array"]
        for i, v in enumerate(value):
            errors += validate(schemas, schema["items"], v, f"{path}[{i}]")
    elif t == "string":
        if not isinstance(value, str):
            errors.append(f"{path}: expected string, got {value!r}")
        elif "enum" in schema and value not in schema["enum"]:
            errors.append(f"{path}: {value!r} not in enum")
    elif t == "integer":
        if isinstance(value, bool) or not isinstance(value, int):
            errors.append(f"{path}: expected integer, got {value!r}")
    elif t == "number":
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            errors.append(f"{path}: expected number, got {value!r}")
    elif t == "boolean":
        if not isinstance(value, bool):
            errors.append(f"{path}: expected boolean, got {value!r}")
    elif t == "any":
        pass
    return errors


def test_responses_match_discovery_schemas(fake_sheets, fake_sheets_account):
    schemas = _discovery()
    sid = fake_sheets.admin.create_spreadsheet(
        "schema", tabs={"Leads": [["Name", "Date", "Amount"], ["An", "2026-03-12", "12%"], ["=1/0", "TRUE", 5]]}, owner=BOT
    )
    s = requests.Session()
    s.headers["Authorization"] = "Bearer " + fake_sheets.admin.token(BOT)
    base = f"{fake_sheets.url}/v4/spreadsheets/{sid}"
    calls = [
        ("BatchUpdateSpreadsheetResponse", "POST", base + ":batchUpdate", None, {"requests": [
            {"addSheet": {"properties": {"title": "Extra", "tabColor": {"red": 0.5}}}},
            {"repeatCell": {"range": {"sheetId": 0, "endRowIndex": 1}, "cell": {"userEnteredFormat": {"textFormat": {"bold": True}, "backgroundColor": {"blue": 1}}}, "fields": "userEnteredFormat(textFormat,backgroundColor)"}},
            {"setDataValidation": {"range": {"sheetId": 0, "startRowIndex": 1, "endRowIndex": 3, "startColumnIndex": 1, "endColumnIndex": 2}, "rule": {"condition": {"type": "ONE_OF_LIST", "values": [{"userEnteredValue": "Mới"}]}, "strict": True}}},
            {"addProtectedRange": {"protectedRange": {"range": {"sheetId": 0, "endRowIndex": 1}, "description": "headers", "warningOnly": True}}},
            {"addChart": {"chart": {"spec": {"title": "c", "basicChart": {"chartType": "BAR"}}, "position": {"overlayPosition": {"anchorCell": {"sheetId": 0, "rowIndex": 0, "columnIndex": 5}}}}}},
            {"updateDimensionProperties": {"range": {"sheetId": 0, "dimension": "COLUMNS", "startIndex": 0, "endIndex": 1}, "properties": {"pixelSize": 200}, "fields": "pixelSize"}},
            {"appendDimension": {"sheetId": 0, "dimension": "ROWS", "length": 5}},
            {"insertDimension": {"range": {"sheetId": 0, "dimension": "ROWS", "startIndex": 5, "endIndex": 6}}},
            {"deleteDimension": {"range": {"sheetId": 0, "dimension": "ROWS", "startIndex": 5, "endIndex": 6}}},
            {"addNamedRange": {"namedRange": {"name": "Leads", "range": {"sheetId": 0, "endRowIndex": 3}}}},
            {"addDimensionGroup": {"range": {"sheetId": 0, "dimension": "ROWS", "startIndex": 1, "endIndex": 3}}},
            {"updateCells": {"range": {"sheetId": 0, "startRowIndex": 0, "endRowIndex": 1, "startColumnIndex": 0, "endColumnIndex": 1}, "rows": [{"values": [{"note": "n"}]}], "fields": "note"}},
        ]}),
        ("Spreadsheet", "GET", base, {"includeGridData": "true"}, None),
        ("Spreadsheet", "GET", base, {"ranges": "Leads!A1:C3", "fields": "sheets(properties,data.rowData.values(userEnteredValue,effectiveValue,formattedValue,note))"}, None),
        ("ValueRange", "GET", base + "/values/Leads!A1:C3", {"valueRenderOption": "UNFORMATTED_VALUE"}, None),
        ("BatchGetValuesResponse", "GET", base + "/values:batchGet", {"ranges": ["Leads!A:A", "Leads!1:1"], "majorDimension": "COLUMNS"}, None),
        ("UpdateValuesResponse", "PUT", base + "/values/Leads!D1", {"valueInputOption": "USER_ENTERED", "includeValuesInResponse": "true"}, {"values": [["x", "=1+1"]]}),
        ("AppendValuesResponse", "POST", base + "/values/Leads:append", {"valueInputOption": "RAW"}, {"values": [["Bình", "2026-01-01", 3]]}),
        ("BatchUpdateValuesResponse", "POST", base + "/values:batchUpdate", None, {"valueInputOption": "RAW", "data": [{"range": "Leads!A10", "values": [["y"]]}]}),
        ("ClearValuesResponse", "POST", base + "/values/Leads!A10:clear", None, {}),
        ("BatchClearValuesResponse", "POST", base + "/values:batchClear", None, {"ranges": ["Leads!D1:E1"]}),
    ]
    for schema_id, method, url, params, body in calls:
        r = s.request(method, url, params=params, json=body)
        assert r.status_code == 200, r.text
        errs = validate(schemas, schemas[schema_id], r.json())
        assert not errs, (schema_id, errs[:10])
    # the error envelope too
    r = s.get(base + "/values/Nope!A1")
    assert r.status_code == 400 and set(r.json()["error"]) == {"code", "message", "status"}
