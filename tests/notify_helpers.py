"""A small team workbook for the notify tests: three reps, a manager, leads due on known
days, one lead marked do-not-contact and one erased (both due today: never in a digest)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from helpers_xlsx import TODAY, H

TEAM = "Nhân viên"
TEAM_HEADER = ["Tên", "Email", "Vai trò", "Đang làm", "Webhook"]
KEYS = ["lead_id", "name", "company", "email", "phone", "owner", "status", "created_at", "last_contact", "reason",
        "recontact_on"]
D = lambda n: TODAY + dt.timedelta(days=n)

# lead id -> (owner, status, last contact, reason, recontact on); names are "Khách <id>"
PLAN: dict[str, tuple[str, str, dt.date | None, str, dt.date]] = {
    "KH-000001": ("Lan", "Mới", None, "", D(0)),                            # new, to call today
    "KH-000002": ("Lan", "Tiềm năng", D(-10), "", D(-3)),                   # overdue
    "KH-000003": ("Lan", "Chưa chốt", D(-20), "Giá cao quá", D(0)),          # today, reason price
    "KH-000004": ("Lan", "Nóng", D(-5), "", D(2)),                          # closing this week
    "KH-000005": ("Lan", "Tiềm năng", D(-5), "", D(10)),                    # calendar only
    "KH-000006": ("Minh", "Đã tìm hiểu", D(-2), "", D(-1)),                 # overdue
    "KH-000007": ("Minh", "Tiềm năng", D(-2), "", D(1)),                    # this week
    "KH-000008": ("Lan", "Tiềm năng", D(-2), "", D(0)),                     # do not contact
    "KH-000009": ("Lan", "Tiềm năng", D(-2), "", D(0)),                     # erased
    "KH-000010": ("Hùng", "Tiềm năng", D(-40), "", D(0)),                   # Hùng: webhook only
}
DNC = "KH-000008"
ERASED = "KH-000009"
EXPECTED = {  # who gets which lead ids in their digest
    "Lan": {"KH-000001", "KH-000002", "KH-000003", "KH-000004"},
    "Minh": {"KH-000006", "KH-000007"},
}


def leads_grid() -> list[list[Any]]:
    rows = []
    for i, (lid, (owner, status, last, reason, when)) in enumerate(PLAN.items(), start=1):
        name = "[đã xoá]" if lid == ERASED else f"Khách {lid[-2:]}"
        email = None if lid == ERASED else f"khach{i}@example.vn"
        phone = None if lid == ERASED else f"09123456{i:02d}"
        rows.append([lid, name, f"Công ty {i}", email, phone, owner, status, D(-60), last, reason or None, when,
                     "x" if lid == DNC else None])
    return [[*(H[k] for k in KEYS), "Không liên hệ"], *rows]


def team_grid(hook: str | None = None) -> list[list[Any]]:
    return [TEAM_HEADER,
            ["Lan", "lan@team.vn", "Nhân viên", "có", None],
            ["Minh", "minh@team.vn", "", "có", None],
            ["Hùng", "", "", "có", hook],
            ["Thảo", "thao@team.vn", "Quản lý", "có", None],
            ["Vy", "vy@team.vn", "", "không", None]]


def tabs(hook: str | None = None) -> dict[str, list[list[Any]]]:
    return {"Khách hàng": leads_grid(), TEAM: team_grid(hook)}
