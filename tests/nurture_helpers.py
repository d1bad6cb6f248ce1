"""A nurture scenario shared by the xlsx and Google tests (docs/nurture-automation.md):
leads who said "not now", with and without consent, one marked do-not-contact; the sync
opens their nurture rows, `nurture` sends the touches due."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from helpers_xlsx import PERSON_KEYS, H

T0 = dt.date(2026, 3, 12)  # the sync that opens the nurture rows (a Thursday)
CONSENT = "Đồng ý nhận email"
DNC = "Không liên hệ"
NOW = dt.datetime(2026, 4, 13, 9, 30)  # within the default sending hours

# lead id → (name, email, reason, consent, do-not-contact)
PEOPLE = {
    "KH-000001": ("Nguyễn Văn An", "an@minhphat.vn", "Chưa cần ngay", "có", ""),
    "KH-000002": ("Trần Thị Bình", "binh@saomai.vn", "Ngân sách chưa cho phép", "có", ""),  # quarterly
    "KH-000003": ("Lê Hoàng Cường", "cuong@hoanglong.vn", "Chưa cần ngay", "không", ""),
    "KH-000004": ("Phạm Minh Dũng", "dung@abc.vn", "Chưa cần ngay", "", ""),
    "KH-000005": ("Đỗ Thu Em", "em@xyz.vn", "Chưa cần ngay", "có", "x"),
    "KH-000006": ("Hồ Ngọc Phương", "phuong@lotus.vn", "Chưa cần ngay", "yes", ""),
    "KH-000007": ("Vũ Hải Giang", "giang@sen.vn", "Chưa cần ngay", "có", ""),
}
SENDABLE_FIRST = {"KH-000001", "KH-000006", "KH-000007"}


def leads_grid() -> list[list]:
    keys = [*PERSON_KEYS]
    header = [H[k] for k in keys] + [CONSENT, DNC]
    rows = []
    for i, (lid, (name, email, reason, consent, dnc)) in enumerate(PEOPLE.items()):
        d = dict(lead_id=lid, name=name, company=f"Công ty {i}", email=email, phone=f"09123450{i:02d}",
                 owner="Lan" if i % 2 else "Minh", product="Gói Cơ bản", source="Facebook", status="Chưa chốt",
                 created_at=dt.date(2026, 1, 5), last_contact=dt.date(2026, 3, 10), reason=reason, notes="")
        rows.append([d.get(k) for k in keys] + [consent, dnc])
    return [header, *rows]


TEAM = [["Tên", "Email", "Vai trò", "Đang làm", "Chữ ký"],
        ["Lan", "lan@team.vn", "sales", "có", "Lan Nguyễn\nTư vấn viên · 0901 000 111"],
        ["Minh", "", "sales", "có", ""]]


def write_config(path: Path, **extra: str) -> Path:
    lines = ["[nurture]", 'sender = "Công ty Minh Phát <cskh@minhphat.vn>"',
             'identity = "Công ty Minh Phát · 12 Lê Lợi, Q.1, TP.HCM · 028 1234 5678"',
             'unsubscribe_email = "huy@minhphat.vn"',
             'unsubscribe_url = "https://minhphat.vn/huy?email={email}"']
    lines += [f'{k} = "{v}"' for k, v in extra.items()]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


UNSUB_CSV = "Dấu thời gian,Email,Bạn muốn hủy đăng ký nhận email?\n20/04/2026 10:00:00,phuong@lotus.vn,Có\n"
