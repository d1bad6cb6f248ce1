"""The `Nhật ký đồng bộ` (sync log) tab: one appended row per run, newest last.

The tab never grows past `keep` data rows (default 1000): when an append would pass it,
a `TrimRows` drops the oldest. The start time is the append's event key, so a retried
write of the same run's row is not logged twice.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from .. import __version__
from ..changes import AppendRows, TrimRows
from ..schema import Schemas
from .summary import labels

DEFAULT_KEEP = 1000
# Order of schemas/sync_log.toml; the tuple follows the schema, so a reordered file wins.
FIELDS = (
    "started_at", "duration_s", "backend", "today", "rows_read", "issues", "duplicates",
    "transitions", "rows_appended", "cells_written", "api_calls", "outcome", "version",
)
_COUNTS = {"rows_read", "issues", "duplicates", "transitions", "rows_appended", "cells_written", "api_calls"}


def _started(v: Any) -> str:
    # Text, sortable, to the second: the same on xlsx and Google and usable as a key.
    if isinstance(v, dt.datetime):
        return v.replace(microsecond=0, tzinfo=None).strftime("%Y-%m-%d %H:%M:%S")
    return "" if v is None else str(v)


def sync_log_row(report_fields: Mapping[str, Any], language: str = "vi", schemas: Schemas | None = None) -> tuple:
    """One sync-log row from a run's report, in the tab's column order.

    `report_fields` keys are the schema keys (missing counts are 0, missing version is
    this package's). `outcome` is a key (ok, no_change, dry_run, error, locked) shown as
    its label, or free text kept as given."""
    L = labels(language, schemas)
    order = schemas.tab("sync_log").keys if schemas else FIELDS
    out = []
    for key in order:
        v = report_fields.get(key)
        if key == "started_at":
            v = _started(v)
        elif key == "duration_s":
            v = round(float(v), 2) if v is not None else None
        elif key == "today":
            v = v.date() if isinstance(v, dt.datetime) else v
        elif key in _COUNTS:
            v = int(v or 0)
        elif key == "outcome":
            v = L.get(f"outcome_{v}", v if v is not None else "")
        elif key == "version":
            v = v or __version__
        elif v is None:
            v = ""
        out.append(v)
    return tuple(out)


def sync_log_changes(
    tab: str,
    row: tuple,
    existing_rows: int,
    keep: int = DEFAULT_KEEP,
    schemas: Schemas | None = None,
) -> tuple[AppendRows, TrimRows | None]:
    """The append for this run, and a trim when the tab would then hold more than `keep`
    data rows (`existing_rows` counts data rows, the header excluded)."""
    if keep < 1:
        raise ValueError("the sync log keeps at least 1 row")
    order = schemas.tab("sync_log").keys if schemas else FIELDS
    append = AppendRows(tab=tab, rows=(tuple(row),), key_col=order.index("started_at"))
    trim = TrimRows(tab=tab, keep=keep) if existing_rows + 1 > keep else None
    return append, trim
