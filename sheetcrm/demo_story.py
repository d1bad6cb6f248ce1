"""Ten months of use for the demo: how each generated lead got to its final row.

`build_story(n, seed, today)` takes the final grid of `generate_demo_data` and gives every
lead a seeded path of *events* (a day and the person-owned cells typed that day:
`Trạng thái`, `Lý do`, `Ngày liên hệ cuối`, and on a few rows `Ngày liên hệ lại`), plus
the days the sync ran and the nurture touches reps recorded in between. `Replay` then
plays it into a workbook: before each sync day it appends the rows created since the
previous one and types what changed, as a person would, with openpyxl.

Paths (dates between the lead's `Ngày tạo` and today; the last event restores the grid):
- forward: Mới, then some of the later chain stages, up to the final one; a won deal is
  signed after the last call when the lead had not been seen by a sync before, so the
  sales cycle is never read as zero days;
- exits: Mới, the stages reached, then the exit with its reason on the last contact;
- reactivated: some leads that end in the chain or won went to Chưa chốt/Từ chối with a
  "not now" reason first (the sync moved them to Nuôi dưỡng), got a nurture touch and came
  back;
- unreachable: a few `Không tiếp cận` leads with a could-not-reach reason failed three
  attempts (three `Ngày liên hệ cuối` seen by three syncs), the sync making the move;
- invalid rows, duplicates and unknown statuses appear as they are and never change.

All draws come from one generator seeded from `seed`, apart from the grid's own, so the
grid stays what `generate_demo_data(n, seed, today)` gives.
"""

from __future__ import annotations

import datetime as _dt
import re
from bisect import bisect_left, bisect_right
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from .demo import _REASONS_NURTURE, _STATUS_TEXT, DATE_FORMAT, DemoData, demo_columns, generate_demo_data
from .schema import SCHEMA_DIR, load_schemas, load_tab
from .sync.dates import parse_one
from .sync.reasons import map_reasons
from .sync.status import normalize_status
from .sync.tables import find_tab
from .text import fold

__all__ = ["Event", "LeadPath", "Story", "Touch", "Replay", "build_story", "sync_days"]

PERSON_KEYS = ("status", "reason", "last_contact", "recontact_on")
# Days before today the demo's sync ran: about monthly, then closer as the team grows.
SYNC_DAYS_AGO = (285, 255, 225, 195, 165, 135, 105, 75, 50, 30, 14, 2, 1, 0)
_TOUCH_RESULTS = ["Đã gửi bản tin qua Zalo", "Gửi email ưu đãi quý", "Khách hẹn liên hệ sau",
                  "Không nghe máy, đã nhắn Zalo", "Khách đọc tin, chưa phản hồi",
                  "Gửi case study cùng ngành"]
_COMEBACK = ["Khách quan tâm lại, hẹn demo", "Khách gọi lại hỏi báo giá", "Đã có ngân sách, muốn trao đổi"]
_NURTURE_TEXTS = [t for t, _ in _REASONS_NURTURE if t]
_ORDER = {"new": 1, "researched": 2, "potential": 3, "hot": 4, "won": 5}
_BY_ORDER = {v: k for k, v in _ORDER.items()}


@dataclass(frozen=True)
class Event:
    day: _dt.date
    cells: dict  # person-owned column key -> cell value as typed


@dataclass
class LeadPath:
    row: int                   # data-row index: grid[row + 1], sheet row row + 2
    appear: _dt.date           # sync day the row is first in the sheet
    events: list[Event]
    kind: str                  # fixed | forward | exit | reactivated | unreachable
    sync_status: str | None = None  # status key the sync is expected to move it to

    def state(self, day: _dt.date) -> dict | None:
        """Person cells on `day` (None before the row exists)."""
        out = None
        for e in self.events:
            if e.day > day:
                break
            out = {**(out or {}), **e.cells}
        return out


