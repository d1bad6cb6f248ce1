"""`sheetcrm forget` and `export-person` on a Google spreadsheet, through gspread against
the fake server (docs/privacy.md)."""

from __future__ import annotations

import json

import pytest
from privacy_helpers import DAY1, DAY2, MAI_EMAIL, MAI_NAMES, MAI_PHONE, forms_csv, leads_grid, mai_cells

from sheetcrm import api
from sheetcrm.backends.gsheets_plan import to_api

LEADS, LOG, PRIVACY, OVERVIEW = "Khách hàng", "Nhập liệu", "Quyền riêng tư", "Tổng quan"
MAI_IDS = ["KH-000001", "KH-000003", "KH-000005"]


def all_tabs(fake, sid) -> dict[str, list[list]]:
    titles = [s["properties"]["title"] for s in fake.admin.state(sid)["sheets"]]
    return {t: fake.admin.values(sid, f"'{t}'!A1:Z2000") for t in titles}


@pytest.fixture
def worked(fake, account, tmp_path):
    info, keyfile = account
    sid = fake.admin.create_spreadsheet("CRM", tabs={LEADS: [[to_api(v) for v in r] for r in leads_grid()]},
                                        owner=info["client_email"])
    target = dict(sheet=sid, credentials=keyfile, api_endpoint=fake.url)
    api.sync(today=DAY1, **target)
    (tmp_path / "forms.csv").write_text(forms_csv(), encoding="utf-8")
    assert api.import_leads([tmp_path / "forms.csv"], today=DAY2, **target).plan.counts == {"returning": 1}
    api.sync(today=DAY2, **target)
    return sid, target


def test_forget_erases_every_copy_keeps_the_overview_and_refuses_a_later_import(fake, worked, tmp_path):
    sid, target = worked
    before = all_tabs(fake, sid)
    where = {c.split("!")[0] for c in mai_cells(before)}
    assert {LEADS, "Từ chối", "Nuôi dưỡng", "Lịch liên hệ lại"} <= where
    res = api.forget(phone="+84 339 123 456", **target)
    assert res.plan.lead_ids == MAI_IDS
    after = all_tabs(fake, sid)
    assert mai_cells(after) == []
    assert [r for r in after[OVERVIEW] if r[:1] != ["Cập nhật lúc"]] == \
        [r for r in before[OVERVIEW] if r[:1] != ["Cập nhật lúc"]]
    assert len(after[PRIVACY]) == 2
    # written as text, never as a formula or a number
    cells = fake.admin.state(sid)
    leads = next(s for s in cells["sheets"] if s["properties"]["title"] == LEADS)["cells"]
    assert leads["B2"]["value"] == "[đã xoá]"
    f = tmp_path / "again.csv"
    f.write_text(forms_csv(email="khac@example.com", phone="0339123456", name="M."), encoding="utf-8")
    assert api.import_leads([f], today=DAY2, **target).plan.counts == {"erased": 1}
    log = fake.admin.values(sid, f"'{LOG}'!A1:Z50")
    assert log[-1][log[0].index("Kết quả")] == "đã yêu cầu xoá"
    # the cron sync afterwards keeps the tombstones and flags nothing on them
    erased = all_tabs(fake, sid)
    res = api.sync(today=DAY2, **target)
    assert [u for u in res.changes.updates if u.tab == LEADS] == []
    assert all_tabs(fake, sid)[LEADS] == erased[LEADS]


def test_export_person_returns_exactly_that_persons_records(fake, worked, tmp_path):
    sid, target = worked
    res = api.export_person(tmp_path / "out", email=MAI_EMAIL, **target)
    t = all_tabs(fake, sid)
    want = {(title, i) for title, grid in t.items() if title not in (OVERVIEW, "Nhật ký đồng bộ", "Nhân viên")
            for i, row in enumerate(grid[1:], start=2) if any(str(v).strip() in MAI_IDS for v in row)}
    assert {(r["tab"], r["row"]) for r in res.records} == want
    text = (tmp_path / "out" / "person.json").read_text(encoding="utf-8")
    assert all(n in text for n in MAI_NAMES) and "Trần Văn Hoà" not in text
    # the request is on record in the privacy log, by its salted hash
    log = [dict(zip(t[PRIVACY][0], r)) for r in t[PRIVACY][1:]]
    assert [(r["Yêu cầu"], r["Loại định danh"], r["Mã băm định danh"], r["Các mã KH"]) for r in log] == \
        [("xuất dữ liệu", "email", res.request_hash, ", ".join(MAI_IDS))]
    cells = " ".join(str(v) for g in (t[PRIVACY], t["Danh sách chặn"]) for r in g for v in r)
    assert not any(s in cells for s in (*MAI_NAMES, "339123456", "mai.nguyen"))


