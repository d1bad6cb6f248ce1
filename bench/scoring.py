"""Time lead scoring, the win-probability model, the forecast tab and the activity tab.

    PYTHONPATH=. python bench/scoring.py [--leads 100000] [--history 1000000]

Frames from bench/scoring_data.py (a known truth: budget and source decide the wins),
with back-and-forth moves added until `Lịch sử` holds `--history` rows. Prints each part's
time, the total, rows per second and the peak memory (RSS high-water mark of the process,
and the largest Python allocation traced), with the date, the machine and the command.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import resource
import sys
import time
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.scoring_data import make_crm  # noqa: E402
from sheetcrm.schema import load_schemas  # noqa: E402
from sheetcrm.sync.activity import build_activity  # noqa: E402
from sheetcrm.sync.forecast import build_forecast, forecast_frame  # noqa: E402
from sheetcrm.sync.scoring import score_leads  # noqa: E402
from sheetcrm.sync.summary_tabs import SummaryInputs  # noqa: E402

TODAY = dt.date(2026, 3, 12)


def _both(i: SummaryInputs) -> None:
    """The two tabs as one sync builds them (sharing the population and its history)."""
    build_forecast(i, "Dự báo")
    build_activity(i, "Hoạt động")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--leads", type=int, default=100_000)
    ap.add_argument("--history", type=int, default=1_000_000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--repeat", type=int, default=3, help="runs per part; the best is reported")
    a = ap.parse_args()
    os.environ["SHEETCRM_CACHE_DIR"] = "off"  # the models fit every time (docs/cache.md)

    schemas = load_schemas()
    # how many rows the climb itself gives, so the extra moves bring the total to --history
    _, h0, _ = make_crm(a.leads, a.seed, TODAY, days=365)
    extra = max(0, a.history - len(h0))
    leads, history, rejections = make_crm(a.leads, a.seed, TODAY, extra_moves=extra, days=365)
    # the leads as the sync's scoring step leaves them, for the tabs
    sc = score_leads(leads, schemas.scoring, TODAY, "vi", schemas.messages["vi"])
    leads = leads.assign(score=sc.score, grade=sc.grade, score_reason=sc.reason)

    def inputs() -> SummaryInputs:  # a fresh one per run: nothing carried over between runs
        return SummaryInputs(leads, history, rejections, rejections.iloc[0:0], {}, schemas, TODAY,
                             dt.datetime.combine(TODAY, dt.time(9)))
    import sklearn.linear_model  # noqa: F401  (import time is not the model's)

    parts = {
        "scoring (Điểm, Hạng, Lý do điểm)": lambda: score_leads(leads, schemas.scoring, TODAY, "vi",
                                                                schemas.messages["vi"]),
        "model fit + backtest + probabilities": lambda: forecast_frame(inputs()),
        "forecast tab (model included)": lambda: build_forecast(inputs(), "Dự báo"),
        "activity tab": lambda: build_activity(inputs(), "Hoạt động"),
        "forecast + activity tabs of one sync": lambda: _both(inputs()),
    }
    times = {}
    for name, fn in parts.items():
        best = float("inf")
        for _ in range(a.repeat):
            t = time.perf_counter()
            out = fn()
            best = min(best, time.perf_counter() - t)
        times[name] = best
        if name.startswith("model"):
            bt = out[2]
    tracemalloc.start()
    t = time.perf_counter()
    score_leads(leads, schemas.scoring, TODAY, "vi", schemas.messages["vi"])
    _both(inputs())
    together = time.perf_counter() - t
    _, traced_peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    rss_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss

    print(f"# bench/scoring.py — {dt.datetime.now(dt.timezone.utc):%Y-%m-%d %H:%M} UTC")
    print(f"# machine: {platform.machine()} {platform.processor() or ''} nproc={os.cpu_count()} "
          f"load average={' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print(f"# command: PYTHONPATH=. python bench/scoring.py --leads {a.leads} --history {a.history}")
    print(f"# python {platform.python_version()}, pandas {__import__('pandas').__version__}, "
          f"numpy {__import__('numpy').__version__}, scikit-learn {__import__('sklearn').__version__}")
    print(f"leads: {len(leads):,}  history rows: {len(history):,}  rejection rows: {len(rejections):,}")
    for name, s in times.items():
        print(f"{name:<40} {s:7.3f} s   {len(leads) / s:>12,.0f} leads/s")
    print(f"{'scoring + forecast + activity, once':<40} {together:7.3f} s   (tracemalloc on: slower)")
    best = times["scoring (Điểm, Hạng, Lý do điểm)"] + times["forecast + activity tabs of one sync"]
    print(f"{'scoring + forecast + activity (best runs)':<40} {best:7.3f} s   target < 3 s")
    print(f"peak memory: RSS high-water {rss_kb / 1024:,.0f} MiB; largest Python allocation while building "
          f"{traced_peak / 2**20:,.0f} MiB")
    print(f"model: used={bt.used} ({bt.why}), closed={bt.closed:,}, held out={bt.tested:,}, "
          f"AUC model={bt.auc_model:.3f} vs stage defaults={bt.auc_default:.3f}, "
          f"Brier {bt.brier_model:.3f} vs {bt.brier_default:.3f}")


if __name__ == "__main__":
    main()
