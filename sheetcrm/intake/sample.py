"""Sample lead exports made by our own generator: Facebook Lead Ads files with Meta's exact
header set and phone format (`p:+84…`), realistic Vietnamese names, and a Google Forms
responses CSV. `sheetcrm demo` writes one next to its workbook; tests and bench use them."""

from __future__ import annotations

import csv
import datetime as dt
import io
from pathlib import Path

import numpy as np

from ..text import fold

FACEBOOK_COLUMNS = ("id", "created_time", "ad_id", "ad_name", "adset_id", "adset_name", "campaign_id",
                    "campaign_name", "form_id", "form_name", "is_organic", "platform")
QUESTIONS = ("bạn_quan_tâm_sản_phẩm_nào?", "thời_gian_liên_hệ_thuận_tiện?")
FAMILY = ["Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Huỳnh", "Phan", "Vũ", "Võ", "Đặng", "Bùi", "Đỗ",
          "Hồ", "Ngô", "Dương", "Lý"]
FAMILY_W = [38, 11, 9.5, 7, 5, 4, 4.5, 3.9, 3, 2.1, 2, 1.4, 1.3, 1.3, 1, .5]
MIDDLE = ["Văn", "Thị", "Minh", "Ngọc", "Thu", "Đức", "Thanh", "Quang", "Hồng", "Hữu", "Phương", "Anh"]
GIVEN = ["An", "Anh", "Bình", "Chi", "Cường", "Dũng", "Giang", "Hà", "Hải", "Hạnh", "Hiếu", "Hoa", "Hùng",
         "Hương", "Khánh", "Lan", "Linh", "Long", "Mai", "Minh", "Nam", "Nga", "Nhung", "Phúc", "Quân",
         "Sơn", "Tâm", "Thảo", "Trang", "Tuấn", "Vy", "Yến"]
MOBILE = ["90", "91", "93", "94", "96", "97", "98", "32", "33", "34", "35", "36", "37", "38", "39",
          "70", "76", "77", "78", "79", "81", "82", "83", "84", "85", "86", "88"]
PRODUCTS = ["Gói Cơ bản", "Gói Chuyên nghiệp", "Gói Doanh nghiệp", "Máy lạnh Inverter 1HP"]
TIMES = ["Sáng", "Chiều", "Tối", "Bất kỳ lúc nào"]
CAMPAIGNS = [("Khuyến mãi Tết 2027", "Form đăng ký tư vấn"), ("Máy lạnh mùa hè", "Nhận báo giá"),
             ("Remarketing T12", "Form đăng ký tư vấn")]
FREEMAIL = ["gmail.com", "yahoo.com", "outlook.com"]


def facebook_rows(n: int, seed: int = 7, start: dt.datetime | None = None, first_id: int = 0,
                  hours: float = 6.0) -> list[list[str]]:
    """`n` Facebook Lead Ads rows (values in FACEBOOK_COLUMNS + full_name, phone_number,
    email + QUESTIONS order) of `n` different people, submitted within `hours` of `start`
    (+07:00), in order."""
    rng = np.random.default_rng(seed)
    start = start or dt.datetime(2026, 12, 1, 8, 0)
    fam = rng.choice(FAMILY, n, p=np.array(FAMILY_W) / sum(FAMILY_W))
    mid = rng.choice(MIDDLE, n)
    giv = rng.choice(GIVEN, n)
    pre = rng.choice(MOBILE, n)
    # distinct numbers (a bijection of 0..10^7 - 1), so no two people share a phone or an email
    num = (np.arange(n, dtype=np.int64) * 7_654_321 + rng.integers(0, 10_000_000)) % 10_000_000
    gaps = np.sort(rng.integers(0, max(1, int(hours * 3600)), n))
    camp = rng.integers(0, len(CAMPAIGNS), n)
    mail = rng.random(n) < 0.7
    rows = []
    for i in range(n):
        name = f"{fam[i]} {mid[i]} {giv[i]}"
        when = start + dt.timedelta(seconds=int(gaps[i]))
        c, form = CAMPAIGNS[camp[i]]
        user = fold(f"{giv[i]}{mid[i]}{fam[i]}").replace(" ", "").replace("-", "")
        email = f"{user}{num[i]}@{FREEMAIL[num[i] % 3]}" if mail[i] else ""
        rows.append([
            f"l:{2_000_000_000_000_000 + seed * 10_000_000 + first_id + i}", when.strftime("%Y-%m-%dT%H:%M:%S+07:00"),
            f"ag:{120210000000000 + camp[i]}", f"Ad {c}", f"as:{120211000000000 + camp[i]}", f"Nhóm {c}",
            f"c:{120212000000000 + camp[i]}", c, f"f:{900000000000 + camp[i]}", form,
            "false", "ig" if num[i] % 5 == 0 else "fb",
            name, f"p:+84{pre[i]}{num[i]:07d}", email,
            PRODUCTS[num[i] % len(PRODUCTS)].replace(" ", "_").lower(), TIMES[num[i] % len(TIMES)].lower(),
        ])
    return rows


def facebook_text(rows: list[list[str]], tsv: bool = False) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, delimiter="\t" if tsv else ",", lineterminator="\n")
    w.writerow([*FACEBOOK_COLUMNS, "full_name", "phone_number", "email", *QUESTIONS])
    w.writerows(rows)
    return buf.getvalue()


def write_facebook_export(path: str | Path, rows: list[list[str]], utf16: bool = False) -> Path:
    """Write `rows` as Meta does: UTF-8 CSV, or (`utf16`) the UTF-16 tab-separated file."""
    p = Path(path)
    if utf16:
        p.write_bytes(facebook_text(rows, tsv=True).encode("utf-16"))
    else:
        p.write_text(facebook_text(rows), encoding="utf-8")
    return p


def forms_text(rows: list[list[str]], english: bool = False) -> str:
    """A Google Forms responses CSV of the people in Facebook-style `rows`."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["Timestamp" if english else "Dấu thời gian", "Họ và tên", "Số điện thoại",
                "Email Address" if english else "Địa chỉ email", "Bạn quan tâm sản phẩm nào?", "Ghi chú thêm"])
    for r in rows:
        when = dt.datetime.strptime(r[1][:19], "%Y-%m-%dT%H:%M:%S")
        stamp = when.strftime("%m/%d/%Y %H:%M:%S") if english else when.strftime("%d/%m/%Y %H:%M:%S")
        w.writerow([stamp, r[12], "0" + r[13][5:], r[14], r[15].replace("_", " "), ""])
    return buf.getvalue()


def write_demo_export(folder: str | Path, n: int = 40, seed: int = 7, today: dt.date | None = None) -> Path:
    """A Facebook Lead Ads export to try `sheetcrm import` on, next to the demo workbook."""
    day = today or dt.date.today()
    start = dt.datetime.combine(day - dt.timedelta(days=1), dt.time(8, 0))
    return write_facebook_export(Path(folder) / "facebook-leads.csv", facebook_rows(n, seed, start))
