"""Time the summary tabs (overview + agenda) on generated frames.

    PYTHONPATH=. python bench/summary.py [--leads 100000]

`make_frames` also feeds bench/render_overview.py: parsed frames as docs/frames.md
describes them, shaped like a real team's year (a funnel that narrows, rejections with
catalogue reasons, a nurture list, some duplicates and do-not-contact leads).
"""

from __future__ import annotations

import os

import argparse
import datetime as dt
import time

import numpy as np
import pandas as pd

from sheetcrm.schema import load_schemas
from sheetcrm.sync.agenda import build_agenda
from sheetcrm.sync.summary import QualitySummary, build_overview

OWNERS = ["Nguyễn Văn An", "Trần Thị Bình", "Lê Hoàng Cường", "Phạm Minh Dung", "Võ Thị Hạnh", "Đặng Quốc Huy"]
PRODUCTS = ["Phần mềm kế toán", "Phần mềm bán hàng", "Gói CRM", "Website doanh nghiệp", "Tổng đài ảo", "Hoá đơn điện tử"]
FAMILY = ["Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Huỳnh", "Phan", "Vũ", "Võ", "Đặng", "Bùi", "Đỗ"]
MIDDLE = ["Văn", "Thị", "Minh", "Quốc", "Thanh", "Ngọc", "Hữu", "Thu"]
GIVEN = ["An", "Bình", "Chi", "Dũng", "Giang", "Hà", "Khoa", "Lan", "Long", "Mai", "Nam", "Phúc", "Quân", "Tâm", "Trang", "Vy"]
COMPANY = ["Minh Phát", "An Khang", "Hưng Thịnh", "Sao Việt", "Đại Dương", "Phú Gia", "Kim Long", "Tân Tiến"]
CHAIN = ["new", "researched", "potential", "hot", "won"]
STEP_P = [0.72, 0.6, 0.55, 0.45]  # chance to go on from each chain stage
REASONS = ["price", "not_fit", "competitor", "budget", "not_now", "no_contact", "other"]
REASON_P = [0.27, 0.12, 0.14, 0.12, 0.2, 0.1, 0.05]
OFFSET_DAYS = {"price": 30, "not_fit": 180, "competitor": 180, "budget": 90, "not_now": 91, "no_contact": 3, "other": 30}


