"""The demo's story: seeded lead paths over ten months, replayed into the workbook by
`api.demo` one sync day at a time, ending on the generator's final grid."""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict

import pandas as pd
import pytest
from openpyxl import load_workbook

from sheetcrm import api
from sheetcrm.demo_story import PERSON_KEYS, build_story
from sheetcrm.schema import load_schemas
from sheetcrm.sync.dates import parse_one
from sheetcrm.sync.status import normalize_status
from sheetcrm.text import fold

TODAY = dt.date(2026, 3, 12)
ROWS = 200
L_COST_TITLE = "Chi phí theo quý"
_ORDER = {"new": 1, "researched": 2, "potential": 3, "hot": 4, "won": 5}


@pytest.fixture(scope="module")
def story():
    return build_story(ROWS, seed=7, today=TODAY)


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    path, result = api.demo(tmp_path_factory.mktemp("demo"), rows=ROWS, seed=7, today=TODAY)
    wb = load_workbook(path)
    return path, result, {name: [list(r) for r in wb[name].iter_rows(values_only=True)] for name in wb.sheetnames}


def _keys(texts):
    return normalize_status(pd.Series([t or "" for t in texts], dtype=object), load_schemas().chain).tolist()


def test_story_is_deterministic_per_seed_and_today(story):
    again = build_story(ROWS, seed=7, today=TODAY)
    assert again.days == story.days
    assert [(p.kind, p.appear, p.events) for p in again.paths] == [(p.kind, p.appear, p.events) for p in story.paths]
    assert again.touches == story.touches
    other = build_story(ROWS, seed=8, today=TODAY)
    assert [p.events for p in other.paths] != [p.events for p in story.paths]


def test_sync_days_span_the_period_and_end_today(story):
    days = story.days
    assert days == sorted(set(days)) and days[-1] == TODAY
    assert len(days) >= 6 and (days[-1] - days[0]).days > 240
    assert all(d.weekday() < 5 for d in days[:-1])


def test_paths_stay_in_their_dates_and_end_on_the_grid(story):
    keys = story.keys()
    col = {k: i for i, k in enumerate(keys)}
    appears = [p.appear for p in story.paths]
    assert appears == sorted(appears)  # rows are appended in sheet order
    for p in story.paths:
        row = story.data.rows[p.row]
        days = [e.day for e in p.events]
        assert days == sorted(days) and days[-1] <= TODAY
        created = parse_one(row[col["created_at"]])
        if p.kind != "fixed":
            assert days[0] == created and p.appear >= created
        final = p.state(TODAY)
        for k in PERSON_KEYS:
            if p.kind == "unreachable" and k == "status":
                continue  # typed Từ chối/Chưa chốt; the sync moves it
            assert final[k] == row[col[k]], (p.row, k)


def test_paths_move_forward_except_designed_comebacks(story):
    kinds = Counter(p.kind for p in story.paths)
    assert kinds["reactivated"] > 0 and kinds["fixed"] > 0
    fixed = {r for v in story.data.invalid.values() for r in v} | set(story.data.duplicates)
    for p in story.paths:
        if p.row in fixed:
            assert p.kind == "fixed" and len(p.events) == 1
        statuses = [e.cells["status"] for e in p.events if e.cells.get("status")]
        orders = [_ORDER.get(k) for k in _keys(statuses)]
        left = False  # once out of the chain, only a comeback re-enters it
        last = 0
        for o in orders:
            if o is None:
                left = True
                continue
            if left:
                assert p.kind == "reactivated", (p.row, statuses)
                left = False
            else:
                assert o >= last, (p.row, statuses)
            last = o


def test_unreachable_story_has_three_attempts():
    big = build_story(600, seed=7, today=TODAY)
    paths = [p for p in big.paths if p.kind == "unreachable"]
    assert paths
    for p in paths:
        contacts = [e.cells["last_contact"] for e in p.events if e.cells.get("last_contact") is not None]
        seen = {next(s for s in big.days if s >= parse_one(a)) for a in contacts[-3:]}
        assert len(seen) == 3  # each attempt read by its own sync


def test_history_spans_many_days_by_person_and_sync(demo):
    _, result, tabs = demo
    hist = tabs["Lịch sử"][1:]
    by = defaultdict(set)
    for _lead, _from, _to, day, who in hist:
        by[who].add(day)
    assert len(by["person"]) >= 6 and len(by["sync"]) >= 3
    assert result.today == TODAY


def test_overview_funnel_and_cycle_are_not_degenerate(demo):
    _, _, tabs = demo
    ov = tabs["Tổng quan"]
    start = next(i for i, r in enumerate(ov) if r[0] and str(r[0]).startswith("Phễu"))
    rows = ov[start + 2:start + 7]
    assert sum(1 for r in rows if isinstance(r[2], (int, float)) and r[2] > 0) > 1
    kpi = {r[0]: r[1] for r in ov if r and isinstance(r[0], str)}
    cycle = next(v for k, v in kpi.items() if fold(k).startswith("chu ky ban hang trung binh"))
    assert cycle and cycle > 7


