"""The sync's plan is pinned: a digest of every tab and cell write and of the report, for a
few generated workbooks (duplicates, invalid rows, rejections, returning leads, edits across
two syncs, English, values as Google gives them). Faster code must plan exactly the same.

When a change to what a sync plans is intended, print the new digests with
`python tests/test_plan_unchanged.py` and update `EXPECTED` in the same commit.
"""

from __future__ import annotations

import copy
import datetime as dt
import hashlib
import math
import sys

import numpy as np
import pandas as pd
import pytest

from sheetcrm.demo import generate_leads
from sheetcrm.schema import load_schemas
from sheetcrm.sync.dates import date_to_serial
from sheetcrm.sync.pipeline import Settings, plan_sync

DAY1 = dt.date(2026, 3, 2)
DAY2 = dt.date(2026, 3, 3)
LEADS = "Khách hàng"


def _value(v):
    """A cell value in a form that is the same whatever pandas or numpy made it."""
    if isinstance(v, np.generic):
        v = v.item()
    if isinstance(v, pd.Timestamp):
        v = None if pd.isna(v) else v.to_pydatetime()
    if v is None or v is pd.NaT or v is pd.NA:
        return ("none",)
    if isinstance(v, float) and math.isnan(v):
        return ("nan",)
    if isinstance(v, dt.datetime):
        return ("datetime", v.isoformat())
    if isinstance(v, dt.date):
        return ("date", v.isoformat())
    return (type(v).__name__, v)


def _frame_rows(df: pd.DataFrame) -> list:
    if df is None or not len(df):
        return [list(df.columns) if df is not None else []]
    return [list(df.columns), *[[_value(x) for x in row] for row in df.astype(object).itertuples(index=False)]]


def plan_record(plan) -> dict:
    """Everything a plan says, as plain values (the timings excluded)."""
    c, r = plan.changes, plan.report
    return {
        "ensure_tabs": [(e.tab, e.headers, e.freeze_rows, e.dropdowns) for e in c.ensure_tabs],
        "formats": [(f.tab, f.headers, f.freeze_rows, f.dropdowns) for f in c.formats],
        "add_columns": [(a.tab, a.first_col, a.headers) for a in c.add_columns],
        "updates": [(u.tab, u.row, u.col, _value(u.value), _value(u.old), u.lead_id) for u in c.updates],
        "appends": [(a.tab, a.key_col, [[_value(x) for x in row] for row in a.rows]) for a in c.appends],
        "replacements": [(s.tab, [[_value(x) for x in row] for row in s.cells], s.styles, s.col_widths,
                          s.freeze_rows, [repr(ch) for ch in s.charts], s.merges) for s in c.replacements],
        "trims": [(t.tab, t.keep) for t in c.trims],
        "report": {
            "rows_read": r.rows_read, "rows_with_issues": r.rows_with_issues,
            "problems": _frame_rows(r.problems), "ids_assigned": r.ids_assigned,
            "duplicates": r.duplicates, "clusters": r.clusters, "collisions": r.collisions,
            "transitions": r.transitions, "rows_appended": sorted(r.rows_appended.items()),
            "counts": sorted((k, int(v)) for k, v in r.counts.items()), "tabs": sorted(r.tabs.items()),
            "unchanged": r.unchanged,
        },
    }


def digest(plan) -> str:
    return hashlib.blake2b(repr(plan_record(plan)).encode(), digest_size=12).hexdigest()


def apply(sheets: dict[str, list[list]], plan) -> dict[str, list[list]]:
    """The grids as a backend leaves them after writing `plan` (no I/O: lists of lists)."""
    out = {k: [list(r) for r in v] for k, v in sheets.items()}
    c = plan.changes

    def put(grid, row, col, value):
        while len(grid) < row:
            grid.append([])
        line = grid[row - 1]
        while len(line) < col:
            line.append(None)
        line[col - 1] = value

    for e in c.ensure_tabs:
        out.setdefault(e.tab, [list(e.headers)])
    for a in c.add_columns:
        for k, h in enumerate(a.headers):
            put(out[a.tab], 1, a.first_col + k, h)
    for u in c.updates:
        put(out[u.tab], u.row, u.col, u.value)
    for a in c.appends:
        grid = out[a.tab]
        seen = {r[a.key_col] for r in grid[1:] if a.key_col is not None and len(r) > a.key_col}
        for row in a.rows:
            if a.key_col is not None and row[a.key_col] in seen:
                continue
            grid.append(list(row))
    for s in c.replacements:
        out[s.tab] = [list(r) for r in s.cells]
    for t in c.trims:
        out[t.tab] = out[t.tab][:1] + out[t.tab][1:][-t.keep:]
    return out


def _col(grid, header):
    return grid[0].index(header)