def make_frames(n: int = 300, seed: int = 7, today: dt.date = dt.date(2025, 6, 18)):
    """(leads, history, rejections, nurture, quality) for `n` generated leads."""
    rng = np.random.default_rng(seed)
    t = pd.Timestamp(today)
    ids = np.array([f"KH-{i:06d}" for i in range(1, n + 1)])
    created = t - pd.to_timedelta(rng.integers(0, 400, n), unit="D")
    owner = rng.choice(OWNERS, n, p=[0.22, 0.2, 0.18, 0.16, 0.14, 0.1])
    product = rng.choice(PRODUCTS, n)

    # how far along the chain each lead got (index into CHAIN)
    reached = np.zeros(n, dtype=int)
    for i, p in enumerate(STEP_P):
        reached += (reached == i) & (rng.random(n) < p)
    # where the ones that stopped short went
    exit_pick = rng.choice(
        ["stay", "rejected", "not_closed", "nurture", "unreachable", "disqualified"],
        n, p=[0.3, 0.25, 0.15, 0.15, 0.1, 0.05],
    )
    final = np.where(reached == 4, "won", np.where(exit_pick == "stay", np.array(CHAIN)[reached], exit_pick))
    final = np.where((reached == 0) & (final == "nurture"), "rejected", final)

    # history: one row per chain step reached, plus the exit
    steps = reached + 1 + (~np.isin(final, CHAIN)).astype(int)
    lead_idx = np.repeat(np.arange(n), steps)
    k = np.arange(len(lead_idx)) - np.repeat(np.cumsum(steps) - steps, steps)
    gaps = rng.exponential(9.0, len(lead_idx)).round().astype(int)
    gaps[k == 0] = 0
    offs = pd.Series(gaps).groupby(lead_idx).cumsum().to_numpy()
    observed = created[lead_idx] + pd.to_timedelta(offs, unit="D")
    observed = observed.where(observed <= t, t)
    is_exit = k > reached[lead_idx]
    chain_arr = np.array(CHAIN)
    to_status = np.where(is_exit, final[lead_idx], chain_arr[np.minimum(k, 4)])
    from_status = np.where(k == 0, None, chain_arr[np.clip(np.minimum(k, reached[lead_idx] + 1) - 1, 0, 4)])
    history = pd.DataFrame(
        {
            "row": np.arange(2, len(lead_idx) + 2),
            "lead_id": ids[lead_idx],
            "from_status": from_status,
            "to_status": to_status,
            "observed_at": observed,
            "by": np.where(k == 0, "sync", "person"),
        }
    )
    last_obs = pd.Series(observed).groupby(lead_idx).max().to_numpy()

    reason = np.where(
        final == "nurture", rng.choice(["not_now", "budget"], n),
        np.where(np.isin(final, ["rejected", "not_closed"]), rng.choice(REASONS, n, p=REASON_P), ""),
    )
    offset = pd.Series(reason).map(OFFSET_DAYS).fillna(0).to_numpy()
    recontact = pd.Series(pd.to_datetime(last_obs) + pd.to_timedelta(offset, unit="D"))
    recontact[reason == ""] = pd.NaT
    # some open leads carry a follow-up date a rep typed
    open_lead = np.isin(final, CHAIN[:4])
    typed = open_lead & (rng.random(n) < 0.5)
    recontact[typed] = t + pd.to_timedelta(rng.integers(-10, 40, typed.sum()), unit="D")

    names = np.char.add(np.char.add(np.char.add(rng.choice(FAMILY, n), " "), np.char.add(rng.choice(MIDDLE, n), " ")), rng.choice(GIVEN, n))
    dup = rng.random(n) < 0.02
    dup[0] = False
    dup_of = np.where(dup, ids[np.maximum(np.arange(n) - rng.integers(1, 50, n), 0)], "")
    leads = pd.DataFrame(
        {
            "row": np.arange(2, n + 2),
            "lead_id": ids,
            "name": names,
            "company": np.char.add("Công ty TNHH ", rng.choice(COMPANY, n)),
            "email": np.char.add(np.char.add("kh", np.arange(n).astype(str)), "@example.vn"),
            "phone": np.char.add("09", rng.integers(10_000_000, 99_999_999, n).astype(str)),
            "owner": owner,
            "product": product,
            "source": rng.choice(["Facebook", "Website", "Giới thiệu", "Zalo"], n),
            "status": final.astype(object),
            "status_raw": final,
            "created_at": created,
            "last_contact": pd.to_datetime(last_obs),
            "reason_raw": reason,
            "reason_category": np.where(reason == "", None, reason),
            "notes": "",
            "do_not_contact": rng.random(n) < 0.01,
            "recontact_on": recontact.to_numpy(),
            "duplicate_of": dup_of,
            "issues_raw": "",
            "valid": True,
        }
    )

    rej_mask = reason != ""
    rejections = pd.DataFrame(
        {
            "row": np.arange(2, rej_mask.sum() + 2),
            "event_key": np.char.add(ids[rej_mask], "#1"),
            "lead_id": ids[rej_mask],
            "owner": owner[rej_mask],
            "product": product[rej_mask],
            "stage_before": np.array(CHAIN)[reached[rej_mask]],
            "reason_category": reason[rej_mask],
            "reason_text": reason[rej_mask],
            "logged_at": pd.to_datetime(last_obs[rej_mask]),
            "recontact_on": recontact[rej_mask].to_numpy(),
            "outcome": "",
        }
    )

    nur_mask = final == "nurture"
    m = int(nur_mask.sum())
    nurture = pd.DataFrame(
        {
            "row": np.arange(2, m + 2),
            "lead_id": ids[nur_mask],
            "owner": owner[nur_mask],
            "reason_category": reason[nur_mask],
            "nurture_start": pd.to_datetime(last_obs[nur_mask]),
            "cadence": np.where(reason[nur_mask] == "budget", "quarterly", "monthly"),
            "next_touch": t + pd.to_timedelta(rng.integers(-8, 40, m), unit="D"),
            "state": rng.choice(["active", "reactivated", "won", "stopped"], m, p=[0.7, 0.12, 0.08, 0.1]),
        }
    )
    quality = QualitySummary(
        rows_with_issues=int(n * 0.04),
        issues_by_kind={"Thiếu email và số điện thoại": int(n * 0.015), "Số điện thoại không hợp lệ": int(n * 0.02), "Ngày không đọc được": int(n * 0.008)},
        duplicate_clusters=int(dup.sum() * 0.8),
        duplicates=int(dup.sum()),
        collisions=int(n * 0.003),
    )
    return leads, history, rejections, nurture, quality


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--leads", type=int, default=100_000)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    os.environ["SHEETCRM_CACHE_DIR"] = "off"  # the models fit every time (docs/cache.md)
    today = dt.date(2025, 6, 18)
    schemas = load_schemas()
    frames = make_frames(args.leads, today=today)
    leads, history, rejections, nurture, quality = frames
    now = dt.datetime(2025, 6, 18, 9, 30)
    build_overview(leads, history, rejections, nurture, quality, schemas, today, now)  # warm the label cache
    best = {"overview": 1e9, "agenda": 1e9, "cpu": 1e9}
    for _ in range(args.repeat):
        c0 = time.process_time()
        t0 = time.perf_counter()
        ov = build_overview(leads, history, rejections, nurture, quality, schemas, today, now)
        t1 = time.perf_counter()
        ag = build_agenda(leads, schemas, today)
        t2 = time.perf_counter()
        best["cpu"] = min(best["cpu"], time.process_time() - c0)
        best["overview"] = min(best["overview"], t1 - t0)
        best["agenda"] = min(best["agenda"], t2 - t1)
    # CPU time too: on a shared machine the wall clock also counts other processes
    print(
        f"{args.leads} leads, {len(history)} history rows, {len(rejections)} rejections, {len(nurture)} nurture rows: "
        f"overview {best['overview']:.3f} s ({len(ov.cells)} rows), agenda {best['agenda']:.3f} s ({len(ag.cells)} rows), "
        f"total {best['overview'] + best['agenda']:.3f} s wall, {best['cpu']:.3f} s CPU (best of {args.repeat})"
    )


if __name__ == "__main__":
    main()
