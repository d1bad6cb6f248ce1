import datetime as dt

from sheetcrm.changes import AppendRows, CellUpdate, ChangeSet

from .fake import backend

LEADS = [
    ["Mã KH", "Tên khách hàng", "Số điện thoại", "Trạng thái", "Ngày tạo"],
    ["KH-000001", "An", "'0912345678", "Mới", "2026-11-01"],
    ["KH-000002", "Bình", "'0987654321", "Nóng", "2026-11-02"],
]


def make(fake, account, tabs=None):
    info, keyfile = account
    sid = fake.admin.create_spreadsheet("CRM", tabs=tabs or {"Khách hàng": LEADS}, owner=info["client_email"])
    return sid, backend(fake, sid, keyfile)


def test_read_keeps_text_and_serial_dates(fake, account):
    sid, b = make(fake, account)
    sheets = b.read()
    grid = sheets["Khách hàng"].values
    assert grid[1][2] == "0912345678"  # leading 0 kept, text stays text
    assert grid[1][4] == (dt.date(2026, 11, 1) - dt.date(1899, 12, 30)).days
    assert b.api_calls == 2


def test_sync_shaped_apply_costs_four_calls(fake, account):
    sid, b = make(fake, account, {"Khách hàng": LEADS, "Nhật ký": [["run", "note"], ["r0", "x"]]})
    fake.admin.reset_counters()
    with b.lock():
        b.read()
        res = b.apply(ChangeSet(
            updates=[CellUpdate("Khách hàng", 3, 4, "Chốt", old="Nóng", lead_id="KH-000002")],
            appends=[AppendRows("Nhật ký", (("r1", "=IMPORTXML(\"http://x\",\"//a\")"),), key_col=0)],
        ))
    assert res.skipped == []
    # lock + metadata, read, re-read, one :batchUpdate writing and releasing the lock
    calls = {k: v for k, v in fake.admin.counters()["requests"].items() if k != "oauth2.token"}
    assert calls == {"spreadsheets.batchUpdate": 2, "spreadsheets.values.batchGet": 2}
    assert b.api_calls == 4
    assert fake.admin.values(sid, "'Khách hàng'!D3") == [["Chốt"]]
    assert fake.admin.values(sid, "'Nhật ký'!A1:B3", "FORMULA") == [["run", "note"], ["r0", "x"], ["r1", '=IMPORTXML("http://x","//a")']]
    # lock released
    assert "sheetcrm_lock" not in {n["name"] for n in fake.admin.state(sid).get("namedRanges", [])}
