"""The demo data generator: realistic, messy, deterministic, and a workbook that reloads."""

from __future__ import annotations

import datetime as dt
import time
from collections import Counter

import pandas as pd
import pytest

from sheetcrm.demo import (
    FORMULA_NOTE,
    INVALID_KINDS,
    demo_headers,
    generate_demo_data,
    generate_leads,
    write_demo_workbook,
)
from sheetcrm.schema import load_schemas
from sheetcrm.sync.normalize import email_status, normalize_email, normalize_phone, phone_status
from sheetcrm.text import fold

TODAY = dt.date(2025, 6, 15)
EXPECTED_HEADERS = [
    "Mã KH", "Tên khách hàng", "Công ty", "Email", "Số điện thoại", "Người phụ trách",
    "Sản phẩm quan tâm", "Nguồn", "Trạng thái", "Ngày tạo", "Ngày liên hệ cuối", "Lý do",
    "Ghi chú", "Ngày liên hệ lại",
]


@pytest.fixture(scope="module")
def schemas():
    return load_schemas()


@pytest.fixture(scope="module")
def data():
    return generate_demo_data(3000, seed=7, today=TODAY)


@pytest.fixture(scope="module")
def frame(data):
    return pd.DataFrame(data.rows, columns=data.header, dtype=object)


def _status_keys(frame, schemas):
    lookup = schemas.chain.lookup()
    return frame["Trạng thái"].map(lambda v: lookup.get(fold(v)) if v is not None else "blank")


def _as_date(v):
    """Parse the forms the generator writes (day first); None when blank."""
    if v is None:
        return None
    if isinstance(v, dt.date):
        return v
    for fmt in ("%d/%m/%Y", "%d/%m/%y", "%Y-%m-%d", "%d-%m-%Y", "%d.%m.%Y"):
        try:
            return dt.datetime.strptime(v, fmt).date()
        except ValueError:
            pass
    raise AssertionError(f"unparseable date {v!r}")


# ------------------------------------------------------------------ shape and determinism


def test_deterministic_per_seed():
    a = generate_leads(400, seed=3, today=TODAY)
    b = generate_leads(400, seed=3, today=TODAY)
    c = generate_leads(400, seed=4, today=TODAY)
    assert a == b
    assert a != c
    assert generate_demo_data(400, 3, TODAY).duplicates == generate_demo_data(400, 3, TODAY).duplicates


def test_header_matches_schema(schemas):
    grid = generate_leads(50, seed=1, today=TODAY)
    assert grid[0] == EXPECTED_HEADERS
    tab = schemas.tab("leads")
    expected = [c.header for c in tab.columns if c.writer != "sync" and not c.optional]
    assert grid[0] == expected
    assert "Trùng với" not in grid[0] and "Lỗi dữ liệu" not in grid[0]
    assert len(grid) == 51 and all(len(r) == len(grid[0]) for r in grid)


def test_configured_headers():
    grid = generate_leads(10, seed=1, today=TODAY, headers={"name": "Họ tên", "phone": "SĐT"})
    assert grid[0][1] == "Họ tên" and grid[0][4] == "SĐT"
    assert demo_headers({"leads": {"email": "Mail"}})[3] == "Mail"


def test_small_and_empty():
    assert generate_leads(0, today=TODAY) == [EXPECTED_HEADERS]
    assert len(generate_leads(5, today=TODAY)) == 6


def test_cells_are_raw_values(frame):
    for col in frame.columns:
        for v in frame[col]:
            assert v is None or type(v) in (str, dt.date), (col, v)


# ------------------------------------------------------------------ realism


def test_names_companies_and_people(frame):
    names = frame["Tên khách hàng"].dropna()
    assert names.str.contains("Nguyễn").mean() > 0.2
    assert names.map(lambda s: s != fold(s) and any(ord(c) > 127 for c in s)).mean() > 0.7
    assert names.str.match(r"^[A-Za-z ]+$").any()  # typed without accents
    assert names.map(lambda s: s.isupper()).any()  # upper case
    company = frame["Công ty"]
    assert 0.15 < company.isna().mean() < 0.5  # individuals
    assert company.dropna().str.startswith("Công ty TNHH").any()
    assert company.dropna().str.startswith("Cty CP").any()
    assert company.dropna().str.endswith("JSC").any()
    owners = Counter(frame["Người phụ trách"].dropna())
    assert 5 <= len(owners) <= 6
    assert set(frame["Nguồn"].dropna()) >= {"Facebook", "Zalo", "Website", "Giới thiệu",
                                             "Hội thảo", "Google Ads", "Cold call"}
    assert set(frame["Sản phẩm quan tâm"].dropna()) >= {"Gói Cơ bản", "Gói Chuyên nghiệp",
                                                          "Gói Doanh nghiệp", "Tư vấn triển khai"}


