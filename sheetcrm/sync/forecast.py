"""Win probability learned from the workbook, and the `Dự báo` (forecast) tab (docs/scoring.md).

Pure: parsed frames in, a `SheetLayout` out. The model is a logistic regression over what
the sheet holds (stage reached, days in that stage, status moves, source, product, owner,
BANT answers), learned from the workbook's own closed leads (won vs lost) and checked on
a time split: the latest closed leads are held out, and the model is used only when it
orders them better than the stage defaults of scoring.toml. Everything is whole-column
work (groupby over history, one matrix for the model), no loop over leads.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from ..changes import ChartSpec, SheetLayout
from ..text import as_text, fold, map_distinct
from .frames import DATE_DTYPE, to_dates
from .lead_history import lead_positions, per_lead, prepare_history, shared, status_values
from .scoring import ForecastSettings, score_leads
from .summary import SYNC_TIME_CELL, Grid, labels, population

if TYPE_CHECKING:
    from .summary_tabs import SummaryInputs

CAT_FEATURES = ("owner", "source", "product")
NUM_FEATURES = ("stage", "days_in_stage", "moves", "bant.budget", "bant.authority", "bant.need",
                "bant.timing", "completeness")
MIN_CATEGORY = 5  # a category with fewer closed leads is "other"
STALLED_LISTED = 100


# ---------------------------------------------------------------- lead facts from the history


@dataclass
class Facts:
    """Per lead (aligned with the population's index): what the model and the tabs read."""

    status: pd.Series
    won: pd.Series          # bool: closed as won
    lost: pd.Series         # bool: closed as lost
    open: pd.Series         # bool: in the active chain before won
    closed_at: pd.Series    # datetime: when it was won / lost
    won_at: pd.Series       # datetime: first move into won
    stage: pd.Series        # float: chain order of the furthest stage reached before closing
    entered: pd.Series      # datetime: when it entered its latest chain stage
    moves: pd.Series        # int: status moves (history rows) until it closed, or so far
    days_in_stage: pd.Series


def status_keys(schemas: Any) -> tuple[list[str], str | None, set[str]]:
    """(chain stages before won, the won key, the lost keys) of the status chain."""
    chain = schemas.chain
    won = next((s.key for s in chain.statuses if s.kind == "won"), None)
    pre = [s.key for s in chain.active if s.kind == "active"]
    lost = {s.key for s in chain.statuses if s.kind == "exit" and not s.excluded and s.key != chain.nurture}
    return pre, won, lost


def lead_facts(pop: pd.DataFrame, history: pd.DataFrame, rejections: pd.DataFrame, schemas: Any,
               today: dt.date, hist: pd.DataFrame | None = None) -> Facts:
    """The facts of `Facts` for every lead of `pop`; `hist` is `prepare_history` of `pop`'s
    ids when the caller has it already."""
    pre, won_key, lost_keys = status_keys(schemas)
    order = {s.key: float(s.order) for s in schemas.chain.active if s.key in pre}
    idx, n = pop.index, len(pop)
    ids = as_text(pop["lead_id"]) if "lead_id" in pop else pd.Series("", index=idx, dtype=object)
    status = pop["status"] if "status" in pop else pd.Series(None, index=idx, dtype=object)
    h = prepare_history(ids, history) if hist is None else hist
    pos, to, at = h["pos"].to_numpy(), h["to_status"].to_numpy(dtype=object), h["observed_at"]
    won = status.eq(won_key).fillna(False).astype(bool)
    lost = status.isin(list(lost_keys)).fillna(False).astype(bool)
    is_open = status.isin(pre).fillna(False).astype(bool)
    nat = pd.Series(pd.NaT, index=idx, dtype=DATE_DTYPE)

    def at_lead(mask: np.ndarray, how: str) -> pd.Series:
        return pd.Series(to_dates(per_lead(at[mask], pos[mask], n, how)).to_numpy(), index=idx)

    to_won = to == won_key
    won_at = at_lead(to_won, "min")
    lost_at = at_lead(np.isin(to, list(lost_keys)), "max")
    rej_at = nat
    stage_before = pd.Series(np.nan, index=idx)
    if len(rejections) and "lead_id" in rejections:
        rpos = lead_positions(ids, rejections["lead_id"])
        ok = rpos >= 0
        r_at = (to_dates(rejections["logged_at"]) if "logged_at" in rejections
                else pd.Series(pd.NaT, index=rejections.index, dtype=DATE_DTYPE)).to_numpy()
        r_st = (status_values(rejections["stage_before"], order) if "stage_before" in rejections
                else np.full(len(rejections), np.nan))
        rej_at = pd.Series(to_dates(per_lead(r_at[ok], rpos[ok], n, "max")).to_numpy(), index=idx)
        stage_before = pd.Series(per_lead(r_st[ok], rpos[ok], n, "max").to_numpy(float), index=idx)
    last_contact = to_dates(pop["last_contact"]) if "last_contact" in pop else nat
    created = to_dates(pop["created_at"]) if "created_at" in pop else nat
    closed = won | lost
    closed_at = to_dates(won_at.where(won, lost_at.fillna(rej_at)).where(closed))
    closed_at = closed_at.fillna(last_contact.where(closed)).fillna(created.where(closed))

    # Furthest chain stage (before won) the history shows, up to the close.
    close_row = closed_at.to_numpy()[pos]
    before = np.isnat(close_row) | (at.to_numpy() <= close_row)
    ords = np.fmax(status_values(h["from_status"].to_numpy(dtype=object), order), status_values(to, order))
    reach = per_lead(ords[before], pos[before], n, "max").to_numpy(float)
    stage = np.fmax(reach, stage_before.to_numpy(float))
    stage = np.fmax(stage, status_values(status.to_numpy(dtype=object), order))
    stage = pd.Series(np.where(np.isnan(stage), 1.0, stage), index=idx)

    into = before & np.isin(to, pre)
    entered = at_lead(into, "max").fillna(created)
    moves = pd.Series(np.bincount(pos[before], minlength=n)[:n].astype(np.int64), index=idx)
    end = closed_at.where(closed, pd.Timestamp(today))
    days = ((end - entered).dt.total_seconds() / 86400.0).clip(lower=0).fillna(0.0)
    return Facts(status, won, lost, is_open, closed_at, won_at, stage, entered, moves, days)


# ---------------------------------------------------------------- the model


@dataclass
class Backtest:
    closed: int = 0          # closed leads learned from
    won: int = 0
    lost: int = 0
    tested: int = 0          # of which held out (the latest)
    auc_model: float | None = None
    auc_default: float | None = None
    brier_model: float | None = None
    brier_default: float | None = None
    used: str = "default"    # "model" or "default"
    why: str = "too_few"     # too_few | one_class | model_better | model_not_better
    factors: list[tuple[str, float]] = field(default_factory=list)  # (feature, coefficient)


def _features(pop: pd.DataFrame, facts: Facts, points: pd.DataFrame) -> pd.DataFrame:
    X = pd.DataFrame(index=pop.index)
    X["stage"] = facts.stage
    X["days_in_stage"] = np.log1p(facts.days_in_stage.astype(float))
    X["moves"] = facts.moves.astype(float)
    for k in NUM_FEATURES[3:]:
        X[k] = points[k].astype(float) if k in points else 0.0
    for c in CAT_FEATURES:
        X[c] = map_distinct(as_text(pop[c]) if c in pop else pd.Series("", index=pop.index), fold, "")
    return X


def _design(X: pd.DataFrame, cats: dict[str, list[str]]) -> np.ndarray:
    # One matrix filled in place (what np.hstack of the blocks gives, without the blocks).
    num = X[list(NUM_FEATURES)].to_numpy(float)
    A = np.zeros((len(X), num.shape[1] + sum(len(cats[c]) for c in CAT_FEATURES)), dtype=float)
    A[:, :num.shape[1]] = num
    at = num.shape[1]
    for c in CAT_FEATURES:
        known = cats[c]
        if not known:
            continue
        codes = pd.Index(known).get_indexer(X[c].to_numpy(dtype=object))
        hit = codes >= 0
        A[np.flatnonzero(hit), at + codes[hit]] = 1.0
        at += len(known)
    return A


def _categories(X: pd.DataFrame) -> dict[str, list[str]]:
    out = {}
    for c in CAT_FEATURES:
        counts = X[c].value_counts()
        out[c] = sorted(k for k, n in counts.items() if n >= MIN_CATEGORY and k)
    return out


def _auc(y: np.ndarray, p: np.ndarray) -> float | None:
    """Area under the ROC curve (ties counted half), None with one class only."""
    pos, neg = int(y.sum()), int(len(y) - y.sum())
    if not pos or not neg:
        return None
    ranks = pd.Series(p).rank(method="average").to_numpy()
    return float((ranks[y == 1].sum() - pos * (pos + 1) / 2) / (pos * neg))


def _auc_se(auc: float, pos: int, neg: int) -> float:
    """Hanley & McNeil's standard error of an AUC."""
    q1, q2 = auc / (2 - auc), 2 * auc * auc / (1 + auc)
    v = (auc * (1 - auc) + (pos - 1) * (q1 - auc * auc) + (neg - 1) * (q2 - auc * auc)) / (pos * neg)
    return math.sqrt(max(v, 0.0))


def stage_default(status: pd.Series, stage: pd.Series, settings: ForecastSettings, schemas: Any) -> np.ndarray:
    """The stage defaults: an open lead by its status, a closed one by the stage it reached."""
    probs = dict(settings.stage_probability)
    by_order = {float(s.order): probs.get(s.key, 0.0) for s in schemas.chain.active}
    p_status = pd.to_numeric(status.map(probs), errors="coerce")
    p_stage = pd.to_numeric(stage.map(by_order), errors="coerce")
    return p_status.fillna(p_stage).fillna(0.0).to_numpy(float)


def _fit(A: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, float, np.ndarray, np.ndarray]:
    """(coefficients, intercept, mean, scale) of a logistic regression on standardised `A`.
    The coefficients are kept in the cache folder under a digest of `A` and `y`
    (docs/cache.md): a later run on the same closed leads neither imports scikit-learn nor
    fits again."""
    from .. import cache

    mu, sd = A.mean(axis=0), A.std(axis=0)
    sd = np.where(sd > 0, sd, 1.0)
    h = hashlib.blake2b(digest_size=12)
    for part in (np.ascontiguousarray(A, dtype=float), np.ascontiguousarray(y, dtype=np.int64)):
        h.update(repr(part.shape).encode())
        h.update(part.tobytes())
    h.update(f"C=1.0|max_iter=300|{cache.libraries()}".encode())
    key = h.hexdigest()
    got = cache.load("forecast", key)
    if isinstance(got, dict) and len(got.get("coef", ())) == A.shape[1]:
        return np.asarray(got["coef"], dtype=float), float(got["intercept"]), mu, sd
    from sklearn.linear_model import LogisticRegression

    m = LogisticRegression(C=1.0, max_iter=300)
    m.fit((A - mu) / sd, y)
    coef, intercept = m.coef_[0].astype(float), float(m.intercept_[0])
    cache.save("forecast", key, {"coef": coef.tolist(), "intercept": intercept})
    return coef, intercept, mu, sd


def _predict(model: tuple[np.ndarray, float, np.ndarray, np.ndarray], A: np.ndarray) -> np.ndarray:
    # the logistic function of the decision value, as LogisticRegression.predict_proba
    coef, intercept, mu, sd = model
    Z = A - mu
    Z /= sd  # in place: one copy of the design matrix, not two
    return 1.0 / (1.0 + np.exp(-(Z @ coef + intercept)))


def _spellings(values: pd.Series) -> dict[str, str]:
    """Folded value → the spelling most cells use (what the factors table shows)."""
    text = map_distinct(as_text(values), str.strip, "")
    counts = text.value_counts()
    out: dict[str, str] = {}
    for v in counts.index:  # most used first
        out.setdefault(fold(v), v)
    return out


def win_probability(pop: pd.DataFrame, facts: Facts, points: pd.DataFrame, settings: ForecastSettings,
                    schemas: Any) -> tuple[pd.Series, Backtest]:
    """Win probability per lead of `pop` (meaningful for the open ones) and the backtest."""
    default = stage_default(facts.status, facts.stage, settings, schemas)
    closed = (facts.won | facts.lost) & facts.closed_at.notna()
    bt = Backtest(closed=int(closed.sum()), won=int((closed & facts.won).sum()), lost=int((closed & facts.lost).sum()))
    out = pd.Series(stage_default(facts.status, pd.Series(np.nan, index=pop.index), settings, schemas),
                    index=pop.index)
    if bt.closed < settings.min_closed or min(bt.won, bt.lost) < settings.min_each:
        return out, bt
    X = _features(pop, facts, points)
    y_all = facts.won.to_numpy(bool)
    ci = np.flatnonzero(closed.to_numpy())
    ci = ci[np.argsort(facts.closed_at.to_numpy()[ci], kind="stable")]
    n_test = max(1, int(round(len(ci) * settings.test_share)))
    train, test = ci[:-n_test], ci[-n_test:]
    bt.tested = len(test)
    ytr, yte = y_all[train].astype(int), y_all[test].astype(int)
    if ytr.min() == ytr.max() or yte.min() == yte.max():
        bt.why = "one_class"
        return out, bt
    cats = _categories(X.iloc[train])
    A = _design(X, cats)
    model = _fit(A[train], ytr)
    pm, pd_ = _predict(model, A[test]), default[test]
    bt.auc_model, bt.auc_default = _auc(yte, pm), _auc(yte, pd_)
    bt.brier_model = float(np.mean((pm - yte) ** 2))
    bt.brier_default = float(np.mean((pd_ - yte) ** 2))
    pos, neg = int(yte.sum()), int(len(yte) - yte.sum())
    need = max(settings.min_gain, 2 * _auc_se(bt.auc_model, pos, neg))
    better = (bt.auc_model - (bt.auc_default or 0.5) >= need and bt.auc_model - 0.5 >= need
              and bt.brier_model <= bt.brier_default)
    if not better:
        bt.why = "model_not_better"
        return out, bt
    bt.used, bt.why = "model", "model_better"
    final = _fit(A[ci], y_all[ci].astype(int))
    shown = {c: _spellings(pop[c]) if c in pop else {} for c in CAT_FEATURES}
    names = list(NUM_FEATURES) + [f"{c}={shown[c].get(k, k)}" for c in CAT_FEATURES for k in cats[c]]
    coefs = final[0]
    top = np.argsort(-np.abs(coefs), kind="stable")[:8]
    bt.factors = [(names[i], float(coefs[i])) for i in top if abs(coefs[i]) > 1e-6]
    return pd.Series(_predict(final, A), index=pop.index), bt


# ---------------------------------------------------------------- the tab


def forecast_frame(i: SummaryInputs) -> tuple[pd.DataFrame, Facts, Backtest]:
    """The population with its facts and win probability (columns `p`, `value`, `weighted`)."""
    rules = i.schemas.scoring
    pop, hist = shared(i)
    pop = pop.copy(deep=False)  # columns added only; the shared population stays as it is
    facts = lead_facts(pop, i.history, i.rejections, i.schemas, i.today, hist)
    sc = score_leads(pop, rules, i.today, i.language, features_only=True)
    p, bt = win_probability(pop, facts, sc.points, rules.forecast, i.schemas)
    pop["p"] = p
    pop["value"] = pd.to_numeric(pop["deal_value"], errors="coerce").fillna(0.0) if "deal_value" in pop else 0.0
    pop["weighted"] = pop["p"] * pop["value"]
    if "score" not in pop:
        pop["score"] = score_leads(pop, rules, i.today, i.language).score
    return pop, facts, bt


def _month_label(p: pd.Period) -> str:
    return p.strftime("%m/%Y")


def build_forecast(i: SummaryInputs, tab: str) -> SheetLayout:
    """The `Dự báo` tab: model and backtest, per owner × month of expected close, the
    deals most likely to close, stalled deals, and past months' forecast against wins."""
    L = labels(i.language, i.schemas)
    rules = i.schemas.scoring
    fs: ForecastSettings = rules.forecast
    pop, facts, bt = forecast_frame(i)
    name = {s.key: s.display(i.language) for s in i.schemas.chain.statuses}
    g = Grid()
    g.put(1, 1, L["forecast_title"], "title")
    g.put(2, 1, L["updated_at"], "note")
    g.put(*SYNC_TIME_CELL, i.now.replace(microsecond=0, tzinfo=None))
    g.put(3, 1, L["as_of"], "note")
    g.put(3, 2, i.today, "date")
    g.row = 5
    _model_block(g, L, bt)

    o = pop[facts.open]
    owner = map_distinct(as_text(o["owner"]), lambda u: u.strip() or L["no_owner"])
    this = pd.Timestamp(i.today).to_period("M")
    months = [this + k for k in range(fs.months_ahead)]
    exp = to_dates(o["expected_close"]) if "expected_close" in o else pd.Series(pd.NaT, index=o.index, dtype=DATE_DTYPE)
    per = exp.dt.to_period("M")
    bucket = pd.Series(L["fc_no_date"], index=o.index, dtype=object)
    has = per.notna()
    bucket[has & (per < this)] = L["fc_overdue"]
    bucket[has & (per > months[-1])] = L["fc_later"]
    inside = has & (per >= this) & (per <= months[-1])
    bucket[inside] = per[inside].map(_month_label).astype(object)
    order = [L["fc_overdue"], *[_month_label(m) for m in months], L["fc_later"], L["fc_no_date"]]
    f = pd.DataFrame({"owner": owner, "month": bucket, "value": o["value"], "weighted": o["weighted"],
                      "p": o["p"]})
    agg = f.groupby(["owner", "month"], sort=False).agg(deals=("p", "size"), value=("value", "sum"),
                                                         weighted=("weighted", "sum"), expected=("p", "sum"))
    rank = {m: k for k, m in enumerate(order)}
    keys = sorted(agg.index, key=lambda om: (fold(om[0]), rank.get(om[1], 99)))
    rows = [[ow, mo, int(agg.loc[(ow, mo), "deals"]), round(float(agg.loc[(ow, mo), "value"])),
             round(float(agg.loc[(ow, mo), "weighted"])), round(float(agg.loc[(ow, mo), "expected"]), 1)]
            for ow, mo in keys]
    g.table(L["fc_owner_month_title"],
            [L["owner_col"], L["fc_month_col"], L["fc_deals"], L["fc_pipeline"], L["fc_weighted"], L["fc_expected_wins"]],
            rows, [None, None, "integer", "integer", "integer", "decimal"],
            total=[L["total"], "", int(len(o)), round(float(o["value"].sum())), round(float(o["weighted"].sum())),
                   round(float(o["p"].sum()), 1)])

    # team total per month, with its chart
    by_month = f.groupby("month").agg(value=("value", "sum"), weighted=("weighted", "sum"))
    mrows = [[m, round(float(by_month.loc[m, "value"])) if m in by_month.index else 0,
              round(float(by_month.loc[m, "weighted"])) if m in by_month.index else 0] for m in order]
    pos = g.table(L["fc_month_title"], [L["fc_month_col"], L["fc_pipeline"], L["fc_weighted"]], mrows,
                  [None, "integer", "integer"])
    g.charts.append(ChartSpec(key="forecast_months", kind="column", title=L["fc_chart"],
                              categories=(pos["first"], 1, pos["last"], 1),
                              series=((pos["header"], 2, pos["last"], 2), (pos["header"], 3, pos["last"], 3)),
                              anchor=(pos["title"], 5), width=560, height=300))
    g.reserve(pos["title"], 19)

    _grades_block(g, L, o, rules, owner)  # the open leads selected above (read only)
    _top_deals_block(g, L, o, exp, name, fs)
    _stalled_block(g, L, o, facts, name, fs, i.today)
    _history_block(g, L, i, tab, pop, facts, o, per, this, fs)
    widths = (26.0, 16.0, 14.0, 16.0, 16.0, 14.0, 14.0, 14.0, 14.0, 40.0)
    return g.layout(tab, widths, freeze_rows=3)


def _r(x: float | None, nd: int = 3) -> float | None:
    return None if x is None or (isinstance(x, float) and math.isnan(x)) else round(float(x), nd)


def _model_block(g: Grid, L: dict[str, str], bt: Backtest) -> None:
    top = g.row
    g.put(top, 1, L["fc_model_title"], "subtitle")
    g.put_row(top + 1, [L["kpi_metric"], L["kpi_value"]], "header")
    items = [
        (L["fc_method"], L["fc_method_model"] if bt.used == "model" else L["fc_method_default"], None),
        (L["fc_why"], L[f"fc_why_{bt.why}"], None),
        (L["fc_closed"], bt.closed, "integer"),
        (L["fc_closed_won"], bt.won, "integer"),
        (L["fc_closed_lost"], bt.lost, "integer"),
        (L["fc_tested"], bt.tested, "integer"),
        (L["fc_auc_model"], _r(bt.auc_model), "decimal"),
        (L["fc_auc_default"], _r(bt.auc_default), "decimal"),
        (L["fc_brier_model"], _r(bt.brier_model), "decimal"),
        (L["fc_brier_default"], _r(bt.brier_default), "decimal"),
    ]
    for k, (label, value, style) in enumerate(items):
        g.put_row(top + 2 + k, [label, value], [None, style])
    g.row = top + 2 + len(items) + 1
    if bt.factors:
        rows = [[_factor_name(L, n), L["fc_up"] if c > 0 else L["fc_down"], round(c, 3)] for n, c in bt.factors]
        g.table(L["fc_factors_title"], [L["fc_factor"], L["fc_effect"], L["fc_coef"]], rows, [None, None, "decimal"])


def _factor_name(L: dict[str, str], n: str) -> str:
    if "=" in n:
        col, val = n.split("=", 1)
        return f"{L.get('fc_f_' + col, col)}: {val}"
    return L.get("fc_f_" + n.replace(".", "_"), n)


def _grades_block(g: Grid, L: dict[str, str], o: pd.DataFrame, rules: Any, owner: pd.Series) -> None:
    score = pd.to_numeric(o["score"], errors="coerce").fillna(0).to_numpy()
    grade = rules.grade_of(score)
    grades = [gr for gr, _ in rules.grades]
    df = pd.DataFrame({"owner": owner.to_numpy(), "grade": grade, "mql": score >= rules.mql, "sql": score >= rules.sql})
    ct = pd.crosstab(df["owner"], df["grade"]).reindex(columns=grades, fill_value=0) if len(df) else \
        pd.DataFrame(columns=grades)
    q = df.groupby("owner")[["mql", "sql"]].sum() if len(df) else pd.DataFrame(columns=["mql", "sql"])
    owners = sorted(ct.index, key=fold)
    rows = [[ow, *[int(ct.loc[ow, gr]) for gr in grades], int(q.loc[ow, "mql"]), int(q.loc[ow, "sql"])]
            for ow in owners]
    total = [L["total"], *[int(ct[gr].sum()) for gr in grades], int(df["mql"].sum()), int(df["sql"].sum())]
    g.table(L["fc_grades_title"].format(mql=rules.mql, sql=rules.sql),
            [L["owner_col"], *[f"{L['fc_grade']} {gr}" for gr in grades], "MQL", "SQL"],
            rows, [None] + ["integer"] * (len(grades) + 2), total=total)


def _can_lead(frame: pd.DataFrame, key: str, k: int) -> pd.DataFrame:
    """The rows of `frame` that can be among the first `k` sorted by `key` descending (then
    by other keys): those at least the k-th largest `key`, in their order, so a stable sort
    of them gives the same first `k` as sorting every row."""
    if k <= 0 or len(frame) <= 4 * k or key not in frame:
        return frame
    vals = frame[key].to_numpy()
    if vals.dtype.kind not in "if" or np.isnan(vals.astype(float)).any():
        return frame
    kth = np.partition(vals, len(vals) - k)[len(vals) - k]
    return frame[vals >= kth]


def _top_deals_block(g: Grid, L: dict[str, str], o: pd.DataFrame, exp: pd.Series, name: dict[str, str],
                     fs: ForecastSettings) -> None:
    o = _can_lead(o, "weighted", fs.top_deals)
    top = o.assign(x_exp=exp).sort_values(["weighted", "p", "lead_id"], ascending=[False, False, True],
                                         kind="mergesort").head(fs.top_deals)
    rows = [[r.lead_id, r.name, r.owner, r.product, name.get(r.status, ""), round(float(r.value)),
             round(float(r.p), 3), None if pd.isna(r.x_exp) else r.x_exp.date(), int(r.score)]
            for r in top.itertuples()]
    g.table(L["fc_top_title"],
            [L["fc_lead_id"], L["fc_name"], L["owner_col"], L["product_col"], L["funnel_stage"], L["fc_value"],
             L["fc_probability"], L["fc_expected_close"], L["fc_score"]],
            rows, [None, None, None, None, None, "integer", "percent", "date", "integer"])


def _stalled_block(g: Grid, L: dict[str, str], o: pd.DataFrame, facts: Facts, name: dict[str, str],
                   fs: ForecastSettings, today: dt.date) -> None:
    last = to_dates(o["last_contact"]) if "last_contact" in o else pd.Series(pd.NaT, index=o.index, dtype=DATE_DTYPE)
    since = last.fillna(facts.entered.reindex(o.index))
    days = (pd.Timestamp(today) - since).dt.days
    quiet = (days > fs.stalled_days).to_numpy(bool)
    # (the columns given the kept rows' values: an empty frame would take a longer index)
    st = _can_lead(o[quiet].assign(x_days=days[quiet], x_last=last[quiet]), "value", STALLED_LISTED)
    st = st.sort_values(["value", "x_days", "lead_id"], ascending=[False, False, True], kind="mergesort")
    rows = [[r.lead_id, r.name, r.owner, name.get(r.status, ""), None if pd.isna(r.x_last) else r.x_last.date(),
             int(r.x_days), round(float(r.value))] for r in st.head(STALLED_LISTED).itertuples()]
    g.table(L["fc_stalled_title"].format(days=fs.stalled_days, n=int(quiet.sum())),
            [L["fc_lead_id"], L["fc_name"], L["owner_col"], L["funnel_stage"], L["fc_last_contact"],
             L["fc_days_quiet"], L["fc_value"]],
            rows, [None, None, None, None, "date", "integer", "integer"])


# -------------------------------------------- past months: the forecast made then, and the wins


def previous_forecasts(grid: list[list[Any]] | None, titles: tuple[str, ...]) -> dict[str, tuple[float, float]]:
    """Month ("MM/YYYY") → (forecast weighted value, expected wins) as the tab recorded them."""
    out: dict[str, tuple[float, float]] = {}
    if not grid:
        return out
    want = {fold(t) for t in titles}
    start = None
    for r, row in enumerate(grid):
        if row and isinstance(row[0], str) and fold(row[0]) in want:
            start = r + 2
            break
    if start is None:
        return out
    for row in grid[start:]:
        if not row or row[0] in (None, ""):
            break
        month = str(row[0]).strip()
        if len(row) < 3 or row[1] in (None, ""):
            continue
        try:
            out[month] = (float(str(row[1]).replace(",", "")), float(str(row[2]).replace(",", "") or 0))
        except ValueError:
            continue
    return out


def _history_block(g: Grid, L: dict[str, str], i: SummaryInputs, tab: str, pop: pd.DataFrame, facts: Facts,
                   o: pd.DataFrame, per: pd.Series, this: pd.Period, fs: ForecastSettings) -> None:
    titles = (labels("vi", i.schemas)["fc_history_title"], labels("en", i.schemas)["fc_history_title"])
    prev: dict[str, tuple[float, float]] = {}
    for title, grid in i.existing.items():
        if fold(title) == fold(tab):
            prev = previous_forecasts(grid, titles)
    cur = _month_label(this)
    if cur not in prev:  # the first sync of the month records this month's forecast
        now = per == this
        prev[cur] = (round(float(o.loc[now, "weighted"].sum())), round(float(o.loc[now, "p"].sum()), 1))
    won_month = facts.won_at.dt.to_period("M")
    value = pop["value"]
    months = [this - k for k in range(fs.months_back, -1, -1)]
    rows = []
    for m in months:
        lab = _month_label(m)
        hit = (won_month == m).to_numpy()
        f_val, f_n = prev.get(lab, (None, None))
        rows.append([lab, f_val, f_n, int(hit.sum()), round(float(value[hit].sum()))])
    # months recorded before the window are kept, so nothing the tab holds is lost
    older = sorted((k for k in prev if k not in {r[0] for r in rows}), key=_month_key)
    rows = [[k, prev[k][0], prev[k][1], None, None] for k in older if _month_key(k) < _month_key(rows[0][0])] + rows
    g.table(L["fc_history_title"],
            [L["fc_month_col"], L["fc_weighted_then"], L["fc_expected_then"], L["fc_won_n"], L["fc_won_value"]],
            rows, [None, "integer", "decimal", "integer", "integer"])


def _month_key(s: str) -> tuple[int, int]:
    try:
        mm, yy = s.split("/")
        return int(yy), int(mm)
    except ValueError:
        return (0, 0)
