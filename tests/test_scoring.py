"""Lead scoring as data: the rules of scoring.toml change the score as docs/scoring.md says."""

from __future__ import annotations

import copy
import datetime as dt
import tomllib

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from helpers_xlsx import CLEAN, LEADS, TODAY, column_values, grid, header_cols, write_workbook
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sheetcrm import api
from sheetcrm.cli import main
from sheetcrm.config import load_config
from sheetcrm.errors import SchemaError
from sheetcrm.schema import SCHEMA_DIR, load_schemas
from sheetcrm.sync.scoring import ScoringRules, money, score_leads

SCHEMAS = load_schemas()
KEYS = [s.key for s in SCHEMAS.chain.statuses]
SHIPPED = tomllib.loads((SCHEMA_DIR / "scoring.toml").read_text(encoding="utf-8"))
T = dt.date(2026, 3, 12)


def rules(data=None, **patch) -> ScoringRules:
    d = copy.deepcopy(SHIPPED if data is None else data)
    for path, value in patch.items():
        node = d
        *head, last = path.split("__")
        for k in head:
            node = node.setdefault(k, {})
        node[last] = value
    return ScoringRules.from_dict(d, "scoring.toml", KEYS)


def frame(rows):
    """rows: dicts with any of source, product, budget, status, last_contact (days ago), email, ..."""
    out = pd.DataFrame({
        "source": [r.get("source", "") for r in rows],
        "product": [r.get("product", "") for r in rows],
        "budget": [r.get("budget", "") for r in rows],
        "authority": [r.get("authority", "") for r in rows],
        "need": [r.get("need", "") for r in rows],
        "timing": [r.get("timing", "") for r in rows],
        "status": [r.get("status", "new") for r in rows],
        "email": [r.get("email", "") for r in rows],
        "phone": [r.get("phone", "") for r in rows],
        "company": [r.get("company", "") for r in rows],
        "deal_value": [r.get("deal_value", np.nan) for r in rows],
        "expected_close": pd.to_datetime([r.get("expected_close") for r in rows]),
        "last_contact": pd.to_datetime([None if r.get("days") is None else pd.Timestamp(T) - pd.Timedelta(days=r["days"])
                                        for r in rows]),
    })
    return out


def test_each_kind_of_rule_gives_its_points_and_the_reason_names_it():
    r = rules()
    f = frame([{"source": "Giới thiệu", "product": "Gói DN", "budget": "Có", "status": "hot", "days": 2,
                "email": "a@b.vn", "phone": "0912345678"}])
    sc = score_leads(f, r, T, "vi", SCHEMAS.messages["vi"], {"hot": "Nóng"})
    p = sc.points.iloc[0]
    assert p["source"] == 20 and p["product"] == 15 and p["bant.budget"] == 15
    assert p["stage"] == 25 and p["recency"] == 15 and p["completeness"] == 2 + 3 + 2  # email, phone, product
    assert sc.score.iloc[0] == min(100, 20 + 15 + 15 + 25 + 15 + 7)
    assert sc.grade.iloc[0] == "A"
    # the top rules, most points first, as a rep reads them
    assert sc.reason.iloc[0].startswith("Giai đoạn: Nóng (+25); Nguồn: Giới thiệu (+20)")


def test_answers_match_folded_and_by_the_longest_whole_words():
    r = rules()
    f = frame([{"source": "FACEBOOK - chiến dịch Tết"}, {"source": "facebook"}, {"source": "Fbook"},
               {"budget": "chưa có"}, {"budget": "CO"}, {"budget": "không có"}])
    p = score_leads(f, r, T).points
    assert list(p["source"]) == [6, 6, 0, 0, 0, 0]
    # "chưa có" is its own answer (-5), not "có" (+15); "không có" is "không" (-10)
    assert list(p["bant.budget"]) == [0, 0, 0, -5, 15, -10]


def test_negative_rule_is_named_too_and_the_score_stays_within_0_and_100():
    r = rules()
    f = frame([{"status": "disqualified", "days": 400}, {"source": "Giới thiệu", "product": "Gói DN",
               "budget": "có", "authority": "có", "need": "gấp", "timing": "tuần này", "status": "hot", "days": 0}])
    sc = score_leads(f, r, T, "vi", SCHEMAS.messages["vi"], {"disqualified": "Sai đối tượng"})
    assert sc.score.tolist() == [0, 100]
    # no rule gave points, so only the one that took the most away is named
    assert sc.reason.iloc[0] == "Giai đoạn: Sai đối tượng (−40)"
    assert sc.points.iloc[0]["recency"] == -10


