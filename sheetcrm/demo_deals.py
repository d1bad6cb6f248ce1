"""The demo's qualification columns: BANT answers, deal values and expected close dates
(docs/scoring.md), typed as reps would, and telling: the leads that were won more often had
a budget, a decision maker and a near date, so the forecast has something to learn.

Drawn from their own generator (seeded from the demo's seed), after the story, so the rest
of the demo stays what `generate_demo_data` and `build_story` give.
"""

from __future__ import annotations

import datetime as _dt

import numpy as np
import pandas as pd

from .schema import SCHEMA_DIR, load_schemas, load_tab
from .sync.status import normalize_status
from .text import fold

KEYS = ("budget", "authority", "need", "timing", "deal_value", "expected_close")
# answers per outcome: (answer, weight) for won, lost and open leads
_BUDGET = {"won": [("Có", 50), ("Đã duyệt", 12), ("Đang xin", 18), ("Chưa rõ", 12), ("Không", 8)],
           "lost": [("Có", 14), ("Đang xin", 10), ("Chưa rõ", 26), ("Chưa có", 24), ("Không", 26)],
           "open": [("Có", 28), ("Đang xin", 16), ("Chưa rõ", 30), ("Chưa có", 14), ("Không", 12)]}
_AUTHORITY = {"won": [("Có", 60), ("Giám đốc", 12), ("Ảnh hưởng", 20), ("Không", 8)],
              "lost": [("Có", 22), ("Ảnh hưởng", 38), ("Không", 40)],
              "open": [("Có", 35), ("Ảnh hưởng", 35), ("Không", 30)]}
_NEED = {"won": [("Gấp", 30), ("Rõ", 45), ("Trung bình", 20), ("Thấp", 5)],
         "lost": [("Rõ", 22), ("Trung bình", 38), ("Thấp", 25), ("Chưa rõ", 15)],
         "open": [("Gấp", 12), ("Rõ", 33), ("Trung bình", 30), ("Thấp", 12), ("Chưa rõ", 13)]}
_TIMING = {"won": [("Trong tháng", 42), ("Quý này", 35), ("Năm nay", 15), ("Năm sau", 8)],
           "lost": [("Trong tháng", 10), ("Quý này", 22), ("Năm nay", 28), ("Năm sau", 25), ("Chưa xác định", 15)],
           "open": [("Trong tháng", 22), ("Quý này", 30), ("Năm nay", 22), ("Năm sau", 12), ("Chưa xác định", 14)]}
# deal value range in millions of VND by product (folded)
_VALUE = {"goi co ban": (6, 18), "goi chuyen nghiep": (24, 72), "goi doanh nghiep": (90, 360),
          "goi dn": (90, 360), "tu van trien khai": (30, 120)}


def _pick(rng: np.random.Generator, table: dict, outcome: np.ndarray) -> np.ndarray:
    out = np.empty(len(outcome), dtype=object)
    for k, pairs in table.items():
        idx = np.flatnonzero(outcome == k)
        w = np.array([p for _, p in pairs], float)
        out[idx] = np.array([a for a, _ in pairs], dtype=object)[rng.choice(len(pairs), len(idx), p=w / w.sum())]
    return out


def _money_text(rng: np.random.Generator, millions: np.ndarray) -> list:
    """As reps type amounts: a number, 150.000.000, 150tr, 150 triệu, 1,5 tỷ."""
    shape = rng.choice(5, len(millions), p=[0.3, 0.3, 0.2, 0.1, 0.1])
    out = []
    for m, s in zip(millions.tolist(), shape.tolist()):
        if s == 0:
            out.append(int(m * 1_000_000))
        elif s == 1:
            out.append(f"{int(m * 1_000_000):,}".replace(",", "."))
        elif s == 2:
            out.append(f"{int(m)}tr")
        elif s == 3:
            out.append(f"{int(m)} triệu")
        else:
            out.append(f"{m / 1000:.1f} tỷ".replace(".", ",") if m >= 100 else f"{int(m)}tr")
    return out


def add_deals(grid: list[list], seed: int, today: _dt.date) -> list[str]:
    """Append the qualification columns to the demo `grid` (header row first) in place;
    return their headers. A quarter of the answers are left blank, as reps do."""
    schemas = load_schemas()
    tab = load_tab(SCHEMA_DIR / "leads.toml")
    keys = [c.key for c in tab.columns if c.writer != "sync" and not c.optional]
    col = {k: i for i, k in enumerate(keys)}
    rows = grid[1:]
    n = len(rows)
    rng = np.random.default_rng([seed, 9_000])
    status = normalize_status(pd.Series([r[col["status"]] or "" for r in rows], dtype=object), schemas.chain)
    lost = {s.key for s in schemas.chain.statuses if s.kind == "exit" and not s.excluded and s.key != schemas.chain.nurture}
    open_keys = {s.key for s in schemas.chain.active if s.kind == "active"}
    outcome = np.where(status.eq("won"), "won", np.where(status.isin(list(lost)), "lost", "open")).astype(object)
    answers = [_pick(rng, t, outcome) for t in (_BUDGET, _AUTHORITY, _NEED, _TIMING)]
    for a in answers:
        a[rng.random(n) < 0.25] = None
    lo_hi = np.array([_VALUE.get(fold(r[col["product"]] or ""), (10, 60)) for r in rows], float)
    millions = np.round(lo_hi[:, 0] + rng.random(n) * (lo_hi[:, 1] - lo_hi[:, 0]))
    values = np.array(_money_text(rng, millions), dtype=object)
    values[rng.random(n) < 0.2] = None
    is_open = status.isin(list(open_keys)).to_numpy()
    days = rng.integers(-20, 150, n)
    dated = is_open & (rng.random(n) < 0.75)  # closed leads keep no expected date
    close = [today + _dt.timedelta(days=int(d)) if o else None for d, o in zip(days.tolist(), dated.tolist())]
    headers = [tab.column(k).header for k in KEYS]
    grid[0].extend(headers)
    for r, vals in zip(rows, zip(*answers, values, close)):
        r.extend(vals)
    return headers


def write_headers(path, headers: list[str], first_col: int) -> None:
    """Put the qualification headers on the demo workbook's leads tab, from `first_col`."""
    from openpyxl import load_workbook
    from openpyxl.styles import Font

    from .demo import DATE_FORMAT

    wb = load_workbook(path)
    ws = wb[load_tab(SCHEMA_DIR / "leads.toml").title]
    for j, h in enumerate(headers):
        c = ws.cell(1, first_col + j, h)
        c.font = Font(bold=True)
        letter = c.column_letter
        ws.column_dimensions[letter].width = 18 if j < 4 else 16
        if KEYS[j] == "expected_close":
            ws.column_dimensions[letter].number_format = DATE_FORMAT
    wb.save(path)
