"""The overview tab: every figure recomputed here from a hand-made fixture with plain
Python over records (no pandas groupby, no sheetcrm helpers), then read back from the
layout the way a person reads it: find the block title, its header row, its rows."""

from __future__ import annotations

import datetime as dt
import itertools
import statistics

import pandas as pd
import pytest

from sheetcrm.schema import load_schemas
from sheetcrm.sync.summary import (
    SYNC_TIME_CELL,
    QualitySummary,
    build_overview,
    labels,
    layout_matches,
)

D = dt.datetime
TODAY = dt.date(2025, 6, 18)  # a Wednesday; the week ends Sunday 22/06
NOW = dt.datetime(2025, 6, 18, 9, 30, 12)
SCHEMAS = load_schemas()

# lead_id, owner, product, status, created_at, duplicate_of
LEADS = [
    ("KH-1", "An", "CRM", "won", D(2025, 1, 1), ""),
    ("KH-2", "An", "Web", "rejected", D(2025, 2, 1), ""),
    ("KH-3", "Bình", "CRM", "hot", D(2025, 3, 1), ""),
    ("KH-4", "Bình", "CRM", "nurture", D(2025, 3, 5), ""),
    ("KH-5", "", "Web", "new", D(2025, 6, 1), ""),
    ("KH-6", "Bình", "Web", "won", D(2025, 4, 1), ""),
    ("KH-7", "An", "", "disqualified", D(2025, 5, 1), ""),
    ("KH-8", "Chi", "Kế toán", "not_closed", D(2025, 4, 10), ""),
    ("KH-9", "Chi", "CRM", None, D(2025, 5, 20), ""),
    ("KH-10", "An", "CRM", "new", D(2025, 1, 2), "KH-1"),  # duplicate record
    ("KH-11", "Chi", "Kế toán", "unreachable", D(2025, 4, 1), ""),
    ("KH-12", "An", "Web", "won", D(2025, 5, 1), "không trùng"),  # won, no history
]
# lead_id, from, to, observed_at
HISTORY = [
    ("KH-1", None, "new", D(2025, 1, 1)),
    ("KH-1", "new", "researched", D(2025, 1, 5)),
    ("KH-1", "researched", "potential", D(2025, 1, 15)),
    ("KH-1", "potential", "hot", D(2025, 2, 1)),
    ("KH-1", "hot", "won", D(2025, 2, 11)),
    ("KH-2", None, "new", D(2025, 2, 1)),
    ("KH-2", "new", "researched", D(2025, 2, 3)),
    ("KH-2", "researched", "rejected", D(2025, 2, 20)),
    ("KH-3", None, "new", D(2025, 3, 1)),
    ("KH-3", "new", "potential", D(2025, 3, 4)),
    ("KH-3", "potential", "hot", D(2025, 3, 20)),
    ("KH-4", None, "new", D(2025, 3, 5)),
    ("KH-4", "new", "researched", D(2025, 3, 10)),
    ("KH-4", "researched", "nurture", D(2025, 4, 1)),
    ("KH-5", None, "new", D(2025, 6, 1)),
    ("KH-6", "hot", "won", D(2025, 4, 21)),  # out of order in the sheet on purpose
    ("KH-6", None, "new", D(2025, 4, 1)),
    ("KH-6", "new", "hot", D(2025, 4, 5)),
    ("KH-7", None, "new", D(2025, 5, 1)),
    ("KH-7", "new", "disqualified", D(2025, 5, 2)),
    ("KH-8", None, "new", D(2025, 4, 10)),
    ("KH-8", "new", "researched", D(2025, 4, 12)),
    ("KH-8", "researched", "potential", D(2025, 4, 20)),
    ("KH-8", "potential", "hot", D(2025, 5, 1)),
    ("KH-8", "hot", "not_closed", D(2025, 5, 15)),
    ("KH-10", None, "new", D(2025, 1, 2)),
    ("KH-11", None, "new", D(2025, 4, 1)),
    ("KH-11", "new", "unreachable", D(2025, 4, 15)),
    ("KH-99", None, "new", D(2025, 1, 1)),  # a lead row deleted since
    ("KH-99", "new", "hot", D(2025, 3, 1)),
]
# lead_id, reason_category, owner, product, logged_at
REJECTIONS = [
    ("KH-2", "price", "An", "Web", D(2025, 2, 20)),
    ("KH-4", "not_now", "Bình", "CRM", D(2025, 4, 1)),
    ("KH-8", "price", "Chi", "Kế toán", D(2025, 5, 15)),
    ("KH-11", "no_contact", "Chi", "Kế toán", D(2025, 4, 15)),
    ("KH-20", "competitor", "An", "CRM", D(2024, 5, 10)),  # older than 12 months
    ("KH-21", None, "Bình", "", D(2025, 6, 2)),
    ("KH-22", "price", "An", "CRM", D(2024, 7, 1)),  # first month of the window
]
# state, next_touch
NURTURE = [
    ("active", D(2025, 6, 16)),
    ("Đang nuôi dưỡng", D(2025, 6, 20)),
    ("active", D(2025, 6, 23)),
    ("active", None),
    ("reactivated", D(2025, 5, 1)),
    ("won", None),
    ("Dừng", None),
]
QUALITY = QualitySummary(
    rows_with_issues=3,
    issues_by_kind={"Thiếu email và số điện thoại": 2, "Ngày không đọc được": 1},
    duplicate_clusters=1,
    duplicates=1,
    collisions=2,
)


