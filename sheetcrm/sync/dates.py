"""Parse dates as people type them into a sheet.

Accepted: real dates/datetimes (xlsx), spreadsheet serial numbers (Google's unformatted
values; day 0 is 1899-12-30), and text `dd/mm/yyyy`, `d/m/yy`, `yyyy-mm-dd`, `dd-mm-yyyy`,
`dd.mm.yyyy` (optionally followed by a time). Ambiguous text is day-first, as written in
Vietnam, unless `day_first=False`.
"""

from __future__ import annotations

import datetime as dt
import re

import numpy as np
import pandas as pd

from .frames import DATE_DTYPE

SERIAL_EPOCH = dt.date(1899, 12, 30)
# Serials outside this window are more likely typos than dates (1927..2119).
SERIAL_MIN, SERIAL_MAX = 10_000, 80_000

_ISO = re.compile(r"^(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})(?:[ T]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?$")
_DMY = re.compile(r"^(\d{1,2})[-/.](\d{1,2})[-/.](\d{2}|\d{4})(?:[ T]\d{1,2}:\d{2}(?::\d{2})?)?$")
_NUM = re.compile(r"^\d+(?:\.\d+)?$")


def serial_to_date(serial: float) -> dt.date:
    return SERIAL_EPOCH + dt.timedelta(days=int(serial))


def date_to_serial(day: dt.date) -> int:
    return (day - SERIAL_EPOCH).days


def parse_one(value: object, day_first: bool = True) -> dt.date | None:
    """One cell → date, or None when it is not a date. Blank → None too (check blanks first)."""
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, pd.Timestamp):
        return None if pd.isna(value) else value.date()
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float, np.integer, np.floating)):
        if value != value or not SERIAL_MIN <= value <= SERIAL_MAX:  # NaN or out of range
            return None
        return serial_to_date(float(value))
    text = str(value).strip()
    if not text:
        return None
    m = _ISO.match(text)
    try:
        if m:
            return dt.date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
        m = _DMY.match(text)
        if m:
            a, b, y = int(m.group(1)), int(m.group(2)), m.group(3)
            year = int(y) + (2000 if len(y) == 2 else 0)
            day, month = (a, b) if day_first else (b, a)
            return dt.date(year, month, day)
    except ValueError:  # 31/02/2026 and the like
        return None
    if _NUM.match(text):
        return parse_one(float(text), day_first)
    return None


def parse_dates(values: pd.Series, day_first: bool = True) -> tuple[pd.Series, pd.Series]:
    """Vectorised parse. Returns (datetime64[ns] Series with NaT, bool Series 'unparseable')
    where 'unparseable' is True for non-blank cells that are not dates."""
    # Parse each distinct value once: a date column repeats few distinct values. Missing
    # cells (None, NaN, NaT) are code -1; a blank text is one distinct value.
    codes, uniques = pd.factorize(values.to_numpy(dtype=object), use_na_sentinel=True)
    uniques = uniques.tolist()
    u_blank = np.array([isinstance(u, str) and not u.strip() for u in uniques] + [True], dtype=bool)
    u_dates = pd.to_datetime(pd.Series([None if b else parse_one(u, day_first) for u, b in zip(uniques, u_blank)]
                                       + [None], dtype=object), errors="coerce").astype(DATE_DTYPE)
    out = pd.Series(u_dates.to_numpy()[codes], index=values.index, name=values.name)  # -1: the last, NaT
    blank = u_blank[codes]
    bad = pd.Series(~blank, index=values.index, name=values.name) & out.isna()
    return out, bad
