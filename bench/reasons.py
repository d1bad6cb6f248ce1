"""Reason classification: accuracy and speed, next to the keyword-only rules in the same run.

    python bench/reasons.py [-v] [--rows 100000]

Accuracy is measured on the labelled fixtures; the one that counts is
tests/fixtures/reasons_heldout_v2.csv, written apart from the training examples and never
used to tune them (see docs/reasons-classifier.md). "keywords" is the same catalogue with no
examples: names, prefixes and keyword scores only. Speed: a column of `--rows` reasons drawn
from the labelled phrasings (about 3,700 distinct), then the same with words added (about
30,000 distinct); each distinct text is classified once. The model is trained before timing
(that cost is printed on its own line); three runs each, the best first, with the load
average and the peak memory of the process.
"""

from __future__ import annotations

import csv
import datetime as dt
import os
import resource
import random
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sheetcrm.schema import load_schemas
from sheetcrm.sync import reasons as R
from sheetcrm.sync.reasons import map_reasons

FIXTURE = ROOT / "tests" / "fixtures" / "reasons_labelled.csv"
# Written later by someone else, scored before the keywords were tuned on it (27/38).
HELDOUT = ROOT / "tests" / "fixtures" / "reasons_heldout.csv"
# Never trained on, written before any tuning: the figure that counts.
HELDOUT_V2 = ROOT / "tests" / "fixtures" / "reasons_heldout_v2.csv"


def read_fixture(fixture: Path) -> pd.DataFrame:
    """text, category_key; lines starting with '#' are comments."""
    with fixture.open(encoding="utf-8") as fh:
        return pd.DataFrame(list(csv.DictReader(line for line in fh if not line.startswith("#"))))


def keywords_only(catalogue):
    return replace(catalogue, examples=())


def measure(catalogue=None, fixture: Path = FIXTURE) -> tuple[float, pd.DataFrame]:
    """(accuracy, frame of text/expected/got) over a labelled fixture."""
    frame = read_fixture(fixture)
    cat = catalogue or load_schemas().reasons
    got = map_reasons(frame["text"], cat)
    frame["got"] = got["category"].to_numpy()
    frame["confidence"] = got["confidence"].to_numpy()
    frame["ok"] = frame["got"] == frame["category_key"]
    return float(frame["ok"].mean()), frame


def accuracy_table(cat, fixture: Path) -> tuple[pd.DataFrame, dict[str, pd.DataFrame]]:
    """Per category (and overall): right/total for the classifier and for keywords alone."""
    frames = {"classifier": measure(cat, fixture)[1], "keywords": measure(keywords_only(cat), fixture)[1]}
    rows = []
    for key in [r.key for r in cat.reasons] + ["all"]:
        row = {"category": key}
        for name, f in frames.items():
            sel = f if key == "all" else f[f["category_key"] == key]
            row[name] = f"{int(sel['ok'].sum())}/{len(sel)} = {sel['ok'].mean():.1%}" if len(sel) else "-"
        rows.append(row)
    return pd.DataFrame(rows), frames


def pool_column(cat, n: int, tails: bool, seed: int = 7) -> pd.Series:
    """n reasons drawn from every labelled phrasing; with `tails`, most of them get a
    word or a name added, so that a third of the column is distinct."""
    texts = [t for t, _ in cat.examples]
    for f in (FIXTURE, HELDOUT, HELDOUT_V2):
        texts += read_fixture(f)["text"].tolist()
    rng = random.Random(seed)
    ends = [""] + ([" ạ", " nha", " rồi", " luôn", " (gọi lại)", " - Lan", " - Minh", " !!", " anh"] if tails else [])
    return pd.Series([rng.choice(texts) + rng.choice(ends) for _ in range(n)])


def timed(fn, repeat: int = 3) -> list[float]:
    """The times of `repeat` runs, sorted (the first is the best)."""
    out = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t0)
    return sorted(out)


def speed(cat, rows: int) -> None:
    os.environ["SHEETCRM_CACHE_DIR"] = "off"  # the model's own speed first; the disk cache below
    R._CACHE.clear()
    R._ANSWERS.clear()
    t0 = time.perf_counter()
    R._model(R._fingerprint(cat, ()), cat, ())
    print(f"training on {len(cat.examples)} examples (once per process): {time.perf_counter() - t0:.2f} s")
    kw = keywords_only(cat)
    for tails in (False, True):
        col = pool_column(cat, rows, tails)
        distinct = col.nunique()

        def cold():  # as in a fresh process once the model is trained: no answer remembered
            R._ANSWERS.clear()
            map_reasons(col, cat)

        load = os.getloadavg()[0]
        runs, t_kw = timed(cold), timed(lambda: map_reasons(col, kw))[0]
        t_cls = runs[0]
        print(f"classify {rows} reasons ({distinct} distinct): classifier {t_cls:.2f} s best of 3 "
              f"(all: {', '.join(f'{t:.2f}' for t in runs)}; {rows / t_cls:,.0f} rows/s, "
              f"{t_cls / distinct * 1e6:.0f} µs per distinct text), keywords only {t_kw:.2f} s; "
              f"load average {load:.1f}")
        with tempfile.TemporaryDirectory() as folder:
            os.environ["SHEETCRM_CACHE_DIR"] = folder
            R._ANSWERS.clear()
            map_reasons(col, cat)  # a first run fills the cache

            def later():  # a later process: nothing in memory, the answers on disk
                R._CACHE.clear()
                R._ANSWERS.clear()
                map_reasons(col, cat)

            t_disk = timed(later)[0]
            print(f"  the same in a later run, answers from the disk cache (no model, no training): "
                  f"{t_disk:.2f} s best of 3")
            os.environ["SHEETCRM_CACHE_DIR"] = "off"
    print(f"peak memory of the process (RSS): {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")


def header() -> None:
    import platform

    import numpy
    import sklearn

    now = dt.datetime.now(dt.timezone.utc)
    print(f"# bench/reasons.py — {now:%Y-%m-%d %H:%M} UTC")
    print(f"# machine: nproc {os.cpu_count()}, python {platform.python_version()}, pandas {pd.__version__}, "
          f"scikit-learn {sklearn.__version__}, numpy {numpy.__version__}; load average at start: "
          + " ".join(f"{x:.2f}" for x in os.getloadavg()))
    print(f"# command: python bench/reasons.py {' '.join(sys.argv[1:])}".rstrip())


def main() -> None:
    header()
    cat = load_schemas().reasons
    rows = int(sys.argv[sys.argv.index("--rows") + 1]) if "--rows" in sys.argv else 100_000
    for name, fixture in (("held-out v2, never trained on", HELDOUT_V2),
                          ("held-out v1 (keywords were tuned on it)", HELDOUT),
                          ("labelled (also in the training examples)", FIXTURE)):
        table, frames = accuracy_table(cat, fixture)
        print(f"\naccuracy on {fixture.name}: {name}")
        print(table.to_string(index=False))
        if "-v" in sys.argv:
            f = frames["classifier"]
            for _, r in f[~f["ok"]].iterrows():
                print(f"  miss: {r['text']!r}: expected {r['category_key']}, got {r['got']} ({r['confidence']:.2f})")
    low = measure(cat, HELDOUT_V2)[1]
    print(f"\nheld-out v2 below min_confidence {cat.min_confidence}: {int((low['confidence'] < cat.min_confidence).sum())}"
          f"/{len(low)} (they fall back to '{cat.other}' and the rep is asked to pick)")
    print(f"\nload average before timing: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    speed(cat, rows)


if __name__ == "__main__":
    main()