def frames():
    leads = pd.DataFrame(
        {
            "row": range(2, len(LEADS) + 2),
            "lead_id": [r[0] for r in LEADS],
            "owner": [r[1] for r in LEADS],
            "product": [r[2] for r in LEADS],
            "status": [r[3] for r in LEADS],
            "created_at": pd.to_datetime([r[4] for r in LEADS]),
            "duplicate_of": [r[5] for r in LEADS],
        }
    )
    history = pd.DataFrame(
        {
            "row": range(2, len(HISTORY) + 2),
            "lead_id": [r[0] for r in HISTORY],
            "from_status": [r[1] for r in HISTORY],
            "to_status": [r[2] for r in HISTORY],
            "observed_at": pd.to_datetime([r[3] for r in HISTORY]),
            "by": "sync",
        }
    )
    rejections = pd.DataFrame(
        {
            "row": range(2, len(REJECTIONS) + 2),
            "lead_id": [r[0] for r in REJECTIONS],
            "reason_category": [r[1] for r in REJECTIONS],
            "owner": [r[2] for r in REJECTIONS],
            "product": [r[3] for r in REJECTIONS],
            "logged_at": pd.to_datetime([r[4] for r in REJECTIONS]),
        }
    )
    nurture = pd.DataFrame(
        {
            "row": range(2, len(NURTURE) + 2),
            "state": [r[0] for r in NURTURE],
            "next_touch": pd.to_datetime([r[1] for r in NURTURE]),
        }
    )
    return leads, history, rejections, nurture


@pytest.fixture(scope="module")
def layout():
    return build_overview(*frames(), QUALITY, SCHEMAS, TODAY, NOW)


# ---------------------------------------------------------------- reading the layout


def find(layout, text):
    for r, row in enumerate(layout.cells, start=1):
        for c, v in enumerate(row, start=1):
            if v == text:
                return r, c
    raise AssertionError(f"{text!r} not in the layout")


def block(layout, title):
    """(header, rows) of the table titled `title`: rows until a blank first cell."""
    r, c = find(layout, title)
    head_row = layout.cells[r]  # row r+1 (0-based r)
    width = 0
    while c - 1 + width < len(head_row) and head_row[c - 1 + width] not in (None, ""):
        width += 1
    header = list(head_row[c - 1 : c - 1 + width])
    rows = []
    for line in layout.cells[r + 1 :]:
        if c - 1 >= len(line) or line[c - 1] in (None, ""):
            break
        rows.append(list(line[c - 1 : c - 1 + width]))
    return header, rows


def as_dict(rows, value_col=1):
    return {r[0]: r[value_col] for r in rows}


# ---------------------------------------------------------------- independent figures

STATUS = {s.key: s for s in SCHEMAS.chain.statuses}
NAME = {s.key: s.label for s in SCHEMAS.chain.statuses}
RNAME = {r.key: r.label for r in SCHEMAS.reasons.reasons}
CHAIN = ["new", "researched", "potential", "hot", "won"]
L = labels("vi")


