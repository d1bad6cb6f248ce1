"""Pure parts of the Google backend: value conversion, ranges, and the re-check that
maps each cell update onto the row that holds its lead *now*.

No I/O here, so every rule is unit-tested without a server.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlparse

from ..a1 import cell_name, col_letter, quote_title
from ..changes import CellUpdate
from ..errors import ConfigError

EPOCH = dt.date(1899, 12, 30)  # Sheets' serial day 0
_ID_RE = re.compile(r"^[A-Za-z0-9_-]{20,}$")


def parse_sheet_id(url_or_id: str) -> str:
    """The spreadsheet id from an id or any URL a person copies from the browser."""
    text = (url_or_id or "").strip()
    if not text:
        raise ConfigError("No spreadsheet given: pass --sheet ID_OR_URL or set `sheet` in sheetcrm.toml.")
    if "/" in text or text.startswith("http"):
        m = re.search(r"/spreadsheets/(?:u/\d+/)?d/([A-Za-z0-9_-]+)", urlparse(text).path)
        if not m:
            raise ConfigError(f"'{text}' is not a Google Sheets URL (expected …/spreadsheets/d/<id>/…).")
        return m.group(1)
    if not re.fullmatch(r"[A-Za-z0-9_-]+", text):
        raise ConfigError(f"'{text}' is not a spreadsheet id or URL.")
    return text


# ---------------------------------------------------------------- values


def to_serial(value: dt.date) -> float | int:
    if isinstance(value, dt.datetime):
        delta = value.replace(tzinfo=None) - dt.datetime(1899, 12, 30)
        return delta.days + delta.seconds / 86400
    return (value - EPOCH).days


def to_api(value: Any) -> Any:
    """A Python value as sent with valueInputOption=RAW (text stays text, dates become
    serial numbers; the date number format is applied separately)."""
    if value is None:
        return ""
    if isinstance(value, (dt.date, dt.datetime)):
        return to_serial(value)
    if isinstance(value, (bool, int, float, str)):
        return value
    return str(value)


def same(a: Any, b: Any) -> bool:
    """Whether a value read back equals what the sync saw/wants (None == "", 1 == 1.0,
    a date == its serial number)."""
    a, b = to_api(a), to_api(b)
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return abs(float(a) - float(b)) < 1e-9
    return a == b


def cell(grid: Sequence[Sequence[Any]], row: int, col: int) -> Any:
    """1-based cell of a ragged grid; "" when outside."""
    if row < 1 or col < 1 or row > len(grid):
        return ""
    r = grid[row - 1]
    return r[col - 1] if col <= len(r) else ""


def col_range(tab: str, col: int) -> str:
    letter = col_letter(col)
    return f"{quote_title(tab)}!{letter}:{letter}"


def rows_range(tab: str, first: int, last: int | None = None) -> str:
    return f"{quote_title(tab)}!{first}:{last or first}"


def column_values(response_values: list[list[Any]] | None) -> list[Any]:
    """A one-column values:batchGet answer as a flat list (row 1 first)."""
    return [(r[0] if r else "") for r in (response_values or [])]


def runs(cells: Iterable[tuple[int, int, Any]]) -> list[tuple[int, int, list[Any]]]:
    """Group (row, col, value) into horizontal runs of adjacent cells: fewer ranges, fewer
    bytes in a values:batchUpdate."""
    out: list[tuple[int, int, list[Any]]] = []
    for r, c, v in sorted(cells, key=lambda t: (t[0], t[1])):
        if out and out[-1][0] == r and out[-1][1] + len(out[-1][2]) == c:
            out[-1][2].append(v)
        else:
            out.append((r, c, [v]))
    return out


def marker_name(*parts: Any) -> str:
    """A named-range name standing for "this structure is in place" (stable hash)."""
    h = hashlib.sha1(repr(parts).encode("utf-8")).hexdigest()[:16]
    return f"sheetcrm_{h}"


# ---------------------------------------------------------------- re-check


def find_id_col(grid: Sequence[Sequence[Any]], updates: Sequence[CellUpdate]) -> int | None:
    """The column that holds lead ids: the one where every update that names a lead
    finds that lead id on its row in the first read."""
    candidates: set[int] | None = None
    for u in updates:
        if not u.lead_id:
            continue
        row = grid[u.row - 1] if 0 < u.row <= len(grid) else []
        here = {i + 1 for i, v in enumerate(row) if isinstance(v, str) and v.strip() == u.lead_id}
        if not here:
            continue  # a new id the sync is about to write: no identity in the sheet yet
        candidates = here if candidates is None else candidates & here
        if not candidates:
            return None
    return min(candidates) if candidates else None


@dataclass
class ReadPlan:
    """What to re-read just before writing one lead tab."""

    tab: str
    id_col: int | None
    cols: list[int]  # full columns (id column and every target column)
    rows: list[int]  # full rows, for updates whose row has no lead id yet
    whole_tab: bool = False

    def ranges(self) -> list[str]:
        if self.whole_tab:
            return [quote_title(self.tab)]
        return [col_range(self.tab, c) for c in self.cols] + [rows_range(self.tab, r) for r in self.rows]


MAX_ROW_RANGES = 200  # beyond this many id-less rows, re-read the whole tab instead


def plan_reread(tab: str, grid: Sequence[Sequence[Any]], updates: Sequence[CellUpdate]) -> ReadPlan:
    id_col = find_id_col(grid, updates)
    cols = sorted({u.col for u in updates} | ({id_col} if id_col else set()))
    rows = sorted({u.row for u in updates if not (u.lead_id and id_col and same(cell(grid, u.row, id_col), u.lead_id))})
    return ReadPlan(tab, id_col, cols, rows, whole_tab=len(rows) > MAX_ROW_RANGES)


@dataclass
class Reread:
    """The re-read of one lead tab, as a sparse view of the current sheet."""

    columns: dict[int, list[Any]] = field(default_factory=dict)  # col -> values from row 1
    rows: dict[int, list[Any]] = field(default_factory=dict)  # row -> values from col A
    grid: list[list[Any]] | None = None  # whole tab

    def get(self, row: int, col: int) -> Any:
        if self.grid is not None:
            return cell(self.grid, row, col)
        if col in self.columns:
            vals = self.columns[col]
            return vals[row - 1] if 0 < row <= len(vals) else ""
        if row in self.rows:
            vals = self.rows[row]
            return vals[col - 1] if 0 < col <= len(vals) else ""
        raise KeyError((row, col))

    def column(self, col: int) -> list[Any]:
        if self.grid is not None:
            return [cell(self.grid, r, col) for r in range(1, len(self.grid) + 1)]
        return self.columns.get(col, [])

    def row(self, row: int) -> list[Any]:
        if self.grid is not None:
            return list(self.grid[row - 1]) if 0 < row <= len(self.grid) else []
        return self.rows.get(row, [])


def _trim(values: Sequence[Any]) -> list[Any]:
    out = [to_api(v) for v in values]
    while out and out[-1] == "":
        out.pop()
    return out


def reconcile(
    tab: str,
    first: Sequence[Sequence[Any]],
    plan: ReadPlan,
    now: Reread,
    updates: Sequence[CellUpdate],
) -> tuple[list[tuple[int, int, Any]], list[str]]:
    """Map each update onto the row that holds its lead now; keep only those whose target
    still holds what the sync read. Returns (row, col, value) to write and skip reasons."""
    writes: list[tuple[int, int, Any]] = []
    skipped: list[str] = []
    where: dict[str, list[int]] = {}
    if plan.id_col:
        for i, v in enumerate(now.column(plan.id_col)):
            if isinstance(v, str) and v.strip():
                where.setdefault(v.strip(), []).append(i + 1)
    # A column a person inserted/moved shifts every target in it: compare header cells.
    moved_cols = {
        c for c in plan.cols if not same(cell(first, 1, c), now.get(1, c))
    }
    for u in updates:
        name = cell_name(tab, u.row, u.col)
        if u.col in moved_cols:
            skipped.append(f"{name}: the column header changed since the sync read it")
            continue
        if u.lead_id and plan.id_col and same(cell(first, u.row, plan.id_col), u.lead_id):
            rows = where.get(u.lead_id, [])
            if not rows:
                skipped.append(f"{name}: lead {u.lead_id} is no longer in the tab")
                continue
            if len(rows) > 1:
                skipped.append(f"{name}: lead {u.lead_id} now appears on {len(rows)} rows")
                continue
            row = rows[0]
        else:
            # No identity yet: the whole row must be exactly as read, in place.
            row = u.row
            if _trim(now.row(row)) != _trim(first[row - 1] if row <= len(first) else []):
                skipped.append(f"{name}: the row changed or moved since the sync read it")
                continue
        current = now.get(row, u.col)
        if not same(current, u.old):
            shown = cell_name(tab, row, u.col)
            skipped.append(f"{shown}: changed by a person since the sync read it; left as is")
            continue
        if not same(current, u.value):
            writes.append((row, u.col, u.value))
    return writes, skipped


def table_end(first: Sequence[Sequence[Any]], tail: Sequence[Sequence[Any]] | None) -> int:
    """Last non-empty row of a log tab: the first read, plus any rows that appeared below
    it by the re-read (`tail` starts at the row after the first read)."""
    end = 0
    for i, r in enumerate(first):
        if any(to_api(v) != "" for v in r):
            end = i + 1
    base = len(first)
    for i, r in enumerate(tail or []):
        if any(to_api(v) != "" for v in r):
            end = max(end, base + i + 1)
    return end


def key_text(v: Any) -> str:
    v = to_api(v)
    if isinstance(v, float) and v.is_integer():
        v = int(v)
    return str(v).strip()


def new_log_rows(append: Any, seen: set[str]) -> list[tuple[Any, ...]]:
    """The rows of an AppendRows whose key is not in the tab yet (`seen` grows with them):
    a retried or crashed run never logs an event twice."""
    rows = []
    for row in append.rows:
        if append.key_col is not None:
            k = key_text(row[append.key_col]) if append.key_col < len(row) else ""
            if k and k in seen:
                continue
            seen.add(k)
        rows.append(row)
    return rows


# ---------------------------------------------------------------- summary tabs


def row_key(row: Sequence[Any]) -> tuple:
    """A row as comparable values (what a read gives back for what was written)."""
    out = []
    for v in row:
        v = to_api(v)
        if isinstance(v, bool):
            out.append(("b", v))
        elif isinstance(v, (int, float)):
            out.append(("n", round(float(v), 9)))
        else:
            out.append(("s", v))
    while out and out[-1] == ("s", ""):
        out.pop()
    return tuple(out)


@dataclass
class RowEdits:
    """How to turn the rows a summary tab holds into the rows it should hold.

    `ops` are (kind, start, count) on 0-based row indexes, "delete" or "insert", listed
    bottom-up so each applies to the sheet as the previous ones left it. After them, new
    row j (0-based) sits where `was[j]` (the old row index) was, or is a new blank row
    when `was[j]` is None. Rows that only moved cost no cell writes."""

    ops: list[tuple[str, int, int]]
    was: list[int | None]


def align_rows(old: Sequence[Sequence[Any]], new: Sequence[Sequence[Any]]) -> RowEdits:
    """Row inserts and deletes that keep the longest runs of equal rows in place."""
    import difflib

    a, b = [row_key(r) for r in old], [row_key(r) for r in new]
    ops: list[tuple[str, int, int]] = []
    was: list[int | None] = [None] * len(b)
    matcher = difflib.SequenceMatcher(None, a, b, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        same_rows = min(i2 - i1, j2 - j1) if tag == "replace" else (i2 - i1 if tag == "equal" else 0)
        for k in range(same_rows):  # equal rows, or rows rewritten in place
            was[j1 + k] = i1 + k
        if i2 - i1 > same_rows:
            ops.append(("delete", i1 + same_rows, i2 - i1 - same_rows))
        elif j2 - j1 > same_rows:
            ops.append(("insert", i2, j2 - j1 - same_rows))
    ops.reverse()
    return RowEdits(ops, was)


def changed_cells(old: Sequence[Sequence[Any]], new: Sequence[Sequence[Any]], was: Sequence[int | None]
                  ) -> list[tuple[int, int, Any]]:
    """(row, col, value), 1-based, for the cells of `new` that differ from what sits
    there after the row edits (blank where the old row was wider)."""
    out = []
    for j, row in enumerate(new):
        src = old[was[j]] if was[j] is not None and was[j] < len(old) else ()
        if was[j] is not None and row_key(row) == row_key(src):
            continue
        for c in range(max(len(row), len(src))):
            v = row[c] if c < len(row) else None
            if not same(src[c] if c < len(src) else "", v):
                out.append((j + 1, c + 1, "" if v is None else v))
    return out
