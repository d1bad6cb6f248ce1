"""Lead scoring as data (docs/scoring.md): `Điểm`, `Hạng` and `Lý do điểm`.

The rules are `schemas/scoring.toml` (or the file `scoring_rules` names), parsed here from
a plain dict into a frozen `ScoringRules`; reading the file is the caller's job. Scoring is
vectorised: each rule maps the distinct values of one column to points (text answers are
matched folded), the points of all rules form one matrix, and the score, grade and the
words a rep reads come from whole-column operations on it.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from ..errors import SchemaError
from ..text import as_text, fold, map_distinct, strip_text

TEXT_RULES = ("source", "product")  # leads columns scored by their answer, besides BANT
BANT_KEYS = ("budget", "authority", "need", "timing")
COMPLETENESS_KEYS = ("email", "phone", "company", "product", "deal_value", "expected_close", "owner",
                     "source", "notes")
SCORE_COLUMNS = ("score", "grade", "score_reason")


# ---------------------------------------------------------------- rules


@dataclass(frozen=True)
class TextRule:
    """Points for the answer in one leads column: folded answer → points."""

    key: str          # rule key in the file: "source", "product", "bant.budget"
    column: str       # leads column key
    label: str
    label_en: str
    points: tuple[tuple[str, int], ...]  # (folded answer, points), longest answer first

    def display(self, language: str) -> str:
        return self.label_en if language == "en" and self.label_en else self.label


@dataclass(frozen=True)
class ForecastSettings:
    stage_probability: tuple[tuple[str, float], ...] = ()
    min_closed: int = 60
    min_each: int = 10
    test_share: float = 0.3
    min_gain: float = 0.02
    stalled_days: int = 14
    top_deals: int = 15
    months_ahead: int = 6
    months_back: int = 6


@dataclass(frozen=True)
class ActivitySettings:
    weeks: int = 8
    overdue_manager_days: int = 7


@dataclass(frozen=True)
class ScoringRules:
    grades: tuple[tuple[str, int], ...]  # (grade, lowest score), best first
    mql: int
    sql: int
    reasons_shown: int
    text_rules: tuple[TextRule, ...]
    completeness: tuple[tuple[str, int], ...]
    completeness_label: tuple[str, str]
    recency_bands: tuple[tuple[int, int], ...]  # (within days, points), ascending days
    recency_older: int
    recency_never: int
    recency_label: tuple[str, str]
    stage: tuple[tuple[str, int], ...]
    stage_label: tuple[str, str]
    forecast: ForecastSettings = field(default_factory=ForecastSettings)
    activity: ActivitySettings = field(default_factory=ActivitySettings)
    file: str = "scoring.toml"
    product_aliases: tuple[tuple[str, str], ...] = ()  # (typed name, the name summaries show)
    source_aliases: tuple[tuple[str, str], ...] = ()

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], file: str, status_keys: Sequence[str] | None = None) -> ScoringRules:
        """Parse and check the TOML `data`; a bad value raises SchemaError naming `file` and the key."""
        p = _Parser(file)
        sc = p.table(data, "scoring")
        grades = p.grades(sc.get("grades", [["A", 70], ["B", 50], ["C", 30], ["D", 0]]))
        mql = p.int_(sc, "mql", 40, "scoring", 0, 100)
        sql = p.int_(sc, "sql", 65, "scoring", 0, 100)
        if sql < mql:
            raise SchemaError(file, "scoring.sql", f"must be at least scoring.mql ({mql}), got {sql}")
        shown = p.int_(sc, "reasons_shown", 3, "scoring", 1, 10)
        rules = []
        for key in TEXT_RULES:
            if key in data:
                rules.append(p.text_rule(data[key], key, key))
        bant = p.table(data, "bant")
        for col, raw in bant.items():
            if col not in BANT_KEYS:
                raise SchemaError(file, f"bant.{col}", f"unknown BANT column (known: {', '.join(BANT_KEYS)})")
            rules.append(p.text_rule(raw, f"bant.{col}", col))
        comp = p.table(data, "completeness")
        comp_points = p.points(comp.get("points", {}), "completeness.points")
        for k, _ in comp_points:
            if k not in COMPLETENESS_KEYS:
                raise SchemaError(file, f"completeness.points.{k}",
                                  f"unknown column (known: {', '.join(COMPLETENESS_KEYS)})")
        rec = p.table(data, "recency")
        bands = p.bands(rec.get("bands", []))
        stage = p.table(data, "stage")
        stage_points = p.points(stage.get("points", {}), "stage.points")
        fc = p.table(data, "forecast")
        probs = p.probabilities(fc.get("stage_probability", {}), "forecast.stage_probability")
        if status_keys is not None:
            for where, pairs in (("stage.points", stage_points), ("forecast.stage_probability", probs)):
                for k, _ in pairs:
                    if k not in status_keys:
                        raise SchemaError(file, f"{where}.{k}",
                                          f"unknown status key (known: {', '.join(status_keys)})")
        d = ForecastSettings()
        forecast = ForecastSettings(
            stage_probability=probs,
            min_closed=p.int_(fc, "min_closed", d.min_closed, "forecast", 4, 10**7),
            min_each=p.int_(fc, "min_each", d.min_each, "forecast", 2, 10**7),
            test_share=p.num(fc, "test_share", d.test_share, "forecast", 0.05, 0.9),
            min_gain=p.num(fc, "min_gain", d.min_gain, "forecast", 0.0, 0.5),
            stalled_days=p.int_(fc, "stalled_days", d.stalled_days, "forecast", 1, 3650),
            top_deals=p.int_(fc, "top_deals", d.top_deals, "forecast", 1, 500),
            months_ahead=p.int_(fc, "months_ahead", d.months_ahead, "forecast", 1, 36),
            months_back=p.int_(fc, "months_back", d.months_back, "forecast", 1, 36),
        )
        ac = p.table(data, "activity")
        da = ActivitySettings()
        activity = ActivitySettings(
            weeks=p.int_(ac, "weeks", da.weeks, "activity", 1, 104),
            overdue_manager_days=p.int_(ac, "overdue_manager_days", da.overdue_manager_days, "activity", 0, 3650),
        )
        known = {"scoring", "bant", "completeness", "recency", "stage", "forecast", "activity", "products", "sources",
                 *TEXT_RULES}
        for k in data:
            if k not in known:
                raise SchemaError(file, k, f"unknown section (known: {', '.join(sorted(known))})")
        return cls(
            grades=grades, mql=mql, sql=sql, reasons_shown=shown, text_rules=tuple(rules),
            completeness=comp_points, completeness_label=p.labels(comp, "completeness", "Đủ thông tin"),
            recency_bands=bands,
            recency_older=p.int_(rec, "older", 0, "recency", -100, 100),
            recency_never=p.int_(rec, "never", 0, "recency", -100, 100),
            recency_label=p.labels(rec, "recency", "Liên hệ gần đây"),
            stage=stage_points, stage_label=p.labels(stage, "stage", "Giai đoạn"),
            forecast=forecast, activity=activity, file=file,
            product_aliases=p.aliases(p.table(data, "products"), "products"),
            source_aliases=p.aliases(p.table(data, "sources"), "sources"),
        )

    def grade_of(self, score: np.ndarray) -> np.ndarray:
        """Grade per score: the first grade whose lowest score it reaches (the last otherwise)."""
        out = np.full(len(score), self.grades[-1][0], dtype=object)
        for g, lo in reversed(self.grades):
            out[score >= lo] = g
        return out


class _Parser:
    def __init__(self, file: str):
        self.file = file

    def fail(self, where: str, problem: str) -> SchemaError:
        return SchemaError(self.file, where, problem)

    def table(self, d: Mapping[str, Any], key: str) -> Mapping[str, Any]:
        v = d.get(key, {})
        if not isinstance(v, Mapping):
            raise self.fail(key, f"must be a table, got {v!r}")
        return v

    def int_(self, d: Mapping[str, Any], key: str, default: int, where: str, lo: int, hi: int) -> int:
        v = d.get(key, default)
        if not isinstance(v, int) or isinstance(v, bool):
            raise self.fail(f"{where}.{key}", f"must be a whole number, got {v!r}")
        if not lo <= v <= hi:
            raise self.fail(f"{where}.{key}", f"must be between {lo} and {hi}, got {v!r}")
        return v

    def num(self, d: Mapping[str, Any], key: str, default: float, where: str, lo: float, hi: float) -> float:
        v = d.get(key, default)
        if not isinstance(v, (int, float)) or isinstance(v, bool) or not lo <= v <= hi:
            raise self.fail(f"{where}.{key}", f"must be a number between {lo:g} and {hi:g}, got {v!r}")
        return float(v)

    def points(self, d: Any, where: str) -> tuple[tuple[str, int], ...]:
        if not isinstance(d, Mapping):
            raise self.fail(where, f"must be a table of answer = points, got {d!r}")
        out = []
        for k, v in d.items():
            if not isinstance(v, int) or isinstance(v, bool) or not -100 <= v <= 100:
                raise self.fail(f"{where}.{k}", f"must be a whole number of points between -100 and 100, got {v!r}")
            out.append((str(k), v))
        return tuple(out)

    def probabilities(self, d: Any, where: str) -> tuple[tuple[str, float], ...]:
        if not isinstance(d, Mapping):
            raise self.fail(where, f"must be a table of status = probability, got {d!r}")
        out = []
        for k, v in d.items():
            if not isinstance(v, (int, float)) or isinstance(v, bool) or not 0 <= v <= 1:
                raise self.fail(f"{where}.{k}", f"must be a probability between 0 and 1, got {v!r}")
            out.append((str(k), float(v)))
        return tuple(out)

    def aliases(self, d: Mapping[str, Any], where: str) -> tuple[tuple[str, str], ...]:
        table = d.get("aliases", {})
        if not isinstance(table, Mapping):
            raise self.fail(f"{where}.aliases", f"must be a table of typed name = shown name, got {table!r}")
        for k, v in table.items():
            if not isinstance(v, str) or not v.strip():
                raise self.fail(f"{where}.aliases.{k}", f"must be a name, got {v!r}")
        return tuple((str(k), v.strip()) for k, v in table.items())

    def labels(self, d: Mapping[str, Any], where: str, default: str) -> tuple[str, str]:
        vi, en = d.get("label", default), d.get("label_en", "")
        for k, v in (("label", vi), ("label_en", en)):
            if not isinstance(v, str):
                raise self.fail(f"{where}.{k}", f"must be text, got {v!r}")
        return vi, en

    def text_rule(self, raw: Any, key: str, column: str) -> TextRule:
        if not isinstance(raw, Mapping):
            raise self.fail(key, f"must be a table, got {raw!r}")
        pts = self.points(raw.get("points", {}), f"{key}.points")
        folded: dict[str, int] = {}
        for k, v in pts:
            f = fold(k)
            if not f:
                raise self.fail(f"{key}.points", "an answer must not be empty")
            if f in folded and folded[f] != v:
                raise self.fail(f"{key}.points.{k}", f"the same answer (folded '{f}') is given two scores")
            folded[f] = v
        vi, en = self.labels(raw, key, column)
        ordered = tuple(sorted(folded.items(), key=lambda kv: (-len(kv[0]), kv[0])))
        return TextRule(key, column, vi, en, ordered)

    def grades(self, v: Any) -> tuple[tuple[str, int], ...]:
        ok = isinstance(v, list) and v and all(
            isinstance(g, list) and len(g) == 2 and isinstance(g[0], str) and g[0].strip()
            and isinstance(g[1], int) and not isinstance(g[1], bool) for g in v)
        if not ok:
            raise self.fail("scoring.grades", f"must be a list of [grade, lowest score], got {v!r}")
        lows = [g[1] for g in v]
        if lows != sorted(lows, reverse=True) or len(set(lows)) != len(lows):
            raise self.fail("scoring.grades", f"lowest scores must go down from the best grade, got {lows}")
        if lows[-1] > 0:
            raise self.fail("scoring.grades", f"the last grade must start at 0, got {lows[-1]}")
        return tuple((g[0].strip(), g[1]) for g in v)

    def bands(self, v: Any) -> tuple[tuple[int, int], ...]:
        ok = isinstance(v, list) and all(
            isinstance(b, list) and len(b) == 2 and all(isinstance(x, int) and not isinstance(x, bool) for x in b)
            for b in v)
        if not ok:
            raise self.fail("recency.bands", f"must be a list of [within days, points], got {v!r}")
        days = [b[0] for b in v]
        if days != sorted(days) or len(set(days)) != len(days) or (days and days[0] < 0):
            raise self.fail("recency.bands", f"days must go up, got {days}")
        for b in v:
            if not -100 <= b[1] <= 100:
                raise self.fail("recency.bands", f"points must be between -100 and 100, got {b[1]}")
        return tuple((b[0], b[1]) for b in v)


# ---------------------------------------------------------------- values typed by people


_MONEY_UNITS = {  # folded unit word → multiplier
    "ty": 1e9, "ti": 1e9, "trieu": 1e6, "tr": 1e6, "m": 1e6, "nghin": 1e3, "ngan": 1e3,
    "k": 1e3, "vnd": 1.0, "dong": 1.0, "d": 1.0, "": 1.0,
}
_MONEY = re.compile(r"^(\d[\d.,\s]*?)\s*([a-z]*)\.?$")
_GROUPED = re.compile(r"^\d{1,3}([.,\s]\d{3})+$")
_DECIMAL = re.compile(r"^\d+([.,]\d+)?$")


def money(value: Any) -> float | None:
    """A deal value as typed → VND (None when it is not an amount).

    Numbers stay numbers. In text, digits in groups of three after `.`, `,` or a space are
    thousands ("150.000.000", "150,000,000 đ"); otherwise `,` or `.` is the decimal point
    ("1,5 tỷ"). A unit may follow: tỷ, triệu/tr/m, nghìn/k, đ/vnd."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, (int, float, np.integer, np.floating)):
        x = float(value)
        return x if math.isfinite(x) and x >= 0 else None
    text = fold(str(value).replace("₫", "d"))
    text = re.sub(r"^vnd\s*", "", text)
    m = _MONEY.match(text)
    if not m or m.group(2) not in _MONEY_UNITS:
        return None
    digits, mult = m.group(1).strip(), _MONEY_UNITS[m.group(2)]
    if _GROUPED.match(digits):
        number = float(re.sub(r"\D", "", digits))
    elif _DECIMAL.match(digits):
        number = float(digits.replace(",", "."))
    else:
        return None
    return number * mult


