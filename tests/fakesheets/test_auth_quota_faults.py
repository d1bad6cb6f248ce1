"""OAuth, sharing, quotas, fault injection, hooks and counters, through gspread."""
import time

import gspread
import pytest
import requests
from google.auth.exceptions import RefreshError

from sheetcrm.google_http import EndpointHTTPClient, make_gspread_client

BOT = "sheetcrm-bot@sheetcrm-test.iam.gserviceaccount.com"


def test_wrong_token_is_401(fake_sheets):
    sid = fake_sheets.admin.create_spreadsheet("t", owner=BOT)
    session = requests.Session()
    session.headers["Authorization"] = "Bearer not-a-token"
    gc = gspread.Client(auth=None, session=session, http_client=EndpointHTTPClient.configured(fake_sheets.url))
    with pytest.raises(gspread.exceptions.APIError) as e:
        gc.open_by_key(sid)
    assert e.value.code == 401
    assert e.value.error["status"] == "UNAUTHENTICATED"
    assert e.value.error["message"].startswith("Request had invalid authentication credentials.")


def test_expired_token_is_401(fake_sheets):
    sid = fake_sheets.admin.create_spreadsheet("t", owner=BOT)
    r = requests.get(f"{fake_sheets.url}/v4/spreadsheets/{sid}", headers={"Authorization": "Bearer " + fake_sheets.admin.token(BOT, ttl=-1)})
    assert r.status_code == 401 and r.json()["error"]["status"] == "UNAUTHENTICATED"


def test_jwt_signed_with_another_key_is_refused(fake_sheets, fake_sheets_account):
    forged = dict(fake_sheets.admin.service_account("other@x.iam.gserviceaccount.com"))
    forged["client_email"] = fake_sheets_account["client_email"]  # right account, wrong key
    gc = make_gspread_client(forged, api_endpoint=fake_sheets.url)
    with pytest.raises(RefreshError, match="Invalid JWT Signature"):
        gc.list_spreadsheet_files()


def test_unshared_is_403_and_reader_cannot_write(fake_sheets, fake_gspread):
    sid = fake_sheets.admin.create_spreadsheet("private", tabs={"Sheet1": [["a"]]}, owner="someone@example.com")
    with pytest.raises(PermissionError) as pe:  # gspread's mapping of a 403 on open
        fake_gspread.open_by_key(sid)
    e = pe.value.__cause__
    assert isinstance(e, gspread.exceptions.APIError) and e.code == 403
    assert e.error == {"code": 403, "message": "The caller does not have permission", "status": "PERMISSION_DENIED"}
    fake_sheets.admin.share(sid, BOT, role="reader")
    ws = fake_gspread.open_by_key(sid).sheet1
    assert ws.get_all_values() == [["a"]]
    with pytest.raises(gspread.exceptions.APIError) as e2:
        ws.update([["b"]], "A1")
    assert e2.value.code == 403
    fake_sheets.admin.share(sid, BOT, role="writer")
    ws.update([["b"]], "A1")
    assert fake_sheets.admin.values(sid, "A1") == [["b"]]


def test_missing_spreadsheet_is_404(fake_gspread):
    with pytest.raises(gspread.exceptions.SpreadsheetNotFound):
        fake_gspread.open_by_key("1doesnotexist")


def test_write_quota_429_with_googles_body(fake_sheets, fake_gspread):
    sid = fake_sheets.admin.create_spreadsheet("t", owner=BOT)
    ws = fake_gspread.open_by_key(sid).sheet1
    fake_sheets.admin.set_quota(read_per_minute=None, write_per_minute=2)
    ws.update([["1"]], "A1")
    ws.update([["2"]], "A1")
    with pytest.raises(gspread.exceptions.APIError) as e:
        ws.update([["3"]], "A1")
    err = e.value.error
    assert e.value.code == 429 and err["status"] == "RESOURCE_EXHAUSTED"
    assert err["message"].startswith("Quota exceeded for quota metric 'Write requests' and limit 'Write requests per minute per user'")
    assert err["details"][0]["reason"] == "RATE_LIMIT_EXCEEDED"
    assert ws.get_all_values() == [["2"]]  # reads have their own quota


def test_read_quota(fake_sheets, fake_gspread):
    sid = fake_sheets.admin.create_spreadsheet("t", owner=BOT)
    fake_sheets.admin.set_quota(read_per_minute=1)
    fake_gspread.open_by_key(sid)  # one spreadsheets.get
    with pytest.raises(gspread.exceptions.APIError) as e:
        fake_gspread.open_by_key(sid)
    assert e.value.code == 429 and "'Read requests'" in e.value.error["message"]