ANSWERS = ["Facebook", "Zalo", "Website", "Giới thiệu", "Hội thảo", "", "Khác"]
POINTS = st.integers(-30, 30)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(table=st.dictionaries(st.sampled_from(ANSWERS[:5]), POINTS, min_size=1),
       picks=st.lists(st.sampled_from(ANSWERS), min_size=1, max_size=12),
       stage=st.dictionaries(st.sampled_from(["new", "researched", "potential", "hot"]), POINTS))
def test_score_is_the_clamped_sum_of_the_rules_that_apply(table, picks, stage):
    r = rules(source={"points": table}, stage={"points": stage}, product={"points": {}},
              completeness={"points": {}}, recency={"bands": [], "older": 0, "never": 0}, bant={})
    f = frame([{"source": a, "status": "potential"} for a in picks])
    sc = score_leads(f, r, T)
    want = [np.clip(table.get(a, 0) + stage.get("potential", 0), 0, 100) for a in picks]
    assert sc.score.tolist() == want


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(answer=st.sampled_from(ANSWERS[:5]), bump=st.integers(1, 40),
       days=st.lists(st.one_of(st.none(), st.integers(0, 500)), min_size=1, max_size=8))
def test_raising_a_rules_points_never_lowers_a_score_and_raises_the_unclamped_ones_by_as_much(answer, bump, days):
    base = rules()
    pts = dict(SHIPPED["source"]["points"])
    pts[answer] = pts.get(answer, 0) + bump
    more = rules(source={**SHIPPED["source"], "points": pts})
    f = frame([{"source": answer, "days": d, "status": "researched"} for d in days])
    a, b = score_leads(f, base, T), score_leads(f, more, T)
    assert (b.score >= a.score).all()
    raw = a.points.sum(axis=1)
    inside = (raw >= 0) & (raw + bump <= 100)
    assert ((b.score - a.score)[inside] == bump).all()


@settings(max_examples=40, deadline=None)
@given(cuts=st.lists(st.integers(1, 99), min_size=1, max_size=4, unique=True),
       scores=st.lists(st.integers(0, 100), min_size=1, max_size=20))
def test_grades_follow_the_thresholds(cuts, scores):
    cuts = sorted(cuts, reverse=True)
    names = [chr(65 + i) for i in range(len(cuts) + 1)]
    r = rules(scoring={"grades": [[n, c] for n, c in zip(names, cuts + [0])], "mql": 10, "sql": 20})
    got = r.grade_of(np.array(scores))
    for s, g in zip(scores, got):
        want = next(n for n, c in zip(names, cuts + [0]) if s >= c)
        assert g == want


def test_recency_bands_and_never_contacted():
    r = rules(recency={"bands": [[3, 9], [10, 4]], "older": -2, "never": -7})
    f = frame([{"days": 0}, {"days": 3}, {"days": 4}, {"days": 10}, {"days": 11}, {}])
    assert score_leads(f, r, T).points["recency"].tolist() == [9, 9, 4, 4, -2, -7]


@pytest.mark.parametrize("patch,key", [
    ({"source": {"points": {"Facebook": "many"}}}, "source.points.Facebook"),
    ({"stage": {"points": {"hottt": 5}}}, "stage.points.hottt"),
    ({"scoring": {"grades": [["A", 10], ["B", 50], ["C", 0]]}}, "scoring.grades"),
    ({"scoring": {"mql": 70, "sql": 40}}, "scoring.sql"),
    ({"bant": {"money": {"points": {}}}}, "bant.money"),
    ({"forecast": {"stage_probability": {"hot": 1.5}}}, "forecast.stage_probability.hot"),
    ({"recency": {"bands": [[30, 1], [7, 2]]}}, "recency.bands"),
    ({"completeness": {"points": {"fax": 3}}}, "completeness.points.fax"),
    ({"scroing": {}}, "scroing"),
])
def test_a_bad_rule_names_the_file_and_the_key(patch, key):
    d = copy.deepcopy(SHIPPED)
    for k, v in patch.items():
        d[k] = {**d.get(k, {}), **v} if k in ("scoring",) else v
    with pytest.raises(SchemaError) as e:
        ScoringRules.from_dict(d, "team-scoring.toml", KEYS)
    assert e.value.file == "team-scoring.toml" and e.value.field == key


# ---------------------------------------------------------------- money as people type it


@settings(max_examples=80, deadline=None)
@given(n=st.integers(0, 10**12), sep=st.sampled_from([".", ",", " "]), unit=st.sampled_from(["", " đ", "đ", " VND"]))
def test_grouped_amounts_read_back_exactly(n, sep, unit):
    text = f"{n:,}".replace(",", sep) + unit
    assert money(text) == float(n)


