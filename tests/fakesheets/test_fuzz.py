"""Random mutations of valid requests: every answer is a 2xx or a Google-shaped 4xx,
and the spreadsheet stays readable afterwards (no request can corrupt the state)."""
import copy
import json
import urllib.parse

import pytest
import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

BOT = "fuzz@sheetcrm-test.iam.gserviceaccount.com"
GRID = {"sheetId": 0, "startRowIndex": 0, "endRowIndex": 2, "startColumnIndex": 0, "endColumnIndex": 2}

# (method, path after /v4/spreadsheets/{id}, query, body): each valid on its own.
VALID = [
    ("GET", "", {"includeGridData": "true", "ranges": "Sheet1!A1:B2"}, None),
    ("GET", "", {"fields": "sheets.properties(title,gridProperties)"}, None),
    ("GET", "/values/Sheet1!A1:C3", {"valueRenderOption": "FORMULA", "majorDimension": "COLUMNS"}, None),
    ("GET", "/values:batchGet", {"ranges": ["A1:B2", "Sheet1!C:C"]}, None),
    ("PUT", "/values/Sheet1!A1", {"valueInputOption": "USER_ENTERED"}, {"range": "Sheet1!A1", "values": [["=1+1", "2026-01-02", "x"]]}),
    ("POST", "/values/Sheet1!A1:append", {"valueInputOption": "RAW", "insertDataOption": "INSERT_ROWS"}, {"values": [["a", 1, True]]}),
    ("POST", "/values:batchUpdate", None, {"valueInputOption": "RAW", "data": [{"range": "Sheet1!B2", "values": [["y"]]}]}),
    ("POST", "/values:batchClear", None, {"ranges": ["Sheet1!A1:B2"]}),
    ("POST", "/values/Sheet1!A1:B2:clear", None, {}),
    ("POST", ":batchUpdate", None, {"requests": [{"updateSheetProperties": {"properties": {"sheetId": 0, "title": "Renamed", "gridProperties": {"frozenRowCount": 1}}, "fields": "title,gridProperties.frozenRowCount"}}]}),
    ("POST", ":batchUpdate", None, {"requests": [{"addSheet": {"properties": {"title": "Extra", "gridProperties": {"rowCount": 10, "columnCount": 3}}}}]}),
    ("POST", ":batchUpdate", None, {"requests": [{"repeatCell": {"range": GRID, "cell": {"userEnteredFormat": {"textFormat": {"bold": True}}}, "fields": "userEnteredFormat.textFormat.bold"}}]}),
    ("POST", ":batchUpdate", None, {"requests": [{"updateCells": {"range": GRID, "rows": [{"values": [{"userEnteredValue": {"stringValue": "s"}}]}], "fields": "userEnteredValue"}}]}),
    ("POST", ":batchUpdate", None, {"requests": [{"insertDimension": {"range": {"sheetId": 0, "dimension": "ROWS", "startIndex": 1, "endIndex": 3}}},
                                                  {"deleteDimension": {"range": {"sheetId": 0, "dimension": "COLUMNS", "startIndex": 0, "endIndex": 1}}}]}),
    ("POST", ":batchUpdate", None, {"requests": [{"addNamedRange": {"namedRange": {"name": "Leads", "range": GRID}}}]}),
    ("POST", ":batchUpdate", None, {"requests": [{"mergeCells": {"range": GRID, "mergeType": "MERGE_ALL"}}, {"unmergeCells": {"range": GRID}}]}),
    ("POST", ":batchUpdate", None, {"requests": [{"copyPaste": {"source": GRID, "destination": dict(GRID, startRowIndex=4, endRowIndex=8), "pasteType": "PASTE_NORMAL"}}]}),
    ("POST", ":batchUpdate", None, {"requests": [{"cutPaste": {"source": GRID, "destination": {"sheetId": 0, "rowIndex": 5, "columnIndex": 5}, "pasteType": "PASTE_VALUES"}}]}),
    ("POST", ":batchUpdate", None, {"requests": [{"autoResizeDimensions": {"dimensions": {"sheetId": 0, "dimension": "COLUMNS", "startIndex": 0, "endIndex": 3}}}]}),
    ("POST", ":batchUpdate", None, {"requests": [{"sortRange": {"range": GRID, "sortSpecs": [{"dimensionIndex": 0, "sortOrder": "DESCENDING"}]}}]}),
    ("POST", ":batchUpdate", None, {"requests": [{"appendCells": {"sheetId": 0, "rows": [{"values": [{"userEnteredValue": {"numberValue": 3}}]}], "fields": "userEnteredValue"}}]}),
    ("POST", ":batchUpdate", None, {"requests": [{"setDataValidation": {"range": GRID, "rule": {"condition": {"type": "ONE_OF_LIST", "values": [{"userEnteredValue": "a"}]}}}}]}),
    ("GET", "/drive/v3/files", {"q": "mimeType='application/vnd.google-apps.spreadsheet'", "pageSize": "10", "pageToken": "0", "fields": "files(id,name),nextPageToken"}, None),
    ("POST", "/drive/v3/files/{sid}/copy", {"supportsAllDrives": "true"}, {"name": "Copy"}),
    ("POST", "/drive/v3/files/{sid}/permissions", {"sendNotificationEmail": "false"}, {"role": "reader", "type": "user", "emailAddress": "x@example.com"}),
    ("POST", ":batchUpdate", None, {"requests": [{"updateDimensionProperties": {"range": {"sheetId": 0, "dimension": "ROWS", "startIndex": 0, "endIndex": 2}, "properties": {"pixelSize": 40}, "fields": "pixelSize"}}]}),
]

