"""Replay gspread's recorded Sheets/Drive cassettes against the fake Sheets server,
print match rates per endpoint and per batchUpdate request kind, and regenerate
sheetcrm/testing/fakesheets/COVERAGE.md.

    python bench/fakesheets_replay.py [--cassettes DIR] [--failures] [--no-write]
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sheetcrm.testing.fakesheets import coverage
from sheetcrm.testing.fakesheets.replay import format_report, replay_cassettes


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--cassettes", type=Path, default=ROOT.parent / "shared" / "sheets-cassettes")
    p.add_argument("--failures", action="store_true", help="list every mismatching interaction")
    p.add_argument("--no-write", action="store_true", help="do not rewrite COVERAGE.md")
    args = p.parse_args(argv)
    if not args.cassettes.is_dir():
        print(f"no cassettes at {args.cassettes}", file=sys.stderr)
        return 2
    t0 = time.perf_counter()
    report = replay_cassettes(args.cassettes)
    print(format_report(report))
    print(f"\nreplayed in {time.perf_counter() - t0:.1f}s")
    if args.failures:
        for o in report.failures():
            print(f"MISMATCH {o.cassette}#{o.index} {o.endpoint}: {o.diff}")
    if not args.no_write:
        print(f"wrote {coverage.write(report)}")
    m, n, _ = report.totals()
    return 0 if n and m / n >= 0.99 else 1


if __name__ == "__main__":
    sys.exit(main())
