"""Synthetic CRM histories where the truth is known, for the scoring/forecast tests and bench.

    from bench.scoring_data import make_crm
    leads, history, rejections = make_crm(2000, seed=1, signal="bant")

Parsed frames as docs/frames.md describes them (status keys, datetimes). Every lead is
created over the last `days` days and walks the chain from `Mới`; the leads created long
enough ago are closed, won with a probability that depends, with `signal="bant"`, on the
budget answer and the source (and on nothing with `signal="none"`). With `same_stage`,
every closed lead reached `Nóng` first, so the stage says nothing and only the model's
other features can order them. `extra_moves` adds back-and-forth status moves (a busy
team's `Lịch sử`), for the bench's million history rows.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

OWNERS = np.array(["Lan", "Minh", "Hùng", "Thảo", "Quân", "Vy"])
SOURCES = np.array(["Facebook", "Zalo", "Website", "Giới thiệu", "Hội thảo", "Google Ads"])
PRODUCTS = np.array(["Gói Cơ bản", "Gói Chuyên nghiệp", "Gói Doanh nghiệp", "Tư vấn triển khai"])
BUDGET = np.array(["có", "chưa rõ", "không", ""])
TIMING = np.array(["trong tháng", "quý này", "năm sau", ""])
CHAIN = np.array(["new", "researched", "potential", "hot"])


def true_logit(budget: np.ndarray, source: np.ndarray, signal: str) -> np.ndarray:
    """The log-odds of winning that the generator used."""
    if signal == "none":
        return np.zeros(len(budget))
    return (-0.3 + 2.2 * (budget == "có") - 1.8 * (budget == "không")
            + 1.2 * (source == "Giới thiệu") - 0.6 * (source == "Facebook"))


def make_crm(n: int = 2000, seed: int = 1, today: dt.date = dt.date(2026, 3, 12), signal: str = "bant",
             same_stage: bool = True, extra_moves: int = 0, days: int = 365,
             open_days: int = 45) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """(leads, history, rejections) for `n` leads; see the module doc."""
    rng = np.random.default_rng(seed)
    t = pd.Timestamp(today)
    ids = np.array([f"KH-{i:06d}" for i in range(1, n + 1)], dtype=object)
    age = rng.integers(0, days, n)
    created = t - pd.to_timedelta(age, unit="D")
    owner = rng.choice(OWNERS, n)
    source = rng.choice(SOURCES, n)
    product = rng.choice(PRODUCTS, n)
    budget = rng.choice(BUDGET, n, p=[0.3, 0.3, 0.25, 0.15])
    timing = rng.choice(TIMING, n)
    value = (rng.integers(5, 200, n) * 1_000_000).astype(float)
    closed = age > open_days
    p_win = 1 / (1 + np.exp(-true_logit(budget, source, signal)))
    won = closed & (rng.random(n) < p_win)
    lost = closed & ~won
    # stage reached: the closed ones all went to Nóng (same_stage), the open ones are anywhere
    reach = np.where(closed & same_stage, 3, rng.integers(0, 4, n))
    steps = reach + (won | lost)  # moves up the chain, then the close
    extra = np.zeros(n, dtype=int)
    if extra_moves:
        extra = rng.multinomial(extra_moves, np.full(n, 1 / n)) if n else extra
    total = steps + extra
    lead = np.repeat(np.arange(n), total)
    k = np.arange(len(lead)) - np.repeat(np.cumsum(total) - total, total)
    # the extra moves go back and forth between Đã tìm hiểu and Tiềm năng before the climb's end
    is_extra = k < extra[lead]
    kk = np.where(is_extra, 0, k - extra[lead])
    span = np.maximum(np.where(closed, age - 1, age), 1)[lead]
    frac = (k + 1) / (total[lead] + 1)
    at = created[lead] + pd.to_timedelta(np.floor(frac * span).astype(int), unit="D")
    climb_from = np.where(kk < reach[lead], CHAIN[np.minimum(kk, 3)], CHAIN[reach[lead]])
    climb_to = np.where(kk < reach[lead], CHAIN[np.minimum(kk + 1, 3)],
                        np.where(won[lead], "won", "rejected"))
    osc = (k % 2 == 0)
    frm = np.where(is_extra, np.where(osc, "researched", "potential"), climb_from)
    to = np.where(is_extra, np.where(osc, "potential", "researched"), climb_to)
    history = pd.DataFrame({"lead_id": ids[lead], "from_status": frm.astype(object), "to_status": to.astype(object),
                            "observed_at": pd.DatetimeIndex(at).astype("datetime64[ns]"), "by": "person"})
    history["row"] = np.arange(2, len(history) + 2)
    status = np.where(won, "won", np.where(lost, "rejected", CHAIN[reach])).astype(object)
    last = t - pd.to_timedelta(np.minimum(age, rng.integers(0, 40, n)), unit="D")
    close_month = (t + pd.to_timedelta(rng.integers(-10, 150, n), unit="D"))
    exp = pd.Series(close_month).where(~closed & (rng.random(n) < 0.8))
    leads = pd.DataFrame({
        "row": np.arange(2, n + 2), "lead_id": ids, "name": [f"Khách {i}" for i in range(n)],
        "company": "", "email": "", "phone": "", "owner": owner.astype(object), "product": product.astype(object),
        "source": source.astype(object), "status": status, "created_at": created.astype("datetime64[ns]"),
        "last_contact": pd.DatetimeIndex(last).astype("datetime64[ns]"), "recontact_on": pd.NaT,
        "duplicate_of": "", "budget": budget.astype(object), "authority": "", "need": "",
        "timing": timing.astype(object), "deal_value": value, "expected_close": exp.astype("datetime64[ns]"),
    })
    leads["recontact_on"] = pd.Series(pd.NaT, index=leads.index, dtype="datetime64[ns]")
    lost_i = np.flatnonzero(lost)
    last_at = history.groupby("lead_id")["observed_at"].max()
    rejections = pd.DataFrame({
        "lead_id": ids[lost_i], "owner": owner[lost_i].astype(object), "product": product[lost_i].astype(object),
        "stage_before": CHAIN[reach[lost_i]].astype(object), "reason_category": "price",
        "logged_at": last_at.reindex(ids[lost_i]).to_numpy(),
        "recontact_on": (last_at.reindex(ids[lost_i]) + pd.Timedelta(days=30)).to_numpy(),
    })
    return leads, history, rejections


LEAD_HEADERS = {  # column key → header (schemas/leads.toml)
    "lead_id": "Mã KH", "name": "Tên khách hàng", "phone": "Số điện thoại", "owner": "Người phụ trách",
    "product": "Sản phẩm quan tâm", "source": "Nguồn", "status": "Trạng thái", "created_at": "Ngày tạo",
    "last_contact": "Ngày liên hệ cuối", "budget": "Ngân sách", "timing": "Thời điểm mua",
    "deal_value": "Giá trị dự kiến", "expected_close": "Ngày dự kiến chốt",
}
HISTORY_HEADERS = {"lead_id": "Mã KH", "from_status": "Từ trạng thái", "to_status": "Sang trạng thái",
                   "observed_at": "Ngày ghi nhận", "by": "Bởi"}


def as_grids(leads: pd.DataFrame, history: pd.DataFrame, schemas) -> dict[str, list[list]]:
    """The frames as the tabs a person would keep: labels for statuses, dates as dates,
    a phone per lead; the tab titles of the default template."""
    label = {s.key: s.label for s in schemas.chain.statuses}

    def cells(frame: pd.DataFrame, headers: dict[str, str]) -> list[list]:
        cols = []
        for k in headers:
            s = frame[k]
            if pd.api.types.is_datetime64_any_dtype(s):
                cols.append([None if pd.isna(v) else v.date() for v in s])
            elif k in ("status", "from_status", "to_status"):
                cols.append([label.get(v, v) if isinstance(v, str) else None for v in s])
            elif k == "deal_value":
                cols.append([None if pd.isna(v) else int(v) for v in s])
            else:
                cols.append([None if v is None or v == "" else v for v in s])
        return [list(headers.values()), *[list(r) for r in zip(*cols)]]

    leads = leads.assign(phone=[f"09{k:08d}" for k in range(len(leads))])
    return {"Khách hàng": cells(leads, LEAD_HEADERS), "Lịch sử": cells(history, HISTORY_HEADERS)}
