"""The one protocol every backend speaks.

`read()` returns each tab as a raw grid of cell values (row 1 first), with text kept as
text (a phone typed as `0912…` keeps its 0) and dates as `datetime.date`/`datetime`
(xlsx) or serial numbers (Sheets, unformatted): the pure pipeline parses both. Empty
cells are '' (None where a row is shorter than the header), numbers may be floats.
`apply()` writes a `ChangeSet` and reports what it did.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Protocol

from ..changes import ChangeSet


@dataclass
class RawSheet:
    title: str
    values: list[list[Any]]  # row-major from sheet row 1; rows may be ragged
    # (row, col) of the cells holding a formula: a person's value, which no sync writes.
    formulas: frozenset[tuple[int, int]] = frozenset()

    @property
    def header(self) -> list[Any]:
        return list(self.values[0]) if self.values else []


@dataclass
class ApplyResult:
    cells_written: int = 0
    rows_appended: int = 0
    api_calls: int = 0
    # Updates skipped because a person changed the target meanwhile (cell names + why).
    skipped: list[str] = field(default_factory=list)
    wrote: bool = False


class Backend(Protocol):
    name: str  # "xlsx" | "gsheets"
    location: str  # what to show a user: a path or a spreadsheet id

    def read(self) -> dict[str, RawSheet]:
        """Every tab, by title."""

    def apply(self, changes: ChangeSet) -> ApplyResult:
        """Write `changes`; write nothing at all when it is empty."""

    def lock(self) -> contextlib.AbstractContextManager[None]:
        """Hold the one-sync-at-a-time lock (raise LockHeldError when held)."""

    @property
    def api_calls(self) -> int:
        """Requests made so far (0 for local files)."""


@contextlib.contextmanager
def no_lock() -> Iterator[None]:
    yield
