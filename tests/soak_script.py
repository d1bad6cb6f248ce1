"""A cron soak: many syncs on one spreadsheet with, between runs, what people do.

`Soak(person, sync, check)` drives it for either backend: `person` types, inserts,
sorts, deletes, renames (a `SheetsPerson` on the fake server or an `XlsxPerson` on a
workbook), `sync()` runs one `api.sync`, `check()` one dry run. After every run
`verify()` asserts the invariants a team relies on:

- every value a person typed is still in the row of its lead;
- every lead id stays on the lead it was given to, and appears once;
- every history and rejection event is logged once, one sync-log row per run;
- a dry run right after wants to write nothing: computed cells match their rows, and
  the summary and agenda tabs hold what the sync would write.
"""

from __future__ import annotations

import datetime as dt
import random
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from sheetcrm.backends.gsheets_plan import same, to_api
from sheetcrm.errors import BackendError

LEADS = "Khách hàng"
HISTORY = "Lịch sử"
SYNC_LOG = "Nhật ký đồng bộ"
OVERVIEW = "Tổng quan"
STATUSES = ("Đã tìm hiểu", "Tiềm năng", "Nóng", "Chốt")
REASONS = ("Giá cao", "Chưa có nhu cầu", "Đã mua bên khác")
OWNERS = ("Lan", "Minh", "Hùng", "Thảo")
TODAY = dt.date(2026, 11, 23)


def col_letter(c: int) -> str:
    s = ""
    while c:
        c, r = divmod(c - 1, 26)
        s = chr(65 + r) + s
    return s