def population():
    ids = {r[0] for r in LEADS}
    return [r for r in LEADS if not (r[5] and r[5] in ids)]


def test_population_skips_duplicate_records_only():
    ids = [r[0] for r in population()]
    assert "KH-10" not in ids  # duplicate of KH-1
    assert "KH-12" in ids  # "không trùng" is not a lead id
    assert len(ids) == 11


def test_status_counts_in_chain_order(layout):
    header, rows = block(layout, L["status_title"])
    assert header == [L["status_col"], L["count_col"], L["share_col"]]
    pop = population()
    expected_order = [s.key for s in SCHEMAS.chain.statuses if s.order] + [
        s.key for s in SCHEMAS.chain.statuses if not s.order
    ]
    names = [r[0] for r in rows]
    assert names[: len(expected_order)] == [NAME[k] for k in expected_order]
    for k in expected_order:
        n = sum(1 for r in pop if r[3] == k)
        got = as_dict(rows)[NAME[k]]
        assert got == n, k
        assert as_dict(rows, 2)[NAME[k]] == pytest.approx(n / len(pop), abs=1e-4)
    unknown = sum(1 for r in pop if r[3] is None)
    assert as_dict(rows)[L["unknown_status"]] == unknown == 1
    assert rows[-1][:2] == [L["total"], len(pop)]


def test_owner_by_status(layout):
    header, rows = block(layout, L["owner_title"])
    assert header[0] == L["owner_col"] and header[-1] == L["total"]
    pop = population()
    owners = sorted({r[1] for r in pop if r[1]}) + [""]
    data = {row[0]: row for row in rows}
    for o in owners:
        row = data[o or L["no_owner"]]
        for i, col_name in enumerate(header[1:-1], start=1):
            key = next((k for k, v in NAME.items() if v == col_name), None)
            n = sum(1 for r in pop if r[1] == o and r[3] == key)
            assert row[i] == n, (o, col_name)
        assert row[-1] == sum(1 for r in pop if r[1] == o)
    assert data[L["total"]][-1] == len(pop)


def reached(lead):
    order = {k: i + 1 for i, k in enumerate(CHAIN)}
    best = 1
    for lid, f, t, _ in HISTORY:
        if lid == lead[0]:
            best = max(best, order.get(f, 0), order.get(t, 0))
    return max(best, order.get(lead[3], 0))


def test_funnel_from_history(layout):
    _, rows = block(layout, L["funnel_title"])
    pop = population()
    r = [reached(x) for x in pop]
    assert [row[0] for row in rows[:5]] == [NAME[k] for k in CHAIN]
    for i, k in enumerate(CHAIN):
        first = sum(1 for x in r if x >= i + 1)
        assert rows[i][1] == first
        if i + 1 < len(CHAIN):
            nxt = sum(1 for x in r if x >= i + 2)
            assert rows[i][2] == nxt
            assert rows[i][3] == pytest.approx(nxt / first, abs=1e-4)
        else:
            assert rows[i][2] is None
    # hand-checked: new 11 -> 7 -> 5 -> 5 -> won 3
    assert [row[1] for row in rows[:5]] == [11, 7, 5, 5, 3]
    assert rows[5] == [L["funnel_overall"], 11, 3, pytest.approx(3 / 11, abs=1e-4)]


def test_win_rate_and_cycle(layout):
    _, rows = block(layout, L["kpi_title"])
    kpi = as_dict(rows)
    pop = population()
    won = [x for x in pop if x[3] == "won"]
    lost = [x for x in pop if x[3] in ("rejected", "not_closed", "unreachable")]
    assert kpi[L["kpi_won"]] == len(won) == 3
    assert kpi[L["kpi_lost"]] == len(lost) == 3
    assert kpi[L["kpi_win_rate"]] == pytest.approx(len(won) / (len(won) + len(lost)))
    cycles = []
    for x in won:
        rows_h = sorted((h for h in HISTORY if h[0] == x[0]), key=lambda h: h[3])
        if not rows_h:
            continue  # never seen winning: no cycle
        won_at = min(h[3] for h in rows_h if h[2] == "won")
        cycles.append((won_at - rows_h[0][3]).days)
    assert sorted(cycles) == [20, 41]
    assert kpi[L["kpi_cycle_avg"]] == pytest.approx(round(sum(cycles) / len(cycles), 1))
    assert kpi[L["kpi_cycle_median"]] == pytest.approx(round(statistics.median(cycles), 1))
    assert kpi[L["kpi_cycle_n"]] == 2
    assert kpi[L["kpi_leads"]] == len(pop)
    assert kpi[L["kpi_open"]] == sum(1 for x in pop if x[3] in CHAIN[:4])
    assert kpi[L["kpi_duplicates_excluded"]] == 1


