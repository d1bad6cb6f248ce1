"""The `Nhật ký đồng bộ` (sync log) tab: one appended row per run, newest last.

The tab never grows past `sync_log_keep` data rows (default 1000): when an append would
pass it, the sync trims the oldest (see `sheetcrm.api`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from .. import __version__
from ..schema import Schemas
from .summary import labels

# Order of schemas/sync_log.toml; the tuple follows the schema, so a reordered file wins.
FIELDS = (
    "started_at", "duration_s", "backend", "today", "rows_read", "issues", "duplicates",
    "transitions", "rows_appended", "cells_written", "api_calls", "outcome", "version", "input_hash",
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