@dataclass
class Soak:
    person: Any
    sync: Any  # () -> SyncResult, raises BackendError (exit 3)
    check: Any  # () -> SyncResult of a dry run
    count_calls: Any = None  # () -> API requests so far (Google only)
    seed: int = 14
    typed: dict[tuple[str, str], Any] = field(default_factory=dict)  # (lead key, header) -> value
    ids: dict[str, tuple] = field(default_factory=dict)  # lead id -> identity of its row
    deleted: set[str] = field(default_factory=set)
    runs_ok: int = 0
    exits: list[int] = field(default_factory=list)
    calls: list[int] = field(default_factory=list)  # API requests of each run's syncs
    seconds: list[float] = field(default_factory=list)  # time of each run's syncs
    new_names: int = 0

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)

    # -- the sheet as a person sees it ---------------------------------------

    def leads(self) -> tuple[list[str], list[list[Any]]]:
        grid = self.person.grid(LEADS)
        header = [str(h) for h in grid[0]]
        rows = [list(r) + [""] * (len(header) - len(r)) for r in grid[1:]]
        return header, rows

    def key_of(self, header: list[str], row: list[Any]) -> str:
        lead_id = str(row[header.index("Mã KH")] or "").strip()
        return lead_id or "name:" + str(row[header.index("Tên khách hàng")])

    def identity(self, header: list[str], row: list[Any]) -> tuple:
        return tuple(str(to_api(row[header.index(h)])) for h in ("Tên khách hàng", "Số điện thoại", "Email"))

    # -- what people do -------------------------------------------------------

    def edit_statuses(self, n: int = 3) -> None:
        header, rows = self.leads()
        sc, rc = header.index("Trạng thái"), header.index("Lý do")
        for i in self.rng.sample(range(len(rows)), min(n, len(rows))):
            key = self.key_of(header, rows[i])
            if self.rng.random() < 0.3:
                value, col = self.rng.choice(REASONS), rc
            else:
                value, col = self.rng.choice(STATUSES), sc
            self.person.type(LEADS, i + 2, col + 1, value)
            self.typed[(key, header[col])] = value

    def type_new_leads(self, n: int = 2, form: bool = False) -> None:
        header, rows = self.leads()
        at = len(rows) + 2
        for k in range(n):
            self.new_names += 1
            name = f"Khách soak {self.new_names:03d}"
            values = {"Tên khách hàng": name, "Số điện thoại": f"09{self.new_names:08d}",
                      "Người phụ trách": self.rng.choice(OWNERS)}
            if form:
                values.update({"Email": f"soak{self.new_names}@mail.vn", "Nguồn": "Form", "Ngày tạo": TODAY})
            row = ["" for _ in header]
            for h, v in values.items():
                row[header.index(h)] = v
            self.person.set_row(LEADS, at + k, row)
            self.typed[("name:" + name, "Tên khách hàng")] = name

    def insert_lead_in_middle(self) -> None:
        header, rows = self.leads()
        self.new_names += 1
        name = f"Khách chèn {self.new_names:03d}"
        row = ["" for _ in header]
        row[header.index("Tên khách hàng")] = name
        row[header.index("Số điện thoại")] = f"08{self.new_names:08d}"
        self.person.insert_row(LEADS, len(rows) // 2 + 2, row)
        self.typed[("name:" + name, "Tên khách hàng")] = name

    def sort_by_owner(self) -> None:
        header, rows = self.leads()
        self.person.sort(LEADS, header.index("Người phụ trách") + 1, len(rows) + 1, len(header))

    def delete_a_lead(self) -> None:
        header, rows = self.leads()
        i = self.rng.randrange(len(rows))
        key = self.key_of(header, rows[i])
        self.person.delete_row(LEADS, i + 2)
        self.deleted.add(key)
        self.typed = {k: v for k, v in self.typed.items() if k[0] != key}

    def add_column(self) -> None:
        header, rows = self.leads()
        col = len(header) + 1
        self.person.type(LEADS, 1, col, "Ghi chú riêng")
        for i in self.rng.sample(range(len(rows)), min(5, len(rows))):
            self.person.type(LEADS, i + 2, col, f"riêng {i}")
            self.typed[(self.key_of(header, rows[i]), "Ghi chú riêng")] = f"riêng {i}"

    def rename_summary(self) -> None:
        if OVERVIEW in self.person.titles():
            self.person.rename(OVERVIEW, "Tổng quan (cũ)")

    def clear_computed_cell(self) -> None:
        header, rows = self.leads()
        for c in ("Ngày liên hệ lại", "Lỗi dữ liệu", "Trùng với"):
            col = header.index(c)
            filled = [i for i, r in enumerate(rows) if str(to_api(r[col])) != ""]
            if filled:
                self.person.type(LEADS, self.rng.choice(filled) + 2, col + 1, None)
                return

    ACTIONS = ("type_new_leads", "form_rows", "insert_lead_in_middle", "sort_by_owner", "delete_a_lead",
               "add_column", "rename_summary", "clear_computed_cell")

    def between_runs(self, run: int) -> str:
        """What people do before run `run` (1-based after the first sync)."""
        self.edit_statuses()
        if run <= len(self.ACTIONS):
            action = self.ACTIONS[run - 1]
        else:
            action = self.rng.choice(("none", "none", *self.ACTIONS[:-2], "clear_computed_cell"))
        if action == "form_rows":
            self.type_new_leads(3, form=True)
        elif action != "none" and not (action == "add_column" and "Ghi chú riêng" in self.leads()[0]):
            getattr(self, action)()
        return action

    # -- a run and its invariants ---------------------------------------------

    def run(self, converged: bool = True) -> int:
        """One sync; exit 3 (BackendError) is allowed once, then the next run must pass.
        `converged=False` for a run a person edited during: the next run catches up."""
        t0 = time.perf_counter()
        try:
            self.sync()
        except BackendError:
            self.exits.append(3)
            self.sync()  # the next cron run converges
        else:
            self.exits.append(0)
        self.seconds.append(time.perf_counter() - t0)
        if self.count_calls:
            self.calls.append(self.count_calls())
        self.runs_ok += 1
        self.verify(converged)
        return self.exits[-1]

    def verify(self, converged: bool = True) -> None:
        header, rows = self.leads()
        by_key: dict[str, list[list[Any]]] = {}
        for r in rows:
            by_key.setdefault(self.key_of(header, r), []).append(r)
        # ids: once each, on the lead they were given to; every new lead got one.
        ids = Counter(str(r[header.index("Mã KH")]).strip() for r in rows)
        assert "" not in ids, "a lead row has no id after a sync"
        assert max(ids.values()) == 1, [i for i, n in ids.items() if n > 1]
        for r in rows:
            lead_id, ident = self.key_of(header, r), self.identity(header, r)
            assert self.ids.setdefault(lead_id, ident) == ident, f"{lead_id} moved to another lead"
        assert not (set(self.ids) - set(ids) - self.deleted), "a lead id vanished"
        # person edits: the row of each lead still holds what was typed.
        names = {str(r[header.index("Tên khách hàng")]): r for r in rows}
        for (key, h), v in self.typed.items():
            row = names.get(key[5:]) if key.startswith("name:") else (by_key.get(key) or [None])[0]
            assert row is not None, f"lead {key} is gone"
            assert same(row[header.index(h)], v), f"{key} {h}: {row[header.index(h)]!r} != typed {v!r}"
        self.typed = {(self.key_of(header, names[k[5:]]) if k.startswith("name:") else k, h): v
                      for (k, h), v in self.typed.items()}
        self.verify_logs()
        if converged:
            self.verify_converged()

    def verify_logs(self) -> None:
        history = [tuple(str(to_api(v)) for v in r) for r in self.person.grid(HISTORY)[1:] if any(r)]
        dup = [r for r, n in Counter(history).items() if n > 1]
        assert not dup, f"history rows logged twice: {dup[:3]}"
        log_rows = [r for r in self.person.grid(SYNC_LOG)[1:] if any(str(v) for v in r)]
        assert len(log_rows) == self.runs_ok, (len(log_rows), self.runs_ok)

    def verify_converged(self) -> None:
        plan = self.check().changes
        assert not plan.updates, [f"{u.tab}!{col_letter(u.col)}{u.row}: {u.old!r} -> {u.value!r}" for u in plan.updates[:5]]
        more = [(a.tab, a.rows[:2]) for a in plan.appends if a.rows]
        assert not more, f"a dry run right after a sync wants to log more: {more}"
        for lay in plan.replacements:
            grid = self.person.grid(lay.tab)
            wrong = [(r, c) for r, row in enumerate(lay.cells, 1) for c, v in enumerate(row, 1)
                     if not same(grid[r - 1][c - 1] if r <= len(grid) and c <= len(grid[r - 1]) else "", v)]
            assert not wrong, f"{lay.tab}: cells {wrong[:5]} differ from what the sync computes"
