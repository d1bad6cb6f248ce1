"""The change set: everything one sync wants to write, as plain data.

The pipeline (pure) produces it; a backend (I/O) applies it. Three write modes, as in
dlt: lead tabs *merge* cell by cell (keyed by row and lead id), log tabs *append*,
summary tabs are *replaced* whole.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from typing import Any, Literal

Value = Any  # str | int | float | bool | datetime.date | None

# Style names a summary layout may use; each backend maps them to its own formats.
STYLES = ("title", "subtitle", "header", "percent", "date", "integer", "decimal", "bold", "note")


@dataclass(frozen=True, slots=True, init=False)  # slots: a first sync plans millions of them
class CellUpdate:
    """Set one cell. `old` is what the sync read there; `lead_id` names the row's identity
    so a backend can re-check that the row still holds the same lead before writing."""

    tab: str
    row: int  # 1-based sheet row
    col: int  # 1-based sheet column
    value: Value
    old: Value = None
    lead_id: str | None = None


_CELL_SETTERS = tuple(getattr(CellUpdate, f).__set__ for f in ("tab", "row", "col", "value", "old", "lead_id"))


def _cell_update_init(self: CellUpdate, tab: str, row: int, col: int, value: Value, old: Value = None,
                      lead_id: str | None = None, *, _set: tuple = _CELL_SETTERS) -> None:
    # The generated frozen __init__ looks up object.__setattr__ per field; the slots' own
    # setters, bound once, make the millions of updates of a first sync a third faster.
    _set[0](self, tab)
    _set[1](self, row)
    _set[2](self, col)
    _set[3](self, value)
    _set[4](self, old)
    _set[5](self, lead_id)


_cell_update_init.__name__, _cell_update_init.__qualname__ = "__init__", "CellUpdate.__init__"
CellUpdate.__init__ = _cell_update_init  # type: ignore[method-assign]


@dataclass(frozen=True)
class EnsureTab:
    """Create `tab` with `headers` in row 1 if it does not exist."""

    tab: str
    headers: tuple[str, ...]
    freeze_rows: int = 1
    # header → allowed values, shown as a dropdown (status, reason)
    dropdowns: tuple[tuple[str, tuple[str, ...]], ...] = ()


@dataclass(frozen=True)
class TabFormat:
    """On an existing tab, freeze the header row and add dropdowns where they are missing
    (`init` on a sheet a team already uses). `headers` is the tab's header row as it is."""

    tab: str
    headers: tuple[str, ...]
    freeze_rows: int = 1
    dropdowns: tuple[tuple[str, tuple[str, ...]], ...] = ()


@dataclass(frozen=True)
class AddColumns:
    """Append missing columns (headers in row 1) at `first_col` of an existing tab."""

    tab: str
    first_col: int
    headers: tuple[str, ...]


@dataclass(frozen=True)
class AppendRows:
    """Append rows after the last row of `tab` (a log tab). `key_col` (0-based index into
    each row) holds an event key: a backend skips rows whose key is already in that column,
    so a retried sync never logs an event twice."""

    tab: str
    rows: tuple[tuple[Value, ...], ...]
    key_col: int | None = None


@dataclass(frozen=True)
class TrimRows:
    """Keep only the last `keep` data rows of `tab` (row 1 is the header)."""

    tab: str
    keep: int


@dataclass(frozen=True)
class ChartSpec:
    """A chart in a summary tab; ranges are 1-based inclusive (row1, col1, row2, col2)."""

    key: str  # stable name, so a backend finds and keeps the chart instead of adding another
    kind: Literal["bar", "column", "stacked_column"]
    title: str
    categories: tuple[int, int, int, int]
    series: tuple[tuple[int, int, int, int], ...]  # each range's first cell is the series name
    anchor: tuple[int, int]  # top-left cell (row, col)
    width: int = 640
    height: int = 320


