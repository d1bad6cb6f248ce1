"""Date parsing: every accepted form, day-first, serials; property tests."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sheetcrm.sync.dates import date_to_serial, parse_dates, parse_one, serial_to_date

D = dt.date(2026, 3, 7)


@pytest.mark.parametrize("value", [
    D, dt.datetime(2026, 3, 7, 15, 30), pd.Timestamp("2026-03-07"),
    "07/03/2026", "7/3/2026", "7/3/26", "07/03/26", "2026-03-07", "2026-3-7", "07-03-2026",
    "07.03.2026", " 07/03/2026 ", "07/03/2026 14:30", "2026-03-07T08:00:00", "2026-03-07 08:00",
    46088, 46088.0, 46088.75, "46088", np.int64(46088), np.float64(46088.0),
])
def test_accepted_forms(value):
    assert parse_one(value) == D


def test_serial_epoch_matches_spreadsheets():
    assert serial_to_date(1) == dt.date(1899, 12, 31)
    assert serial_to_date(45658) == dt.date(2025, 1, 1)
    assert date_to_serial(dt.date(2025, 1, 1)) == 45658


@pytest.mark.parametrize("value", [
    None, "", "   ", "hôm qua", "31/02/2026", "2026-13-01", "32/01/2026", "1/2", "abc 1/2/2026",
    True, False, 5, 99_999, float("nan"), -3, "#N/A", "07/03/20266",
])
def test_not_dates(value):
    assert parse_one(value) is None


def test_day_first_by_default_and_month_first_on_request():
    assert parse_one("03/04/2026") == dt.date(2026, 4, 3)
    assert parse_one("03/04/2026", day_first=False) == dt.date(2026, 3, 4)
    assert parse_one("13/04/2026", day_first=False) is None  # no 13th month
    assert parse_one("2026-04-03", day_first=False) == dt.date(2026, 4, 3)  # ISO is unambiguous


def test_two_digit_years_are_this_century():
    assert parse_one("1/2/26") == dt.date(2026, 2, 1)
    assert parse_one("1/2/99") == dt.date(2099, 2, 1)


def test_parse_dates_vectorised():
    s = pd.Series([D, "07/03/2026", None, "", "xx", 46088, "31/02/2026"], dtype=object)
    parsed, bad = parse_dates(s)
    assert list(bad) == [False, False, False, False, True, False, True]
    assert [None if pd.isna(x) else x.date() for x in parsed] == [D, D, None, None, None, D, None]


# ------------------------------------------------------------------ properties

dates = st.dates(min_value=dt.date(2000, 1, 1), max_value=dt.date(2099, 12, 31))
FORMS = {
    "dd/mm/yyyy": lambda d: f"{d.day:02d}/{d.month:02d}/{d.year}",
    "d/m/yy": lambda d: f"{d.day}/{d.month}/{d.year % 100:02d}",
    "yyyy-mm-dd": lambda d: d.isoformat(),
    "dd-mm-yyyy": lambda d: f"{d.day:02d}-{d.month:02d}-{d.year}",
    "dd.mm.yyyy": lambda d: f"{d.day:02d}.{d.month:02d}.{d.year}",
    "d/m/yyyy": lambda d: f"{d.day}/{d.month}/{d.year}",
    "date": lambda d: d,
    "datetime": lambda d: dt.datetime(d.year, d.month, d.day, 9, 41),
    "serial": lambda d: date_to_serial(d),
    "serial float": lambda d: float(date_to_serial(d)) + 0.5,
}


@settings(max_examples=300, deadline=None)
@given(d=dates, form=st.sampled_from(sorted(FORMS)))
def test_any_date_in_any_accepted_form_parses_back(d, form):
    assert parse_one(FORMS[form](d)) == d


@settings(max_examples=200, deadline=None)
@given(d=st.dates(min_value=dt.date(2000, 1, 1), max_value=dt.date(2099, 12, 31)).filter(
    lambda d: d.day <= 12))
def test_ambiguous_text_is_day_first(d):
    text = f"{d.day:02d}/{d.month:02d}/{d.year}"
    assert parse_one(text) == d
    swapped = parse_one(text, day_first=False)
    assert swapped == dt.date(d.year, d.day, d.month)


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.text(), st.integers(), st.floats(allow_nan=True, allow_infinity=True),
                 st.booleans(), st.none()))
def test_never_raises_on_arbitrary_input(value):
    out = parse_one(value)
    assert out is None or isinstance(out, dt.date)


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet="0123456789/-.: T", max_size=24))
def test_never_raises_on_date_like_text(text):
    out = parse_one(text)
    assert out is None or isinstance(out, dt.date)


@settings(max_examples=50, deadline=None)
@given(st.lists(st.one_of(st.text(max_size=12), dates, st.none(), st.integers(0, 90_000)), max_size=20))
def test_parse_dates_agrees_with_parse_one(values):
    s = pd.Series(values, dtype=object)
    parsed, bad = parse_dates(s)
    for v, p, b in zip(values, parsed, bad):
        one = parse_one(v)
        blank = v is None or (isinstance(v, str) and not v.strip())
        if one is None:
            assert pd.isna(p)
            assert b == (not blank)
        else:
            assert p.date() == one and not b
