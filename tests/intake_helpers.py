"""Shared fixtures for the import tests: a small leads tab and exports from our generator."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from sheetcrm.intake.sample import facebook_rows, write_facebook_export

LEADS_HEADER = ["Mã KH", "Tên khách hàng", "Email", "Số điện thoại", "Người phụ trách", "Trạng thái",
                "Ngày tạo", "Lý do", "Ngày liên hệ cuối"]
EXISTING = [
    ["KH-000001", "Lê Thị Lan", "lan@example.com", "0912345678", "Minh", "Từ chối", dt.date(2026, 10, 1),
     "Giá quá cao", dt.date(2026, 10, 5)],
    ["KH-000002", "Trần Văn Hoà", "", "0987654321", "Thảo", "Nóng", dt.date(2026, 11, 1), "", ""],
]
TODAY = "2026-12-04"  # a Friday
START = dt.datetime(2026, 12, 4, 9, 0)


def leads_grid() -> list[list]:
    return [LEADS_HEADER, *[list(r) for r in EXISTING]]


def fb_rows(n: int = 10, seed: int = 3, start: dt.datetime = START, first_id: int = 0,
            hours: float = 5.5) -> list[list[str]]:
    return facebook_rows(n, seed, start, first_id, hours)


def fb_file(path: Path, rows: list[list[str]], utf16: bool = False) -> Path:
    return write_facebook_export(path, rows, utf16)
