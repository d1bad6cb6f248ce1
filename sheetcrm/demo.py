"""Realistic, messy Vietnamese lead data for demos, tests and benchmarks.

`generate_leads()` returns the `Khách hàng` tab as a grid (header row first) of raw cell
values exactly as sales reps type them: Vietnamese names with and without accents, phone
numbers as text in a dozen shapes (old 11-digit prefixes included), dates as real dates or
as text in several orders, statuses and rejection reasons as free text, ~4% invalid rows
and ~4% duplicates of earlier rows in another shape (some worked by another rep).

`generate_demo_data()` returns the same grid plus the ground truth (which rows are invalid
and why, which rows duplicate which) for tests of validation and dedupe.
`write_demo_workbook()` writes the grid into an .xlsx workbook (openpyxl, write-only).

Everything is drawn from one `numpy.random.Generator` seeded with `seed`, so a given
(n, seed, today) always gives the same grid. Cells are `str`, `datetime.date` or `None`
(blank). The leads are sorted by creation: older rows first, the newest rows without `Mã KH`.
"""

from __future__ import annotations

import datetime as _dt
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np

from .schema import SCHEMA_DIR, load_tab
from .text import fold

__all__ = [
    "DemoData",
    "demo_columns",
    "demo_headers",
    "generate_demo_data",
    "generate_leads",
    "write_demo_workbook",
]

DATE_FORMAT = "dd/mm/yyyy"
FORMULA_NOTE = '=IMPORTXML("http://x","//a")'
INVALID_KINDS = (
    "no_name",
    "no_contact",
    "bad_email",
    "bad_phone",
    "future_date",
    "error_value",
    "unknown_status",
)

# ------------------------------------------------------------------ vocabularies

_SURNAMES = [  # (surname, weight ~ share in the population)
    ("Nguyễn", 31), ("Trần", 11), ("Lê", 9.5), ("Phạm", 7), ("Hoàng", 4.5), ("Huỳnh", 4),
    ("Phan", 4.5), ("Vũ", 3.5), ("Võ", 4), ("Đặng", 2.1), ("Bùi", 2), ("Đỗ", 1.4),
    ("Hồ", 1.3), ("Ngô", 1.3), ("Dương", 1), ("Lý", 0.5), ("Đinh", 0.8), ("Trịnh", 0.6),
    ("Lâm", 0.6), ("Mai", 0.6), ("Trương", 0.8), ("Đoàn", 0.6), ("Lương", 0.4), ("Hà", 0.4),
    ("Cao", 0.4), ("Tạ", 0.3), ("Châu", 0.3), ("Tô", 0.3), ("Kiều", 0.2), ("Lưu", 0.3),
]
_MIDDLE = {
    "m": ["Văn", "Đức", "Minh", "Quốc", "Hữu", "Thanh", "Công", "Xuân", "Hoàng", "Tuấn",
          "Ngọc", "Gia", "Anh", "Duy", "Trọng", "Quang", "Đình", "Thành", "Bảo", "Nhật"],
    "f": ["Thị", "Ngọc", "Thu", "Thanh", "Phương", "Minh", "Mỹ", "Kim", "Thúy", "Hồng",
          "Bích", "Khánh", "Hoài", "Diệu", "Bảo", "Quỳnh", "Thảo", "Hải", "Như", "Ánh"],
}
_GIVEN = {
    "m": ["An", "Anh", "Bảo", "Bình", "Cường", "Dũng", "Duy", "Đạt", "Đức", "Hải", "Hiếu",
          "Hoàng", "Hùng", "Huy", "Hưng", "Khang", "Khoa", "Kiên", "Long", "Lộc", "Minh",
          "Nam", "Nghĩa", "Phong", "Phúc", "Quân", "Quang", "Sơn", "Tài", "Thắng", "Thành",
          "Thịnh", "Toàn", "Trung", "Tuấn", "Tùng", "Việt", "Vinh", "Vũ", "Khải"],
    "f": ["Anh", "Chi", "Dung", "Giang", "Hà", "Hằng", "Hạnh", "Hiền", "Hoa", "Hương",
          "Huyền", "Lan", "Linh", "Loan", "Mai", "My", "Nga", "Ngân", "Ngọc", "Nhi", "Nhung",
          "Oanh", "Phương", "Quyên", "Quỳnh", "Tâm", "Thảo", "Thủy", "Trang", "Trâm",
          "Uyên", "Vân", "Vy", "Yến", "Hồng", "Thư", "Tuyết", "Diệp"],
}
_TRADE = [
    "Minh Phát", "Hoàng Long", "Thành Công", "Phú Thịnh", "An Khang", "Đại Việt", "Sao Mai",
    "Tân Phú", "Hưng Thịnh", "Việt Tiến", "Bình Minh", "Nam Á", "Kim Long", "Thiên Phúc",
    "Trường Sơn", "Hòa Bình", "Phương Đông", "Toàn Cầu", "Ánh Dương", "Đông Á", "Vạn Xuân",
    "Hồng Hà", "Sông Hàn", "Hải Âu", "Lộc Phát", "Thịnh Vượng", "Gia Huy", "Bảo Ngọc",
    "Tiến Đạt", "Phúc An", "Nhật Minh", "Thái Sơn", "Hà Thành", "Cửu Long", "Tây Nguyên",
    "Trí Việt", "Vĩnh Hưng", "Song Long", "Thăng Long", "Ngọc Lan", "Đất Việt", "Hưng Phát",
    "Tâm An", "Kiến Vàng", "Ong Vàng", "Cánh Diều", "Bách Khoa", "Sao Việt", "Mekong Star",
    "Hạ Long Xanh", "Phước Lộc", "Thuận Thành", "Kim Ngân", "Hoa Mai", "Trúc Xanh",
    "Đông Dương", "Lạc Hồng", "Rạng Đông", "Tường Vy", "Á Châu",
]
_SECTOR = [
    "Thương mại Dịch vụ", "Xây dựng", "Công nghệ", "Thực phẩm", "Dược phẩm", "Logistics",
    "Nội thất", "Du lịch", "Giáo dục", "Bất động sản", "May mặc", "Điện máy", "Mỹ phẩm",
    "In ấn Quảng cáo", "Vận tải", "Đầu tư", "Xuất nhập khẩu", "Phần mềm", "Kiến trúc",
    "Nông sản", "Cơ khí", "Thiết bị Y tế",
]
_SHOPS = ["Shop {t}", "Cửa hàng Điện máy {t}", "Nhà thuốc {t}", "Spa {t}", "Quán cà phê {t}",
          "Tiệm bánh {t}", "Salon tóc {t}", "Nhà hàng {t}", "Gara ô tô {t}"]
