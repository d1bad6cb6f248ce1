"""Seeded generator of labelled Vietnamese leads for the dedupe benchmark and tests.

`generate_leads(n, seed)` returns (records, person_id): the `find_duplicates` input frame
and the true person behind each row. About 28% of people are typed in more than once,
each copy perturbed the way reps do it:
- phone in another shape (spaces, dots, dashes, parentheses, +84, 84, 0084, "+84 0",
  typed as a number so the leading 0 is lost) or in its pre-2018 11-digit form;
- email upper-cased or padded; one key left out; a new personal email or phone;
- name without accents (đ -> d too), in capitals, decomposed (macOS), extra spaces,
  one-letter typo, middle name dropped; company with another legal form or none;
- another rep as owner (a collision).
Look-alikes that are NOT duplicates: Vietnamese names repeat a lot on their own, plus
explicit namesakes (same full name, often the same company, different phone), and
switchboard numbers / `info@` inboxes shared by many employees of one company.
"""

from __future__ import annotations

import unicodedata

import numpy as np
import pandas as pd

FAMILY = ["Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Huỳnh", "Phan", "Vũ", "Võ", "Đặng", "Bùi",
          "Đỗ", "Hồ", "Ngô", "Dương", "Lý", "Đinh", "Trương", "Lâm", "Mai", "Tô", "Hà", "Cao",
          "Đoàn", "Lương", "Trịnh", "Quách", "Tạ", "Châu", "Đào"]
FAMILY_W = np.array([38, 11, 9.5, 7, 5, 4, 4.5, 3.9, 3, 2.1, 2, 1.4, 1.3, 1.3, 1, .5, .6, .5,
                     .5, .5, .3, .4, .4, .4, .3, .3, .2, .2, .2, .3])
MIDDLE_M = ["Văn", "Đức", "Minh", "Quang", "Hữu", "Thành", "Công", "Xuân", "Ngọc", "Anh", "Tuấn",
            "Hoàng", "Gia", "Bảo", "Trọng"]
MIDDLE_F = ["Thị", "Ngọc", "Thu", "Thanh", "Minh", "Phương", "Hồng", "Kim", "Bảo", "Mai", "Thùy",
            "Khánh", "Diệu", "Quỳnh", "Hoài"]
GIVEN_M = ["An", "Anh", "Bình", "Cường", "Dũng", "Đạt", "Đông", "Đức", "Duy", "Hải", "Hiếu", "Hòa",
           "Hoàng", "Hùng", "Huy", "Khang", "Khánh", "Khoa", "Kiên", "Lâm", "Long", "Lộc", "Luân",
           "Minh", "Nam", "Nghĩa", "Nhân", "Phát", "Phong", "Phúc", "Quân", "Quang", "Sơn", "Tài",
           "Tâm", "Thắng", "Thành", "Thiện", "Thịnh", "Toàn", "Trí", "Trung", "Tuấn", "Tùng",
           "Việt", "Vinh", "Vũ", "Bảo", "Đăng", "Hưng"]
GIVEN_F = ["An", "Anh", "Chi", "Dung", "Giang", "Hà", "Hạnh", "Hằng", "Hiền", "Hoa", "Hương",
           "Huyền", "Lan", "Linh", "Loan", "Ly", "Mai", "My", "Nga", "Ngân", "Ngọc", "Nhi", "Nhung",
           "Oanh", "Phương", "Quyên", "Quỳnh", "Tâm", "Thảo", "Thu", "Thủy", "Thư", "Trang", "Trinh",
           "Tuyết", "Uyên", "Vân", "Vy", "Xuân", "Yến", "Diệp", "Đào", "Hậu", "Khuê", "Liên", "Mơ",
           "Nguyệt", "Sương", "Tiên", "Ánh"]
WORDS = ["Đại Phát", "Minh Long", "Hoàng Gia", "Thành Công", "Phú Thịnh", "An Khang", "Việt Tiến",
         "Tân Á", "Sài Gòn", "Hà Nội", "Đông Á", "Bình Minh", "Kim Ngân", "Phương Nam", "Hưng Thịnh",
         "Thiên Long", "Nam Việt", "Trường Sơn", "Hải Âu", "Sao Mai", "Ánh Dương", "Đất Việt",
         "Hồng Hà", "Cửu Long", "Thái Bình", "Toàn Cầu", "Vạn Xuân", "Lạc Hồng", "Phúc An",
         "Quang Minh", "Tiến Phát", "Hòa Bình", "Thanh Xuân", "Bắc Nam", "Đức Tài", "Kim Long",
         "Mỹ Hưng", "Tường An", "Gia Phú", "Vĩnh Thịnh"]