def test_contacts(frame, data):
    email = frame["Email"]
    phone = frame["Số điện thoại"]
    assert 0.6 < email.notna().mean() < 0.9
    assert 0.8 < phone.notna().mean() < 0.97
    assert email.dropna().str.endswith("@gmail.com").mean() > 0.3
    assert email.dropna().map(lambda s: s.isupper()).any()
    invalid = {r for rows in data.invalid.values() for r in rows}
    ok = [i for i in frame.index if i not in invalid]
    # every valid row has a phone or an email, and what is there is valid
    assert (phone[ok].notna() | email[ok].notna()).all()
    assert set(phone_status(phone[ok])) <= {"valid", "empty"}
    assert set(email_status(email[ok])) <= {"valid", "empty"}
    # distinct people never share a number or an address by accident
    distinct = [i for i in frame.index if i not in data.duplicates]
    assert not normalize_phone(phone[distinct]).dropna().duplicated().any()
    assert not normalize_email(email[distinct]).dropna().duplicated().any()


def test_phones_are_text_in_mixed_shapes(frame):
    phones = frame["Số điện thoại"].dropna()
    assert all(isinstance(p, str) for p in phones)
    shapes = {
        "spaced": r"^0\d{3} \d{3} \d{3}$",
        "plain": r"^0\d{9}$",
        "dotted": r"^0\d{3}\.\d{3}\.\d{3}$",
        "+84 spaced": r"^\+84 \d{3} \d{3} \d{3}$",
        "84 plain": r"^84\d{9}$",
        "old 11-digit": r"^01\d{2} ?\d{3} ?\d{4}$|^01\d{9}$",
    }
    for label, pattern in shapes.items():
        assert phones.str.match(pattern).any(), label
    national = phones[phones.str.match(r"^\d")]
    assert national.str.startswith(("0", "84")).mean() > 0.99  # leading 0 kept


def test_dates(frame):
    created = frame["Ngày tạo"]
    kinds = Counter(
        "blank" if v is None else "date" if isinstance(v, dt.date)
        else "dmy" if v.count("/") == 2 and len(v.split("/")[2]) == 4
        else "dmyy" if "/" in v else "iso" if v[4:5] == "-" else "dash" if "-" in v else "dot"
        for v in created
    )
    assert set(kinds) == {"blank", "date", "dmy", "dmyy", "iso", "dash", "dot"}
    assert kinds["blank"] / len(created) < 0.05
    parsed = created.map(_as_date)
    assert (TODAY - parsed.dropna().min()).days > 250  # ~10 months back
    last = frame["Ngày liên hệ cuối"].map(_as_date)
    for c, l in zip(parsed, last):
        if c is not None and l is not None:
            assert c <= l <= TODAY  # contacted after creation, never in the future


def test_lead_ids_old_filled_new_blank(frame):
    ids = frame["Mã KH"]
    n = len(ids)
    assert ids.iloc[: int(n * 0.85)].notna().all()
    assert ids.iloc[-int(n * 0.05):].isna().all()
    assert ids.dropna().str.match(r"^KH-\d{6}$").all()
    assert ids.dropna().is_unique and ids.dropna().is_monotonic_increasing


def test_status_proportions(frame, schemas):
    keys = _status_keys(frame, schemas)
    share = keys.value_counts(normalize=True)
    assert keys.isna().mean() < 0.02  # unknown values: only the invalid rows
    for key in ("new", "researched", "potential", "hot", "won", "rejected", "not_closed",
                "nurture", "unreachable", "disqualified"):
        assert 0.02 < share.get(key, 0) < 0.35, key
    assert 0.15 < share["rejected"] + share["not_closed"] < 0.35
    typed = frame["Trạng thái"].dropna()
    labels = {s.label for s in schemas.chain.statuses}
    assert 0.03 < (~typed.isin(labels)).mean() < 0.3  # variants like 'tiem nang', 'Hot', 'Won'
    assert {"Hot", "Won", "Đã  chốt"} & set(typed)


def test_reasons(frame, schemas):
    keys = _status_keys(frame, schemas)
    needs = frame[keys.isin(["rejected", "not_closed"])]["Lý do"]
    assert 0.01 < needs.isna().mean() < 0.15  # some blank -> the sync flags them
    texts = set(needs.dropna())
    assert {"đắt quá", "dùng bên khác rồi", "không nghe máy", "ngân sách năm sau"} <= texts
    assert any(t.startswith("Khác:") for t in texts)
    labels = {r.label for r in schemas.reasons.reasons}
    assert 0.2 < needs.dropna().isin(labels).mean() < 0.8  # catalogue and free text
    assert frame[keys.isin(["new", "potential", "hot", "won"])]["Lý do"].isna().all()


def test_formula_looking_note_stays_text(frame, data):
    hits = frame.index[frame["Ghi chú"] == FORMULA_NOTE].tolist()
    assert hits == [data.formula_row]
    assert frame.loc[hits[0], "Nguồn"] == "Website"