def money_column(values: pd.Series) -> pd.Series:
    """`money` of each cell, as float (NaN where not an amount)."""
    return pd.to_numeric(map_distinct(values, money), errors="coerce").astype(float)


# ---------------------------------------------------------------- scoring


@dataclass
class Scores:
    score: pd.Series          # int 0..100
    grade: pd.Series          # object
    reason: pd.Series         # object: the rules that gave the most points, in words
    points: pd.DataFrame      # one column of points per rule key (the model's features)


def _match_table(rule: TextRule) -> tuple[dict[str, int], list[tuple[re.Pattern, int, str]]]:
    exact = dict(rule.points)
    words = [(re.compile(r"(?<!\w)" + re.escape(k) + r"(?!\w)"), v, k) for k, v in rule.points]
    return exact, words


def text_points(values: pd.Series, rule: TextRule) -> pd.Series:
    """Points of each answer in `values` under `rule` (0 when nothing matches)."""
    exact, words = _match_table(rule)

    def one(v: str) -> int:
        f = fold(v)
        if not f:
            return 0
        if f in exact:
            return exact[f]
        for pat, pts, _ in words:  # longest answer first
            if pat.search(f):
                return pts
        return 0

    return pd.to_numeric(map_distinct(as_text(values), one, 0)).astype(np.int64)