TRADE = ["Thương mại", "Xây dựng", "Công nghệ", "Dịch vụ", "Vận tải", "Thực phẩm", "Du lịch",
         "Đầu tư", "Sản xuất", "Nội thất", "Dược phẩm", "Giáo dục", "Bất động sản", "In ấn",
         "Logistics", "Phần mềm", "May mặc", "Cơ khí", "Điện máy", "Nông sản"]
FORMS = ["Công ty TNHH", "Công ty CP", "Công ty cổ phần", "Cty", "Cty TNHH", "CÔNG TY TNHH MTV",
         "", ""]
SUFFIX_FORMS = ["JSC", "Co., Ltd", "Company Limited"]
OWNERS = ["Hà", "Minh", "Lan", "Tuấn", "Ngọc", "Phong", "Thảo", "Quân", "Vy", "Sơn", "Trang", "Khoa"]
NEW_PREFIXES = ["032", "033", "034", "035", "036", "037", "038", "039", "070", "076", "077",
                "078", "079", "081", "082", "083", "084", "085", "086", "088", "089", "090",
                "091", "093", "094", "096", "097", "098", "056", "058", "059"]
TO_OLD = {"03" + d: "016" + d for d in "23456789"} | {
    "070": "0120", "079": "0121", "077": "0122", "076": "0126", "078": "0128", "083": "0123",
    "084": "0124", "085": "0125", "081": "0127", "082": "0129", "056": "0186", "058": "0188",
    "059": "0199"}
DOMAINS = ["gmail.com", "yahoo.com", "outlook.com", "gmail.com", "gmail.com", "hotmail.com"]


def strip_accents(s: str) -> str:
    s = s.replace("đ", "d").replace("Đ", "D")
    return "".join(c for c in unicodedata.normalize("NFD", s) if not unicodedata.combining(c))


def _phone_shape(national: str, rng: np.random.Generator) -> object:
    """One of the shapes a 10-digit national number (0xxxxxxxxx) is typed in."""
    if len(national) == 11 and rng.random() < 0.5:
        return national  # old 11-digit form, plain
    d = national[1:]
    k = rng.integers(0, 10)
    if k == 0:
        return f"{national[:4]} {national[4:7]} {national[7:]}"
    if k == 1:
        return f"{national[:4]}.{national[4:7]}.{national[7:]}"
    if k == 2:
        return f"{national[:4]}-{national[4:7]}-{national[7:]}"
    if k == 3:
        return f"+84 {d[:3]} {d[3:6]} {d[6:]}"
    if k == 4:
        return "84" + d
    if k == 5:
        return "0084" + d
    if k == 6:
        return "+84 0" + d
    if k == 7:
        return float(int(national))  # typed as a number: leading 0 lost
    if k == 8:
        return f"({national[:3]}) {national[3:6]} {national[6:]}"
    return national


def _typo(s: str, rng: np.random.Generator) -> str:
    words = s.split(" ")
    w = int(rng.integers(0, len(words)))
    word = words[w]
    if len(word) < 3:
        return s
    p = int(rng.integers(1, len(word)))
    k = rng.integers(0, 3)
    letters = "abcdeghiklmnopqrstuvy"
    if k == 0:
        word = word[:p] + word[p + 1:]
    elif k == 1:
        word = word[:p] + letters[rng.integers(0, len(letters))] + word[p + 1:]
    else:
        word = word[:p] + word[p] + word[p:]
    words[w] = word
    return " ".join(words)


def _name_shape(name: str, rng: np.random.Generator, typo: bool) -> str:
    r = rng.random()
    if r < 0.35:
        name = strip_accents(name)
    if rng.random() < 0.2:
        name = name.upper() if rng.random() < 0.5 else name.lower()
    if typo and rng.random() < 0.10:
        name = _typo(name, rng)
    if typo and rng.random() < 0.04 and name.count(" ") >= 2:
        parts = name.split(" ")
        name = " ".join([parts[0], parts[-1]])  # middle name dropped
    if rng.random() < 0.08:
        name = name.replace(" ", "  ", 1) + " "
    if rng.random() < 0.10:
        name = unicodedata.normalize("NFD", name)
    return name


def _company_shape(core: str, rng: np.random.Generator) -> str:
    if rng.random() < 0.15:
        name = f"{core} {SUFFIX_FORMS[rng.integers(0, len(SUFFIX_FORMS))]}"
    else:
        name = f"{FORMS[rng.integers(0, len(FORMS))]} {core}".strip()
    if rng.random() < 0.3:
        name = strip_accents(name)
    if rng.random() < 0.15:
        name = name.upper()
    return name


