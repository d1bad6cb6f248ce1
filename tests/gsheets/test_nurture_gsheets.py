"""`sheetcrm nurture` on a Google spreadsheet, through gspread against the fake Sheets
server, with a real SMTP server on loopback (docs/nurture-automation.md)."""

from __future__ import annotations

import datetime as dt

from nurture_helpers import NOW, PEOPLE, SENDABLE_FIRST, T0, TEAM, UNSUB_CSV, leads_grid, write_config
from smtp_helpers import SmtpServer

from sheetcrm import api
from sheetcrm.backends.gsheets_plan import to_api
from sheetcrm.delivery import SmtpSettings

from .fake import requests_by_endpoint

NURTURE = "Nuôi dưỡng"
EPOCH = dt.date(1899, 12, 30)


def _tab(fake, sid, title, render="FORMATTED_VALUE"):
    return fake.admin.values(sid, f"'{title}'!A1:Z2000", render)


def _rows(fake, sid, title, render="FORMATTED_VALUE"):
    grid = _tab(fake, sid, title, render)
    return [dict(zip(grid[0], r + [""] * (len(grid[0]) - len(r)))) for r in grid[1:]]


def _day(serial):
    return EPOCH + dt.timedelta(days=int(serial))


def test_nurture_on_google_sends_the_due_touches_once_and_an_unsubscribe_stops_the_next(fake, account, tmp_path):
    info, keyfile = account
    tabs = {"Khách hàng": [[to_api(v) for v in r] for r in leads_grid()], "Nhân viên": TEAM}
    sid = fake.admin.create_spreadsheet("CRM", tabs=tabs, owner=info["client_email"])
    target = dict(sheet=sid, credentials=keyfile, api_endpoint=fake.url)
    cfg = write_config(tmp_path / "sheetcrm.toml")
    api.sync(today=T0, **target)
    rows = {r["Mã KH"]: r for r in _rows(fake, sid, NURTURE, "UNFORMATTED_VALUE")}
    assert set(rows) == set(PEOPLE)
    t1 = _day(rows["KH-000001"]["Lần chăm sóc tới"])

    with SmtpServer() as server:
        smtp = SmtpSettings(host="127.0.0.1", port=server.port, security="none", attempts=1, wait_max=0.01)

        def run(day):
            return api.nurture(config=cfg, today=day, now=dt.datetime.combine(day, NOW.time()), smtp=smtp, **target)

        before = dict(requests_by_endpoint(fake))
        first = run(t1)
        calls = {k: v - before.get(k, 0) for k, v in requests_by_endpoint(fake).items() if v - before.get(k, 0)}
        # The lock, the content tab, one write per message (its intent, with the answer before
        # it), the last answer, the touches recorded, the lock released.
        assert calls["spreadsheets.batchUpdate"] == 3 + 5
        assert calls["spreadsheets.values.batchGet"] <= 3 + 2 and calls["spreadsheets.get"] <= 3 + 2
        assert {m["X-Sheetcrm-Lead"] for m in server.handler.messages} == SENDABLE_FIRST
        assert first.sent == 3 and first.recorded == 3
        assert run(t1).sent == 0 and len(server.handler.messages) == 3  # the same day: nothing

        rows = {r["Mã KH"]: r for r in _rows(fake, sid, NURTURE, "UNFORMATTED_VALUE")}
        for lid in SENDABLE_FIRST:
            assert str(rows[lid]["Số lần đã chăm sóc"]) == "1"
            assert _day(rows[lid]["Ngày chăm sóc gần nhất"]) == t1
            assert rows[lid]["Nội dung đã gửi"] == "ND-001"
        t2 = _day(rows["KH-000001"]["Lần chăm sóc tới"])
        assert t2 == dt.date(2026, 5, 13)

        csv = tmp_path / "huy.csv"
        csv.write_text(UNSUB_CSV, encoding="utf-8")
        assert api.import_leads([csv], today=dt.date(2026, 4, 20), **target).plan.counts == {"unsubscribed": 1}
        run(t2)
        later = {m["X-Sheetcrm-Lead"]: m["X-Sheetcrm-Content"] for m in server.handler.messages[3:]}
        assert later == {"KH-000001": "ND-002", "KH-000007": "ND-002"}  # not Phương

    log = _rows(fake, sid, "Thông báo")
    assert len(log) == 10 and sum(r["Trạng thái"] == "đã gửi" for r in log) == 5
    content = _tab(fake, sid, "Nội dung nuôi dưỡng")
    assert content[0][:2] == ["Mã nội dung", "Tiêu đề"] and len(content) > 5
    # Text from the content tab is written raw: a title like a formula stays text.
    assert any("{{ lead.product" in c for r in content for c in r)


def test_in_english_on_google_the_digest_marks_the_automatic_touches_and_the_emails_are_english(
        fake, account, tmp_path):
    import email
    import email.policy

    info, keyfile = account
    team = [row[:] for row in TEAM]
    team[2][1] = "minh@team.vn"
    tabs = {"Khách hàng": [[to_api(v) for v in r] for r in leads_grid()], "Nhân viên": team}
    sid = fake.admin.create_spreadsheet("CRM", tabs=tabs, owner=info["client_email"])
    target = dict(sheet=sid, credentials=keyfile, api_endpoint=fake.url)
    cfg = write_config(tmp_path / "sheetcrm.toml")
    cfg.write_text('language = "en"\n' + cfg.read_text(encoding="utf-8") + '[notify]\nsender = "crm@team.vn"\n',
                   encoding="utf-8")
    api.sync(today=T0, **target)
    t1 = dt.date(2026, 4, 13)
    api.notify(config=cfg, today=t1, outbox=tmp_path / "digests", **target)
    text = "".join(email.message_from_bytes(p.read_bytes(), policy=email.policy.default)
                   .get_body(("plain",)).get_content() for p in sorted((tmp_path / "digests").rglob("*.eml")))
    nurture = text.count("sent automatically"), text.count("call or message by hand")
    assert nurture == (3, 2), text  # An, Phương, Giang emailed by the nurture run; Cường and Dũng for the rep
    # The next touch read from Google's date serials: Bình (quarterly) is not due yet.
    assert "13/04/2026  KH-000001" in text and "01/01/1970" not in text and "KH-000002" not in text

    with SmtpServer() as server:
        smtp = SmtpSettings(host="127.0.0.1", port=server.port, security="none", attempts=1, wait_max=0.01)
        res = api.nurture(config=cfg, today=t1, now=dt.datetime.combine(t1, NOW.time()), smtp=smtp, **target)
        assert res.sent == 3
        assert {m["Subject"] for m in server.handler.messages} == {"[ADV] Industry trends this month"}
        body = server.handler.messages[0].get_body(("plain",)).get_content()
        assert body.startswith("Dear ") and "To stop receiving these emails" in body
    items = _rows(fake, sid, "Nurture content")
    assert items[0]["Tiêu đề"] == "Industry trends this month" and items[0]["Đang dùng"] == "yes"