@dataclass(frozen=True)
class SheetLayout:
    """A whole summary tab: values, styles, widths, frozen rows, charts."""

    tab: str
    cells: tuple[tuple[Value, ...], ...]
    styles: tuple[tuple[int, int, str], ...] = ()  # (row, col, style), 1-based
    col_widths: tuple[float, ...] = ()  # in characters
    freeze_rows: int = 0
    charts: tuple[ChartSpec, ...] = ()
    merges: tuple[tuple[int, int, int, int], ...] = ()


@dataclass
class ChangeSet:
    ensure_tabs: list[EnsureTab] = field(default_factory=list)
    formats: list[TabFormat] = field(default_factory=list)
    add_columns: list[AddColumns] = field(default_factory=list)
    updates: list[CellUpdate] = field(default_factory=list)
    appends: list[AppendRows] = field(default_factory=list)
    replacements: list[SheetLayout] = field(default_factory=list)
    trims: list[TrimRows] = field(default_factory=list)
    # (tab, 1-based column) → the column's `personal` marker (docs/privacy.md): `describe`
    # never shows what a person typed there. Not written anywhere.
    private: dict[tuple[str, int], Any] = field(default_factory=dict)
    # The tab the workbook opens on (its title), set with whatever else is written; not a
    # change by itself: a run that writes nothing else leaves the tabs as they are.
    open_on: str | None = None

    def is_empty(self) -> bool:
        return not (
            self.ensure_tabs
            or self.formats
            or self.add_columns
            or self.updates
            or any(a.rows for a in self.appends)
            or self.replacements
            or self.trims
        )

    @property
    def cells(self) -> int:
        """Cells this change set writes (upper bound: appends may be de-duplicated)."""
        n = len(self.updates)
        n += sum(len(t.headers) for t in self.ensure_tabs)
        n += sum(len(a.headers) for a in self.add_columns)
        n += sum(len(r) for a in self.appends for r in a.rows)
        n += sum(sum(len(r) for r in s.cells) for s in self.replacements)
        return n

    def describe(self, limit: int = 50) -> list[str]:
        """Human-readable lines for `--dry-run`."""
        from .a1 import cell_name

        lines: list[str] = []
        for t in self.ensure_tabs:
            lines.append(f"create tab '{t.tab}' with headers: {', '.join(t.headers)}")
        for f in self.formats:
            names = ", ".join(h for h, _ in f.dropdowns)
            lines.append(f"freeze the header of '{f.tab}' and add dropdowns ({names}) where missing")
        for a in self.add_columns:
            lines.append(f"add columns to '{a.tab}': {', '.join(a.headers)}")
        for u in self.updates[:limit]:
            mark = self.private.get((u.tab, u.col))
            lines.append(f"{cell_name(u.tab, u.row, u.col)}: {_show(u.old, mark)} -> {_show(u.value, mark)}")
        if len(self.updates) > limit:
            lines.append(f"... and {len(self.updates) - limit} more cell updates")
        for a in self.appends:
            if a.rows:
                lines.append(f"append {len(a.rows)} row(s) to '{a.tab}'")
        for s in self.replacements:
            lines.append(f"rewrite tab '{s.tab}' ({len(s.cells)} rows, {len(s.charts)} charts)")
        for t in self.trims:
            lines.append(f"trim '{t.tab}' to its last {t.keep} rows")
        return lines


_QUOTED = re.compile(r"'[^']*'")


def _show(v: Value, personal: Any = None) -> str:
    """A value as `describe` shows it. In a personal column only the tombstone and the
    catalogue's words are shown: what a person typed is `(personal data)`, and a quoted part
    of an issue message (`personal = "blank"`, which may quote it) is `'…'`; phones and
    emails elsewhere are masked by the CLI (logs.redact)."""
    if v is None or v == "":
        return "(empty)"
    if isinstance(v, dt.date):
        return v.strftime("%d/%m/%Y")
    if personal == "blank" and isinstance(v, str):
        return repr(_QUOTED.sub("'…'", v))
    if personal:
        from .sync.tombstone import TOMBSTONE

        if v != TOMBSTONE:
            return "(personal data)"
    return repr(v)