def test_fault_injection_status_latency_drop(fake_sheets, fake_gspread):
    sid = fake_sheets.admin.create_spreadsheet("t", tabs={"Sheet1": [["x"]]}, owner=BOT)
    ws = fake_gspread.open_by_key(sid).sheet1
    fake_sheets.admin.inject_fault(match=r"values\.get", status=503, count=2, retry_after=3)
    for _ in range(2):
        with pytest.raises(gspread.exceptions.APIError) as e:
            ws.get_all_values()
        assert e.value.code == 503 and e.value.error["status"] == "UNAVAILABLE"
        assert e.value.response.headers["Retry-After"] == "3"
    assert ws.get_all_values() == [["x"]]
    fake_sheets.admin.inject_fault(match="values.update", status=500)
    with pytest.raises(gspread.exceptions.APIError) as e:
        ws.update([["y"]], "A1")
    assert e.value.error == {"code": 500, "message": "Internal error encountered.", "status": "INTERNAL"}
    assert fake_sheets.admin.values(sid, "A1") == [["x"]]  # a faulted write is not applied
    fake_sheets.admin.inject_fault(latency=0.3)
    t = time.perf_counter()
    ws.get_all_values()
    assert time.perf_counter() - t >= 0.3
    fake_sheets.admin.inject_fault(match="values.get", drop=True)
    with pytest.raises(requests.exceptions.ConnectionError):
        ws.get_all_values()
    assert ws.get_all_values() == [["x"]]


def test_edit_as_person_after_nth_request(fake_sheets, fake_gspread):
    sid = fake_sheets.admin.create_spreadsheet("t", tabs={"Sheet1": [["id", "status"], ["KH-1", "Mới"]]}, owner=BOT)
    ws = fake_gspread.open_by_key(sid).sheet1
    fake_sheets.admin.after_requests(1, lambda admin: admin.edit_as_person(sid, "A2:B2", [["KH-9", "Đã chốt"]]))
    first = ws.get_all_values()  # the read; the person types right after it
    assert first[1] == ["KH-1", "Mới"]
    assert ws.get_all_values()[1] == ["KH-9", "Đã chốt"]


def test_counters(fake_sheets, fake_gspread):
    sid = fake_sheets.admin.create_spreadsheet("t", owner=BOT)
    fake_sheets.admin.reset_counters()
    ws = fake_gspread.open_by_key(sid).sheet1
    ws.update([["a", "b"], ["c", "d"]], "A1")
    ws.format("A1", {"textFormat": {"bold": True}})
    c = fake_sheets.admin.counters()
    assert c["requests"]["spreadsheets.get"] == 2  # open_by_key, then .sheet1
    assert c["requests"]["spreadsheets.values.update"] == 1
    assert c["batch_requests"] == {"repeatCell": 1}
    assert c["cells_written"] == 4
    assert c["bytes_received"] > 0 and c["requests_total"] == 4


def test_http_admin_api(fake_sheets):
    u = fake_sheets.url + "/_admin"
    info = requests.post(u + "/service_accounts", json={"email": "http@p.iam.gserviceaccount.com"}).json()
    assert info["token_uri"] == fake_sheets.url + "/token" and "BEGIN PRIVATE KEY" in info["private_key"]
    sid = requests.post(u + "/spreadsheets", json={"title": "h", "tabs": {"Leads": [["n"], ["An"]]}, "owner": info["client_email"]}).json()["spreadsheetId"]
    assert requests.post(u + f"/spreadsheets/{sid}/edit", json={"range": "Leads!A3", "values": [["Bình"]]}).ok
    state = requests.get(u + f"/spreadsheets/{sid}").json()
    assert state["sheets"][0]["values"] == [["n"], ["An"], ["Bình"]]
    gc = make_gspread_client(info, api_endpoint=fake_sheets.url)
    assert gc.open_by_key(sid).sheet1.col_values(1) == ["n", "An", "Bình"]
    assert requests.get(u + "/counters").json()["requests"]["spreadsheets.get"] == 2
    requests.post(u + "/faults", json={"match": "spreadsheets.get", "status": 429})
    with pytest.raises(gspread.exceptions.APIError) as e:
        gc.open_by_key(sid)
    assert e.value.code == 429
    assert requests.post(u + "/reset").ok
    assert requests.get(u + f"/spreadsheets/{sid}").status_code == 404