def test_average_days_in_stage(layout):
    _, rows = block(layout, L["stage_time_title"])
    ids = {x[0] for x in population()}
    stays: dict[str, list[float]] = {}
    for lid in ids:
        hs = sorted((h for h in HISTORY if h[0] == lid), key=lambda h: h[3])
        for a, b in itertools.pairwise(hs):
            stays.setdefault(a[2], []).append((b[3] - a[3]).days)
    got = {r[0]: (r[1], r[2]) for r in rows}
    for k in CHAIN[:4]:
        v = stays.get(k, [])
        assert got[NAME[k]] == (pytest.approx(round(sum(v) / len(v), 1)), len(v))
    assert got[NAME["new"]] == (4.4, 8)  # by hand: 4,2,3,5,4,1,2,14


def test_rejection_reasons_top_first(layout):
    _, rows = block(layout, L["reasons_title"])
    counts: dict[str, int] = {}
    for r in REJECTIONS:
        name = RNAME[r[1]] if r[1] else L["unclassified"]
        counts[name] = counts.get(name, 0) + 1
    data = as_dict(rows[:-1])
    for name in RNAME.values():
        assert data[name] == counts.get(name, 0)
    assert data[L["unclassified"]] == 1
    shares = as_dict(rows[:-1], 2)
    for name, n in counts.items():
        assert shares[name] == pytest.approx(n / len(REJECTIONS), abs=1e-4)
    values = [r[1] for r in rows[:-1]]
    assert values == sorted(values, reverse=True)
    assert rows[0][0] == RNAME["price"]
    assert rows[-1][:2] == [L["total"], len(REJECTIONS)]


def test_reasons_by_owner_product_month(layout):
    header, rows = block(layout, L["reasons_owner_title"])
    _, top = block(layout, L["reasons_title"])
    assert header[1:-1] == [r[0] for r in top[:-1]]  # same columns, top reason first
    cols = {name: i for i, name in enumerate(header)}

    def cat_name(k):
        return RNAME[k] if k else L["unclassified"]

    data = {row[0]: row for row in rows}
    for owner in {r[2] for r in REJECTIONS}:
        for name in header[1:-1]:
            n = sum(1 for r in REJECTIONS if r[2] == owner and cat_name(r[1]) == name)
            assert data[owner][cols[name]] == n
        assert data[owner][-1] == sum(1 for r in REJECTIONS if r[2] == owner)

    header, rows = block(layout, L["reasons_product_title"])
    data = {row[0]: row for row in rows}
    for product in {r[3] for r in REJECTIONS}:
        label = product or L["no_product"]
        assert data[label][-1] == sum(1 for r in REJECTIONS if r[3] == product)
        n = sum(1 for r in REJECTIONS if r[3] == product and r[1] == "price")
        assert data[label][cols[RNAME["price"]]] == n

    header, rows = block(layout, L["reasons_month_title"])
    months = [row[0] for row in rows[:-1]]
    assert months[0] == "07/2024" and months[-1] == "06/2025" and len(months) == 12
    data = {row[0]: row for row in rows}
    for m in months:
        mm, yy = int(m[:2]), int(m[3:])
        n = sum(1 for r in REJECTIONS if (r[4].month, r[4].year) == (mm, yy))
        assert data[m][-1] == n
    # the May 2024 row is out of the window
    assert data[L["total"]][-1] == len(REJECTIONS) - 1