# ------------------------------------------------------------------ invalid and duplicate rows


def test_invalid_rows(frame, data, schemas):
    rows = [r for kind in INVALID_KINDS for r in data.invalid[kind]]
    assert 0.03 <= len(rows) / len(frame) <= 0.05
    assert len(set(rows)) == len(rows)
    assert all(data.invalid[k] for k in INVALID_KINDS)
    lookup = schemas.chain.lookup()
    for r in data.invalid["no_name"]:
        assert frame.loc[r, "Tên khách hàng"] is None
    for r in data.invalid["no_contact"]:
        assert frame.loc[r, "Email"] is None and frame.loc[r, "Số điện thoại"] is None
    bad_email = frame.loc[data.invalid["bad_email"], "Email"]
    assert (email_status(bad_email) == "invalid").all()
    assert bad_email.str.endswith("@").any()
    bad_phone = frame.loc[data.invalid["bad_phone"], "Số điện thoại"]
    assert (phone_status(bad_phone) == "invalid").all()
    for r in data.invalid["future_date"]:
        assert _as_date(frame.loc[r, "Ngày tạo"]) > TODAY
    for r in data.invalid["error_value"]:
        assert {"#N/A", "#REF!"} & set(frame.loc[r].dropna())
    for r in data.invalid["unknown_status"]:
        assert fold(frame.loc[r, "Trạng thái"]) not in lookup


def test_duplicates(frame, data):
    dups = data.duplicates
    assert 0.03 <= len(dups) / len(frame) <= 0.05
    phone = normalize_phone(frame["Số điện thoại"])
    email = normalize_email(frame["Email"])
    name = frame["Tên khách hàng"].map(fold)
    reshaped = 0
    for dup, orig in dups.items():
        assert dup > orig  # the original is older and above
        same_key = (phone[dup] is not None and phone[dup] == phone[orig]) or (
            email[dup] is not None and email[dup] == email[orig]
        )
        assert same_key, (frame.loc[orig].tolist(), frame.loc[dup].tolist())
        assert name[dup] == name[orig] or name[orig].endswith(name[dup].split()[-1])
        cols = ["Tên khách hàng", "Công ty", "Email", "Số điện thoại"]
        reshaped += frame.loc[dup, cols].tolist() != frame.loc[orig, cols].tolist()
    assert reshaped / len(dups) > 0.8  # typed again in another shape
    dup_phones = frame.loc[list(dups), "Số điện thoại"].dropna()
    assert dup_phones.str.match(r"^01\d").any() or dup_phones.str.startswith(("+84", "84")).any()
    assert frame.loc[list(dups), "Email"].dropna().map(str.isupper).any()
    assert frame.loc[list(dups), "Tên khách hàng"].map(lambda s: s == fold(s).title() or s.isascii()).any()
    # owner collisions: the same person worked by two reps
    assert data.collisions
    for r in data.collisions:
        assert frame.loc[r, "Người phụ trách"] != frame.loc[dups[r], "Người phụ trách"]


# ------------------------------------------------------------------ the workbook


def test_workbook_reloads_with_types(tmp_path):
    from openpyxl import load_workbook

    grid = generate_leads(400, seed=5, today=TODAY)
    path = write_demo_workbook(tmp_path / "demo.xlsx", n=400, seed=5, today=TODAY)
    assert path.exists()
    wb = load_workbook(path)
    assert wb.sheetnames == ["Khách hàng"]
    ws = wb["Khách hàng"]
    assert ws.freeze_panes == "A2"
    assert all(c.font.bold for c in ws[1])
    assert [c.value for c in ws[1]] == grid[0]
    assert ws.column_dimensions["C"].width > 20
    rows = list(ws.iter_rows(min_row=2, values_only=False))
    assert len(rows) == 400
    seen_date = seen_text_date = seen_formula = False
    for raw, cells in zip(grid[1:], rows):
        for v, c in zip(raw, cells):
            if v is None:
                assert c.value is None
            elif isinstance(v, dt.date):
                assert isinstance(c.value, dt.datetime) and c.value.date() == v
                assert c.number_format == "dd/mm/yyyy"
                seen_date = True
            elif v in ("#N/A", "#REF!"):
                assert c.value == v
            else:
                assert c.value == v and c.data_type == "s", (v, c.value, c.data_type)
                seen_text_date |= v.count("/") == 2
                seen_formula |= v == FORMULA_NOTE
    phones = [cells[4].value for cells in rows if cells[4].value is not None]
    assert all(isinstance(p, str) for p in phones)
    assert sum(p.startswith("0") for p in phones) > len(phones) / 2  # leading 0 kept
    assert seen_date and seen_text_date and seen_formula


def test_generation_is_fast():
    t = time.perf_counter()
    grid = generate_leads(20_000, seed=2, today=TODAY)
    assert len(grid) == 20_001
    assert time.perf_counter() - t < 5