def generate_leads(n_rows: int, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(seed)
    n_people = int(n_rows / 1.2) + 10  # enough people; the loop stops at n_rows
    n_comp = max(n_people // 6, 10)
    # Companies: "<trade> <word>", a few with a switchboard number and an info@ inbox.
    comp_core = [f"{TRADE[rng.integers(0, len(TRADE))]} {WORDS[rng.integers(0, len(WORDS))]}"
                 + (f" {rng.integers(1, 99)}" if rng.random() < 0.6 else "")
                 for _ in range(n_comp)]
    # Company sizes are skewed (low indexes are big); the biggest 2% have a switchboard.
    switchboard = {c: f"028{rng.integers(10**7, 10**8)}" for c in range(max(n_comp // 50, 1))}
    fw = FAMILY_W / FAMILY_W.sum()
    phone_ids = rng.choice(10**7, size=n_people, replace=False)
    rows: list[dict] = []
    person: list[int] = []
    people = []
    for p in range(n_people):
        female = rng.random() < 0.5
        mid, giv = (MIDDLE_F, GIVEN_F) if female else (MIDDLE_M, GIVEN_M)
        name = f"{FAMILY[rng.choice(len(FAMILY), p=fw)]} {mid[rng.integers(0, len(mid))]} " \
               f"{giv[rng.integers(0, len(giv))]}"
        comp = int(n_comp * rng.random() ** 1.5) if rng.random() < 0.7 else -1
        if people and rng.random() < 0.03:  # namesake: another person's name, maybe same company
            other = people[int(rng.integers(0, len(people)))]
            name = other["name"]
            if rng.random() < 0.3:
                comp = other["comp"]
        prefix = NEW_PREFIXES[rng.integers(0, len(NEW_PREFIXES))]
        phone = f"{prefix}{phone_ids[p]:07d}"
        has_phone = rng.random() < 0.92
        has_email = rng.random() < 0.55 or not has_phone
        ascii_name = strip_accents(name).lower().split(" ")
        email = f"{ascii_name[-1]}.{ascii_name[0]}{p}@{DOMAINS[rng.integers(0, len(DOMAINS))]}"
        if comp in switchboard and rng.random() < 0.6:
            phone, has_phone = switchboard[comp], True  # only the company's number known
            if rng.random() < 0.3:
                email, has_email = f"info@{strip_accents(comp_core[comp]).lower().replace(' ', '')}.vn", True
        people.append({"name": name, "comp": comp})
        owner = int(rng.integers(0, len(OWNERS)))
        created = pd.Timestamp("2024-01-01") + pd.Timedelta(days=int(rng.integers(0, 700)))
        n_copies = 1 + int(rng.choice(4, p=[0.72, 0.18, 0.07, 0.03]))
        for c in range(n_copies):
            dup = c > 0
            kp, ke = has_phone, has_email
            ph, em = phone, email
            if dup:
                kp = has_phone and rng.random() < 0.85
                ke = has_email and rng.random() < 0.7
                if not (kp or ke):
                    kp, ke = has_phone, has_email and not has_phone
                r = rng.random()
                if r < 0.02:  # a new personal email, the phone not given this time
                    em, ke, kp = f"{ascii_name[-1]}{p}.{c}@gmail.com", True, False
                elif r < 0.04 and ke:  # a new phone, same email
                    ph = f"09{rng.integers(10**7, 10**8)}"
            if ph.startswith("0") and len(ph) == 10 and ph[:3] in TO_OLD and rng.random() < 0.25:
                ph_typed = TO_OLD[ph[:3]] + ph[3:]
            else:
                ph_typed = ph
            rows.append({
                "name": _name_shape(name, rng, dup),
                "company": (_company_shape(comp_core[comp], rng)
                            if comp >= 0 and not (dup and rng.random() < 0.08) else ""),
                "email": ((em.upper() if rng.random() < 0.1 else em) + (" " if rng.random() < 0.05 else ""))
                if ke else "",
                "phone": _phone_shape(ph_typed, rng) if kp else "",
                "owner": OWNERS[owner if not (dup and rng.random() < 0.3)
                                else int(rng.integers(0, len(OWNERS)))],
                "created_at": created + pd.Timedelta(days=int(rng.integers(0, 60)) * dup),
            })
            person.append(p)
            if len(rows) >= n_rows:
                break
        if len(rows) >= n_rows:
            break
    df = pd.DataFrame(rows)
    order = rng.permutation(len(df))
    df = df.iloc[order].reset_index(drop=True)
    truth = np.asarray(person)[order]
    df.insert(0, "lead_id", [f"KH-{i + 1:06d}" for i in range(len(df))])
    df["duplicate_of"] = ""
    df["created_at"] = pd.to_datetime(df["created_at"])
    return df, truth