def test_nurture(layout):
    _, rows = block(layout, L["nurture_title"])
    got = as_dict(rows)
    alias = {"active": "active", "Đang nuôi dưỡng": "active", "reactivated": "reactivated", "won": "won", "Dừng": "stopped"}
    states = [alias[s] for s, _ in NURTURE]
    sunday = TODAY + dt.timedelta(days=6 - TODAY.weekday())
    active = [(s, d) for (s, d), k in zip(NURTURE, states) if k == "active"]
    assert got[L["nurture_active"]] == len(active) == 4
    assert got[L["nurture_overdue"]] == sum(1 for _, d in active if d and d.date() < TODAY) == 1
    assert got[L["nurture_this_week"]] == sum(1 for _, d in active if d and TODAY <= d.date() <= sunday) == 1
    assert got[L["nurture_reactivated"]] == 1
    assert got[L["nurture_won"]] == 1
    assert got[L["nurture_stopped"]] == 1
    assert got[L["nurture_total"]] == len(NURTURE)
    assert got[L["nurture_reactivation_rate"]] == pytest.approx(2 / 7, abs=1e-4)
    assert got[L["nurture_win_rate"]] == pytest.approx(1 / 7, abs=1e-4)


def test_data_quality(layout):
    _, rows = block(layout, L["quality_title"])
    got = {r[0].strip(): r[1] for r in rows}
    assert got[L["quality_rows_with_issues"]] == 3
    assert got["Thiếu email và số điện thoại"] == 2
    assert got["Ngày không đọc được"] == 1
    assert got[L["quality_clusters"]] == 1
    assert got[L["quality_duplicates"]] == 1
    assert got[L["quality_collisions"]] == 2
    # dict input works the same
    as_dict_layout = build_overview(*frames(), QUALITY.__dict__, SCHEMAS, TODAY, NOW)
    assert as_dict_layout.cells == build_overview(*frames(), QUALITY, SCHEMAS, TODAY, NOW).cells


def test_title_and_formats(layout):
    assert layout.cells[0][0] == L["overview_title"]
    r, c = SYNC_TIME_CELL
    assert layout.cells[r - 1][c - 1] == NOW.replace(microsecond=0)
    assert layout.cells[2][1] == TODAY
    styles = {(r, c): s for r, c, s in layout.styles}
    pr, pc = find(layout, L["kpi_win_rate"])
    assert styles[(pr, pc + 1)] == "percent"
    assert styles[(3, 2)] == "date"
    hr, hc = find(layout, L["funnel_stage"])
    assert styles[(hr, hc)] == "header"
    assert layout.freeze_rows >= 1
    # the label column fits the longest label it holds (within the cap)
    assert layout.col_widths[0] >= len(L["kpi_win_rate"])
    widths = len({len(row) for row in layout.cells})
    assert widths == 1  # rectangular


def test_charts_point_at_their_blocks(layout):
    charts = {c.key: c for c in layout.charts}
    assert set(charts) == {"funnel", "reasons", "owner_status"}
    cell = lambda r, c: layout.cells[r - 1][c - 1]

    f = charts["funnel"]
    r1, c1, r2, _ = f.categories
    assert [cell(r, c1) for r in range(r1, r2 + 1)] == [NAME[k] for k in CHAIN]
    (s,) = f.series
    assert cell(s[0], s[1]) == L["funnel_reached"]
    assert [cell(r, s[1]) for r in range(s[0] + 1, s[2] + 1)] == [11, 7, 5, 5, 3]

    rs = charts["reasons"]
    r1, c1, r2, _ = rs.categories
    _, rows = block(layout, L["reasons_title"])
    assert [cell(r, c1) for r in range(r1, r2 + 1)] == [r[0] for r in rows[:-1]]  # no total row

    o = charts["owner_status"]
    header, rows = block(layout, L["owner_title"])
    r1, c1, r2, _ = o.categories
    assert [cell(r, c1) for r in range(r1, r2 + 1)] == [r[0] for r in rows[:-1]]
    assert [cell(s[0], s[1]) for s in o.series] == header[1:-1]  # statuses, not the total
    assert o.kind == "stacked_column"
    # charts do not sit on top of a table: their rows hold nothing from their column on
    for ch in layout.charts:
        top, left = ch.anchor
        for r in range(top, min(top + 16, len(layout.cells) + 1)):
            assert all(v in (None, "") for v in layout.cells[r - 1][left - 1 : left + 7]), (ch.key, r)


