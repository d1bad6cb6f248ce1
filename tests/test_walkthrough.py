"""One lead walked through the whole chain over several synced days, through the real sync
on an .xlsx workbook: every tab is read back and checked after each day."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from openpyxl import Workbook, load_workbook

from sheetcrm import api

LEADS = "Khách hàng"
HEADERS = ["Mã KH", "Tên khách hàng", "Công ty", "Email", "Số điện thoại", "Người phụ trách",
           "Sản phẩm quan tâm", "Nguồn", "Trạng thái", "Ngày tạo", "Ngày liên hệ cuối", "Lý do", "Ghi chú",
           "Ngày liên hệ lại"]


def tab(path: Path, title: str) -> list[dict]:
    wb = load_workbook(path)
    if title not in wb.sheetnames:
        return []
    rows = [[c.value for c in r] for r in wb[title].iter_rows()]
    head = rows[0]
    return [dict(zip(head, r)) for r in rows[1:] if any(v not in (None, "") for v in r)]


def edit(path: Path, **cells) -> None:
    """A person edits the lead's row (row 2) by header."""
    wb = load_workbook(path)
    ws = wb[LEADS]
    head = [c.value for c in ws[1]]
    for header, value in cells.items():
        ws.cell(row=2, column=head.index(header) + 1, value=value)
    wb.save(path)


def edit_tab(path: Path, title: str, row: int, **cells) -> None:
    wb = load_workbook(path)
    ws = wb[title]
    head = [c.value for c in ws[1]]
    for header, value in cells.items():
        ws.cell(row=row, column=head.index(header) + 1, value=value)
    wb.save(path)


def day(path: Path, today: str):
    api.sync(workbook=path, today=today)
    lead = tab(path, LEADS)[0]
    return lead, tab(path, "Lịch sử"), tab(path, "Từ chối"), tab(path, "Nuôi dưỡng")


def as_date(v):
    return v.date() if isinstance(v, dt.datetime) else v


def changes(history):
    return [(h["Từ trạng thái"], h["Sang trạng thái"], as_date(h["Ngày ghi nhận"]), h["Bởi"]) for h in history]