@dataclass(frozen=True)
class Touch:
    row: int          # the lead's data-row index
    day: _dt.date     # `Ngày chăm sóc gần nhất`; dropped when the lead is not on the list then
    result: str       # `Kết quả chăm sóc`


@dataclass
class Story:
    data: DemoData
    today: _dt.date
    days: list[_dt.date]
    paths: list[LeadPath]
    touches: list[Touch] = field(default_factory=list)

    def keys(self) -> list[str]:
        return [c.key for c in demo_columns()]


def sync_days(today: _dt.date, first_created: _dt.date | None = None) -> list[_dt.date]:
    """The replayed sync days: weekdays (today kept as is), none before the first lead."""
    out = []
    for ago in SYNC_DAYS_AGO:
        d = today - _dt.timedelta(days=ago)
        if ago:
            while d.weekday() >= 5:
                d -= _dt.timedelta(days=1)
        if first_created and d < first_created:
            continue
        if not out or d > out[-1]:
            out.append(d)
    return out


# ---------------------------------------------------------------- date cells


_SHAPES = [(1, re.compile(r"\d{2}/\d{2}/\d{4}")), (2, re.compile(r"\d{1,2}/\d{1,2}/\d{2}")),
           (3, re.compile(r"\d{4}-\d{2}-\d{2}")), (4, re.compile(r"\d{2}-\d{2}-\d{4}")),
           (5, re.compile(r"\d{2}\.\d{2}\.\d{4}"))]


def _shape(value) -> int:
    """How a rep types dates on this row (the demo's forms; 0 = a real date)."""
    if isinstance(value, str):
        for k, rx in _SHAPES:
            if rx.fullmatch(value.strip()):
                return k
    return 0


def _render(d: _dt.date, shape: int):
    return (d, f"{d.day:02d}/{d.month:02d}/{d.year}", f"{d.day}/{d.month}/{d.year % 100:02d}",
            d.isoformat(), f"{d.day:02d}-{d.month:02d}-{d.year}", f"{d.day:02d}.{d.month:02d}.{d.year}")[shape]


# ---------------------------------------------------------------- the story


def build_story(n: int = 600, seed: int = 7, today: _dt.date | None = None) -> Story:
    """The final demo grid and how every lead got there (see the module docstring)."""
    today = today or _dt.date.today()
    data = generate_demo_data(n, seed, today)
    teller = _Teller(data, today, np.random.default_rng([seed, 20260312]))
    paths = [teller.path(i, r) for i, r in enumerate(data.rows)]
    teller.touches.sort(key=lambda t: (t.day, t.row))
    return Story(data, today, teller.days, paths, teller.touches)