# Legal-form wrappers around a company's core name ("{c}"). The first group is what
# the dedupe strips (Công ty TNHH, Cty, CP, JSC); duplicates swap within it.
_FORMS = [
    ("Công ty TNHH {c}", 22), ("Cty TNHH {c}", 12), ("Cty CP {c}", 9), ("Công ty CP {c}", 6),
    ("{c} JSC", 5), ("{c}", 8), ("Công ty Cổ phần {c}", 8), ("Tập đoàn {c}", 3),
    ("CÔNG TY TNHH {C}", 4),
]
_DUPE_FORMS = ["Công ty TNHH {c}", "Cty TNHH {c}", "Cty CP {c}", "{c} JSC", "{c}"]
_TLDS = [".vn", ".com.vn", ".com"]
_FREEMAIL = [("gmail.com", 78), ("yahoo.com", 7), ("outlook.com", 5), ("hotmail.com", 4),
             ("icloud.com", 3), ("yahoo.com.vn", 3)]
_OWNERS = [("Lan", 22), ("Minh", 20), ("Hùng", 18), ("Thảo", 16), ("Quân", 14), ("Vy", 10)]
_PRODUCTS = [("Gói Cơ bản", 38), ("Gói Chuyên nghiệp", 30), ("Gói Doanh nghiệp", 14),
             ("Tư vấn triển khai", 10), ("gói cơ bản", 3), ("Gói chuyên nghiệp", 3),
             ("Gói DN", 2)]
_SOURCES = [("Facebook", 26), ("Zalo", 16), ("Website", 17), ("Giới thiệu", 12),
            ("Hội thảo", 6), ("Google Ads", 10), ("Cold call", 7), ("facebook", 2),
            ("FB", 2), ("zalo", 1), ("web", 1)]
# Mobile prefixes after the 2018 conversion (digits after the leading 0).
_MOBILE = ["86", "96", "97", "98", "32", "33", "34", "35", "36", "37", "38", "39",
           "88", "91", "94", "81", "82", "83", "84", "85", "90", "93", "70", "76", "77",
           "78", "79", "92", "56", "58", "59"]
_MOBILE_W = [4, 9, 8, 8, 3, 3, 3, 3, 3, 3, 3, 3, 3, 8, 5, 2, 2, 2, 2, 2, 7, 5, 2, 2, 2,
             2, 2, 1, 1, 1, 1]
# New 3-digit prefix -> the 11-digit prefix it replaced (Quyết định 798/QĐ-BTTTT).
_NEW_TO_OLD = {
    **{f"03{d}": f"016{d}" for d in "23456789"},
    "070": "0120", "079": "0121", "077": "0122", "076": "0126", "078": "0128",
    "083": "0123", "084": "0124", "085": "0125", "081": "0127", "082": "0129",
    "056": "0186", "058": "0188", "059": "0199",
}
_LANDLINE = ["28", "24", "236", "274", "251", "225"]  # HCMC, Hanoi, Da Nang, Binh Duong…

# status key -> (canonical label, typed variants); the weights below are per key.
_STATUS_TEXT = {
    "new": ("Mới", ["moi", "mới", "New", "MỚI"]),
    "researched": ("Đã tìm hiểu", ["da tim hieu", "Đã liên hệ", "Contacted", "đã tìm hiểu"]),
    "potential": ("Tiềm năng", ["tiem nang", "Tiềm Năng", "Potential", "tiềm năng "]),
    "hot": ("Nóng", ["Hot", "nong", "Lead nóng", "HOT"]),
    "won": ("Chốt", ["Đã  chốt", "Won", "chot", "Chốt đơn", "Đã chốt"]),
    "rejected": ("Từ chối", ["tu choi", "Lost", "Từ Chối", "từ chối"]),
    "not_closed": ("Chưa chốt", ["chua chot", "Pending", "Chưa chốt được"]),
    "nurture": ("Nuôi dưỡng", ["nuoi duong", "Chăm sóc", "Nurture"]),
    "unreachable": ("Không tiếp cận", ["khong tiep can", "Unreachable", "Không liên hệ được"]),
    "disqualified": ("Sai đối tượng", ["sai doi tuong", "Spam", "Sai Đối Tượng"]),
}
_STATUS_KEYS = list(_STATUS_TEXT)
#                        new  res  pot  hot  won  rej  ncl  nur  unr  dis
_STATUS_P_RECENT = [45, 24, 12, 5, 2, 3, 2, 1, 3, 3]   # created in the last 3 weeks
_STATUS_P_OLDER = [7, 11, 13, 7, 15, 17, 9, 9, 7, 5]
_UNKNOWN_STATUS = ["Đang xem xét", "Chờ phản hồi", "Đang báo giá", "??"]

