"""`sheetcrm notify` on a Google spreadsheet, through gspread against the fake server and a
real SMTP server on loopback: the `Thông báo` tab is written, links open the lead's row,
a rerun sends nothing, a cut-off batch is finished once (docs/notify.md)."""

from __future__ import annotations

import pytest
from helpers_xlsx import TODAY
from notify_helpers import EXPECTED, PLAN, tabs
from smtp_helpers import SmtpServer

from sheetcrm import api
from sheetcrm.backends.gsheets_plan import to_api
from sheetcrm.delivery import state_key

from .fake import requests_by_endpoint

LOG = "Thông báo"


@pytest.fixture
def smtp():
    with SmtpServer() as srv:
        yield srv


@pytest.fixture
def target(fake, account, tmp_path, smtp):
    info, keyfile = account
    sid = fake.admin.create_spreadsheet("CRM", tabs={t: [[to_api(v) for v in r] for r in g] for t, g in tabs().items()},
                                        owner=info["client_email"])
    cfg = tmp_path / "sheetcrm.toml"
    cfg.write_text(f'[notify]\nsender = "crm@team.vn"\n[smtp]\nhost = "127.0.0.1"\nport = {smtp.port}\n'
                   'security = "none"\nattempts = 2\nwait_max = 0.01\n', encoding="utf-8")
    return sid, dict(sheet=sid, credentials=keyfile, api_endpoint=fake.url, config=cfg)


def log(fake, sid) -> list[list]:
    return fake.admin.values(sid, f"'{LOG}'!A1:L200")


def test_notify_writes_the_log_links_rows_and_a_rerun_sends_nothing(fake, target, smtp):
    sid, t = target
    before = dict(requests_by_endpoint(fake))
    res = api.notify(today=TODAY, **t)
    calls = {k: v - before.get(k, 0) for k, v in requests_by_endpoint(fake).items() if v - before.get(k, 0)}
    # one write per message (its intent, with the previous answer) and one for the last answer,
    # between the lock's taking and its release; each later write re-reads the metadata and
    # the log's tail, never the leads
    assert calls["spreadsheets.batchUpdate"] == 3 + 1 + 2
    assert calls["spreadsheets.values.batchGet"] <= 1 + 4 and calls["spreadsheets.get"] <= 3
    assert [o.state for o in res.outcomes] == ["sent"] * 3
    rows = log(fake, sid)
    assert rows[0][:3] == ["Mã sự kiện", "Thời gian", "Ngày làm việc"]
    assert [state_key(r[10]) for r in rows[1:]] == ["sending", "sent"] * 3
    state = fake.admin.state(sid)
    gid = next(s["properties"]["sheetId"] for s in state["sheets"] if s["properties"]["title"] == "Khách hàng")
    lan = smtp.handler.to("lan@team.vn")[0]
    text = lan.get_body(("plain",)).get_content()
    row_of = {lid: i for i, lid in enumerate(PLAN, start=2)}
    for lid in EXPECTED["Lan"]:
        assert f"https://docs.google.com/spreadsheets/d/{sid}/edit#gid={gid}&range=A{row_of[lid]}" in text
    assert not [n for n in state.get("namedRanges", []) if n.get("name") == "sheetcrm_lock"]  # released
    again = api.notify(today=TODAY, **t)
    assert [o.state for o in again.outcomes] == ["already_sent"] * 3
    assert len(smtp.handler.messages) == 3 and len(log(fake, sid)) == 7


def test_a_batch_cut_off_on_google_is_finished_once(fake, target, smtp):
    sid, t = target
    smtp.handler.drop_after = 2
    res = api.notify(today=TODAY, **t)
    assert [o.state for o in res.outcomes] == ["sent", "sent", "failed"]
    smtp.handler.drop_after = None
    res = api.notify(today=TODAY, **t)
    assert [o.state for o in res.outcomes] == ["already_sent", "already_sent", "sent"]
    assert sorted(str(m["To"]) for m in smtp.handler.messages) == [
        "Lan <lan@team.vn>", "Minh <minh@team.vn>", "Thảo <thao@team.vn>"]
    states = [state_key(r[10]) for r in log(fake, sid)[1:]]
    assert states == ["sending", "sent", "sending", "sent", "sending", "failed", "sending", "sent"]
