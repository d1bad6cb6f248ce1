"""Generic record-linkage engine: exact keys, then fuzzy scoring inside blocks.

Knows nothing about leads or Vietnamese; `dedupe.py` (leads) and the FEBRL benchmark
are both thin layers that map their columns onto an `EngineRules`.

1. Exact keys. A key value shared by more than `common_key_limit` rows (a switchboard
   number, a shared `info@` inbox, a placeholder id) is not evidence: it is dropped
   before linking. Rows sharing any remaining key value are joined (connected
   components of the row-key graph, so A~B and B~C make one entity).
2. Veto. For a strict `veto` key (tolerance 0), two *different* entities that both
   carry the key cannot be the same record: had they shared a value they would already
   be one entity. So each entity gets a bitmask of the strict veto keys it carries, and
   only entities with disjoint masks are ever compared. This is both the "no contact key
   contradicts" rule and the main cost cut: most candidate pairs are never generated.
   A key typed with typos (an id) gets `tolerance` = k edits: a candidate pair whose
   values are more than k edits apart (optimal string alignment: substitutions,
   insertions, deletions, adjacent transpositions) is dropped before scoring.
3. Fuzzy. Candidate pairs come from blocking passes (equal block key, optionally a
   prefix, suffix or first/last token of a column). Rows whose present fields cannot
   add up to `threshold` even if all agreed are never blocked. Each fuzzy field adds a
   weighted similarity (rapidfuzz `cpdist`, vectorised over all pairs), heaviest field
   first, and a pair is dropped as soon as its remaining fields cannot lift it to the
   threshold. Pairs at or above `threshold` are joined, best first, refusing any join
   that would put two entities with a common strict veto key into one cluster.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd
from rapidfuzz import fuzz, process
from rapidfuzz.distance import OSA, JaroWinkler, Levenshtein
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

SCORERS = {
    "ratio": fuzz.ratio,
    "token_sort_ratio": fuzz.token_sort_ratio,
    "token_set_ratio": fuzz.token_set_ratio,
    "jaro_winkler": JaroWinkler.normalized_similarity,
    "levenshtein": Levenshtein.normalized_similarity,
    "exact": None,
}
_SCALE = {"ratio": 100.0, "token_sort_ratio": 100.0, "token_set_ratio": 100.0}


@dataclass(frozen=True)
class ExactKey:
    column: str
    veto: bool = True  # two different values of this key mean two different records
    tolerance: int = 0  # ...unless they are at most this many edits apart (typos)
    # Rows sharing a value are joined only when the fuzzy fields other than this column
    # score at least this much (None: always). For an id typed with typos, which can
    # land exactly on someone else's id.
    confirm: float | None = None


@dataclass(frozen=True)
class FuzzyField:
    """Similarity s in [0, 1] scores +agree*(s-mid)/(1-mid) above `mid`,
    -disagree*(mid-s)/mid below it; a field missing on either side scores 0."""

    column: str
    scorer: str = "ratio"
    agree: float = 1.0
    disagree: float = 1.0
    mid: float = 0.8


@dataclass(frozen=True)
class BlockKey:
    """Rows with equal values of all `columns` are compared. A column may be written
    `col:3` / `col:-3` (first / last 3 characters), `col:first` / `col:last` (first /
    last word);
    `a+b` (here and in fuzzy fields) is columns a and b joined by a space."""

    columns: tuple[str, ...]
    max_size: int | None = None  # this pass skips blocks of more rows (default: the rules')


@dataclass(frozen=True)
class EngineRules:
    exact_keys: tuple[ExactKey, ...] = ()
    fuzzy_fields: tuple[FuzzyField, ...] = ()
    blocks: tuple[BlockKey, ...] = ()
    threshold: float = 1.0
    common_key_limit: int = 5
    max_block_size: int = 5000

    def __post_init__(self) -> None:
        for f in self.fuzzy_fields:
            if f.scorer not in SCORERS:
                raise ValueError(f"fuzzy field {f.column!r}: unknown scorer {f.scorer!r}")
            if not 0.0 < f.mid < 1.0:
                raise ValueError(f"fuzzy field {f.column!r}: mid must be in (0, 1)")
        if self.common_key_limit < 2:
            raise ValueError("common_key_limit must be at least 2")
        if self.max_block_size < 2:
            raise ValueError("max_block_size must be at least 2")
        for k in self.exact_keys:
            if k.tolerance < 0:
                raise ValueError(f"exact key {k.column!r}: tolerance must be >= 0")

    @staticmethod
    def from_dict(d: dict) -> EngineRules:
        """From a parsed rules table: [[exact]] column/veto/tolerance, [[fuzzy]] column/
        scorer/agree/disagree/mid, blocks = [[cols...] or {columns, max_size}...],
        threshold, common_key_limit, max_block_size."""
        try:
            return EngineRules(
                exact_keys=tuple(ExactKey(e["column"], bool(e.get("veto", True)),
                                          int(e.get("tolerance", 0)),
                                          None if e.get("confirm") is None else float(e["confirm"]))
                                 for e in d.get("exact", [])),
                fuzzy_fields=tuple(FuzzyField(**f) for f in d.get("fuzzy", [])),
                blocks=tuple(BlockKey(tuple(b["columns"]), b.get("max_size"))
                             if isinstance(b, dict) else BlockKey(tuple(b))
                             for b in d.get("blocks", [])),
                threshold=float(d["threshold"]),
                common_key_limit=int(d.get("common_key_limit", 5)),
                max_block_size=int(d.get("max_block_size", 5000)),
            )
        except (KeyError, TypeError) as e:
            raise ValueError(f"engine rules: bad or missing field: {e}") from None


@dataclass
class LinkResult:
    cluster: np.ndarray  # int64 per row: cluster id (0..k-1) or -1 for a singleton
    reason: np.ndarray  # object per row: exact key column that joined it, "fuzzy" or ""
    common_keys: dict[str, list[str]] = field(default_factory=dict)  # dropped as evidence
    candidate_pairs: int = 0
    # per key: which distinct values (in the run's factorisation) were too common
    common_mask: dict[str, np.ndarray] = field(default_factory=dict, repr=False)


def _unique(a: np.ndarray) -> np.ndarray:
    """Sorted distinct values (sort-based: faster than numpy's hash unique on int64)."""
    a = np.sort(a)
    return a[np.r_[True, a[1:] != a[:-1]]] if len(a) else a


def _combine(combined: np.ndarray, codes: np.ndarray, size: int) -> np.ndarray:
    """One code per distinct (combined, codes) pair, `codes` < `size`: mixed by
    arithmetic, re-coded first when the product could overflow int64."""
    if combined.max(initial=0) >= (1 << 62) // (size + 1):
        combined = pd.factorize(combined)[0].astype(np.int64)
    return combined * (size + 1) + codes


def _components(n_nodes: int, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    g = coo_matrix((np.ones(len(a), dtype=np.int8), (a, b)), shape=(n_nodes, n_nodes))
    return connected_components(g, directed=False)[1]


def _column_text(df: pd.DataFrame, spec: str) -> pd.Series:
    """Column as str ('' when missing); `a+b` joins columns with a space; a `:first`,
    `:last` or `:N` suffix takes the first word, last word or first N characters."""
    spec, _, part = spec.partition(":")
    parts = []
    for col in spec.split("+"):
        s = df[col].astype(object)
        parts.append(s.where(s.notna(), "").astype(str).astype(object))  # object on pandas 3 too
    s = parts[0]
    for p in parts[1:]:
        s = (s + " " + p).str.strip()
    if part:
        codes, uniques = pd.factorize(s)
        out = np.array(_tokens(list(uniques), part) + [""], dtype=object)
        s = pd.Series(out[codes], index=s.index, dtype=object)
    return s


def _tokens(values: list[str], part: str) -> list[str]:
    """First word, last word, first / last k characters of each value (one loop, no
    call per value)."""
    if part == "first":
        return [v.split(" ", 1)[0] for v in values]
    if part == "last":
        return [v.rsplit(" ", 1)[-1] for v in values]
    if not part:
        return list(values)
    k = int(part)
    return [v[:k] for v in values] if k > 0 else [v[k:] for v in values]


def _block_codes(df: pd.DataFrame, block: BlockKey,
                 cache: dict[str, tuple[np.ndarray, np.ndarray]] | None = None) -> np.ndarray:
    """One int code per row; -1 when any block column is empty. `cache` keeps each
    column's factorisation across the passes of one run."""
    cache = {} if cache is None else cache
    combined = np.zeros(len(df), dtype=np.int64)
    empty = np.zeros(len(df), dtype=bool)
    for spec in block.columns:
        col, _, part = spec.partition(":")
        if col not in cache:
            codes, uniques = pd.factorize(_column_text(df, col))
            cache[col] = codes, np.asarray(uniques, dtype=object)
        codes, uniques = cache[col]
        # Transform each distinct value once, then re-code the transformed values.
        if part:
            if spec not in cache:
                sub_codes, sub_uniques = pd.factorize(
                    np.array(_tokens(uniques.tolist(), part), dtype=object))
                cache[spec] = sub_codes[codes].astype(np.int64), np.asarray(sub_uniques, dtype=object)
            c, sub_uniques = cache[spec]
        else:
            c, sub_uniques = codes, uniques
        empty |= (sub_uniques == "")[c]
        combined = _combine(combined, c, len(sub_uniques))
    combined = pd.factorize(combined)[0].astype(np.int64)  # small codes for the passes
    combined[empty] = -1
    return combined


def _ranges_to_pairs(left: np.ndarray, lo: np.ndarray, hi: np.ndarray,
                     right: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(left[x], right[y]) for every x and lo[x] <= y < hi[x], without a Python loop."""
    counts = np.maximum(hi - lo, 0)
    total = int(counts.sum())
    if total == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    x = np.repeat(np.arange(len(left)), counts)
    start = np.cumsum(counts) - counts
    y = np.repeat(lo, counts) + (np.arange(total) - np.repeat(start, counts))
    return left[x], right[y]


def _pairs_between(codes: np.ndarray, rows_a: np.ndarray, rows_b: np.ndarray | None,
                   max_block: int) -> tuple[np.ndarray, np.ndarray]:
    """All (i, j), i < j, with equal block code: rows_a x rows_b, or pairs within rows_a.
    Blocks holding more than `max_block` rows (of both groups) are skipped."""
    def sort(rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        rows = rows[codes[rows] >= 0]
        o = np.argsort(codes[rows], kind="stable")
        return codes[rows][o], rows[o]

    ka, ra = sort(rows_a)
    if rows_b is None:
        hi = np.searchsorted(ka, ka, "right")
        lo = np.arange(len(ka)) + 1
        big = (hi - np.searchsorted(ka, ka, "left")) > max_block
        i, j = _ranges_to_pairs(ra, np.where(big, hi, lo), hi, ra)
    else:
        kb, rb = sort(rows_b)
        lo, hi = np.searchsorted(kb, ka, "left"), np.searchsorted(kb, ka, "right")
        size = (hi - lo) + (np.searchsorted(ka, ka, "right") - np.searchsorted(ka, ka, "left"))
        i, j = _ranges_to_pairs(ra, lo, np.where(size > max_block, lo, hi), rb)
    return np.minimum(i, j), np.maximum(i, j)


def _similarity(left: np.ndarray, right: np.ndarray, scorer: str) -> np.ndarray:
    # Blocks put equal strings side by side: those score 1 without a call.
    sim = (left == right).astype(np.float64)
    if scorer == "exact":
        return sim
    diff = np.flatnonzero(sim == 0)
    if len(diff):
        fn = SCORERS[scorer]
        a, b = left[diff], right[diff]
        if scorer == "token_sort_ratio":
            # Sort the words of each distinct value once, then a plain ratio: same score.
            a, b = _sorted_words(a), _sorted_words(b)
            fn = fuzz.ratio
        out = process.cpdist(list(a), list(b), scorer=fn, workers=_workers(len(a)))
        sim[diff] = np.asarray(out, dtype=np.float64) / _SCALE.get(scorer, 1.0)
    return sim


def _workers(pairs: int) -> int:
    """rapidfuzz's threads pay off only from a few thousand pairs."""
    return -1 if pairs >= 5000 else 1


def _sorted_words(values: np.ndarray) -> np.ndarray:
    codes, uniques = pd.factorize(values)
    return np.array([" ".join(sorted(u.split())) for u in uniques], dtype=object)[codes]


def _contribution(f: FuzzyField, sim: np.ndarray) -> np.ndarray:
    return np.where(sim >= f.mid, f.agree * (sim - f.mid) / (1.0 - f.mid),
                    -f.disagree * (f.mid - sim) / f.mid)


def _field_texts(df: pd.DataFrame, rules: EngineRules,
                 cols: Columns | None = None) -> dict[str, np.ndarray]:
    cols = cols or {}
    return {f.column: (cols[f.column][1][cols[f.column][0]] if f.column in cols
                       else _column_text(df, f.column).to_numpy()) for f in rules.fuzzy_fields}


def score_pairs(df: pd.DataFrame, i: np.ndarray, j: np.ndarray, rules: EngineRules,
                cols: Columns | None = None) -> np.ndarray:
    """Total weighted score of each candidate pair (i[k], j[k])."""
    texts = _field_texts(df, rules, cols)
    total = np.zeros(len(i), dtype=np.float64)
    for f in rules.fuzzy_fields:
        col = texts[f.column]
        li, rj = col[i], col[j]
        present = (li != "") & (rj != "")
        if present.any():
            total[present] += _contribution(f, _similarity(li[present], rj[present], f.scorer))
    return total


def _score_above(texts: dict[str, np.ndarray], i: np.ndarray, j: np.ndarray,
                 rules: EngineRules) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The pairs scoring at least `threshold`, with their scores. Heaviest field first;
    a pair leaves as soon as the fields still to score cannot lift it to the threshold,
    so most pairs are scored on one or two fields only."""
    fields = sorted(rules.fuzzy_fields, key=lambda f: -f.agree)
    has = [texts[f.column] != "" for f in fields]
    present = np.stack([h[i] & h[j] for h in has]) if fields else np.zeros((0, len(i)), bool)
    agree = np.array([f.agree for f in fields])[:, None]
    # rest[k]: the most fields k.. can still add (all agreeing perfectly).
    rest = np.cumsum((agree * present)[::-1], axis=0)[::-1]
    total = np.zeros(len(i), dtype=np.float64)
    for k, f in enumerate(fields):
        keep = total + rest[k] >= rules.threshold - 1e-9
        if not keep.all():
            i, j, total, present, rest = i[keep], j[keep], total[keep], present[:, keep], rest[:, keep]
        p = present[k]
        if p.any():
            col = texts[f.column]
            total[p] += _contribution(f, _similarity(col[i[p]], col[j[p]], f.scorer))
    hit = total >= rules.threshold
    return i[hit], j[hit], total[hit]


def _within_tolerance(values: np.ndarray, i: np.ndarray, j: np.ndarray, tol: int) -> np.ndarray:
    """False where both rows carry the key and the values are more than `tol` edits apart."""
    a, b = values[i], values[j]
    both = (a != "") & (b != "") & (a != b)
    ok = np.ones(len(i), dtype=bool)
    if both.any():
        d = process.cpdist(list(a[both]), list(b[both]), scorer=OSA.distance,
                           score_cutoff=tol, workers=_workers(int(both.sum())))
        ok[both] = np.asarray(d) <= tol
    return ok


class _UnionFind:
    def __init__(self, parent: np.ndarray, mask: np.ndarray):
        self.parent = parent.tolist()
        self.mask = mask.tolist()

    def roots(self) -> np.ndarray:
        """Root of every element at once (pointer jumping)."""
        p = np.asarray(self.parent, dtype=np.int64)
        while True:
            q = p[p]
            if np.array_equal(q, p):
                return p
            p = q

    def find(self, x: int) -> int:
        p = self.parent
        while p[x] != x:
            p[x] = p[p[x]]
            x = p[x]
        return x

    def union_if_compatible(self, a: int, b: int) -> bool:
        ra, rb = self.find(a), self.find(b)
        if ra == rb:
            return False
        if self.mask[ra] & self.mask[rb]:
            return False  # both carry a veto key with different values
        if rb < ra:
            ra, rb = rb, ra
        self.parent[rb] = ra
        self.mask[ra] |= self.mask[rb]
        return True


def _join_unambiguous(uf: _UnionFind, ea: np.ndarray, eb: np.ndarray,
                      rival_a: np.ndarray, rival_b: np.ndarray) -> None:
    """Join matches (ea, eb) that contradict on a tolerant key only where one side has
    look-alikes (rivals) in exactly one other cluster. A record whose id was replaced
    outright still joins its only look-alike; one that looks like several clusters with
    different ids (namesakes, or one person under several ids) stays apart."""
    for _ in range(8):  # a join can make another side unambiguous; settles in 2-3 rounds
        root = uf.roots()
        a, b, xa, xb = root[ea], root[eb], root[rival_a], root[rival_b]
        p = pd.DataFrame({"r": np.r_[a, b, xa, xb], "o": np.r_[b, a, xb, xa]})
        p = p[p.r != p.o].drop_duplicates()
        alone = p.r.value_counts()
        alone = set(alone[alone == 1].index.tolist())
        accepted = {(r, o) for r, o in zip(np.r_[a, b].tolist(), np.r_[b, a].tolist())
                    if r != o and r in alone}
        if not any([uf.union_if_compatible(r, o) for r, o in sorted(accepted)]):
            return


def _rule_columns(rules: EngineRules) -> list[str]:
    specs = ([k.column for k in rules.exact_keys] + [f.column for f in rules.fuzzy_fields]
             + [c for b in rules.blocks for c in b.columns])
    return list(dict.fromkeys(c for s in specs for c in s.partition(":")[0].split("+")))


def link(df: pd.DataFrame, rules: EngineRules, exclude: np.ndarray | None = None) -> LinkResult:
    """Cluster the rows of `df` (index ignored; positions 0..n-1).

    `exclude`: rows that must stay singletons (a person said "not a duplicate").

    Rows identical on every column the rules read are one record typed (or pasted)
    again: they are linked outright and the engine runs on one row of each (a key's
    count for `common_key_limit` still counts every row).
    """
    n = len(df)
    excluded = np.zeros(n, dtype=bool) if exclude is None else np.asarray(exclude, dtype=bool)
    cols = _factorize_columns(df, [c for c in _rule_columns(rules) if c in df.columns])
    group = np.zeros(n, dtype=np.int64) if cols else np.arange(n, dtype=np.int64)
    for codes, uniques in cols.values():
        group = _combine(group, codes, len(uniques))
    group[excluded] = group.max(initial=-1) + 1 + np.arange(excluded.sum())
    group = pd.factorize(group)[0]
    rep = np.unique(group, return_index=True)[1]  # first row of each group, in group order
    if len(rep) == n:
        res = _link_rows(df, rules, excluded, cols, weight=None)
        final = res.cluster
    else:
        res = _link_rows(df.iloc[rep].reset_index(drop=True), rules, excluded[rep],
                         {c: (codes[rep], uniques) for c, (codes, uniques) in cols.items()},
                         weight=np.bincount(group))
        final = res.cluster[group]
        # a singleton representative with copies becomes a cluster of its own
        copies = np.bincount(group)[group] > 1
        solo = copies & (final < 0)
        final = final.copy()
        final[solo] = res.cluster.max(initial=-1) + 1 + pd.factorize(group[solo])[0]
    multi = final >= 0
    cluster = np.full(n, -1, dtype=np.int64)
    cluster[multi] = pd.factorize(final[multi])[0]
    reason = _reasons(rules, cluster, res.common_mask, cols)
    return LinkResult(cluster=cluster, reason=reason, common_keys=res.common_keys,
                      candidate_pairs=res.candidate_pairs)


Columns = dict[str, tuple[np.ndarray, np.ndarray]]


def _factorize_columns(df: pd.DataFrame, names: list[str]) -> Columns:
    """Each column as (int64 code per row, distinct texts); '' stands for a blank cell.
    Done once per run: grouping, keys, blocks and scores all start from it."""
    out: Columns = {}
    for c in names:
        codes, uniques = pd.factorize(df[c].to_numpy(dtype=object), use_na_sentinel=True)
        codes = codes.astype(np.int64)
        uniques = np.asarray(uniques, dtype=object)
        if pd.api.types.infer_dtype(uniques, skipna=False) not in ("string", "empty"):
            # numbers and the like as text; two values may read alike ('1' and 1)
            sub, uniques = pd.factorize(np.array([str(u) for u in uniques], dtype=object))
            codes = np.where(codes >= 0, sub[np.maximum(codes, 0)], -1)
            uniques = np.asarray(uniques, dtype=object)
        if (codes < 0).any():  # blank cells are '' like `_column_text` makes them
            blank = np.flatnonzero(uniques == "")
            if len(blank):
                codes[codes < 0] = blank[0]
            else:
                codes[codes < 0] = len(uniques)
                uniques = np.append(uniques, np.array([""], dtype=object))
        out[c] = codes, uniques
    return out


def _key_codes(codes: np.ndarray, uniques: np.ndarray) -> np.ndarray:
    """A key column's codes with blank cells as -1."""
    codes = codes.copy()
    codes[(uniques == "")[codes]] = -1
    return codes


def _reasons(rules: EngineRules, cluster: np.ndarray, common: dict[str, np.ndarray],
             cols: Columns) -> np.ndarray:
    """The first exact key whose value a row shares inside its cluster, else "fuzzy".
    `common`: per key, which of its distinct values were too common to be evidence."""
    multi = cluster >= 0
    reason = np.full(len(cluster), "", dtype=object)
    for key in rules.exact_keys:
        if key.column not in cols:
            continue
        codes, uniques = cols[key.column]
        codes = _key_codes(codes, uniques)
        if key.column in common:
            codes[(codes >= 0) & common[key.column][np.maximum(codes, 0)]] = -1
        ok = multi & (codes >= 0) & (reason == "")
        if ok.any():
            grp = cluster[ok] * (len(uniques) + 1) + codes[ok]
            codes_g = pd.factorize(grp)[0]
            reason[np.flatnonzero(ok)[np.bincount(codes_g)[codes_g] > 1]] = key.column
    reason[multi & (reason == "")] = "fuzzy"
    return reason


def _link_rows(df: pd.DataFrame, rules: EngineRules, excluded: np.ndarray,
               cols: Columns, weight: np.ndarray | None) -> LinkResult:
    """The engine on distinct rows; `weight`: how many sheet rows each one stands for
    (a key on many rows is common however many of them are copies)."""
    n = len(df)
    cols = dict(cols)  # the exact keys add their columns; the fuzzy step reuses them
    entity, key_codes, common, common_mask = _exact_entities(df, rules, excluded, cols, weight)
    n_ent = int(entity.max(initial=-1)) + 1
    ent_mask = _veto_masks(rules, key_codes, entity, n_ent)
    uf = _UnionFind(np.arange(n_ent), ent_mask)
    n_cand = 0
    if rules.fuzzy_fields and rules.blocks:
        n_cand = _fuzzy_joins(df, rules, excluded, cols, entity, ent_mask, uf)
    final = uf.roots()[entity]

    # cluster ids: -1 for singletons, else numbered by first row (stable)
    sizes = np.bincount(final, minlength=n_ent)
    multi = sizes[final] > 1
    cluster = np.full(n, -1, dtype=np.int64)
    cluster[multi] = pd.factorize(final[multi])[0]
    return LinkResult(cluster=cluster, reason=np.full(n, "", dtype=object),
                      common_keys=common, candidate_pairs=n_cand, common_mask=common_mask)


def _exact_entities(df: pd.DataFrame, rules: EngineRules, excluded: np.ndarray, cols: dict,
                    weight: np.ndarray | None) -> tuple[np.ndarray, dict, dict, dict]:
    """Step 1: rows sharing a (not too common) key value are one entity. Returns the
    entity per row (numbered in sheet order), the key codes per column (-1 = no usable
    value), and the values dropped as too common (as text and as a mask per column)."""
    n = len(df)
    edge_a: list[np.ndarray] = []
    edge_b: list[np.ndarray] = []
    key_codes: dict[str, np.ndarray] = {}
    common: dict[str, list[str]] = {}
    offset = n
    common_mask: dict[str, np.ndarray] = {}
    for key in rules.exact_keys:
        if key.column not in cols:
            cols.update(_factorize_columns(df, [key.column]))
        codes, uniques = cols[key.column]
        codes = _key_codes(codes, uniques)
        codes[excluded] = -1
        has = codes >= 0
        counts = np.bincount(codes[has], weights=None if weight is None else weight[has],
                             minlength=len(uniques))
        too_common = counts > rules.common_key_limit
        if too_common.any():
            common[key.column] = sorted(map(str, uniques[too_common]))
            common_mask[key.column] = too_common
            codes[(codes >= 0) & too_common[np.maximum(codes, 0)]] = -1
        key_codes[key.column] = codes
        has = codes >= 0
        rows = np.flatnonzero(has)
        if key.confirm is None:
            edge_a.append(rows)
            edge_b.append(offset + codes[has])
        else:  # row-to-row edges for the pairs sharing a value that the rest confirms
            i, j = _pairs_between(codes, rows, None, max_block=n)
            others = tuple(f for f in rules.fuzzy_fields
                           if key.column not in f.column.partition(":")[0].split("+"))
            ok = score_pairs(df, i, j, replace(rules, fuzzy_fields=others), cols) >= key.confirm
            edge_a.append(i[ok])
            edge_b.append(j[ok])
        offset += len(uniques)
    if edge_a:
        comp = _components(offset, np.concatenate(edge_a), np.concatenate(edge_b))[:n]
    else:
        comp = np.arange(n)
    entity = pd.factorize(comp)[0].astype(np.int64)  # numbered in sheet order: stable
    return entity, key_codes, common, common_mask


def _veto_masks(rules: EngineRules, key_codes: dict[str, np.ndarray], entity: np.ndarray,
                n_ent: int) -> np.ndarray:
    """Step 2: per entity, a bitmask of the strict veto keys it carries."""
    ent_mask = np.zeros(n_ent, dtype=np.int64)
    bit = 0
    for key in rules.exact_keys:
        if key.veto and key.tolerance == 0:
            has = key_codes[key.column] >= 0
            np.bitwise_or.at(ent_mask, entity[has], 1 << bit)
            bit += 1
    return ent_mask


class _Candidates:
    """Encoded candidate pairs i*n+j (i < j) of different entities sharing a block, only
    between entities whose veto masks are disjoint."""

    def __init__(self, df: pd.DataFrame, rules: EngineRules, cols: dict, entity: np.ndarray,
                 groups: dict[int, np.ndarray]):
        self.rules, self.entity, self.groups, self.n = rules, entity, groups, len(df)
        self.codes = {b: _block_codes(df, b, cols) for b in rules.blocks}

    def __call__(self, blocks: list[BlockKey], probe: np.ndarray | None = None,
                 cap: int | None = None) -> np.ndarray:
        """With `probe`, the pairs between those rows and every usable row."""
        groups, entity, n = self.groups, self.entity, self.n
        out: list[np.ndarray] = []
        for block in blocks:
            limit = cap or block.max_size or self.rules.max_block_size
            for ma in groups:
                for mb in groups:
                    if probe is None and (ma > mb or (ma & mb)):
                        continue
                    if probe is not None and (ma & mb):
                        continue
                    rows_a = groups[ma] if probe is None else groups[ma][probe[groups[ma]]]
                    rows_b = (None if probe is None and ma == mb else groups[mb])
                    i, j = _pairs_between(self.codes[block], rows_a, rows_b, limit)
                    keep = entity[i] != entity[j]
                    out.append(i[keep] * n + j[keep])
        return _unique(np.concatenate(out) if out else np.zeros(0, dtype=np.int64))


def _fuzzy_joins(df: pd.DataFrame, rules: EngineRules, excluded: np.ndarray, cols: dict,
                 entity: np.ndarray, ent_mask: np.ndarray, uf: _UnionFind) -> int:
    """Step 3: score the blocked candidate pairs and join those above the threshold, best
    first, in `uf`. Returns how many candidate pairs were scored."""
    n = len(df)
    texts = _field_texts(df, rules, cols)
    # A row whose present fields cannot reach the threshold even when all agree
    # (a name without a company) can never be joined by a fuzzy match.
    best = sum(f.agree * (texts[f.column] != "") for f in rules.fuzzy_fields)
    usable = ~excluded & (best >= rules.threshold - 1e-9)
    row_mask = ent_mask[entity]
    groups = {int(m): np.flatnonzero(usable & (row_mask == m)) for m in _unique(row_mask[usable])}
    candidates = _Candidates(df, rules, cols, entity, groups)

    tolerant = [k for k in rules.exact_keys if k.veto and k.tolerance > 0]
    key_text = {k.column: cols[k.column][1][cols[k.column][0]] for k in tolerant}

    def contradicts(i: np.ndarray, j: np.ndarray) -> np.ndarray:
        bad = np.zeros(len(i), dtype=bool)
        for k in tolerant:
            bad |= ~_within_tolerance(key_text[k.column], i, j, k.tolerance)
        return bad

    pair = candidates(list(rules.blocks))
    i, j, sc = _score_above(texts, pair // n, pair % n, rules)
    # Pairs whose tolerant key (an id typed with typos) is further apart than its
    # tolerance contradict each other; they are joined only when unambiguous, below.
    contra = contradicts(i, j)
    # Best first; ties by position so that the outcome never depends on hash order.
    order = np.lexsort((j, i, -sc))
    order = order[~contra[order]]
    for a, b in zip(i[order].tolist(), j[order].tolist()):
        uf.union_if_compatible(int(entity[a]), int(entity[b]))
    if contra.any():
        # A match against the id must be the only one. Its rivals: every look-alike
        # of those rows whatever its id (passes that ignore the tolerant keys,
        # uncapped), judged on the fields other than those keys.
        tol_cols = {k.column for k in tolerant}
        uses_tol = lambda c: bool(set(c.split(":")[0].split("+")) & tol_cols)
        free = [b for b in rules.blocks if not any(uses_tol(c) for c in b.columns)]
        others = replace(rules, fuzzy_fields=tuple(
            f for f in rules.fuzzy_fields if not uses_tol(f.column)))
        rows = np.zeros(n, dtype=bool)
        rows[i[contra]] = rows[j[contra]] = True
        more = _unique(np.r_[candidates(free, probe=rows, cap=rules.max_block_size),
                             i[contra] * n + j[contra]])
        ri, rj, _ = _score_above(texts, more // n, more % n, others)
        rc = contradicts(ri, rj)
        _join_unambiguous(uf, entity[i[contra]], entity[j[contra]],
                          entity[ri[rc]], entity[rj[rc]])
    return len(pair)


def pair_counts(pred: np.ndarray, truth: np.ndarray) -> tuple[int, int, int]:
    """(true positive, predicted, actual) pair counts of a clustering against true ids.

    `pred`: cluster id per row (-1 = singleton); `truth`: entity id per row."""
    pred = np.asarray(pred, dtype=np.int64).copy()
    single = pred < 0
    pred[single] = pred.max(initial=-1) + 1 + np.arange(single.sum())
    c2 = lambda s: int((s * (s - 1) // 2).sum())
    tp = c2(pd.DataFrame({'p': pred, 't': truth}).value_counts().to_numpy())
    return tp, c2(np.bincount(pred)), c2(pd.Series(truth).value_counts().to_numpy())