# Reasons as reps type them: (text, weight). Catalogue labels, free text, blanks.
_REASONS_REJECTED = [
    ("Giá quá cao", 8), ("đắt quá", 6), ("giá cao hơn bên Misa", 3), ("Gia cao", 2),
    ("chê đắt, xin giảm 20%", 2),
    ("Đã chọn đối thủ cạnh tranh", 6), ("dùng bên khác rồi", 6), ("đã ký với bên KiotViet", 2),
    ("Đang dùng Getfly, chưa muốn đổi nhà cung cấp khác", 2),
    ("Không phù hợp với nhu cầu hiện tại", 5), ("không phù hợp quy mô", 3),
    ("Không đúng nhu cầu, cần phần mềm kho", 2),
    ("Chưa cần ngay", 3), ("chưa cần, 3-6 tháng nữa", 3),
    ("Ngân sách chưa cho phép", 3), ("ngân sách năm sau", 3), ("hết ngân sách quý này", 1),
    ("Không liên lạc được", 2), ("không nghe máy", 4), ("thuê bao không liên lạc được", 1),
    ("gọi 3 lần không bắt máy", 1),
    ("Khác: đang sáp nhập công ty", 2), ("Khác: sếp đi công tác, chờ duyệt", 1),
    ("Khác", 1), (None, 6),
]
_REASONS_NOT_CLOSED = [
    ("Chưa cần ngay", 7), ("chưa cần, 3-6 tháng nữa", 6), ("để sau Tết", 3),
    ("Chưa có nhu cầu, hẹn tháng sau", 2),
    ("Ngân sách chưa cho phép", 6), ("ngân sách năm sau", 5), ("chưa có tiền, chờ giải ngân", 1),
    ("Giá quá cao", 3), ("đắt quá", 3), ("đang so sánh giá, chê đắt", 1),
    ("Không liên lạc được", 2), ("không nghe máy", 4),
    ("Không phù hợp với nhu cầu hiện tại", 1), ("dùng bên khác rồi", 1),
    ("Khác: đang sáp nhập công ty", 1), ("Khác: chờ kế toán trưởng duyệt", 1),
    (None, 5),
]
_REASONS_NURTURE = [
    ("Chưa cần ngay", 8), ("chưa cần, 3-6 tháng nữa", 4), ("Ngân sách chưa cho phép", 6),
    ("ngân sách năm sau", 3), (None, 6),
]
_REASONS_UNREACHABLE = [("không nghe máy", 4), ("thuê bao", 2), ("gọi 3 lần không bắt máy", 2),
                        ("Không liên lạc được", 2), (None, 8)]
_REASONS_DISQUALIFIED = [("Sinh viên hỏi thông tin", 2), ("nhầm số", 1), (None, 7)]

_NOTES = [
    "Gọi lại sau 14h", "Đã gửi báo giá qua Zalo", "Khách hỏi về tích hợp hoá đơn điện tử",
    "Hẹn demo thứ 5", "KH cần xuất VAT", "Quan tâm gói năm", "Đã gửi email giới thiệu",
    "Người quyết định là giám đốc, anh ấy là kế toán trưởng", "Đã demo online qua Google Meet",
    "Xin thêm tài liệu hướng dẫn", "Khách ở Hà Nội, muốn gặp trực tiếp",
    "Cần báo giá cho 15 user", "Đã gọi 2 lần", "Khách ưu tiên trao đổi qua Zalo",
    "Chi nhánh HCM", "Hỏi chính sách trả góp", "KH cũ giới thiệu", "Hẹn gặp tuần sau",
    "Đang dùng Excel, muốn chuyển", "Gửi hợp đồng mẫu", "ko nghe máy buổi sáng",
    "Khách ở Đà Nẵng", "sđt cũ, hỏi lại số mới", "Ưu đãi 10% nếu ký trong tháng",
]
_DUPE_NOTES = ["KH đăng ký lại qua form", "Khách tự liên hệ lại", "nhập trùng?",
               "Được giới thiệu lần 2"]


# ------------------------------------------------------------------ helpers


def _p(pairs):
    w = np.asarray([w for _, w in pairs], dtype=float)
    return [v for v, _ in pairs], w / w.sum()


def _pick(rng: np.random.Generator, pairs, size: int) -> np.ndarray:
    values, p = _p(pairs)
    arr = np.empty(len(values), dtype=object)
    arr[:] = values
    return arr[rng.choice(len(values), size=size, p=p)]


def _unaccent(text: str) -> str:
    """Vietnamese without diacritics, case kept ("Nguyễn Đức" -> "Nguyen Duc")."""
    s = text.replace("đ", "d").replace("Đ", "D")
    s = unicodedata.normalize("NFKD", s)
    return unicodedata.normalize("NFC", "".join(c for c in s if not unicodedata.combining(c)))


@lru_cache(maxsize=4096)
def _slug(text: str) -> str:
    return fold(text).replace(" ", "")


def demo_columns():
    """The leads-tab columns the demo fills: every person/both column that `sync` does
    not add on its own, in schema order (`Mã KH` … `Ghi chú`, `Ngày liên hệ lại`)."""
    tab = load_tab(SCHEMA_DIR / "leads.toml")
    return [c for c in tab.columns if c.writer != "sync" and not c.optional]


def demo_headers(headers: Mapping[str, str] | None = None) -> list[str]:
    """Header row of the demo grid; `headers` maps column keys to configured names."""
    headers = dict(headers or {})
    if isinstance(headers.get("leads"), Mapping):  # {"leads": {key: header}} form
        headers = dict(headers["leads"])
    return [headers.get(c.key, c.header) for c in demo_columns()]


def _render_dates(ordinals: np.ndarray, fmt: np.ndarray) -> np.ndarray:
    """Dates (proleptic ordinals) in per-row forms: 0 date object, 1 dd/mm/yyyy,
    2 d/m/yy, 3 yyyy-mm-dd, 4 dd-mm-yyyy, 5 dd.mm.yyyy, -1 blank."""
    out = np.full(len(ordinals), None, dtype=object)
    ok = fmt >= 0
    if not ok.any():
        return out
    uniq, inv = np.unique(ordinals[ok], return_inverse=True)
    table = np.empty((6, len(uniq)), dtype=object)
    for j, o in enumerate(uniq.tolist()):
        d = _dt.date.fromordinal(o)
        table[0, j] = d
        table[1, j] = f"{d.day:02d}/{d.month:02d}/{d.year}"
        table[2, j] = f"{d.day}/{d.month}/{d.year % 100:02d}"
        table[3, j] = d.isoformat()
        table[4, j] = f"{d.day:02d}-{d.month:02d}-{d.year}"
        table[5, j] = f"{d.day:02d}.{d.month:02d}.{d.year}"
    out[ok] = table[fmt[ok], inv]
    return out


_DATE_FMT_P = [36, 30, 10, 10, 8, 6]  # date object, dd/mm/yyyy, d/m/yy, iso, dd-mm, dd.mm


def _date_formats(rng, size, blank: float) -> np.ndarray:
    p = np.asarray(_DATE_FMT_P, float)
    f = rng.choice(6, size=size, p=p / p.sum())
    f[rng.random(size) < blank] = -1
    return f


