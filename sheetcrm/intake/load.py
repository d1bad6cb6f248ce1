"""Inputs named on the command line → `ImportBatch`es, read before anything is written."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from ..schema import Schemas
from ..sync.intake import ImportBatch
from .read import IntakeError, RawTable, from_grid, read_file
from .sources import Context, Mapped, choose

TAB_PREFIX = "tab:"  # `tab:Câu trả lời biểu mẫu 1`: a responses tab of the target itself


def is_tab(name: str) -> bool:
    return str(name).startswith(TAB_PREFIX)


def read_inputs(names: Sequence[str], sheets: Mapping[str, list[list[Any]]] | None = None) -> list[tuple[RawTable, str]]:
    """Each input read as a table, with a digest of what it holds."""
    out = []
    for name in names:
        if is_tab(name):
            title = str(name)[len(TAB_PREFIX):]
            if sheets is None or title not in sheets:
                have = ", ".join(sheets or []) or "none"
                raise IntakeError(f"{name}: no tab '{title}' in the target (tabs: {have})")
            grid = sheets[title]
            table = from_grid(Path(title), grid, title)
            digest = hashlib.blake2b(repr(grid).encode(), digest_size=16).hexdigest()
        else:
            table = read_file(name)
            digest = hashlib.blake2b(Path(name).read_bytes(), digest_size=16).hexdigest()
        out.append((table, digest))
    return out


def to_batches(tables: Sequence[tuple[RawTable, str]], kind: str, mapping: str | None, schemas: Schemas,
               zone: ZoneInfo) -> tuple[list[ImportBatch], list[str]]:
    """Canonical rows of each table (source detected unless named) and the warnings."""
    ctx = Context(schemas.tab("leads"), zone)
    mapped = Mapped(mapping) if mapping else None
    batches, warnings = [], []
    for table, digest in tables:
        source = choose(table, kind, ctx, mapped)
        rows = source.records(table, ctx)
        batches.append(ImportBatch(table.name, digest, source.name, rows))
        warnings.extend(table.warnings)
    return batches, warnings
