"""Shared scenario for the privacy tests: one person, Mai, typed three ways across the
workbook, among other people; and a scan of every cell of every tab for her."""

from __future__ import annotations

import datetime as dt

from sheetcrm.sync.normalize import normalize_phone

HEADER = ["Mã KH", "Tên khách hàng", "Công ty", "Email", "Số điện thoại", "Người phụ trách", "Trạng thái",
          "Ngày tạo", "Lý do", "Ngày liên hệ cuối", "Ghi chú", "Ngày liên hệ lại"]
MAI_NAMES = ("Nguyễn Thị Mai", "Nguyen Thi Mai", "Mai Nguyễn")
MAI_PHONE = "0339 123 456"
MAI_SPELLINGS = ("0339 123 456", "+84339123456", "01639123456")  # the last: an old 11-digit number
MAI_EMAIL = "mai.nguyen@example.com"
MAI_COMPANY = "Công ty TNHH Hoa Mai"
DAY1, DAY2 = "2026-12-01", "2026-12-03"


def leads_grid() -> list[list]:
    d = dt.date(2026, 11, 2)
    return [HEADER,
            ["KH-000001", MAI_NAMES[0], MAI_COMPANY, "", MAI_SPELLINGS[0], "Minh", "Từ chối", d, "chưa có nhu cầu, gọi lại quý sau",
             dt.date(2026, 11, 20), "gọi sau 18h, nhà ở Cầu Giấy", None],
            ["KH-000002", "Trần Văn Hoà", "Cty Bình An", "hoa@example.com", "0987654321", "Thảo", "Nóng", d, "",
             dt.date(2026, 11, 25), "", dt.date(2026, 12, 2)],
            ["KH-000003", MAI_NAMES[1], "", MAI_EMAIL.upper(), MAI_SPELLINGS[1], "Thảo", "Mới", dt.date(2026, 11, 10),
             "", None, "", dt.date(2026, 12, 2)],
            ["KH-000004", "Lê Văn Nam", "", "nam@example.com", "0901234567", "Minh", "Từ chối", d, "chưa có nhu cầu",
             dt.date(2026, 11, 21), "", None],
            ["KH-000005", MAI_NAMES[2], "", "", MAI_SPELLINGS[2], "Minh", "Từ chối", dt.date(2026, 11, 12),
             "chưa có nhu cầu", dt.date(2026, 11, 22), "", None],
            ["KH-000006", "Phạm Thu Hà", "", "ha@example.com", "0977000111", "Thảo", "Mới", d, "", None, "", None]]


def forms_csv(email: str = MAI_EMAIL, phone: str = "+84 339 123 456", name: str = "Mai N.") -> str:
    """A Google Forms responses export with one row."""
    return ("Dấu thời gian,Họ và tên,Số điện thoại,Email,Sản phẩm quan tâm\n"
            f"04/12/2026 10:00:00,{name},{phone},{email},Gói cơ bản\n")


def mai_cells(tabs: dict[str, list[list]]) -> list[str]:
    """Every cell of every tab that still holds Mai's name, phone or email."""
    names = {n.casefold() for n in MAI_NAMES} | {MAI_COMPANY.casefold()}
    out = []
    for title, grid in tabs.items():
        for r, row in enumerate(grid, start=1):
            for c, v in enumerate(row, start=1):
                if v is None or v == "":
                    continue
                text = str(v).strip()
                low = text.casefold()
                digits = "".join(ch for ch in text if ch.isdigit())
                if (any(n in low for n in names) or "mai.nguyen" in low or "339123456" in digits
                        or "1639123456" in digits or normalize_phone_one(text) == "+84339123456"):
                    out.append(f"{title}!{r},{c}={text}")
    return out


def normalize_phone_one(text: str) -> str | None:
    import pandas as pd

    v = normalize_phone(pd.Series([text], dtype=object)).iloc[0]
    return v if isinstance(v, str) else None
