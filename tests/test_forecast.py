"""Win probability learned from the workbook, and the `Dự báo` tab (docs/scoring.md)."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest
from helpers_xlsx import write_workbook
from openpyxl import load_workbook

from bench.scoring_data import as_grids, make_crm, true_logit
from sheetcrm import api
from sheetcrm.schema import load_schemas
from sheetcrm.sync.forecast import _auc, build_forecast, forecast_frame, previous_forecasts
from sheetcrm.sync.summary import labels
from sheetcrm.sync.summary_tabs import SummaryInputs

S = load_schemas()
T = dt.date(2026, 3, 12)
L = labels("vi")
NOW = dt.datetime(2026, 3, 12, 9, 30)


def inputs(leads, history, rejections, today=T, existing=None):
    return SummaryInputs(leads, history, rejections, rejections.iloc[0:0], {}, S, today,
                         dt.datetime.combine(today, dt.time(9)), existing=existing or {})


@pytest.fixture(scope="module")
def known():
    leads, h, r = make_crm(3000, seed=2, today=T, signal="bant")
    return leads, h, r, forecast_frame(inputs(leads, h, r))


def test_the_model_recovers_the_known_ordering_and_is_used(known):
    leads, _, _, (pop, facts, bt) = known
    assert bt.used == "model" and bt.why == "model_better"
    assert bt.closed == int(facts.won.sum() + facts.lost.sum()) and bt.tested == round(bt.closed * 0.3)
    assert bt.auc_model > 0.75 and bt.auc_default == pytest.approx(0.5)  # every closed lead reached Nóng
    assert bt.brier_model < bt.brier_default
    # the factors it names are the ones the truth used, with their signs
    coef = dict(bt.factors)
    assert bt.factors[0][0] == "bant.budget" and coef["bant.budget"] > 0
    assert coef.get("source=Giới thiệu", 0) > 0 and coef.get("source=Facebook", 0) < 0
    # on the open leads, the probabilities order them as the truth does
    o = pop[facts.open]
    truth = true_logit(o["budget"].to_numpy(), o["source"].to_numpy(), "bant")
    rho = pd.Series(o["p"].to_numpy()).corr(pd.Series(truth), method="spearman")
    assert rho > 0.8


def test_a_later_run_on_the_same_closed_leads_reuses_the_fit(tmp_path, monkeypatch):
    """The coefficients are cached by a digest of the training data (docs/cache.md): the
    same answer, without scikit-learn; another training set is fitted again."""
    import sklearn.linear_model

    from sheetcrm.sync import forecast as F

    leads, h, r = make_crm(1200, seed=4, today=T, signal="bant")
    monkeypatch.setenv("SHEETCRM_CACHE_DIR", "off")
    cold, _, bt_cold = forecast_frame(inputs(leads, h, r))
    assert bt_cold.used == "model"
    monkeypatch.setenv("SHEETCRM_CACHE_DIR", str(tmp_path))
    first, _, _ = forecast_frame(inputs(leads, h, r))
    assert len(list(tmp_path.glob("forecast-*.json"))) == 2  # the backtest's fit and the final one

    fits = []
    real = sklearn.linear_model.LogisticRegression.fit
    monkeypatch.setattr(sklearn.linear_model.LogisticRegression, "fit",
                        lambda self, *a, **k: fits.append(1) or real(self, *a, **k))
    again, _, bt = forecast_frame(inputs(leads, h, r))
    assert not fits and bt.factors == bt_cold.factors
    np.testing.assert_array_equal(again["p"].to_numpy(), cold["p"].to_numpy())
    np.testing.assert_array_equal(first["p"].to_numpy(), cold["p"].to_numpy())
    forecast_frame(inputs(leads, h, r, today=T + dt.timedelta(days=1)))  # closed leads' features kept
    assert not fits
    forecast_frame(inputs(*make_crm(1200, seed=6, today=T, signal="bant")))  # other closed leads
    assert fits
    assert F._predict((np.array([1.0]), 0.0, np.array([0.0]), np.array([1.0])), np.array([[0.0]]))[0] == 0.5


def test_with_no_signal_the_backtest_says_about_0_5_and_the_stage_defaults_are_used():
    leads, h, r = make_crm(3000, seed=5, today=T, signal="none")
    pop, facts, bt = forecast_frame(inputs(leads, h, r))
    assert abs(bt.auc_model - 0.5) < 0.06
    assert bt.used == "default" and bt.why == "model_not_better" and bt.factors == []
    defaults = dict(S.scoring.forecast.stage_probability)
    o = pop[facts.open]
    assert np.allclose(o["p"], o["status"].map(defaults))


def test_too_few_closed_leads_keep_the_stage_defaults():
    leads, h, r = make_crm(50, seed=1, today=T)
    _, _, bt = forecast_frame(inputs(leads, h, r))
    assert bt.why == "too_few" and bt.used == "default" and bt.auc_model is None


def test_the_time_split_holds_out_the_latest_closed_leads(known):
    _, _, _, (pop, facts, bt) = known
    closed = facts.closed_at[(facts.won | facts.lost)].sort_values(kind="stable")
    cut = closed.iloc[-bt.tested]
    # a lead closed after the cut was never learned from in the backtest: nothing later is in training
    assert (closed.iloc[: -bt.tested] <= cut).all()


def test_auc_helper():
    y = np.array([0, 0, 1, 1])
    assert _auc(y, np.array([0.1, 0.2, 0.3, 0.4])) == 1.0
    assert _auc(y, np.array([0.4, 0.3, 0.2, 0.1])) == 0.0
    assert _auc(y, np.array([0.5, 0.5, 0.5, 0.5])) == 0.5
    assert _auc(np.array([1, 1]), np.array([0.1, 0.2])) is None


# ---------------------------------------------------------------- the tab


def table(layout, title):
    """The rows of the table titled `title` (header first), up to its blank line."""
    cells = [list(r) for r in layout.cells]
    start = next(i for i, r in enumerate(cells) if r and isinstance(r[0], str) and r[0].startswith(title))
    out = []
    for r in cells[start + 1:]:
        if all(v in (None, "") for v in r):
            break
        out.append(r)
    return out


def test_forecast_sums_reconcile_with_the_leads(known):
    leads, h, r, (pop, facts, bt) = known
    lay = build_forecast(inputs(leads, h, r), "Dự báo")
    rows = table(lay, L["fc_owner_month_title"])
    head, body, total = rows[0], rows[1:-1], rows[-1]
    assert total[0] == L["total"]
    open_ = leads[leads["status"].isin(["new", "researched", "potential", "hot"])]
    assert sum(x[2] for x in body) == total[2] == len(open_)
    assert sum(x[3] for x in body) == pytest.approx(open_["deal_value"].sum(), abs=len(body))
    assert total[3] == round(open_["deal_value"].sum())
    o = pop[facts.open]
    assert total[4] == round((o["p"] * o["deal_value"]).sum())
    # per owner, as the leads tab holds them
    per_owner = pd.DataFrame(body, columns=head).groupby(L["owner_col"])[L["fc_pipeline"]].sum()
    want = open_.groupby("owner")["deal_value"].sum()
    assert (per_owner.reindex(want.index) - want).abs().max() <= 12  # one rounding per month bucket
    # months: this one and the next ones, then the overdue / later / undated buckets
    months = {x[1] for x in body}
    assert "03/2026" in months and L["fc_no_date"] in months
    exp = open_["expected_close"]
    in_march = open_[(exp.dt.year == 2026) & (exp.dt.month == 3)]
    got = sum(x[3] for x in body if x[1] == "03/2026")
    assert got == pytest.approx(in_march["deal_value"].sum(), abs=7)
    # the model block says what was used, on what
    model = {x[0]: x[1] for x in table(lay, L["fc_model_title"])[1:]}
    assert model[L["fc_method"]] == L["fc_method_model"] and model[L["fc_closed"]] == bt.closed
    assert any(ch.key == "forecast_months" for ch in lay.charts)


def test_top_and_stalled_deals(known):
    leads, h, r, (pop, facts, bt) = known
    lay = build_forecast(inputs(leads, h, r), "Dự báo")
    top = table(lay, L["fc_top_title"])[1:]
    assert len(top) == S.scoring.forecast.top_deals
    o = pop[facts.open]
    want = o.sort_values(["weighted", "p", "lead_id"], ascending=[False, False, True], kind="mergesort")
    assert [row[0] for row in top] == want["lead_id"].head(len(top)).tolist()
    assert all(row[4] in {"Mới", "Đã tìm hiểu", "Tiềm năng", "Nóng"} for row in top)
    quiet = (pd.Timestamp(T) - o["last_contact"]).dt.days > S.scoring.forecast.stalled_days
    title = L["fc_stalled_title"].format(days=S.scoring.forecast.stalled_days, n=int(quiet.sum()))
    assert any(row and row[0] == title for row in lay.cells)


def test_last_months_forecast_is_kept_in_the_tab_and_set_against_the_wins():
    leads, h, r = make_crm(1500, seed=3, today=T)
    march = build_forecast(inputs(leads, h, r), "Dự báo")
    grid = [list(row) for row in march.cells]
    recorded = previous_forecasts(grid, (L["fc_history_title"],))
    assert set(recorded) == {"03/2026"}
    # a month later (no new wins typed in between): the March figure is the one recorded then
    april = dt.date(2026, 4, 15)
    later = build_forecast(inputs(leads, h, r, today=april, existing={"Dự báo": grid}), "Dự báo")
    rows = {x[0]: x for x in table(later, L["fc_history_title"])[1:]}
    assert rows["03/2026"][1] == recorded["03/2026"][0]
    assert rows["04/2026"][1] is not None
    assert rows["01/2026"][1] is None  # before the tab existed: no forecast to compare
    won_at = h[h["to_status"] == "won"].groupby("lead_id")["observed_at"].min()
    feb = won_at[(won_at.dt.year == 2026) & (won_at.dt.month == 2)]
    assert rows["02/2026"][3] == len(feb)
    assert rows["02/2026"][4] == round(leads.set_index("lead_id").loc[feb.index, "deal_value"].sum())


# ---------------------------------------------------------------- end to end on .xlsx


def test_sync_writes_the_forecast_and_activity_tabs_of_an_xlsx(tmp_path):
    leads, h, r = make_crm(400, seed=4, today=T)
    path = write_workbook(tmp_path / "w.xlsx", as_grids(leads, h, S))
    api.sync(workbook=path, today=T)
    wb = load_workbook(path, data_only=True)
    assert {"Dự báo", "Hoạt động"} <= set(wb.sheetnames)
    grid = [list(r) for r in wb["Dự báo"].iter_rows(values_only=True)]
    recorded = previous_forecasts(grid, (L["fc_history_title"],))
    assert "03/2026" in recorded
    rows = [list(x) for x in wb["Khách hàng"].iter_rows(values_only=True)]
    head = rows[0]
    st, val = head.index("Trạng thái"), head.index("Giá trị dự kiến")
    open_value = sum(x[val] or 0 for x in rows[1:] if x[st] in ("Mới", "Đã tìm hiểu", "Tiềm năng", "Nóng"))
    start = next(i for i, x in enumerate(grid) if x[0] == L["fc_owner_month_title"])
    end = next(i for i in range(start, len(grid)) if grid[i][0] == L["total"])
    assert grid[end][3] == open_value
    # a second sync the same day changes nothing in these tabs
    before = {t: [list(x) for x in wb[t].iter_rows(values_only=True)] for t in ("Dự báo", "Hoạt động")}
    api.sync(workbook=path, today=T)
    wb2 = load_workbook(path, data_only=True)
    for t, g in before.items():
        after = [list(x) for x in wb2[t].iter_rows(values_only=True)]
        assert after[2:] == g[2:], t  # the update time (row 2) aside


def test_the_demo_scores_its_leads_and_learns_its_forecast(tmp_path):
    path, _ = api.demo(tmp_path, rows=300, today=T)
    wb = load_workbook(path, data_only=True)
    head = [c.value for c in wb["Khách hàng"][1]]
    for h in ("Ngân sách", "Người quyết định", "Nhu cầu", "Thời điểm mua", "Giá trị dự kiến", "Ngày dự kiến chốt",
              "Điểm", "Hạng", "Lý do điểm"):
        assert h in head, h
    i = head.index("Điểm")
    assert head[i:i + 3] == ["Điểm", "Hạng", "Lý do điểm"]  # side by side, after the person's columns
    assert i > head.index("Lỗi dữ liệu")
    rows = [list(r) for r in wb["Khách hàng"].iter_rows(min_row=2, values_only=True)]
    sc, st = head.index("Điểm"), head.index("Trạng thái")
    won = [r[sc] for r in rows if r[st] == "Chốt"]
    lost = [r[sc] for r in rows if r[st] == "Từ chối"]
    assert won and lost
    grid = [list(r) for r in wb["Dự báo"].iter_rows(values_only=True)]
    model = {r[0]: r[1] for r in grid if r and isinstance(r[0], str)}
    assert model[L["fc_closed"]] >= S.scoring.forecast.min_closed  # ten months of closed leads to learn from
    assert model[L["fc_auc_model"]] is not None and model[L["fc_auc_model"]] > 0.5
    assert any(r and r[0] == L["act_team_title"] for r in wb["Hoạt động"].iter_rows(values_only=True))