def test_rejections_span_months_and_nurture_comes_back(demo):
    _, _, tabs = demo
    rej = tabs["Từ chối"]
    logged = rej[0].index("Ngày ghi nhận")
    months = {r[logged].strftime("%Y-%m") for r in rej[1:] if r[logged]}
    assert len(months) >= 4
    nur = tabs["Nuôi dưỡng"]
    state = nur[0].index("Tình trạng nuôi dưỡng")
    states = Counter(fold(str(r[state] or "")) for r in nur[1:])
    assert states["da kich hoat lai"] + states["da chot"] > 0
    touched = nur[0].index("Ngày chăm sóc gần nhất")
    assert any(r[touched] for r in nur[1:])


def test_final_person_cells_match_the_grid(demo, story):
    _, _, tabs = demo
    sheet = tabs["Khách hàng"]
    keys = story.keys()
    col = {k: i for i, k in enumerate(keys)}
    last_row = {}
    for lead, _from, to, _day, who in tabs["Lịch sử"][1:]:
        last_row[lead] = (to, who)
    assert len(sheet) - 1 == len(story.data.rows)
    for p in story.paths:
        want, have = story.data.rows[p.row], sheet[p.row + 1]
        for k in PERSON_KEYS:
            w, h = want[col[k]], have[col[k]]
            if k == "recontact_on" and w is None:
                continue  # the sync's own dates
            if isinstance(w, dt.date):
                assert parse_one(h) == w, (p.row, k)
                continue
            if k == "status" and w != h:
                # the sync's moves: blank to Mới, into Nuôi dưỡng / Không tiếp cận
                assert last_row.get(have[col["lead_id"]]) == (h, "sync"), (p.row, w, h)
                continue
            assert h == w, (p.row, k)


def test_each_sync_is_a_fixed_point(demo, tmp_path):
    """After ten months of syncs with people's edits between them, the same day's sync
    again finds nothing to change but its own log row: no run leaves work for the next."""
    import shutil

    path = shutil.copy(demo[0], tmp_path / "again.xlsx")
    again = api.sync(workbook=path, today=TODAY)
    assert not again.changes.updates and not again.changes.replacements
    assert [a.tab for a in again.changes.appends if a.rows] == ["Nhật ký đồng bộ"]


def test_the_demo_shows_todays_nurture_emails_in_an_outbox(demo):
    import email
    import email.policy

    path, _, tabs = demo
    header = tabs["Khách hàng"][0]
    assert "Đồng ý nhận email" in header
    consent = {r[header.index("Mã KH")]: r[header.index("Đồng ý nhận email")] for r in tabs["Khách hàng"][1:]}
    files = sorted((path.parent / "outbox").glob("*.eml"))
    assert files  # the story leaves touches due on its last day
    for f in files:
        m = email.message_from_bytes(f.read_bytes(), policy=email.policy.default)
        assert m["Subject"].startswith("[QC] ") and "mailto:" in m["List-Unsubscribe"]
        assert consent[m["X-Sheetcrm-Lead"]] == "có"  # only leads who agreed
    assert "Thông báo" not in tabs  # a preview: nothing sent, nothing logged


def test_the_english_demo_runs_to_its_outbox(tmp_path):
    """`sheetcrm demo --language en`: a nurture row whose reason cell is blank (read as NaN)
    once stopped the demo before its outbox."""
    import email
    import email.policy

    path, result = api.demo(tmp_path, rows=ROWS, seed=7, today=TODAY, language="en")
    files = sorted((path.parent / "outbox").glob("*.eml"))
    assert files
    for f in files:
        m = email.message_from_bytes(f.read_bytes(), policy=email.policy.default)
        assert m["Subject"].startswith("[ADV] ")


def test_a_blank_reason_picks_the_default_template():
    from sheetcrm.nurture_mail import DEFAULT_TEMPLATE, Templates

    t = Templates(language="en")
    for blank in (float("nan"), None, "", "  "):
        assert t.name_for("", blank) == t.name_for("", None)
    assert t.name_for("", None)[0].endswith(DEFAULT_TEMPLATE)


def test_the_demo_keeps_costs_and_the_overview_reviews_them_per_quarter(demo):
    _, _, tabs = demo
    costs = tabs["Chi phí"]
    assert costs[0][:3] == ["Tháng", "Nguồn", "Chi phí"] and len(costs) > 10
    col_a = [str(r[0]) for r in tabs["Tổng quan"] if r and r[0]]
    at = next(i for i, v in enumerate(col_a) if v.startswith(L_COST_TITLE))
    quarters = [v for v in col_a[at + 2:] if v.startswith("Quý ")]
    assert len(set(quarters)) >= 2  # the story spans several quarters
