"""Scoring, the forecast and the activity tab on Google Sheets, through gspread against the fake server."""

from __future__ import annotations

import datetime as dt

from bench.scoring_data import as_grids, make_crm
from sheetcrm import api
from sheetcrm.backends.gsheets_plan import to_api
from sheetcrm.config import load_config
from sheetcrm.google_http import make_gspread_client
from sheetcrm.schema import load_schemas
from sheetcrm.sync.forecast import previous_forecasts
from sheetcrm.sync.summary import labels

T = dt.date(2026, 3, 12)
L = labels("vi")
OPEN = {"Mới", "Đã tìm hiểu", "Tiềm năng", "Nóng"}


def seed(fake, info, tabs: dict[str, list[list]]) -> str:
    sid = fake.admin.create_spreadsheet("CRM", tabs={t: [g[0]] for t, g in tabs.items()}, owner="boss@example.com")
    fake.admin.share(sid, info["client_email"], "writer")
    book = make_gspread_client(info, api_endpoint=fake.url).open_by_key(sid)
    for title, g in tabs.items():
        ws = book.worksheet(title)
        ws.resize(rows=len(g) + 10, cols=max(26, len(g[0])))
        ws.update([[to_api(v) for v in r] for r in g], "A1", raw=True)
    return sid


def grid(fake, sid, tab):
    return fake.admin.values(sid, f"'{tab}'", "UNFORMATTED_VALUE")


def test_scores_forecast_and_activity_on_google(fake, account):
    info, keyfile = account
    leads, h, _ = make_crm(300, seed=4, today=T)
    sid = seed(fake, info, as_grids(leads, h, load_schemas()))
    cfg = load_config(None, sheet=sid, credentials=keyfile, api_endpoint=fake.url)
    api.sync(config=cfg, today=T)
    titles = {sh["properties"]["title"] for sh in fake.admin.state(sid)["sheets"]}
    assert {"Dự báo", "Hoạt động"} <= titles

    rows = grid(fake, sid, "Khách hàng")
    head = rows[0]
    assert head[-3:] == ["Điểm", "Hạng", "Lý do điểm"]
    sc, gr, why = (head.index(h_) for h_ in ("Điểm", "Hạng", "Lý do điểm"))
    assert all(isinstance(r[sc], (int, float)) and 0 <= r[sc] <= 100 for r in rows[1:])
    assert {r[gr] for r in rows[1:]} <= {"A", "B", "C", "D"}
    assert all(isinstance(r[why], str) for r in rows[1:])

    fc = grid(fake, sid, "Dự báo")
    st, val = head.index("Trạng thái"), head.index("Giá trị dự kiến")
    open_value = sum(r[val] or 0 for r in rows[1:] if r[st] in OPEN)
    start = next(i for i, r in enumerate(fc) if r and r[0] == L["fc_owner_month_title"])
    total = next(fc[i] for i in range(start, len(fc)) if fc[i] and fc[i][0] == L["total"])
    assert total[3] == open_value and total[2] == sum(1 for r in rows[1:] if r[st] in OPEN)
    # the month labels stay text on Google, so next month's sync reads this month's forecast back
    recorded = previous_forecasts(fc, (L["fc_history_title"],))
    assert list(recorded) == ["03/2026"]
    assert any(r and r[0] == L["act_team_title"] for r in grid(fake, sid, "Hoạt động"))

    # a month later the March forecast is the one recorded in March
    april = dt.date(2026, 4, 14)
    api.sync(config=cfg, today=april)
    again = previous_forecasts(grid(fake, sid, "Dự báo"), (L["fc_history_title"],))
    assert again["03/2026"] == recorded["03/2026"] and "04/2026" in again


def test_open_on_moves_the_overview_first_once(fake, account):
    """Google opens a spreadsheet on its first tab: `open_on = "overview"` puts the overview
    there with the sync's write, and a later run asks nothing more of the API for it."""
    from dataclasses import replace

    info, keyfile = account
    leads, h, _ = make_crm(80, seed=4, today=T)
    sid = seed(fake, info, as_grids(leads, h, load_schemas()))
    cfg = replace(load_config(None, sheet=sid, credentials=keyfile, api_endpoint=fake.url), open_on="overview")

    def order():
        return [sh["properties"]["title"] for sh in fake.admin.state(sid)["sheets"]]

    api.sync(config=cfg, today=T)
    assert order()[0] == "Tổng quan" and "Khách hàng" in order()
    before = order()
    api.sync(config=cfg, today=T)
    assert order() == before  # already first: not moved again
    plain = load_config(None, sheet=sid, credentials=keyfile, api_endpoint=fake.url)
    api.sync(config=plain, today=T + dt.timedelta(days=1))
    assert order() == before  # the default leaves the tabs where they are