def test_english_labels_same_shape():
    vi = build_overview(*frames(), QUALITY, SCHEMAS, TODAY, NOW)
    en = build_overview(*frames(), QUALITY, SCHEMAS, TODAY, NOW, language="en")
    assert len(vi.cells) == len(en.cells) and len(vi.cells[0]) == len(en.cells[0])
    assert en.cells[0][0] == labels("en")["overview_title"]
    _, rows = block(en, labels("en")["status_title"])
    assert rows[0][0] == "New"
    assert [c.categories for c in vi.charts] == [c.categories for c in en.charts]
    # numbers identical, texts differ
    for a, b in zip(vi.cells, en.cells):
        for x, y in zip(a, b):
            if not isinstance(x, str):
                assert x == y


def test_label_files_have_the_same_keys():
    assert set(labels("vi")) == set(labels("en"))


def test_empty_frames():
    empty = pd.DataFrame()
    lay = build_overview(frames()[0], empty, empty, empty, None, SCHEMAS, TODAY, NOW)
    _, rows = block(lay, L["funnel_title"])
    assert rows[0][1] == 11  # everyone reached the first stage
    _, rows = block(lay, L["reasons_title"])
    assert rows[-1][1] == 0 and rows[-1][2] is None


# ---------------------------------------------------------------- change detection


def _serial(v):
    if isinstance(v, dt.datetime):
        return (v - dt.datetime(1899, 12, 30)).total_seconds() / 86400
    if isinstance(v, dt.date):
        return (v - dt.date(1899, 12, 30)).days
    return v


def test_layout_matches_readback_forms(layout):
    # xlsx: dates as datetime, trailing blanks trimmed
    xlsx = [
        [dt.datetime.combine(v, dt.time()) if type(v) is dt.date else v for v in row]
        for row in layout.cells
    ]
    xlsx = [list(row[: max((i + 1 for i, v in enumerate(row) if v is not None), default=0)]) for row in xlsx]
    assert layout_matches(xlsx, layout)
    # Google: serial numbers, ints for whole floats, "" for blanks
    google = [["" if v is None else _serial(v) for v in row] for row in layout.cells]
    assert layout_matches(google, layout)


def test_layout_matches_ignores_only_the_sync_time(layout):
    later = build_overview(*frames(), QUALITY, SCHEMAS, TODAY, NOW + dt.timedelta(hours=1))
    grid = [list(row) for row in layout.cells]
    assert layout_matches(grid, later)  # a no-change run does not rewrite
    edited = [list(row) for row in layout.cells]
    r, c = find(layout, L["kpi_won"])
    edited[r - 1][c] = 999  # a person typed over a figure
    assert not layout_matches(edited, layout)
    longer = [list(row) for row in layout.cells] + [["stale row"]]
    assert not layout_matches(longer, layout)
    assert not layout_matches(None, layout)
    assert not layout_matches([], layout)
    next_day = build_overview(*frames(), QUALITY, SCHEMAS, TODAY + dt.timedelta(days=1), NOW)
    assert not layout_matches(grid, next_day)


def test_quality_kind_keys_get_labels_and_pipeline_dict_keys():
    q = {"issues_by_kind": {"bad_phone": 4, "no_contact": 2}, "rows_with_issues": 5, "clusters": 3, "duplicates": 4, "collisions": 1}
    lay = build_overview(*frames(), q, SCHEMAS, TODAY, NOW)
    _, rows = block(lay, L["quality_title"])
    got = {r[0].strip(): r[1] for r in rows}
    assert got[L["issue_bad_phone"]] == 4
    assert got[L["issue_no_contact"]] == 2
    assert got[L["quality_clusters"]] == 3
    # the most actionable kind first (a lead nobody can call), not the most frequent
    kinds = [r[0].strip() for r in rows[1:3]]
    assert kinds == [L["issue_no_contact"], L["issue_bad_phone"]]


def test_nurture_state_labels_written_by_the_status_step_are_understood():
    status = pytest.importorskip("sheetcrm.sync.status")
    from sheetcrm.sync.summary import nurture_state_keys

    for key, names in status.NURTURE_STATES.items():
        got = nurture_state_keys(pd.Series([key, *names.values()]))
        assert list(got) == [key] * (1 + len(names)), key