def _days_since(last: pd.Series, today: dt.date) -> pd.Series:
    d = pd.to_datetime(last, errors="coerce")
    return (pd.Timestamp(today) - d).dt.days


def _codes(values: pd.Series | np.ndarray) -> tuple[np.ndarray, list]:
    """Integer code per cell and the distinct values (a missing cell is its own value '')."""
    if isinstance(values, np.ndarray) and values.dtype.kind in "iu":  # points, bands: no objects
        codes, uniques = pd.factorize(values)
        return codes.astype(np.int64), uniques.tolist()
    arr = np.asarray(values, dtype=object)
    codes, uniques = pd.factorize(arr, use_na_sentinel=False)
    return codes.astype(np.int64), list(uniques)


def _stripped_codes(raw: pd.Series) -> tuple[np.ndarray, list]:
    """`_codes` of the stripped text of each cell: the cells factorized once, then only
    their distinct values stripped (same codes and order as stripping every cell)."""
    codes, uniques = pd.factorize(as_text(raw).to_numpy(dtype=object))
    inner, uniq = _codes([u.strip() for u in uniques.tolist()])
    return (inner[codes] if len(codes) else codes.astype(np.int64)), uniq


def _filled(values: pd.Series) -> np.ndarray:
    """Per cell: holds text other than spaces. Compared as a whole array, no hashing:
    contact columns are nearly all distinct."""
    arr = as_text(values).to_numpy(dtype=object)
    filled = arr != ""
    if filled.any():
        sub = arr[filled]
        filled[filled] = ~np.fromiter(map(str.isspace, sub), dtype=bool, count=len(sub))
    return filled