def _fmt_phone(nat: str, shape: int) -> str:
    """`nat` is a 10-digit national mobile number '0xxxxxxxxx'."""
    a, b, c = nat[:4], nat[4:7], nat[7:]
    core = nat[1:]
    if shape == 0:
        return f"{a} {b} {c}"
    if shape == 1:
        return nat
    if shape == 2:
        return f"{a}.{b}.{c}"
    if shape == 3:
        return f"{nat[:3]} {nat[3:6]} {nat[6:]}"
    if shape == 4:
        return f"+84 {core[:3]} {core[3:6]} {core[6:]}"
    if shape == 5:
        return "84" + core
    if shape == 6:
        return "+84" + core
    if shape == 7:
        return f"{a}-{b}-{c}"
    if shape == 8:
        return f"(+84) {core}"
    old = _NEW_TO_OLD.get(nat[:3])  # shape 9: the pre-2018 11-digit number
    if old is None:
        return f"{a} {b} {c}"
    o = old + nat[3:]
    return f"{o[:4]} {o[4:7]} {o[7:]}" if int(nat[-1]) % 2 else o


_PHONE_SHAPE_P = [30, 26, 9, 5, 8, 5, 4, 5, 2, 6]


def _fmt_landline(nat: str, shape: int) -> str:
    area = next(p for p in ("028", "024", "0236", "0274", "0251", "0225") if nat.startswith(p))
    rest = nat[len(area):]
    if shape % 3 == 0:
        return f"{area} {rest[:4]} {rest[4:]}" if len(rest) == 8 else f"{area} {rest[:3]} {rest[3:]}"
    if shape % 3 == 1:
        return f"({area}) {rest}"
    return nat


# ------------------------------------------------------------------ generation


@dataclass
class DemoData:
    """The grid and its ground truth. Row numbers are data-row indices: `grid[i + 1]`."""

    grid: list[list]
    invalid: dict[str, list[int]] = field(default_factory=dict)  # kind -> rows
    duplicates: dict[int, int] = field(default_factory=dict)  # duplicate row -> original row
    collisions: list[int] = field(default_factory=list)  # duplicate rows with another owner
    formula_row: int | None = None  # the web-form lead whose note looks like a formula

    @property
    def header(self) -> list:
        return self.grid[0]

    @property
    def rows(self) -> list[list]:
        return self.grid[1:]


def generate_leads(
    n: int = 600,
    seed: int = 7,
    today: _dt.date | None = None,
    headers: Mapping[str, str] | None = None,
) -> list[list]:
    """`n` leads as a grid: header row first, then rows of raw cell values (str,
    `datetime.date` or None). `today` defaults to the current date; pass it for a
    reproducible grid. `headers` maps column keys to configured header names."""
    return generate_demo_data(n, seed, today, headers).grid


def generate_demo_data(
    n: int = 600,
    seed: int = 7,
    today: _dt.date | None = None,
    headers: Mapping[str, str] | None = None,
) -> DemoData:
    """Like `generate_leads`, with the ground truth of invalid and duplicate rows.

    The parts below draw from one generator in a fixed order, so a seed gives the same grid:
    people, companies, emails, phones, owner/product/source, dates and statuses, which rows
    are duplicated or broken, the duplicates, typed statuses, reasons, notes, recontact
    dates, the broken rows, then creation order and ids.
    """
    if n < 0:
        raise ValueError("n must be >= 0")
    today = today or _dt.date.today()
    rng = np.random.default_rng(seed)
    header = demo_headers(headers)
    if n == 0:
        return DemoData([header])

    n_dup = max(1, round(n * 0.04)) if n >= 20 else 0
    n_inv = max(1, round(n * 0.04)) if n >= 20 else 0
    nb = n - n_dup  # base (distinct) people
    t0 = today.toordinal()

    parts, female, names = _people(rng, nb)
    co = _companies(rng, nb)
    has_email, emails = _emails(rng, parts, co)
    ph = _phones(rng, has_email, co["has_comp"])
    owners, products, sources = _assignment(rng, nb)
    days_ago, status_i, last_days_ago, last_blank = _activity(rng, nb)
    base = {"names": names, "company": co["company"], "emails": emails, "phones": ph["phones"],
            "owner": owners, "product": products, "source": sources, "days": days_ago,
            "status_i": status_i, "last_days": last_days_ago, "last_blank": last_blank}
    dup_src, inv_rows = _pick_special_rows(rng, days_ago, n_dup, n_inv)
    dup, collisions_d = _duplicates(rng, dup_src, base, parts, co, ph)
    A = {k: np.concatenate([base[k], dup[k]]) for k in base}  # base rows, then duplicates
    N, D = nb + len(dup_src), len(dup_src)
    status = _typed_statuses(rng, A["status_i"])
    reason = _reasons(rng, A["status_i"])
    notes = _notes(rng, N, D, nb)
    # person-typed recontact dates on some rejected / not-closed / nurture leads
    sched = np.isin(A["status_i"], [5, 6, 7]) & (rng.random(N) < 0.06)
    re_ord = np.where(sched, t0 + rng.integers(7, 120, N), 0)
    re_fmt = np.where(sched, rng.choice([0, 1], N), -1)
    A["status"], A["notes"] = status, notes
    invalid, created_days = _break_rows(rng, inv_rows, A, parts)
    return _finish(rng, A, header, t0, created_days, reason, (re_ord, re_fmt), nb, dup_src, invalid,
                   collisions_d)