class _Teller:
    """Draws each lead's path, in row order, from one generator (the order of the draws is
    the story: changing it changes every demo)."""

    def __init__(self, data: DemoData, today: _dt.date, rng: np.random.Generator):
        self.data, self.today, self.rng = data, today, rng
        schemas = load_schemas()
        keys = [c.key for c in demo_columns()]
        self.col = col = {k: i for i, k in enumerate(keys)}
        rows = data.rows
        self.fixed_rows = {r for v in data.invalid.values() for r in v} | set(data.duplicates)
        self.created = [parse_one(r[col["created_at"]]) for r in rows]
        self.appear_date: list[_dt.date] = []
        prev = None
        for c in self.created:  # rows are in creation order; a blank or future date follows its neighbour
            a = c if c is not None and c <= today else (prev or today)
            a = max(a, prev) if prev else a
            self.appear_date.append(a)
            prev = a
        self.days = sync_days(today, self.appear_date[0] if self.appear_date else None) or [today]
        typed = [r[col["status"]] for r in rows]
        self.status_key = normalize_status(pd.Series([t or "" for t in typed], dtype=object),
                                           schemas.chain).tolist()
        self.reason_cat = map_reasons([r[col["reason"]] or "" for r in rows], schemas.reasons)["category"].tolist()
        self.nurture_cats = {r.key for r in schemas.reasons.reasons if r.nurture}
        self.touches: list[Touch] = []

    def next_sync(self, d: _dt.date) -> int:
        """Index of the first sync on or after `d`."""
        return bisect_left(self.days, d)

    def rand_day(self, lo: _dt.date, hi: _dt.date) -> _dt.date:  # inclusive
        span = (hi - lo).days
        return lo + _dt.timedelta(days=int(self.rng.integers(0, span + 1))) if span > 0 else lo

    def label(self, key: str) -> str:
        text, variants = _STATUS_TEXT[key]
        return variants[int(self.rng.integers(len(variants)))] if self.rng.random() < 0.08 else text

    def climb(self, events: list[Event], ld, top: int, lo: _dt.date, hi: _dt.date, keep: float = 0.65) -> None:
        """Stages 2..top on distinct days in (lo, hi], last contact on each."""
        rng = self.rng
        stages = [s for s in range(2, top + 1) if s == top or rng.random() < keep]
        span = (hi - lo).days
        stages = stages[-span:] if span > 0 else []
        if not stages:
            return
        picks = sorted(rng.choice(np.arange(1, span + 1), size=len(stages), replace=False).tolist())
        for s, k in zip(stages, picks):
            d = lo + _dt.timedelta(days=k)
            events.append(Event(d, {"status": self.label(_BY_ORDER[s]), "last_contact": ld(d)}))

    def touch(self, i: int, k: int, texts: list[str]) -> None:
        """A nurture touch on lead `i` between sync `k - 1` and sync `k`."""
        days = self.days
        self.touches.append(Touch(i, self.rand_day(days[k - 1] + _dt.timedelta(days=1), days[k]),
                                  texts[int(self.rng.integers(len(texts)))]))

    def path(self, i: int, r: list) -> LeadPath:
        """Lead `i`'s events, from its creation to its final row `r`."""
        rng, days, today = self.rng, self.days, self.today
        final = {k: r[self.col[k]] for k in PERSON_KEYS}
        appear = days[self.next_sync(self.appear_date[i])]
        key = self.status_key[i] if final["status"] else "new"
        C, L = self.created[i], parse_one(final["last_contact"])
        if i in self.fixed_rows or key is None or C is None or C > today or (L is not None and L < C):
            return LeadPath(i, appear, [Event(self.appear_date[i], final)], "fixed")
        shape = _shape(final["last_contact"])
        ld = (lambda d, shape=shape: _render(d, shape)) if L is not None else (lambda d: None)
        end = L or min(today, C + _dt.timedelta(days=int(rng.integers(0, 21))))
        first = {"status": final["status"] if key == "new" else "Mới", "reason": None,
                 "last_contact": final["last_contact"] if L == C else None, "recontact_on": None}
        events = [Event(C, first)]
        kind = "forward" if key in _ORDER else "exit"
        sync_status = None
        order = _ORDER.get(key)
        can_return = (L is not None and L > C and key in ("researched", "potential", "hot", "won")
                      and self.next_sync(L) < len(days) - 2)
        if can_return and rng.random() < 0.16:
            kind = "reactivated"
            self._reactivated(i, events, ld, C, L, order, final)
        elif (key == "unreachable" and final["status"] == _STATUS_TEXT["unreachable"][0]
              and self.reason_cat[i] == "no_contact" and L is not None):
            if self._unreachable(events, ld, C, L, final):
                kind, sync_status = "unreachable", "unreachable"
        if kind == "forward":
            self._forward(events, ld, key, order, C, L, end, final)
        elif kind == "exit":
            self._exit(i, events, ld, key, C, end, final)
        events.sort(key=lambda e: e.day)  # stable: same-day events keep their order
        return LeadPath(i, appear, events, kind, sync_status)

    def _reactivated(self, i: int, events: list[Event], ld, C: _dt.date, L: _dt.date, order: int,
                     final: dict) -> None:
        """Went cold with a "not now" reason, nurtured, came back."""
        rng, days = self.rng, self.days
        R = L if rng.random() < 0.5 else self.rand_day(C + _dt.timedelta(days=1), L)
        self.climb(events, ld, int(rng.integers(1, min(order, 4) + 1)), C, R - _dt.timedelta(days=1))
        i_a = self.next_sync(R)
        m = int(min(rng.integers(1, 4), len(days) - 1 - i_a))
        back = max(L, self.rand_day(days[i_a + m - 1] + _dt.timedelta(days=1), days[i_a + m]))
        events.append(Event(R, {"status": "Chưa chốt" if rng.random() < 0.5 else "Từ chối",
                                "reason": _NURTURE_TEXTS[int(rng.integers(len(_NURTURE_TEXTS)))],
                                "last_contact": ld(R)}))
        for k in range(i_a + 1, bisect_left(days, back)):
            if rng.random() < 0.4:
                self.touch(i, k, _TOUCH_RESULTS)
        i_b = bisect_left(days, back)
        t_lo = max(days[i_b - 1] + _dt.timedelta(days=1), R)
        self.touches.append(Touch(i, self.rand_day(t_lo, back), _COMEBACK[int(rng.integers(len(_COMEBACK)))]))
        events.append(Event(back, final))

    def _unreachable(self, events: list[Event], ld, C: _dt.date, L: _dt.date, final: dict) -> bool:
        """Three failed calls, each seen by its own sync: the third moves the lead. False
        when the lead is too young for that."""
        rng, days = self.rng, self.days
        before = [d for d in days if C <= d < L]
        if len(before) < 2:
            return False
        s1, s2 = before[-2], before[-1]
        k1 = days.index(s1)
        lo1 = max(C, days[k1 - 1] + _dt.timedelta(days=1)) if k1 else C
        a1, a2 = self.rand_day(lo1, s1), self.rand_day(s1 + _dt.timedelta(days=1), s2)
        status = "Từ chối" if rng.random() < 0.6 else "Chưa chốt"
        events.append(Event(a1, {"status": status, "reason": final["reason"], "last_contact": ld(a1)}))
        events.append(Event(a2, {"last_contact": ld(a2)}))
        events.append(Event(L, {"last_contact": final["last_contact"], "recontact_on": final["recontact_on"]}))
        return True

    def _forward(self, events: list[Event], ld, key: str, order: int, C: _dt.date, L: _dt.date | None,
                 end: _dt.date, final: dict) -> None:
        """Up the chain to the final stage (won: possibly seen a sync later than the last call)."""
        days = self.days
        i_first = self.next_sync(C)
        if key == "won":
            self.climb(events, ld, 4, C, end - _dt.timedelta(days=1) if end > C else end)
            win = end
            if i_first < len(days) - 1 and days[i_first] >= end:
                # Signed after the last call: seen at a later sync than the lead itself.
                win = self.rand_day(days[i_first] + _dt.timedelta(days=1), days[i_first + 1])
            events.append(Event(win, final))
        elif order > 1:
            self.climb(events, ld, order - 1, C, end - _dt.timedelta(days=1))
            events.append(Event(end, final))
        elif L is not None and L != C:
            events.append(Event(L, final))

    def _exit(self, i: int, events: list[Event], ld, key: str, C: _dt.date, end: _dt.date,
              final: dict) -> None:
        """Some way up the chain, then the exit; nurtured leads get touches on later syncs."""
        rng = self.rng
        reach = int(rng.choice([1, 2, 3, 4], p=[0.3, 0.35, 0.25, 0.1]))
        if key == "disqualified":
            reach = min(reach, 2)
        self.climb(events, ld, reach, C, end - _dt.timedelta(days=1))
        events.append(Event(end, final))
        nurtured = key == "nurture" or (key in ("rejected", "not_closed") and self.reason_cat[i] in self.nurture_cats)
        if nurtured:
            for k in range(self.next_sync(end) + 1, len(self.days)):
                if rng.random() < 0.3:
                    self.touch(i, k, _TOUCH_RESULTS)


