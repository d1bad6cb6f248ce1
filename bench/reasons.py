"""Reason-mapping accuracy on the labelled fixture: `python bench/reasons.py [-v]`.

Prints the share of free-text reasons mapped to their labelled category (target ≥ 95%)
and, with -v, every miss.
"""

from __future__ import annotations

import csv
import sys
import time
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sheetcrm.schema import load_schemas
from sheetcrm.sync.reasons import map_reasons

FIXTURE = ROOT / "tests" / "fixtures" / "reasons_labelled.csv"
# Written later by someone else, scored before the keywords were tuned on it (27/38).
HELDOUT = ROOT / "tests" / "fixtures" / "reasons_heldout.csv"


def measure(catalogue=None, fixture: Path = FIXTURE) -> tuple[float, pd.DataFrame]:
    """(accuracy, frame of text/expected/got) over a labelled fixture."""
    with fixture.open(encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    frame = pd.DataFrame(rows)
    cat = catalogue or load_schemas().reasons
    got = map_reasons(frame["text"], cat)
    frame["got"] = got["category"]
    frame["ok"] = frame["got"] == frame["category_key"]
    return float(frame["ok"].mean()), frame


def main() -> None:
    for name, fixture in (("labelled", FIXTURE), ("held-out", HELDOUT)):
        t0 = time.perf_counter()
        rate, frame = measure(fixture=fixture)
        took = time.perf_counter() - t0
        print(f"reasons ({name}): {frame['ok'].sum()}/{len(frame)} mapped right = {rate:.1%} "
              f"({took * 1000:.0f} ms)")
        if "-v" in sys.argv:
            for _, r in frame[~frame["ok"]].iterrows():
                print(f"  miss: {r['text']!r}: expected {r['category_key']}, got {r['got']}")


if __name__ == "__main__":
    main()