class _Kinds:
    """Per rule kind: its points per lead, and per lead a code into the kind's list of
    texts a rep reads ("Nguồn: Giới thiệu (+20)"); every text is formatted once."""

    def __init__(self, n: int):
        self.n = n
        self.keys: list[str] = []
        self.points: list[np.ndarray] = []
        self.codes: list[np.ndarray] = []  # into `texts`, global
        self.texts: list[str] = []

    def add(self, key: str, points: np.ndarray, codes: np.ndarray, labels: list[str],
            unique_points: np.ndarray | None = None) -> None:
        """`codes` index `labels`; the text of a code is its label with its points, which are
        `unique_points[code]` (or read from `points` when the label alone fixes them not)."""
        points = points.astype(np.int64)
        if unique_points is None:  # the points of each code: any row's (they are equal per code)
            unique_points = np.zeros(len(labels), dtype=np.int64)
            unique_points[codes] = points
        base = len(self.texts)
        self.texts.extend(_one(t, int(v)) for t, v in zip(labels, unique_points))
        self.keys.append(key)
        self.points.append(points)
        self.codes.append(codes + base)


def score_leads(leads: pd.DataFrame, rules: ScoringRules, today: dt.date, language: str = "vi",
                messages: Mapping[str, str] | None = None,
                status_names: Mapping[str, str] | None = None, features_only: bool = False) -> Scores:
    """Score every lead row of `leads` (parsed columns: status keys, dates as datetimes;
    `deal_value` as numbers and `expected_close` as dates when present). `features_only`:
    the points of the BANT and completeness rules only (the win model's features), no texts."""
    msgs = dict(messages or {})
    n = len(leads)
    idx = leads.index
    K = _Kinds(n)
    lab = 1 if language == "en" else 0

    def label_of(pair: tuple[str, str]) -> str:
        return pair[1] if lab and pair[1] else pair[0]

    for rule in rules.text_rules:
        if features_only and not rule.key.startswith("bant."):
            continue
        raw = leads[rule.column] if rule.column in leads else pd.Series("", index=idx, dtype=object)
        codes, uniq = _stripped_codes(raw)
        up = text_points(pd.Series(uniq, dtype=object), rule).to_numpy(dtype=np.int64)
        name = rule.display(language)
        K.add(rule.key, up[codes], codes, [f"{name}: {v}" if v else "" for v in uniq], up)

    if rules.completeness:
        total = np.zeros(n, dtype=np.int64)
        for col, v in rules.completeness:
            if col not in leads:
                continue
            s = leads[col]
            if pd.api.types.is_datetime64_any_dtype(s) or pd.api.types.is_numeric_dtype(s):
                filled = s.notna().to_numpy()
            else:
                filled = _filled(s)
            total += np.where(filled, v, 0)
        codes, uniq = _codes(total)
        K.add("completeness", total, codes, [label_of(rules.completeness_label)] * len(uniq),
              np.asarray(uniq, dtype=np.int64))

    if not features_only:
        last = leads["last_contact"] if "last_contact" in leads else pd.Series(pd.NaT, index=idx)
        dv = (pd.Timestamp(today) - pd.to_datetime(last, errors="coerce")).dt.days.to_numpy(dtype=float)
        never = np.isnan(dv)
        # the band each lead falls in (its text names the band, so it changes only when the
        # lead moves to another band, not every day): 0.. bands, len(bands) older, -1 never
        band = np.full(n, len(rules.recency_bands), dtype=np.int64)
        for b in range(len(rules.recency_bands) - 1, -1, -1):
            band[dv <= rules.recency_bands[b][0]] = b
        band[never] = -1
        band_points = np.array([p_ for _, p_ in rules.recency_bands] + [rules.recency_older, rules.recency_never],
                               dtype=np.int64)
        rp = band_points[band]  # -1 indexes `never`
        codes, uniq = _codes(band)
        rlabel = label_of(rules.recency_label)
        tmpl_recent = msgs.get("score_recency", "{label}: {days}")
        tmpl_older = msgs.get("score_older", "{days}")
        never_txt = msgs.get("score_never", "-")
        last_band = rules.recency_bands[-1][0] if rules.recency_bands else 0
        texts = [never_txt if b < 0 else tmpl_older.format(label=rlabel, days=last_band)
                 if b == len(rules.recency_bands) else tmpl_recent.format(label=rlabel, days=rules.recency_bands[b][0])
                 for b in uniq]
        K.add("recency", rp, codes, texts)

        status = leads["status"] if "status" in leads else pd.Series(None, index=idx, dtype=object)
        codes, uniq = _codes(status.where(status.notna(), ""))
        stage_map = dict(rules.stage)
        up = np.array([stage_map.get(k, 0) for k in uniq], dtype=np.int64)
        slabel = label_of(rules.stage_label)
        st_names = dict(status_names or {})
        K.add("stage", up[codes], codes, [f"{slabel}: {st_names.get(k, k)}" if k else "" for k in uniq], up)

    P = np.column_stack(K.points) if K.points else np.zeros((n, 0), dtype=np.int64)
    raw_score = P.sum(axis=1) if P.shape[1] else np.zeros(n, dtype=np.int64)
    score = np.clip(raw_score, 0, 100).astype(np.int64)
    if features_only:
        reason = np.full(n, "", dtype=object)
        grade = np.full(n, "", dtype=object)
    else:
        grade = rules.grade_of(score)
        C = np.column_stack(K.codes) if K.codes else np.zeros((n, 0), dtype=np.int64)
        reason = _reasons(P, C, K.texts, rules.reasons_shown)
    return Scores(
        score=pd.Series(score, index=idx),
        grade=pd.Series(grade, index=idx, dtype=object),
        reason=pd.Series(reason, index=idx, dtype=object),
        points=pd.DataFrame(P, index=idx, columns=K.keys),
    )