def edit_between_syncs(sheets: dict[str, list[list]], seed: int) -> dict[str, list[list]]:
    """What reps do between two syncs: statuses moved (some back, some to rejected with or
    without a reason), reasons and contact dates typed, a cell blanked, a few people coming
    back as new rows under another spelling, and new leads typed without an id."""
    out = copy.deepcopy(sheets)
    g = out[LEADS]
    rng = np.random.default_rng(seed)
    st, rs, lc = _col(g, "Trạng thái"), _col(g, "Lý do"), _col(g, "Ngày liên hệ cuối")
    ph, em, nm, lid = _col(g, "Số điện thoại"), _col(g, "Email"), _col(g, "Tên khách hàng"), _col(g, "Mã KH")
    n = len(g) - 1
    statuses = ["Mới", "Tiềm năng", "Nóng", "Chốt", "Từ chối", "Chưa chốt", "Nuôi dưỡng", "Sai đối tượng", ""]
    reasons = ["đắt quá", "chưa cần, 3-6 tháng nữa", "ko nghe máy", "Khác", "Khác: đi công tác", "abc", ""]
    for i in rng.choice(n, size=max(3, n // 6), replace=False):
        row = g[i + 1]
        while len(row) < len(g[0]):
            row.append(None)
        row[st] = statuses[rng.integers(len(statuses))]
        if rng.random() < 0.6:
            row[rs] = reasons[rng.integers(len(reasons))]
        if rng.random() < 0.3:
            row[lc] = (DAY2 - dt.timedelta(days=int(rng.integers(0, 20)))).strftime("%d/%m/%Y")
    for i in rng.choice(n, size=max(1, n // 100), replace=False):
        g[i + 1][em if rng.random() < 0.5 else ph] = None
    # Rejected or nurtured people write again: a new row with their phone, no id.
    rej = out.get("Từ chối") or []
    returning = []
    if len(rej) > 1:
        h = rej[0]
        for r in rej[1:][: max(2, n // 50)]:
            rec = dict(zip(h, r))
            new = [None] * len(g[0])
            new[nm] = str(rec.get("Tên khách hàng") or "Khách").upper()
            new[ph] = rec.get("Số điện thoại")
            new[em] = rec.get("Email")
            returning.append(new)
    fresh = []
    for k in range(max(2, n // 40)):
        new = [None] * len(g[0])
        new[nm] = f"Khách mới {k}"
        new[ph] = f"09{int(rng.integers(10**7, 10**8))}"
        new[st] = statuses[k % len(statuses)]
        fresh.append(new)
    g.extend(returning + fresh)
    if n > 5:
        g[3][lid] = None  # an id deleted by mistake
    return out


def google_like(grid: list[list]) -> list[list]:
    """The grid as Google's unformatted values give it: dates as serial numbers, phones
    typed as numbers where they are only digits."""
    out = [list(grid[0])]
    for r in grid[1:]:
        row = []
        for v in r:
            if isinstance(v, dt.date):
                v = date_to_serial(v)
            elif isinstance(v, str) and v.isdigit() and 9 <= len(v) <= 11 and v.startswith("0"):
                v = int(v)
            row.append(v)
        out.append(row)
    return out


def _sync(sheets, day, **settings):
    return plan_sync(sheets, load_schemas(), Settings(**settings), day,
                     dt.datetime.combine(day, dt.time(7, 30)))


def scenarios() -> dict[str, list]:
    """name → the plans of its syncs, in order."""
    out = {}
    base = {LEADS: generate_leads(1500, 7, DAY1)}
    p1 = _sync(base, DAY1)
    after1 = apply(base, p1)
    edited = edit_between_syncs(after1, 3)
    p2 = _sync(edited, DAY2)
    after2 = apply(edited, p2)
    p3 = _sync(edit_between_syncs(after2, 4), DAY2 + dt.timedelta(days=7))
    out["vi_three_syncs"] = [p1, p2, p3]
    en = {LEADS: generate_leads(400, 11, DAY1)}
    e1 = _sync(en, DAY1, language="en")
    out["en_two_syncs"] = [e1, _sync(edit_between_syncs(apply(en, e1), 5), DAY2, language="en")]
    g = {LEADS: google_like(generate_leads(600, 21, DAY1))}
    g1 = _sync(g, DAY1, summaries=False)
    out["google_values"] = [g1, _sync(edit_between_syncs(apply(g, g1), 6), DAY2, summaries=False)]
    return out


EXPECTED = {
    'vi_three_syncs': ['2609856972f9e067312cb121', 'c1eb2012d262465a0cbb8a4e', '783a4fe9d6b19f3332842472'],
    'en_two_syncs': ['c4613a9a6ae4046f77aa5346', 'd066a0cc76002dbe93254f8e'],
    'google_values': ['2851779df8fd15712568b286', '6811927deae5f800c1c5c9e2'],
}


@pytest.fixture(scope="module")
def plans() -> dict[str, list]:
    return scenarios()


@pytest.fixture(scope="module")
def digests(plans) -> dict[str, list[str]]:
    return {name: [digest(p) for p in ps] for name, ps in plans.items()}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_plan_is_unchanged(digests, name):
    assert digests[name] == EXPECTED[name]


def test_the_scenarios_cover_what_they_claim(plans):
    p1, p2, p3 = plans["vi_three_syncs"]
    assert p1.report.duplicates > 0
    assert p1.report.rows_with_issues > 0
    assert p1.report.rows_appended.get("rejections", 0) > 0
    assert p2.report.ids_assigned > 0  # new and returning rows
    assert p2.report.transitions > 0
    prev = p2.report.problems["message"].str.contains("từ chối|nuôi dưỡng", case=False, regex=True).sum()
    assert prev > 0  # returning people are flagged
    assert p3.report.transitions > 0
    assert any(u.tab == LEADS for u in p2.changes.updates)
    assert p1.changes.replacements  # summaries planned


if __name__ == "__main__":
    for name, plans in scenarios().items():
        print(f"    {name!r}: {[digest(p) for p in plans]!r},")
    sys.exit(0)
