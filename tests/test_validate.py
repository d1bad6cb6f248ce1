"""Validation rules (docs/dedupe.md) and id assignment, on bound tables (pure, no I/O)."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest
from helpers_xlsx import CLEAN, LEADS, PERSON_KEYS, TODAY, H, bind_leads, grid, lead, schemas
from hypothesis import given, settings
from hypothesis import strategies as st

from sheetcrm.sync.validate import assign_ids, validate_leads

MSG = schemas().messages["vi"]


KEYS = [*PERSON_KEYS, "recontact_on"]


def col(key: str) -> str:
    from sheetcrm.a1 import col_letter

    return col_letter(KEYS.index(key) + 1)


def run(leads, today=TODAY, language="vi"):
    v = validate_leads(bind_leads(grid(leads, keys=KEYS)), schemas(), today, language)
    return v, v.problems.frame()


def kinds_at(leads, i=0, **kw):
    """Problem kinds on data row `i` (0-based) of `leads`."""
    _, pf = run(leads, **kw)
    return set(pf.loc[pf["index"] == i, "kind"])


def problem(leads, kind, i=0):
    _, pf = run(leads)
    hit = pf[(pf["index"] == i) & (pf["kind"] == kind)]
    assert len(hit) == 1, pf
    return hit.iloc[0]


def each_row(leads, kind, key):
    """Every row of `leads` has exactly one `kind` problem, at its `key` cell; returns the
    problems (one per row, in order). One validation run for all cases."""
    _, pf = run(leads)
    hit = pf[pf["kind"] == kind].sort_values("index")
    assert list(hit["index"]) == list(range(len(leads))), pf
    assert list(hit["cell"]) == [f"{LEADS}!{col(key)}{i + 2}" for i in range(len(leads))]
    return hit


def no_problems(leads):
    v, pf = run(leads)
    assert len(pf) == 0, pf
    return v


def people(values, key, **kw):
    """One distinct lead per value of `key`."""
    return [lead(**{"name": f"Khách {i}", **kw, key: v}) for i, v in enumerate(values)]


def test_clean_rows_have_no_problems():
    v, pf = run(CLEAN)
    assert len(pf) == 0, pf
    assert v.leads["valid"].all()


# ---- name

def test_name_required():
    hit = each_row([lead(name=n, email=f"e{i}@x.vn") for i, n in enumerate([None, "", "   "])],
                   "missing_name", "name")
    assert set(hit["message"]) == {MSG["missing_name"]}


def test_name_present_is_fine():
    assert "missing_name" not in kinds_at([lead(name="A")])


# ---- contact

def test_email_or_phone_required():
    p = problem([lead(email=None, phone=None)], "no_contact")
    assert p["message"] == MSG["no_contact"]
    assert kinds_at([lead(email="  ", phone="")]) == {"no_contact"}
    assert kinds_at([lead(email=None)]) == set()
    assert kinds_at([lead(phone=None)]) == set()


# ---- email

BAD_EMAILS = ["abc@", "an@gmail", "angmail.com", "an nguyen@gmail.com", "@x.vn", "an@@x.vn",
              "an@x..vn"]


def test_bad_email():
    hit = each_row(people(BAD_EMAILS, "email"), "bad_email", "email")
    assert set(hit["message"]) == {MSG["bad_email"]}  # the address itself is never quoted


def test_good_email():
    no_problems(people(["An.Nguyen@MinhPhat.vn", " an@x.com.vn ", "a+b@gmail.com", "mailto:an@x.vn"],
                       "email", phone=None))


# ---- phone

BAD_PHONES = ["12345", "0912 34", "999", "09123", "0912345678901", "abc", "+44 20 7946", "0000000000"]


def test_bad_phone():
    hit = each_row(people(BAD_PHONES, "phone", email=None), "bad_phone", "phone")
    assert set(hit["message"]) == {MSG["bad_phone"]}
    hit = each_row(people(BAD_PHONES, "phone"), "bad_phone", "phone")  # an email does not excuse it


GOOD_PHONES = {"0912345678": "+84912345678", "0912 345 678": "+84912345678",
               "+84 912 345 678": "+84912345678", "84912345678": "+84912345678",
               "0912.345.678": "+84912345678", "(028) 3822 1234": "+842838221234",
               "+44 20 7946 0958": "+442079460958", "+1 650 253 0000": "+16502530000",
               "01689123456": "+84389123456", 912345678: "+84912345678",
               "+84 (0) 912 345 678": "+84912345678"}


def test_good_phone_vn_and_international():
    v = no_problems(people(list(GOOD_PHONES), "phone", email=None))
    assert list(v.leads["phone_e164"]) == list(GOOD_PHONES.values())


# ---- dates

@pytest.mark.parametrize("key", ["created_at", "last_contact", "recontact_on"])
def test_bad_date_in_each_date_column(key):
    bad = ["hôm qua", "31/02/2026", "2026-13-01", "5"]
    hit = each_row(people(bad, key), "bad_date", key)
    assert list(hit["message"]) == [MSG["bad_date"].format(header=H[key], value=b) for b in bad]


DATE_FORMS = [dt.date(2026, 3, 2), dt.datetime(2026, 3, 2, 10, 0), 46083, "46083", "02/03/2026",
              "2/3/26", "2/3/2026", "2026-03-02", "02-03-2026", "02.03.2026", " 02/03/2026 "]


def test_dates_in_every_form_day_first():
    leads = [lead(name=f"K{i}", created_at=d, last_contact=d, recontact_on=d)
             for i, d in enumerate(DATE_FORMS)]
    v = no_problems(leads)
    for key in ("created_at", "last_contact", "recontact_on"):
        assert list(v.leads[key]) == [pd.Timestamp(2026, 3, 2)] * len(DATE_FORMS), key


@pytest.mark.parametrize("key", ["created_at", "last_contact"])
def test_future_date_flagged(key):
    hit = each_row(people(["13/03/2026", dt.date(2027, 1, 1), "2026-03-13"], key), "future_date", key)
    assert list(hit["message"]) == [MSG["future_date"].format(header=H[key], value=v)
                                    for v in ("13/03/2026", "01/01/2027", "13/03/2026")]


def test_today_is_not_future_and_today_is_fixed():
    assert kinds_at([lead(created_at=TODAY, last_contact=TODAY)]) == set()
    # the same date is in the future for an earlier "today"
    assert "future_date" in kinds_at([lead(created_at=TODAY)], today=TODAY - dt.timedelta(days=1))


def test_future_recontact_is_fine():
    assert kinds_at([lead(recontact_on=dt.date(2026, 6, 1))]) == set()


# ---- status

STATUSES = {
    "Mới": "new", "moi": "new", "MỚI": "new", "  mới ": "new", "New": "new",
    "Qualified": "potential", "tiem nang": "potential", "Hot": "hot", "Won": "won",
    "Đã  chốt": "won", "Lost": "rejected", "Rejected": "rejected", "Not closed": "not_closed",
    "Stalled": "not_closed", "Nurture": "nurture", "Unreachable": "unreachable",
    "Disqualified": "disqualified", "NUÔI DƯỠNG": "nurture", "Chốt": "won", "Từ chối": "rejected",
}


def test_status_recognised():
    v = no_problems(people(list(STATUSES), "status"))
    assert list(v.leads["status"]) == list(STATUSES.values())


def test_status_recognised_nfd():
    import unicodedata

    v = no_problems([lead(status=unicodedata.normalize("NFD", "Đã tìm hiểu"))])
    assert v.leads.loc[0, "status"] == "researched"


def test_unknown_status_flagged():
    unknown = ["Đang xem xét", "??", "Chờ phản hồi", "Moi lam"]
    hit = each_row(people(unknown, "status"), "unknown_status", "status")
    assert list(hit["message"]) == [MSG["unknown_status"].format(value=u) for u in unknown]


def test_blank_status_is_not_unknown():
    assert kinds_at([lead(status=None)]) == set()


# ---- spreadsheet error values

SHEET_ERRORS = [("phone", "#N/A"), ("email", "#REF!"), ("company", "#N/A"), ("product", "#REF!"),
                ("created_at", "#VALUE!"), ("last_contact", "#N/A"), ("status", "#N/A"),
                ("name", "#REF!"), ("notes", "#DIV/0!")]


def test_sheet_error_values_reported():
    leads = [lead(**{"name": f"K{i}", key: value}) for i, (key, value) in enumerate(SHEET_ERRORS)]
    _, pf = run(leads)
    for i, (key, value) in enumerate(SHEET_ERRORS):
        row = pf[pf["index"] == i]
        p = row[row["kind"] == "sheet_error"]
        assert len(p) == 1, (key, pf)
        assert p.iloc[0]["message"] == MSG["sheet_error"].format(header=H[key], value=value)
        assert p.iloc[0]["cell"] == f"{LEADS}!{col(key)}{i + 2}"
        # reported as what it is, not also as a bad email/phone/date/status
        assert not set(row["kind"]) & {"bad_email", "bad_phone", "bad_date", "unknown_status"}, key


# ---- every failure, not the first; rows are kept

def test_all_problems_of_a_row_are_listed_and_row_kept():
    v, pf = run([lead(name=None, email="abc@", phone="12345", created_at="13/03/2026",
                      status="??"), lead(email="b@x.vn", phone="0987000111")])
    kinds = set(pf.loc[pf["index"] == 0, "kind"])
    assert kinds == {"missing_name", "bad_email", "bad_phone", "future_date", "unknown_status"}
    assert list(v.leads["valid"]) == [False, True]
    assert list(v.leads["row"]) == [2, 3]


def test_english_messages():
    v = validate_leads(bind_leads(grid([lead(name=None)])), schemas(), TODAY, "en")
    assert v.problems.frame().iloc[0]["message"] == schemas().messages["en"]["missing_name"]


# ---- lead ids

def test_duplicate_id_is_a_problem_on_the_later_row():
    leads = [lead(lead_id="KH-000007"), lead(lead_id="KH-000008", email="x@y.vn", phone="0987000222"),
             lead(lead_id="KH-000007", email="z@y.vn", phone="0987000333")]
    v, pf = run(leads)
    dup = pf[pf["kind"] == "duplicate_id"]
    assert list(dup["index"]) == [2]
    assert dup.iloc[0]["message"] == MSG["duplicate_id"].format(value="KH-000007", row=2)
    assert dup.iloc[0]["cell"] == f"{LEADS}!A4"
    assert list(v.leads["lead_id"]) == ["KH-000007", "KH-000008", "KH-000007"]  # never changed


def test_created_filled_marks_only_blank_created():
    v, _ = run([lead(created_at=None), lead(created_at="02/03/2026"), lead(created_at="hôm qua")])
    assert list(v.created_filled) == [True, False, False]


def test_assign_ids_next_free_in_sheet_order():
    ids = pd.Series(["KH-000120", None, "", "KH-000007", "  ", "X-99", "KH-000122"], dtype=object)
    out = assign_ids(ids, "KH-", 6)
    assert list(out) == ["KH-000120", "KH-000123", "KH-000124", "KH-000007", "KH-000125", "X-99",
                         "KH-000122"]


def test_assign_ids_prefix_and_digits_configurable():
    out = assign_ids(pd.Series([None, "L-0041", None, "KH-000900"], dtype=object), "L-", 4)
    assert list(out) == ["L-0042", "L-0041", "L-0043", "KH-000900"]
    assert list(assign_ids(pd.Series([None, None], dtype=object), "KH-", 6)) == ["KH-000001", "KH-000002"]


def test_assign_ids_leaves_full_column_unchanged():
    ids = pd.Series(["KH-000003", "KH-000001"], dtype=object)
    assert list(assign_ids(ids, "KH-", 6)) == ["KH-000003", "KH-000001"]


# ---- pipeline-level phone properties

subscriber = st.integers(0, 9_999_999)
prefix = st.sampled_from(["86", "96", "97", "98", "32", "35", "39", "88", "91", "94", "83", "90",
                          "93", "70", "77", "79", "56", "58", "59"])
SHAPES = {
    "0912 345 678": lambda p, s: f"0{p}{s[0]} {s[1:4]} {s[4:]}",
    "+84 912 345 678": lambda p, s: f"+84 {p}{s[0]} {s[1:4]} {s[4:]}",
    "84912345678": lambda p, s: f"84{p}{s}",
    "0912.345.678": lambda p, s: f"0{p}{s[0]}.{s[1:4]}.{s[4:]}",
    "0912345678": lambda p, s: f"0{p}{s}",
    "0912-345-678": lambda p, s: f"0{p}{s[0]}-{s[1:4]}-{s[4:]}",
    "+84912345678": lambda p, s: f"+84{p}{s}",
}


phone_case = st.tuples(prefix, subscriber, st.sampled_from(sorted(SHAPES)))


@settings(max_examples=12, deadline=None)
@given(cases=st.lists(phone_case, min_size=1, max_size=25))
def test_vn_mobile_in_any_shape_is_valid(cases):
    # one table per example (validation is vectorised; a row per case keeps it fast)
    typed = [SHAPES[shape](p, f"{n:07d}") for p, n, shape in cases]
    leads = [lead(phone=t, email=None, name=f"Khách {i}") for i, t in enumerate(typed)]
    v, pf = run(leads)
    assert len(pf) == 0, (typed, pf)
    assert list(v.leads["phone_e164"]) == [f"+84{p}{n:07d}" for p, n, _ in cases]
    assert v.leads["valid"].all()


@settings(max_examples=8, deadline=None)
@given(digits=st.lists(st.text(alphabet="0123456789", min_size=1, max_size=6), min_size=1, max_size=25))
def test_short_digit_strings_are_invalid_phones(digits):
    _, pf = run([lead(phone=d) for d in digits])
    bad = pf[pf["kind"] == "bad_phone"]
    assert sorted(bad["index"]) == list(range(len(digits)))


# ---- pipeline robustness: whatever people type, the plan is made and problems point at cells

_cell = st.one_of(
    st.none(), st.text(max_size=15), st.integers(-10**6, 10**12),
    st.floats(allow_nan=False, allow_infinity=False),
    st.dates(min_value=dt.date(1900, 1, 1), max_value=dt.date(2200, 1, 1)),
    st.sampled_from(["#N/A", "#REF!", "Từ chối", "Chưa chốt", "Giá quá cao", "Khác", "Mới", "0912345678",
                     "a@b.vn", "KH-000001", "=1+1", "  "]))
_ALL = [*KEYS, "duplicate_of", "issues"]


@settings(max_examples=10, deadline=None)
@given(rows=st.lists(st.lists(_cell, min_size=len(_ALL), max_size=len(_ALL)), min_size=1, max_size=8))
def test_plan_sync_never_raises_on_arbitrary_cells(rows):
    from sheetcrm.sync.pipeline import Settings, plan_sync

    g = [[H[k] for k in _ALL], *rows]
    plan = plan_sync({LEADS: g}, schemas(), Settings(summaries=False), TODAY)
    n = len(plan.leads)
    assert plan.report.rows_read == n
    data_rows = set(plan.leads["row"])
    for cell, row in zip(plan.report.problems["cell"], plan.report.problems["row"]):
        assert cell.startswith(f"{LEADS}!") and row in data_rows
    # ids: every row has one afterwards, typed ids are unchanged
    typed = {i + 2: r[0] for i, r in enumerate(rows)}
    for row, lid in zip(plan.leads["row"], plan.leads["lead_id"]):
        assert lid
        t = typed[row]
        if isinstance(t, str) and t.strip():
            assert lid == t.strip()