@settings(max_examples=60, deadline=None)
@given(whole=st.integers(0, 999), tenth=st.integers(0, 9), dec=st.sampled_from([",", "."]),
       unit=st.sampled_from([("tr", 1e6), (" triệu", 1e6), (" tỷ", 1e9), ("k", 1e3), (" nghìn", 1e3)]))
def test_amounts_with_a_unit(whole, tenth, dec, unit):
    assert money(f"{whole}{dec}{tenth}{unit[0]}") == pytest.approx((whole + tenth / 10) * unit[1])
    assert money(f"{whole}{unit[0].upper()}") == pytest.approx(whole * unit[1])


@pytest.mark.parametrize("text", ["abc", "-5", "12 con", "1.2.3", "", None, "=A1*2"])
def test_what_is_not_an_amount(text):
    assert money(text) is None


# ---------------------------------------------------------------- end to end on .xlsx


def _bant_workbook(path):
    rows = [dict(r, source="Giới thiệu" if k == 0 else "Facebook") for k, r in enumerate(CLEAN)]
    g = grid(rows, extra={"Ngân sách": ["có"] + ["không"] * (len(rows) - 1),
                          "Giá trị dự kiến": ["150tr"] * len(rows)})
    return write_workbook(path, {LEADS: g})


def test_sync_writes_the_three_columns_at_the_end_of_the_leads_tab(tmp_path):
    path = _bant_workbook(tmp_path / "w.xlsx")
    before = list(header_cols(path))
    api.sync(workbook=path, today=TODAY)
    cols = list(header_cols(path))
    assert cols[: len(before)] == before
    assert cols[-3:] == ["Điểm", "Hạng", "Lý do điểm"]
    scores = column_values(path, "Điểm")
    assert all(isinstance(v, int) and 0 <= v <= 100 for v in scores)
    assert scores[0] > scores[1]  # a referral with a budget beats a Facebook lead without one
    assert "Nguồn: Giới thiệu (+20)" in column_values(path, "Lý do điểm")[0]


def test_the_rules_file_in_the_config_changes_the_scores(tmp_path):
    path = _bant_workbook(tmp_path / "w.xlsx")
    api.sync(workbook=path, today=TODAY)
    first = column_values(path, "Điểm")
    text = (SCHEMA_DIR / "scoring.toml").read_text(encoding="utf-8")
    assert '"Facebook" = 6,' in text
    (tmp_path / "my-scoring.toml").write_text(text.replace('"Facebook" = 6,', '"Facebook" = 40,'), encoding="utf-8")
    (tmp_path / "sheetcrm.toml").write_text('scoring_rules = "my-scoring.toml"\n', encoding="utf-8")
    cfg = load_config(tmp_path / "sheetcrm.toml", workbook=str(path))
    api.sync(config=cfg, today=TODAY)
    second = column_values(path, "Điểm")
    assert second[0] == first[0]
    assert all(b == min(100, a + 34) for a, b in zip(first[1:], second[1:]))


def test_a_broken_rules_file_stops_the_sync_with_exit_2_naming_file_and_key(tmp_path):
    path = _bant_workbook(tmp_path / "w.xlsx")
    (tmp_path / "bad.toml").write_text('[scoring]\nmql = "forty"\n', encoding="utf-8")
    (tmp_path / "sheetcrm.toml").write_text('scoring_rules = "bad.toml"\n', encoding="utf-8")
    res = CliRunner().invoke(main, ["sync", "--config", str(tmp_path / "sheetcrm.toml"), "--workbook", str(path),
                                    "--today", TODAY.isoformat()])
    assert res.exit_code == 2
    assert "bad.toml" in res.output and "scoring.mql" in res.output



def test_the_reason_names_the_recency_band_so_it_does_not_change_every_day():
    r = rules()
    msgs = SCHEMAS.messages["vi"]
    f = frame([{"days": 10, "source": "Zalo"}, {"days": 200}])
    a = score_leads(f, r, T, "vi", msgs).reason
    b = score_leads(f, r, T + dt.timedelta(days=5), "vi", msgs).reason  # 15 and 205 days: same bands
    assert a.tolist() == b.tolist()
    assert "Liên hệ gần đây: trong 30 ngày (+4)" in a.iloc[0]
    assert a.iloc[1].endswith("Lâu chưa liên hệ (hơn 90 ngày) (−10)")
    c = score_leads(f, r, T + dt.timedelta(days=25), "vi", msgs).reason  # 35 days: the next band
    assert c.iloc[0] != a.iloc[0]