def test_one_lead_through_the_whole_chain(tmp_path):
    path = tmp_path / "crm.xlsx"
    wb = Workbook()
    ws = wb.active
    ws.title = LEADS
    ws.append(HEADERS)
    ws.append([None, "Nguyễn Văn An", "Cty TNHH Hoa Sen", "an@hoasen.vn", "0912345678", "Bình", "CRM",
               "Web", "Mới", dt.date(2026, 1, 5), None, None, None, None])
    wb.save(path)

    # Day 1: first sight.
    lead, hist, rej, nur = day(path, "2026-01-05")
    lid = lead["Mã KH"]
    assert lid and lead["Trạng thái"] == "Mới"
    assert changes(hist) == [(None, "Mới", dt.date(2026, 1, 5), "person")]
    assert rej == [] and nur == []

    # Day 2: forward through the chain.
    edit(path, **{"Trạng thái": "Nóng"})
    lead, hist, rej, nur = day(path, "2026-01-12")
    assert changes(hist)[-1] == ("Mới", "Nóng", dt.date(2026, 1, 12), "person")
    assert not lead.get("Lỗi dữ liệu")

    # Day 3: "Chưa chốt" without a reason → an issue, nothing logged yet.
    edit(path, **{"Trạng thái": "chua chot"})
    lead, hist, rej, nur = day(path, "2026-01-20")
    assert "Thiếu lý do" in (lead.get("Lỗi dữ liệu") or "")
    assert rej == []

    # Day 4: the reason arrives → one log row, moved to nurture by sync, nurture row opened.
    edit(path, **{"Lý do": "chưa cần, 3-6 tháng nữa", "Ngày liên hệ cuối": dt.date(2026, 1, 21)})
    lead, hist, rej, nur = day(path, "2026-01-21")
    assert lead["Trạng thái"] == "Nuôi dưỡng"
    assert changes(hist)[-2:] == [("Nóng", "Chưa chốt", dt.date(2026, 1, 20), "person"),
                                  ("Chưa chốt", "Nuôi dưỡng", dt.date(2026, 1, 21), "sync")]
    assert len(rej) == 1
    r = rej[0]
    assert r["Mã sự kiện"] == f"{lid}|not_closed|2026-01-20|3"
    assert r["Giai đoạn trước khi từ chối"] == "Nóng" and r["Nhóm lý do"] == "Chưa cần ngay"
    assert r["Lý do (nguyên văn)"] == "chưa cần, 3-6 tháng nữa"
    # 21/01 + 3 months = 21/04 (Tuesday, a working day).
    assert as_date(lead["Ngày liên hệ lại"]) == dt.date(2026, 4, 21) == as_date(r["Ngày liên hệ lại"])
    assert len(nur) == 1 and nur[0]["Tình trạng nuôi dưỡng"] == "Đang nuôi dưỡng"
    assert as_date(nur[0]["Lần chăm sóc tới"]) == dt.date(2026, 2, 23)  # 21/02 is Tết weekend
    # The same day again adds nothing.
    _, hist2, rej2, nur2 = day(path, "2026-01-21")
    assert (len(hist2), len(rej2), len(nur2)) == (len(hist), 1, 1)

    # Day 5: a person records a nurture touch → the next touch advances by a month.
    edit_tab(path, "Nuôi dưỡng", 2, **{"Ngày chăm sóc gần nhất": dt.date(2026, 2, 24),
                                      "Kết quả chăm sóc": "gửi bản tin"})
    lead, hist, rej, nur = day(path, "2026-02-24")
    assert as_date(nur[0]["Lần chăm sóc tới"]) == dt.date(2026, 3, 24)

    # Day 6: the lead comes back → nurture row reactivated.
    edit(path, **{"Trạng thái": "Tiềm năng"})
    lead, hist, rej, nur = day(path, "2026-03-02")
    assert changes(hist)[-1] == ("Nuôi dưỡng", "Tiềm năng", dt.date(2026, 3, 2), "person")
    assert nur[0]["Tình trạng nuôi dưỡng"] == "Đã kích hoạt lại"
    # The overview counts the reactivation in the same run, so running again that day
    # finds nothing to rewrite.
    wb = load_workbook(path)
    figures = {r[0]: r[1] for r in wb["Tổng quan"].iter_rows(values_only=True) if r and r[0]}
    assert figures["Đã quay lại chuỗi bán hàng"] == 1 and figures["Đang nuôi dưỡng"] == 0
    again = api.sync(workbook=path, today="2026-03-02")
    assert not again.changes.replacements and not again.changes.updates

    # Day 7: rejected on price → a second, new log row.
    edit(path, **{"Trạng thái": "Từ chối", "Lý do": "đắt quá", "Ngày liên hệ cuối": dt.date(2026, 3, 5)})
    lead, hist, rej, nur = day(path, "2026-03-05")
    assert len(rej) == 2 and rej[1]["Nhóm lý do"] == "Giá quá cao"
    assert rej[1]["Giai đoạn trước khi từ chối"] == "Tiềm năng"
    assert as_date(lead["Ngày liên hệ lại"]) == dt.date(2026, 4, 6)  # +30d = Sat 04/04 → Mon 06/04

    # Day 8: won, after going back to Nóng.
    edit(path, **{"Trạng thái": "Nóng"})
    day(path, "2026-04-06")
    edit(path, **{"Trạng thái": "Chốt"})
    lead, hist, rej, nur = day(path, "2026-04-10")
    assert [h[1] for h in changes(hist)] == ["Mới", "Nóng", "Chưa chốt", "Nuôi dưỡng", "Tiềm năng", "Từ chối",
                                             "Nóng", "Chốt"]
    assert len(rej) == 2 and len(nur) == 1
    # Day 9: a backward move out of the final status is recorded and flagged, not reverted.
    edit(path, **{"Trạng thái": "Nóng"})
    lead, hist, rej, nur = day(path, "2026-04-13")
    assert lead["Trạng thái"] == "Nóng"
    assert "Rời trạng thái kết thúc Chốt" in (lead.get("Lỗi dữ liệu") or "")