def _reasons(P: np.ndarray, C: np.ndarray, texts: list[str], shown: int) -> np.ndarray:
    """Per row: the `shown` rules with the most (positive) points, then the rule that took
    the most points away, joined by "; ". The rows' choices are integer codes into `texts`;
    each distinct combination is joined once."""
    n, k = P.shape
    if not k or not n:
        return np.full(n, "", dtype=object)
    rows = np.arange(n)
    order = np.argsort(-P, axis=1, kind="stable")[:, : min(shown, k)]
    picks = []
    for j in range(order.shape[1]):
        c = order[:, j]
        picks.append(np.where(P[rows, c] > 0, C[rows, c], -1))
    worst = np.argmin(P, axis=1)
    picks.append(np.where(P[rows, worst] < 0, C[rows, worst], -1))
    M = np.column_stack(picks)
    base = len(texts) + 1
    if base ** M.shape[1] < 2 ** 62:
        # Each row's picks as one integer (digits base `base`): factorized in one pass,
        # not sorted row by row as `np.unique(axis=0)` does.
        key = np.zeros(n, dtype=np.int64)
        for j in range(M.shape[1] - 1, -1, -1):
            key = key * base + (M[:, j] + 1)
        inverse, ukeys = pd.factorize(key)
        combos = np.empty((len(ukeys), M.shape[1]), dtype=np.int64)
        rest = np.asarray(ukeys, dtype=np.int64)
        for j in range(M.shape[1]):
            combos[:, j] = rest % base - 1
            rest = rest // base
    else:
        combos, inverse = np.unique(M, axis=0, return_inverse=True)
    joined = np.array(["; ".join(texts[c] for c in combo if c >= 0) for combo in combos.tolist()], dtype=object)
    return joined[np.asarray(inverse).reshape(-1)]