def _people(rng: np.random.Generator, nb: int) -> tuple[list[tuple[str, str, str]], np.ndarray, np.ndarray]:
    """(surname, middle, given) per person, their sex, and the name as typed."""
    sn_vals, sn_p = _p(_SURNAMES)
    surname_i = rng.choice(len(sn_vals), size=nb, p=sn_p)
    female = rng.random(nb) < 0.5
    mid_i = rng.integers(0, 1 << 30, size=nb)
    giv_i = rng.integers(0, 1 << 30, size=nb)
    parts = []  # (surname, middle, given) accented
    for s, f, m, g in zip(surname_i.tolist(), female.tolist(), mid_i.tolist(), giv_i.tolist()):
        sex = "f" if f else "m"
        parts.append((sn_vals[s], _MIDDLE[sex][m % 20], _GIVEN[sex][g % len(_GIVEN[sex])]))
    # Name shapes: 0 proper, 1 no accents, 2 UPPER, 3 lower, 4 "Anh/Chị <given>",
    # 5 stray spaces, 6 decomposed Unicode (typed on a Mac), 7 surname + given only.
    name_shape = rng.choice(8, size=nb, p=[0.82, 0.06, 0.03, 0.01, 0.02, 0.02, 0.02, 0.02])
    names = np.empty(nb, dtype=object)
    for i, ((s, m, g), shape, f) in enumerate(zip(parts, name_shape.tolist(), female.tolist())):
        full = f"{s} {m} {g}"
        if shape == 0:
            names[i] = full
        elif shape == 1:
            names[i] = _unaccent(full)
        elif shape == 2:
            names[i] = full.upper()
        elif shape == 3:
            names[i] = full.lower()
        elif shape == 4:
            names[i] = f"{'Chị' if f else 'Anh'} {g}"
        elif shape == 5:
            names[i] = f" {s}  {m} {g} "
        elif shape == 6:
            names[i] = unicodedata.normalize("NFD", full)
        else:
            names[i] = f"{s} {g}"
    return parts, female, names