ODD = st.one_of(
    st.none(), st.booleans(), st.integers(-(2**40), 2**40), st.floats(allow_nan=True), st.text(max_size=8),
    st.sampled_from(["", "ROWS", "titel", "Sheet1", "A1", "-1", "1e9", "x" * 50_001]),
    st.builds(list), st.builds(dict), st.builds(lambda: [1, "a"]), st.builds(lambda: {"x": 1}),
)


def _paths(obj, prefix=()):
    yield prefix
    if isinstance(obj, dict):
        for k, v in obj.items():
            yield from _paths(v, prefix + (k,))
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            yield from _paths(v, prefix + (i,))


@st.composite
def mutated(draw):
    method, path, query, body = copy.deepcopy(draw(st.sampled_from(VALID)))
    target = draw(st.sampled_from(["query", "body"])) if body is not None and query else ("body" if body is not None else "query")
    root = {"q": query or {}} if target == "query" else {"b": body}
    for _ in range(draw(st.integers(1, 3))):
        paths = list(_paths(root))[1:]
        if not paths:
            break
        where = draw(st.sampled_from(paths))
        parent = root
        for p in where[:-1]:
            parent = parent[p]
        op = draw(st.sampled_from(["replace", "rename", "delete", "add"]))
        _mutate(draw, parent, where[-1], op)
    return method, path, _as_query(root["q"]) if "q" in root else query, root.get("b", body)


def _as_query(q):
    """Query strings carry text only: mutated values are sent as their JSON text."""
    if not isinstance(q, dict):
        return {"junk": json.dumps(q)}
    return {str(k): v if isinstance(v, str) else json.dumps(v) for k, v in q.items()}


def _mutate(draw, parent, key, op):
    if op == "replace" or isinstance(parent, list):
        parent[key] = draw(ODD)
    elif op == "rename":
        parent[draw(st.sampled_from(["titel", str(key) + "x", "title", "sheet_id", "fields"]))] = parent.pop(key)
    elif op == "delete":
        parent.pop(key)
    elif isinstance(parent[key], dict):
        parent[key][draw(st.sampled_from(["unknownField", "title", "fields", "sheetId"]))] = draw(ODD)


def _google_shaped(r) -> bool:
    """Sheets' envelope carries a status; Drive's an ``errors`` list instead."""
    err = r.json().get("error") if r.content else None
    if not isinstance(err, dict) or err.get("code") != r.status_code or not isinstance(err.get("message"), str):
        return False
    return isinstance(err.get("status"), str) or isinstance(err.get("errors"), list)


@pytest.fixture
def session(fake_sheets):
    s = requests.Session()
    fake_sheets.admin.service_account(BOT)
    s.headers["Authorization"] = "Bearer " + fake_sheets.admin.token(BOT, ttl=10**6)
    return s


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(req=mutated())
def test_mutated_requests_get_a_google_answer_and_leave_the_state_readable(fake_sheets, session, req):
    method, path, query, body = req
    sid = fake_sheets.admin.create_spreadsheet("fuzz", tabs={"Sheet1": [["a", "=1+1"], ["2", "b"]]}, owner=BOT)
    base = f"{fake_sheets.url}/v4/spreadsheets/{sid}"
    url = fake_sheets.url + path.format(sid=sid) if path.startswith("/drive") else base + path
    r = session.request(method, url, params=query, data=None if body is None else json.dumps(body))
    assert r.status_code < 300 or (400 <= r.status_code < 500 and _google_shaped(r)), (r.status_code, r.text[:500])
    after = session.get(base, params={"includeGridData": "true"})
    assert after.status_code == 200, after.text[:500]
    for sh in after.json()["sheets"]:
        title = sh["properties"]["title"]
        assert title and isinstance(title, str)
        quoted = urllib.parse.quote("'" + title.replace("'", "''") + "'", safe="")  # as gspread sends it
        got = session.get(f"{base}/values/{quoted}")
        assert got.status_code == 200, got.text[:500]
    fake_sheets.admin.state(sid)