def _one(text: str, v: int) -> str:
    sign = f"+{v}" if v > 0 else f"−{-v}"
    return f"{text} ({sign})" if text else f"({sign})"


def score_frame(leads: pd.DataFrame, raw: pd.DataFrame, schemas: Any, today: dt.date,
                language: str = "vi") -> pd.DataFrame | None:
    """The sync's scoring step: the qualification columns parsed from the leads tab's raw
    cells (`deal_value` in VND, `expected_close` as a date, BANT answers as text) and the
    three computed columns, aligned with `leads`. None when no rules are loaded."""
    from .dates import parse_dates

    rules = getattr(schemas, "scoring", None)
    if rules is None:
        return None
    out = pd.DataFrame(index=leads.index)
    for key in BANT_KEYS:
        out[key] = strip_text(raw[key]) if key in raw else ""
    out["deal_value"] = money_column(raw["deal_value"]) if "deal_value" in raw else np.nan
    if "expected_close" in raw:
        out["expected_close"] = parse_dates(raw["expected_close"])[0].to_numpy()
    else:
        out["expected_close"] = pd.Series(pd.NaT, index=leads.index, dtype="datetime64[ns]")
    frame = leads.copy(deep=False)  # columns added, none written in place
    for c in out.columns:
        frame[c] = out[c]
    msgs = schemas.messages.get(language) or schemas.messages.get("vi", {})
    names = {s.key: s.display(language) for s in schemas.chain.statuses}
    sc = score_leads(frame, rules, today, language, msgs, names)
    out["score"] = sc.score
    out["grade"] = sc.grade
    out["score_reason"] = sc.reason
    return out