def test_an_erase_cut_off_mid_write_run_again_finishes_with_one_privacy_log_row(fake, worked, monkeypatch):
    """The write of the cells never arrives (the intent did): the rerun finds the leads
    through the privacy log and finishes; the log keeps one row."""
    import gspread.http_client

    import sheetcrm.backends.gsheets as g

    sid, target = worked
    real = gspread.http_client.HTTPClient.batch_update

    def cut(self, spreadsheet_id, body):
        if "[đã xoá]" in json.dumps(body, ensure_ascii=False):
            raise g.BackendError("connection lost")
        return real(self, spreadsheet_id, body)

    monkeypatch.setattr(gspread.http_client.HTTPClient, "batch_update", cut)
    with pytest.raises(g.BackendError):
        api.forget(phone=MAI_PHONE, **target)
    monkeypatch.setattr(gspread.http_client.HTTPClient, "batch_update", real)
    assert mai_cells(all_tabs(fake, sid)) and len(all_tabs(fake, sid)[PRIVACY]) == 2
    again = api.forget(phone=MAI_PHONE, **target)
    assert again.plan.logged
    t = all_tabs(fake, sid)
    assert mai_cells(t) == [] and len(t[PRIVACY]) == 2


def test_cli_forget_on_a_spreadsheet(fake, worked):
    from .e2e import cli

    sid, target = worked
    r = cli("forget", "--email", MAI_EMAIL, "--sheet", sid, "--credentials", target["credentials"],
            "--api-endpoint", fake.url, "--log-format", "json", "-vv")
    assert r.returncode == 0, r.stderr
    assert "Erased" in r.stdout and "forget finished" in r.stderr
    for secret in (*MAI_NAMES, "339123456", "mai.nguyen"):
        assert secret not in r.stdout + r.stderr
    assert mai_cells(all_tabs(fake, sid)) == []


def _sheet(fake, account, grid):
    info, keyfile = account
    sid = fake.admin.create_spreadsheet("CRM", tabs={LEADS: [[to_api(v) for v in r] for r in grid]},
                                        owner=info["client_email"])
    return sid, dict(sheet=sid, credentials=keyfile, api_endpoint=fake.url)


def test_retention_erases_closed_leads_inactive_past_it_on_a_spreadsheet(fake, account):
    import datetime as dt

    grid = leads_grid()
    grid[4][7], grid[4][8], grid[4][9] = dt.date(2024, 1, 2), "đắt quá", dt.date(2024, 2, 1)  # rejected long ago
    sid, target = _sheet(fake, account, grid)
    api.sync(today=DAY1, **target)
    t = all_tabs(fake, sid)
    assert PRIVACY not in t and any("Lê Văn Nam" in r for r in t[LEADS])
    assert any("Lê Văn Nam" in r for r in t["Từ chối"])
    res = api.sync(today=DAY2, retention_days=365, **target)
    assert res.report.rows_read == 6
    t = all_tabs(fake, sid)
    head = t[LEADS][0]
    nam = next(dict(zip(head, r)) for r in t[LEADS][1:] if r[0] == "KH-000004")
    assert nam["Tên khách hàng"] == "[đã xoá]" and nam["Số điện thoại"] == "[đã xoá]"
    assert nam["Email"] == "[đã xoá]" and nam["Trạng thái"] == "Từ chối" and nam["Lý do"] == "Giá quá cao"
    assert not [(title, v) for title, g in t.items() for r in g for v in r
                if "Lê Văn Nam" in str(v) or "nam@example.com" in str(v) or "901234567" in str(v)]
    assert any("Trần Văn Hoà" in r for r in t[LEADS])  # active: kept
    log = [dict(zip(t[PRIVACY][0], r)) for r in t[PRIVACY][1:]]
    assert len(log) == 1 and log[0]["Loại định danh"] == "retention" and log[0]["Các mã KH"] == "KH-000004"
    # the tombstones are written as text
    leads = next(s for s in fake.admin.state(sid)["sheets"] if s["properties"]["title"] == LEADS)["cells"]
    assert leads["B5"]["value"] == "[đã xoá]"
    again = api.sync(today=DAY2, retention_days=365, **target)
    assert [u for u in again.changes.updates if u.tab == LEADS] == []
    t2 = all_tabs(fake, sid)
    assert len(t2[PRIVACY]) == 2 and "Danh sách chặn" not in t2 and t2[LEADS] == t[LEADS]


def test_do_not_contact_is_left_out_of_the_agenda_and_refused_by_imports_on_a_spreadsheet(fake, account, tmp_path):
    grid = leads_grid()
    grid[0].append("Không liên hệ")
    for r in grid[1:]:
        r.append("")
    grid[2][-1] = "có"  # Trần Văn Hoà, due for a call on 02/12
    grid[6][11] = grid[2][11]  # Phạm Thu Hà, due the same day, not marked
    sid, target = _sheet(fake, account, grid)
    api.sync(today=DAY1, **target)
    t = all_tabs(fake, sid)
    assert not any("KH-000002" in r for r in t["Lịch liên hệ lại"])
    assert any("KH-000006" in r for r in t["Lịch liên hệ lại"])
    f = tmp_path / "f.csv"
    f.write_text(forms_csv(email="other@example.com", phone="0987 654 321", name="Hoà"), encoding="utf-8")
    res = api.import_leads([f], today=DAY2, **target)
    assert res.plan.counts == {"do_not_contact": 1}
    log = fake.admin.values(sid, f"'{LOG}'!A1:Z50")
    assert log[-1][log[0].index("Kết quả")] == "không liên hệ"
    assert (log[-1] + [""] * len(log[0]))[log[0].index("Mã KH")] == ""  # no lead id
    leads = fake.admin.values(sid, f"'{LEADS}'!A1:Z50")
    assert len(leads) == 7 and leads[2][leads[0].index("Trạng thái")] == "Nóng"  # not reactivated
