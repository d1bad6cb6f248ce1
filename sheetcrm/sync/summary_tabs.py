"""The summary tabs a sync rebuilds whole, in the order they are written.

Each entry of `SUMMARY_TABS` maps a tab key to a builder `(SummaryInputs, title) ->
SheetLayout`. The title is `Schemas.summary_title(key, language)`: `[tabs] <key>` in
sheetcrm.toml, else `<key>_tab` in summary_labels.toml for the run's language. Adding a
tab is a builder here plus its two titles (docs/architecture.md, "Add a summary tab").
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from ..changes import SheetLayout
from ..schema import Schemas, default_tab_title
from ..text import fold
from .activity import build_activity
from .agenda import build_agenda
from .forecast import build_forecast
from .summary import build_overview


@dataclass(frozen=True)
class SummaryInputs:
    """The frames as this run leaves them (rows it appends and cells it writes included)."""

    leads: pd.DataFrame
    history: pd.DataFrame
    rejections: pd.DataFrame
    nurture: pd.DataFrame
    quality: Mapping[str, Any]  # counts from validation and dedupe (summary.QualitySummary)
    schemas: Schemas
    today: dt.date
    now: dt.datetime
    language: str = "vi"
    existing_titles: tuple[str, ...] = ()  # the workbook's tabs, to keep a summary where it is
    # the workbook's grids by title: a tab that keeps what earlier runs recorded reads them
    # (the forecast's past months, docs/scoring.md)
    existing: Mapping[str, list[list[Any]]] = field(default_factory=dict)
    # what several tabs compute from the same frames, computed once (lead_history.shared)
    cache: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)


def overview(i: SummaryInputs, tab: str) -> SheetLayout:
    from .channels import read_costs

    costs = read_costs(i.existing)
    return build_overview(i.leads, i.history, i.rejections, i.nurture, i.quality, i.schemas, i.today, i.now,
                          i.language, tab=tab, costs=costs.by_source if costs is not None else None,
                          cost_detail=costs)


def agenda(i: SummaryInputs, tab: str) -> SheetLayout:
    return build_agenda(i.leads, i.schemas, i.today, i.language, now=i.now, tab=tab)


SUMMARY_TABS: dict[str, Callable[[SummaryInputs, str], SheetLayout]] = {
    "overview": overview,
    "agenda": agenda,
    "forecast": build_forecast,
    "activity": build_activity,
}


def summary_layouts(i: SummaryInputs) -> list[SheetLayout]:
    """Every summary tab's layout, each under its title for this run."""
    return [build(i, summary_tab_title(i, key)) for key, build in SUMMARY_TABS.items()]


def summary_tab_title(i: SummaryInputs, key: str) -> str:
    """The run's title for summary tab `key`; when the workbook has it under the other
    language's shipped title instead (the language was switched), that tab, as data tabs
    keep theirs, so no stale copy is left beside a new one."""
    title = i.schemas.summary_title(key, i.language)
    if i.schemas.summary_titles.get(key):
        return title
    have = {fold(t): t for t in i.existing_titles}
    if fold(title) in have:
        return have[fold(title)]
    other = default_tab_title(key, "vi" if i.language == "en" else "en")
    return have.get(fold(other), title)