# ---------------------------------------------------------------- replay


class Replay:
    """Plays a story into an .xlsx workbook, one sync day at a time (see `step`)."""

    def __init__(self, story: Story, path: str | Path):
        self.story, self.path = story, Path(path)
        self.keys = story.keys()
        self.col = {k: j + 1 for j, k in enumerate(self.keys)}  # 1-based sheet columns
        self.written: dict[int, dict] = {}  # data row -> person cells last typed
        self.appended = 0
        self.touched: set[Touch] = set()
        self.leads_title = load_tab(SCHEMA_DIR / "leads.toml").title
        self.nurture_tab = load_tab(SCHEMA_DIR / "nurture.toml")

    def start(self) -> None:
        """Empty the freshly written demo workbook down to its header (styles stay)."""
        from openpyxl import load_workbook

        wb = load_workbook(self.path)
        ws = wb[self.leads_title]
        if ws.max_row > 1:
            ws.delete_rows(2, ws.max_row - 1)
        wb.save(self.path)

    def step(self, day: _dt.date) -> None:
        """What people typed up to `day`: new rows, changed person cells, nurture touches."""
        from openpyxl import load_workbook

        wb = load_workbook(self.path)
        ws = wb[self.leads_title]
        rows = self.story.data.rows
        paths = self.story.paths
        for p in paths[: self._due(day)]:
            state = p.state(day) or p.events[0].cells
            old = self.written.get(p.row)
            r = p.row + 2
            if old is None:  # a new row: every cell as typed
                grid_row = rows[p.row]
                for k, j in self.col.items():
                    self._put(ws, r, j, state[k] if k in state else grid_row[j - 1])
                self.appended = max(self.appended, p.row + 1)
            else:
                for k in PERSON_KEYS:
                    if k in state and state[k] != old.get(k):
                        self._put(ws, r, self.col[k], state[k])
            self.written[p.row] = state
        self._touch(wb, ws, day)
        wb.save(self.path)

    def _due(self, day: _dt.date) -> int:
        return bisect_right([p.appear for p in self.story.paths], day)

    @staticmethod
    def _put(ws, r: int, c: int, value) -> None:
        cell = ws.cell(r, c)
        cell.value = value
        if isinstance(value, str) and value.startswith("="):
            cell.data_type = "s"  # a note from a web form is never a formula
        elif isinstance(value, _dt.date):
            cell.number_format = DATE_FORMAT

    def _touch(self, wb, ws, day: _dt.date) -> None:
        due = [t for t in self.story.touches if t.day <= day and t not in self.touched]
        # Under its Vietnamese or English title, whichever the sync's language created.
        title = find_tab(wb.sheetnames, self.nurture_tab) if due else None
        if title is None:
            return
        nt = wb[title]
        head = {str(c.value): c.column for c in nt[1] if c.value}
        cols = {c.key: head.get(c.header) for c in self.nurture_tab.columns}
        if not all(cols[k] for k in ("lead_id", "touches_done", "last_touch", "last_touch_result", "state")):
            return
        active = {}
        for r in range(2, nt.max_row + 1):
            state = fold(str(nt.cell(r, cols["state"]).value or ""))
            if state in ("", "dang nuoi duong", "active"):
                active[str(nt.cell(r, cols["lead_id"]).value or "").strip()] = r
        id_col = self.col["lead_id"]
        for t in due:
            lead_id = str(ws.cell(t.row + 2, id_col).value or "").strip()
            r = active.get(lead_id)
            self.touched.add(t)
            if not lead_id or r is None:
                continue  # not on the list (an invalid or duplicate lead): nothing to record
            done = nt.cell(r, cols["touches_done"])
            done.value = str(int(str(done.value)) + 1 if str(done.value or "").isdigit() else 1)
            last = nt.cell(r, cols["last_touch"])
            last.value = t.day
            last.number_format = DATE_FORMAT
            nt.cell(r, cols["last_touch_result"]).value = t.result