def _companies(rng: np.random.Generator, nb: int) -> dict[str, np.ndarray]:
    """A pool of companies (several contacts may work at one) and each person's, as typed.

    Keys: `company` (text per person, None = none), `has_comp`, `comp_i` (pool index),
    `core` (the name without legal form) and `domain` (None for shops, which use free mail).
    """
    m_comp = max(10, nb // 3)
    c_trade = rng.integers(0, len(_TRADE), size=m_comp)
    c_sector = rng.integers(0, len(_SECTOR), size=m_comp)
    c_kind = rng.random(m_comp)  # < 0.18 shop
    c_shop = rng.integers(0, len(_SHOPS), size=m_comp)
    form_vals, form_p = _p(_FORMS)
    c_form = rng.choice(len(form_vals), size=m_comp, p=form_p)
    c_tld = rng.integers(0, len(_TLDS), size=m_comp)
    core = np.empty(m_comp, dtype=object)
    comp_text = np.empty(m_comp, dtype=object)
    domain = np.empty(m_comp, dtype=object)
    for j in range(m_comp):
        trade = _TRADE[c_trade[j]]
        if c_kind[j] < 0.18:
            core[j] = _SHOPS[c_shop[j]].format(t=trade)
            comp_text[j] = core[j]
            domain[j] = None
        else:
            with_sector = c_kind[j] < 0.75
            core[j] = f"{_SECTOR[c_sector[j]]} {trade}" if with_sector else trade
            form = form_vals[c_form[j]]
            comp_text[j] = form.format(c=core[j], C=core[j].upper())
            domain[j] = _slug(trade) + _TLDS[c_tld[j]]
    zipf = 1.0 / np.arange(1, m_comp + 1) ** 0.6
    has_comp = rng.random(nb) < 0.68
    comp_i = rng.choice(m_comp, size=nb, p=zipf / zipf.sum())
    company = np.where(has_comp, comp_text[comp_i], None)
    # A rep sometimes types the company in a different form.
    retype = has_comp & (rng.random(nb) < 0.05) & np.array([d is not None for d in domain[comp_i]])
    for i in np.flatnonzero(retype).tolist():
        company[i] = _DUPE_FORMS[i % len(_DUPE_FORMS)].format(c=core[comp_i[i]])
    return {"company": company, "has_comp": has_comp, "comp_i": comp_i, "core": core, "domain": domain}


def _emails(rng: np.random.Generator, parts: list[tuple[str, str, str]],
            co: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Who has an email, and the address: work domain or free mail, distinct per person."""
    nb = len(parts)
    has_comp, comp_i, domain = co["has_comp"], co["comp_i"], co["domain"]
    has_email = rng.random(nb) < 0.80
    email_pat = rng.integers(0, 6, size=nb)
    email_num = rng.integers(1, 1000, size=nb)
    birth_yy = rng.integers(70, 100 + 6, size=nb) % 100
    free_vals, free_p = _p(_FREEMAIL)
    free_i = rng.choice(len(free_vals), size=nb, p=free_p)
    use_work = has_comp & (rng.random(nb) < 0.55)
    email_upper = rng.random(nb) < 0.03
    emails = np.full(nb, None, dtype=object)
    for i in np.flatnonzero(has_email).tolist():
        s, m, g = (_slug(x) for x in parts[i])
        pat = email_pat[i]
        dom = domain[comp_i[i]] if use_work[i] else None
        if dom:
            local = (f"{g}.{s}", f"{g}{s[0]}{m[0]}", f"{g}", f"{s}.{g}", f"{g}{s}", f"{g}.{s[0]}{m[0]}")[pat]
        else:
            dom = free_vals[free_i[i]]
            local = (
                f"{g}{s}{birth_yy[i]:02d}",
                f"{g}.{s}{email_num[i] if email_num[i] % 3 == 0 else ''}",
                f"{s}{m}{g}",
                f"{g}{s[0]}{m[0]}{email_num[i]}",
                f"{s}.{g}{birth_yy[i]:02d}",
                f"{g}{m}{s}{email_num[i] % 100}",
            )[pat]
        e = f"{local}@{dom}"
        emails[i] = e.upper() if email_upper[i] else e
    # Two different people never share an address: suffix collisions with the row number.
    seen: dict[str, int] = {}
    for i in np.flatnonzero(has_email).tolist():
        key = emails[i].lower()
        if key in seen:
            local, dom = emails[i].split("@", 1)
            emails[i] = f"{local}{i}@{dom}"
            key = emails[i].lower()
        seen[key] = i
    return has_email, emails


def _phones(rng: np.random.Generator, has_email: np.ndarray, has_comp: np.ndarray) -> dict[str, np.ndarray]:
    """Distinct national numbers (mobile, some company landlines) and how each is typed.

    Keys: `phones` (as typed, None = blank), `nat` (national digits), `landline`, `shape`.
    """
    nb = len(has_email)
    mw = np.asarray(_MOBILE_W, float)
    landline = has_comp & (rng.random(nb) < 0.05)
    pre_i = rng.choice(len(_MOBILE), size=nb, p=mw / mw.sum())
    subscriber = rng.integers(0, 10_000_000, size=nb)
    ll_i = rng.integers(0, len(_LANDLINE), size=nb)
    ll_sub = rng.integers(2_000_000, 4_000_000, size=nb)
    nat = np.empty(nb, dtype=object)
    used: set[str] = set()
    for i in range(nb):
        if landline[i]:
            area = _LANDLINE[ll_i[i]]
            width = 10 - len(area)  # total 11 digits with the leading 0
            num = f"0{area}{ll_sub[i] % 10**width:0{width}d}"
            if len(area) == 2:  # big cities: 8-digit subscriber numbers starting with 3
                num = f"0{area}3{ll_sub[i] % 10**7:07d}"
        else:
            num = f"0{_MOBILE[pre_i[i]]}{subscriber[i]:07d}"
        while num in used:  # distinct people, distinct numbers
            num = num[:-4] + f"{(int(num[-4:]) + 7919) % 10000:04d}"
        used.add(num)
        nat[i] = num
    shape_p = np.asarray(_PHONE_SHAPE_P, float)
    phone_shape = rng.choice(len(_PHONE_SHAPE_P), size=nb, p=shape_p / shape_p.sum())
    phone_blank = has_email & (rng.random(nb) < 0.10)
    phones = np.full(nb, None, dtype=object)
    for i in np.flatnonzero(~phone_blank).tolist():
        phones[i] = (_fmt_landline if landline[i] else _fmt_phone)(nat[i], phone_shape[i])
    return {"phones": phones, "nat": nat, "landline": landline, "shape": phone_shape}


def _assignment(rng: np.random.Generator, nb: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Owner, product and source; a few website leads nobody has picked up yet."""
    owners = _pick(rng, _OWNERS, nb)
    products = _pick(rng, _PRODUCTS, nb)
    sources = _pick(rng, _SOURCES, nb)
    unassigned = (sources == "Website") & (rng.random(nb) < 0.05)
    owners[unassigned] = None
    return owners, products, sources


def _activity(rng: np.random.Generator, nb: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Days since creation, status index, days since last contact and which are blank."""
    # More leads recently (the team grows): days ago over ~10 months.
    days_ago = np.floor(300 * (1 - np.sqrt(rng.random(nb)))).astype(np.int64)
    recent = days_ago < 21
    u = rng.random(nb)
    c_recent = np.cumsum(_STATUS_P_RECENT) / sum(_STATUS_P_RECENT)
    c_older = np.cumsum(_STATUS_P_OLDER) / sum(_STATUS_P_OLDER)
    status_i = np.where(recent, np.searchsorted(c_recent, u, side="right"),
                        np.searchsorted(c_older, u, side="right"))
    status_i = np.minimum(status_i, len(_STATUS_KEYS) - 1)

    # last contact: after creation, never after today; new leads often untouched
    span = np.maximum(days_ago, 0)
    since = np.minimum(np.floor(rng.exponential(20, nb)).astype(np.int64) + 1, span)
    since[status_i == 0] = np.minimum(rng.integers(0, 3, nb), span)[status_i == 0]
    last_days_ago = days_ago - since
    last_blank = ((status_i == 0) & (rng.random(nb) < 0.55)) | (rng.random(nb) < 0.03)
    return days_ago, status_i, last_days_ago, last_blank


def _pick_special_rows(rng: np.random.Generator, days_ago: np.ndarray, n_dup: int,
                       n_inv: int) -> tuple[np.ndarray, np.ndarray]:
    """Base rows to type again as duplicates, and other base rows to break."""
    dup_src = np.empty(0, dtype=np.int64)
    inv_rows = np.empty(0, dtype=np.int64)
    if n_dup or n_inv:
        eligible = np.flatnonzero(days_ago >= 2)
        picked = rng.permutation(eligible)
        dup_src = np.sort(picked[:n_dup])
        inv_rows = picked[n_dup:n_dup + n_inv]
    return dup_src, inv_rows


def _duplicates(rng: np.random.Generator, dup_src: np.ndarray, base: dict[str, np.ndarray],
                parts: list[tuple[str, str, str]], co: dict[str, np.ndarray],
                ph: dict[str, np.ndarray]) -> tuple[dict[str, np.ndarray], list[int]]:
    """Earlier people typed again in another shape: the duplicates' columns (keys of `base`)
    and which of them another owner picked up (collisions)."""
    D = len(dup_src)
    d = {k: base[k][dup_src].copy() for k in ("names", "company", "emails", "phones", "owner", "product", "source")}
    d_days = np.array([rng.integers(0, x) for x in base["days"][dup_src].tolist()], dtype=np.int64)
    d["days"] = d_days
    d["status_i"] = rng.choice([0, 0, 0, 1, 1, 2, 3], size=D)
    r = rng.random((D, 6))
    redraw_product = _pick(rng, _PRODUCTS, D)
    redraw_source = _pick(rng, _SOURCES, D)
    phones, emails, owners, company = base["phones"], base["emails"], base["owner"], base["company"]
    nat, landline, phone_shape = ph["nat"], ph["landline"], ph["shape"]
    core, domain, comp_i = co["core"], co["domain"], co["comp_i"]
    collisions_d = []
    owner_vals = [o for o, _ in _OWNERS]
    for k, src in enumerate(dup_src.tolist()):
        s, m, g = parts[src]
        full = f"{s} {m} {g}"
        x = r[k]
        d["names"][k] = _unaccent(full) if x[0] < 0.4 else full.upper() if x[0] < 0.5 else full
        has_p, has_e = phones[src] is not None, emails[src] is not None
        if has_p and not landline[src]:
            if x[1] < 0.25 and nat[src][:3] in _NEW_TO_OLD:
                d["phones"][k] = _fmt_phone(nat[src], 9)
            elif x[1] < 0.75:
                d["phones"][k] = _fmt_phone(nat[src], (phone_shape[src] + 1 + int(x[1] * 100) % 8) % 9)
            elif x[1] < 0.85 and has_e:
                d["phones"][k] = None
        if has_e:
            if x[2] < 0.4:
                d["emails"][k] = emails[src].upper()
            elif x[2] < 0.5 and d["phones"][k] is not None:
                d["emails"][k] = None
        if company[src] is not None and domain[comp_i[src]] is not None and x[3] < 0.6:
            d["company"][k] = _DUPE_FORMS[int(x[3] * 100) % len(_DUPE_FORMS)].format(c=core[comp_i[src]])
        if x[4] < 0.35 and owners[src] is not None:  # another rep picks the same person up
            d["owner"][k] = owner_vals[(owner_vals.index(owners[src]) + 1 + int(x[4] * 100) % 5) % 6]
            collisions_d.append(k)
        if x[5] < 0.5:
            d["product"][k] = redraw_product[k]
            d["source"][k] = redraw_source[k]
    d_since = np.minimum(rng.integers(0, 4, D), d_days)
    d["last_days"] = d_days - d_since
    d["last_blank"] = rng.random(D) < 0.5
    return d, collisions_d


def _typed_statuses(rng: np.random.Generator, status_i: np.ndarray) -> np.ndarray:
    """The status text as typed: mostly the label, some variants, a few blanks (initial)."""
    N = len(status_i)
    label = np.array([_STATUS_TEXT[k][0] for k in _STATUS_KEYS], dtype=object)
    status = label[status_i]
    variant = rng.random(N) < 0.12
    v_pick = rng.integers(0, 1 << 20, N)
    for i in np.flatnonzero(variant).tolist():
        vs = _STATUS_TEXT[_STATUS_KEYS[status_i[i]]][1]
        status[i] = vs[v_pick[i] % len(vs)]
    status[(status_i == 0) & (rng.random(N) < 0.04)] = None  # blank -> initial status
    return status


def _reasons(rng: np.random.Generator, status_i: np.ndarray) -> np.ndarray:
    """A typed reason for each lead in a status that takes one."""
    reason = np.full(len(status_i), None, dtype=object)
    for key, pairs in (("rejected", _REASONS_REJECTED), ("not_closed", _REASONS_NOT_CLOSED),
                       ("nurture", _REASONS_NURTURE), ("unreachable", _REASONS_UNREACHABLE),
                       ("disqualified", _REASONS_DISQUALIFIED)):
        rows = np.flatnonzero(status_i == _STATUS_KEYS.index(key))
        if len(rows):
            reason[rows] = _pick(rng, pairs, len(rows))
    return reason


def _notes(rng: np.random.Generator, N: int, D: int, nb: int) -> np.ndarray:
    """Free notes on some rows; some duplicates say why they were typed again."""
    notes = np.full(N, None, dtype=object)
    has_note = rng.random(N) < 0.28
    notes[has_note] = np.array(_NOTES, dtype=object)[rng.integers(0, len(_NOTES), has_note.sum())]
    dn = np.flatnonzero(rng.random(D) < 0.3) + nb
    notes[dn] = np.array(_DUPE_NOTES, dtype=object)[rng.integers(0, len(_DUPE_NOTES), len(dn))]
    return notes


def _break_rows(rng: np.random.Generator, inv_rows: np.ndarray, A: dict[str, np.ndarray],
                parts: list[tuple[str, str, str]]) -> tuple[dict[str, list[int]], np.ndarray]:
    """Break `inv_rows` (base rows only, never an original of a duplicate), one
    `INVALID_KINDS` each, in `A`; returns the rows per kind and the days-ago to write."""
    invalid: dict[str, list[int]] = {k: [] for k in INVALID_KINDS}
    created_days = A["days"].copy()  # what is written (future for one kind)
    kinds = rng.permutation(np.arange(len(inv_rows)) % len(INVALID_KINDS))
    for row, kind_i in zip(inv_rows.tolist(), kinds.tolist()):
        kind = INVALID_KINDS[kind_i]
        invalid[kind].append(row)
        x = rng.random()
        if kind == "no_name":
            A["names"][row] = None
        elif kind == "no_contact":
            A["emails"][row] = None
            A["phones"][row] = None
        elif kind == "bad_email":
            local = _slug(parts[row][2]) + _slug(parts[row][0])
            A["emails"][row] = ("abc@", f"{local}@", f"{local}gmail.com", f"{local}@gmail")[int(x * 4)]
        elif kind == "bad_phone":
            A["phones"][row] = ("12345", "0912 34", "999", "09123")[int(x * 4)]
        elif kind == "future_date":
            created_days[row] = -int(3 + x * 60)
            A["last_blank"][row] = True
        elif kind == "error_value":
            col = int(x * 4)
            val = "#N/A" if x * 8 % 2 < 1 else "#REF!"
            A[("phones", "emails", "company", "product")[col]][row] = val
        else:
            A["status"][row] = _UNKNOWN_STATUS[int(x * len(_UNKNOWN_STATUS))]
    return invalid, created_days


def _finish(rng: np.random.Generator, A: dict[str, np.ndarray], header: list, t0: int,
            created_days: np.ndarray, reason: np.ndarray, recontact_ord: tuple[np.ndarray, np.ndarray],
            nb: int, dup_src: np.ndarray, invalid: dict[str, list[int]], collisions_d: list[int]) -> DemoData:
    """Order by creation (oldest first), render dates, give ids to the older rows, plant the
    formula-looking note, and map the ground truth to final row positions."""
    N = len(A["days"])
    order = np.argsort(-A["days"], kind="stable")  # base rows precede their duplicates
    pos = np.empty(N, dtype=np.int64)
    pos[order] = np.arange(N)

    created_fmt = _date_formats(rng, N, blank=0.015)
    created = _render_dates(t0 - created_days, created_fmt)
    last = _render_dates(t0 - A["last_days"], _date_formats(rng, N, blank=0.0))
    last[A["last_blank"]] = None
    recontact = _render_dates(*recontact_ord)

    n_ids = N - max(1, round(N * 0.08))
    gaps = 1 + (rng.random(N) < 0.01)  # deleted rows leave gaps in the sequence
    lead_id = np.full(N, None, dtype=object)
    ids_in_order = np.cumsum(gaps)[:n_ids]
    lead_id[order[:n_ids]] = [f"KH-{k:06d}" for k in ids_in_order.tolist()]

    # one web-form lead whose note looks like a formula: it must stay text
    notes = A["notes"]
    web = np.flatnonzero(A["source"][order] == "Website")
    formula_pos = int(web[len(web) // 2]) if len(web) else N // 2
    if not len(web):
        A["source"][order[formula_pos]] = "Website"
    notes[order[formula_pos]] = FORMULA_NOTE

    cols = [lead_id, A["names"], A["company"], A["emails"], A["phones"], A["owner"], A["product"], A["source"],
            A["status"], created, last, reason, notes, recontact]
    cols = [c[order].tolist() for c in cols]
    grid = [header]
    grid.extend(map(list, zip(*cols)))

    dup_map = {int(pos[nb + k]): int(pos[src]) for k, src in enumerate(dup_src.tolist())}
    return DemoData(
        grid=grid,
        invalid={k: sorted(int(pos[r]) for r in v) for k, v in invalid.items()},
        duplicates=dict(sorted(dup_map.items())),
        collisions=sorted(int(pos[nb + k]) for k in collisions_d),
        formula_row=formula_pos,
    )


# ------------------------------------------------------------------ workbook

_WIDTHS = {
    "lead_id": 11, "name": 24, "company": 36, "email": 32, "phone": 17, "owner": 14,
    "product": 20, "source": 13, "status": 15, "created_at": 12, "last_contact": 14,
    "reason": 34, "notes": 40, "recontact_on": 14,
}


def write_demo_workbook(
    path: str | Path,
    n: int = 600,
    seed: int = 7,
    today: _dt.date | None = None,
    headers: Mapping[str, str] | None = None,
    title: str | None = None,
) -> Path:
    """Write the demo grid as an .xlsx with one leads tab (`Khách hàng`).

    Bold, frozen header row with a filter; real dates formatted dd/mm/yyyy; every other
    value is a text cell (phones keep their leading 0, the formula-looking web-form note
    stays text, `#N/A`/`#REF!` are error cells as a broken formula would leave them).
    Write-only mode, so 100k rows take seconds."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Alignment, Font
    from openpyxl.utils import get_column_letter

    grid = generate_leads(n, seed, today, headers)
    path = Path(path)
    columns = demo_columns()
    wb = Workbook(write_only=True)
    ws = wb.create_sheet(title or load_tab(SCHEMA_DIR / "leads.toml").title)
    for j, col in enumerate(columns, 1):
        dim = ws.column_dimensions[get_column_letter(j)]
        dim.width = _WIDTHS.get(col.key, 16)
        # New cells a person types later: dates as dates, phones and ids as text.
        if col.type == "date":
            dim.number_format = DATE_FORMAT
        elif col.type in ("phone", "id"):
            dim.number_format = "@"
    ws.freeze_panes = "A2"
    ws.auto_filter.ref = f"A1:{get_column_letter(len(columns))}{len(grid)}"

    bold = Font(bold=True)
    middle = Alignment(vertical="center")
    head = []
    for h in grid[0]:
        c = WriteOnlyCell(ws, value=h)
        c.font = bold
        c.alignment = middle
        head.append(c)
    ws.append(head)

    date_type = _dt.date
    for row in grid[1:]:
        out = row
        for j, v in enumerate(row):
            if isinstance(v, date_type) or (v.__class__ is str and v[:1] == "="):
                if out is row:
                    out = list(row)
                c = WriteOnlyCell(ws, value=v)
                if c.data_type == "f":  # text from a person/web form is never a formula
                    c.data_type = "s"
                else:
                    c.number_format = DATE_FORMAT
                out[j] = c
        ws.append(out)
    path.parent.mkdir(parents=True, exist_ok=True)
    wb.save(path)
    return path


# The demo team: the owners above, each with an address on a reserved domain (nothing is
# delivered there), and a manager, so `notify --outbox` shows every kind of digest.
DEMO_MANAGER = "Trang"


def demo_team_rows() -> list[dict[str, str]]:
    """Rows of the team tab (column key → text) for the demo's reps and their manager."""
    rows = [{"name": name, "email": f"{_slug(name)}@example.com", "role": "Nhân viên kinh doanh",
             "active": "có"} for name, _ in _OWNERS]
    rows.append({"name": DEMO_MANAGER, "email": f"{_slug(DEMO_MANAGER)}@example.com", "role": "Trưởng nhóm",
                 "active": "có"})
    return rows


# Monthly spend of the paid channels, VND (low, high): what a small team's ads cost.
_SPEND = {"Facebook": (8_000_000, 15_000_000), "Google Ads": (6_000_000, 12_000_000),
          "Zalo": (3_000_000, 6_000_000), "Hội thảo": (0, 20_000_000), "Website": (1_500_000, 2_500_000)}


def write_demo_costs(path: str | Path, first: _dt.date, last: _dt.date, seed: int = 7,
                     language: str = "vi") -> None:
    """A `Chi phí` (*Costs*) tab as a team keeps it: one row per month and paid source,
    from `first`'s month to `last`'s, for the overview's cost review."""
    from openpyxl import load_workbook

    rng = np.random.default_rng(seed * 31 + 5)
    en = language == "en"
    wb = load_workbook(path)
    ws = wb.create_sheet("Costs" if en else "Chi phí")
    ws.append(["Month", "Source", "Cost"] if en else ["Tháng", "Nguồn", "Chi phí"])
    y, m = first.year, first.month
    while (y, m) <= (last.year, last.month):
        for source, (low, high) in _SPEND.items():
            amount = round(rng.uniform(low, high), -5)
            if amount:  # no seminar that month
                ws.append([f"{m:02d}/{y}", source, int(amount)])
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    for col, width in zip("ABC", (10, 16, 14)):
        ws.column_dimensions[col].width = width
    wb.save(path)


def write_demo_team(path: str | Path, title: str, headers: Mapping[str, str]) -> None:
    """Fill the (empty) team tab `title` of the demo workbook; `headers`: column key → header."""
    from openpyxl import load_workbook

    wb = load_workbook(path)
    ws = wb[title]
    col = {c.value: c.column for c in ws[1] if c.value}
    for i, row in enumerate(demo_team_rows(), start=2):
        for key, value in row.items():
            ws.cell(i, col[headers[key]], value)
    wb.save(path)

