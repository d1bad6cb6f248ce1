"""Bind raw grids to tab schemas: find tabs and headers by folded name.

Headers match case-, accent-, spacing- and Unicode-form-insensitively, with aliases, so
columns may be reordered, renamed to English, or typed on macOS (NFD). Columns the schema
does not know are extra: they are never read into the frame and never written.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from rapidfuzz import fuzz, process

from ..errors import HeaderError
from ..schema import Column, TabSchema
from ..text import fold


@dataclass
class Table:
    """One tab bound to its schema. `frame` holds raw cell values under schema keys
    (columns the sheet lacks are all None) plus `row`, the 1-based sheet row."""

    schema: TabSchema
    title: str  # the tab's title in the workbook (the schema's title when missing)
    exists: bool
    header: list[Any]
    col_of: dict[str, int]  # key → 1-based sheet column
    frame: pd.DataFrame
    missing: list[Column] = field(default_factory=list)
    duplicate_headers: list[str] = field(default_factory=list)

    @property
    def width(self) -> int:
        return len(self.header)

    @property
    def last_row(self) -> int:
        """The last sheet row holding data (1 when only the header exists)."""
        return int(self.frame["row"].max()) if len(self.frame) else 1


def find_tab(titles: list[str], schema: TabSchema) -> str | None:
    wanted = {fold(n) for n in (schema.title, *schema.aliases)}
    for t in titles:
        if fold(t) == fold(schema.title):
            return t
    for t in titles:
        if fold(t) in wanted:
            return t
    return None


def _blank(values: pd.Series) -> np.ndarray:
    """True for empty cells: None/NaN or text that is only whitespace."""
    arr = values.to_numpy(dtype=object)
    out = pd.isna(arr)
    # One pass in a comprehension: `.str.strip()` on an object column costs several.
    spaces = np.fromiter((isinstance(v, str) and not v.strip() for v in arr), dtype=bool, count=len(arr))
    return out | spaces


def _blank_rows(frame: pd.DataFrame, keys: list[str]) -> np.ndarray:
    """Rows whose `keys` cells are all blank. Each column is looked at only on the rows
    still blank after the columns before it, so a filled column ends the search."""
    cand = np.arange(len(frame))
    for k in keys:
        if not len(cand):
            break
        col = frame[k]
        cand = cand[_blank(col.iloc[cand] if len(cand) < len(frame) else col)]
    blank = np.zeros(len(frame), dtype=bool)
    blank[cand] = True
    return blank


def bind(grid: list[list[Any]] | None, title: str | None, schema: TabSchema, required: bool = True) -> Table:
    """Bind `grid` (row 1 = headers) to `schema`. Raise HeaderError for a missing required
    header, naming the tab, the header and the closest header present."""
    if grid is None:
        empty = pd.DataFrame({c.key: pd.Series(dtype=object) for c in schema.columns})
        empty["row"] = pd.Series(dtype=int)
        return Table(schema, schema.title, False, [], {}, empty, list(schema.columns))

    header = list(grid[0]) if grid else []
    lookup: dict[str, str] = {}
    for c in schema.columns:
        for name in c.names:
            lookup.setdefault(fold(name), c.key)
    col_of: dict[str, int] = {}
    duplicates: list[str] = []
    for i, h in enumerate(header, start=1):
        key = lookup.get(fold(h)) if h is not None else None
        if key is None:
            continue
        if key in col_of:
            duplicates.append(str(h))
            continue
        col_of[key] = i
    missing = [c for c in schema.columns if c.key not in col_of]
    if required:
        lost = [c for c in missing if c.required]
        if lost:
            below = _header_below(grid, lookup, {c.key for c in schema.columns if c.required})
            if below:
                raise HeaderError(f"Tab '{title or schema.title}': the header row must be row 1, but the "
                                  f"headers are on row {below}; delete the rows above them (a title can "
                                  "go in another tab).")
            raise HeaderError(_missing_message(title or schema.title, lost, header, col_of))
        for group in schema.required_any:
            if not any(k in col_of for k in group):
                names = " or ".join(f"'{schema.column(k).header}'" for k in group)
                raise HeaderError(f"Tab '{title or schema.title}' needs a column {names} "
                                  f"(also accepted: {', '.join(schema.column(group[0]).aliases[:2])}, "
                                  f"{', '.join(schema.column(group[-1]).aliases[:2])}).")
            # One of them may be absent on purpose, but a header that is nearly its name is a
            # typo that would hide the column's data: say so.
            for k in group:
                if k not in col_of and _closest(schema.column(k), header, col_of, 80):
                    raise HeaderError(_missing_message(title or schema.title, [schema.column(k)], header, col_of))

    width = max(len(header), max(col_of.values(), default=0))
    body = grid[1:]
    if body:
        longest = max(map(len, body))
        if any(len(r) != longest for r in body):  # ragged rows: pad with empty cells
            body = [r if len(r) == longest else [*r, *[None] * (longest - len(r))] for r in body]
        raw = pd.DataFrame.from_records(body, coerce_float=False)
        raw = raw.reindex(columns=range(max(width, raw.shape[1])))
    else:
        raw = pd.DataFrame(columns=range(width))
    frame = pd.DataFrame(index=raw.index)
    for c in schema.columns:
        frame[c.key] = raw[col_of[c.key] - 1].astype(object) if c.key in col_of else None
    frame = frame.astype(object).where(frame.notna(), None)
    frame["row"] = np.arange(2, len(frame) + 2)
    # In a tab of people's rows (one with required columns: leads) a row counts when a
    # person typed something in it: an old issue note the sync left in a row a person
    # emptied does not make it a lead. In log tabs the sync's own rows count.
    person_rows = any(c.required for c in schema.columns)
    keys = [c.key for c in schema.columns if c.key in col_of and (c.writer != "sync" or not person_rows)]
    if keys and len(frame):
        blank = _blank_rows(frame, keys)
        frame = frame.loc[~blank].reset_index(drop=True)
    else:
        frame = frame.iloc[0:0].reset_index(drop=True)
    return Table(schema, title or schema.title, True, header, col_of, frame, missing, duplicates)


def _header_below(grid: list[list[Any]], lookup: Mapping[str, str], required: set[str]) -> int | None:
    """The row (2 to 10) holding every required header, when a title sits above them."""
    for r, row in enumerate(grid[1:10], start=2):
        found = {lookup.get(fold(h)) for h in row if isinstance(h, str)}
        if required <= found:
            return r
    return None


def _closest(c: Column, header: list[Any], col_of: Mapping[str, int], cutoff: int) -> str | None:
    """The unmatched header most like one of `c`'s names, if it scores at least `cutoff`."""
    taken = set(col_of.values())
    present = [str(h) for i, h in enumerate(header, start=1) if h not in (None, "") and i not in taken]
    if not present:
        return None
    folded = {fold(p): p for p in present}
    best = None
    for name in c.names:
        hit = process.extractOne(fold(name), list(folded), scorer=fuzz.ratio)
        if hit and (best is None or hit[1] > best[1]):
            best = hit
    return folded[best[0]] if best and best[1] >= cutoff else None


def _missing_message(tab: str, lost: list[Column], header: list[Any], col_of: Mapping[str, int]) -> str:
    parts = []
    for c in lost:
        names = " / ".join(c.names[:3])
        msg = f"Tab '{tab}' has no column '{c.header}' (also accepted: {names})"
        near = _closest(c, header, col_of, 60)
        if near:
            msg += f"; did you mean '{near}'?"
        parts.append(msg)
    return ". ".join(parts) + "."
