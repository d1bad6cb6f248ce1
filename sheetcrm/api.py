"""The Python API: everything the command line does, callable from code.

    from sheetcrm import api
    result = api.sync(workbook="leads.xlsx", today="2026-03-12")
    print(result.report.rows_with_issues, result.cells_written)

    problems = api.check(workbook="leads.xlsx").report.problems  # cell, kind, message
"""

from __future__ import annotations

import datetime as dt
import re
import time
from dataclasses import dataclass, field
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import __version__
from .backends.base import ApplyResult, Backend
from .changes import ChangeSet, EnsureTab, TabFormat, TrimRows
from .config import Config, load_config
from .errors import ConfigError
from .logs import log, use_timezone

# pandas and the pipeline are imported where they are used: `sync` starts loading an
# .xlsx workbook for writing on the other core before it pays for those imports.
if TYPE_CHECKING:
    from .schema import Schemas
    from .sync.intake import ImportPlan
    from .sync.pipeline import Report, Settings, SyncPlan
    from .sync.privacy import ForgetPlan
    from .sync.tables import Table


@dataclass
class SyncResult:
    report: Report
    changes: ChangeSet
    applied: ApplyResult | None
    backend: str
    location: str
    today: dt.date
    duration: float = 0.0
    dry_run: bool = False
    tabs: dict[str, str] = field(default_factory=dict)

    @property
    def cells_written(self) -> int:
        return self.applied.cells_written if self.applied else 0


def _config(config: Config | str | Path | None, **overrides: Any) -> Config:
    if isinstance(config, Config):
        from dataclasses import replace

        cfg = replace(config, **{k: v for k, v in overrides.items() if v is not None})
    else:
        cfg = load_config(config, **overrides)
    use_timezone(cfg.zone)
    return cfg


def load_team_schemas(cfg: Config) -> Schemas:
    from .schema import load_schemas

    schemas = load_schemas(cfg.schemas_dir)
    if cfg.scoring_rules:  # the team's own scoring rules (docs/scoring.md)
        from dataclasses import replace as _replace

        from .schema import load_scoring

        schemas = _replace(schemas, scoring=load_scoring(cfg.scoring_rules, schemas.chain))
    if cfg.tabs or cfg.headers or cfg.language != "vi":
        schemas = schemas.with_titles(cfg.tabs, cfg.headers, cfg.language)
    if cfg.rules:  # each key's type and range were checked when the config was read
        from dataclasses import replace

        rules = dict(cfg.rules)
        if "extra_days_off" in rules:
            rules["extra_days_off"] = tuple(rules["extra_days_off"])
        keys = [r.key for r in schemas.reasons.reasons]
        if rules.get("other", keys[0]) not in keys:
            raise ConfigError(f"{cfg.source or 'config'}: [rules] other: must be one of the reason keys "
                              f"{', '.join(keys)}, got {rules['other']!r}")
        schemas = replace(schemas, reasons=replace(schemas.reasons, **rules))
    return schemas


def open_backend(cfg: Config, create: bool = False) -> Backend:
    kind = cfg.resolved_backend()
    if kind == "xlsx":
        from .backends.xlsx import XlsxBackend

        if not cfg.workbook:
            raise ConfigError("backend 'xlsx' needs --workbook PATH.xlsx or workbook = in the config")
        return XlsxBackend(cfg.workbook, create=create)
    from .backends.gsheets import GSheetsBackend

    if not cfg.sheet:
        raise ConfigError("backend 'gsheets' needs --sheet ID_OR_URL or sheet = in the config")
    return GSheetsBackend.from_config(cfg)


def _settings(cfg: Config) -> Settings:
    from .sync.assign import assign_settings
    from .sync.pipeline import Settings

    return Settings(language=cfg.language, id_prefix=cfg.id_prefix, id_digits=cfg.id_digits,
                    region=cfg.default_region, sync_log_keep=cfg.sync_log_keep,
                    assignment=assign_settings(cfg.assignment), retention_days=cfg.retention_days,
                    open_on=cfg.open_on)


def _plan(backend: Backend, cfg: Config, schemas: Schemas, today: dt.date) -> tuple[SyncPlan, dict]:
    from .sync.pipeline import plan_sync

    sheets = {t: s.values for t, s in backend.read().items()}
    return plan_sync(sheets, schemas, _settings(cfg), today, cfg.now()), sheets


def _sync_log_table(sheets: dict, schemas: Schemas) -> Table:
    from .sync.tables import bind, find_tab

    schema = schemas.tab("sync_log")
    title = find_tab(list(sheets), schema)
    return bind(sheets[title] if title else None, title, schema, required=False)


def _unchanged_plan(log_table: Table, digest: str) -> SyncPlan | None:
    """When the last logged run read exactly this input on this day, its plan is this
    run's too: nothing to write but the log row (a cron job every few minutes mostly
    finds nothing new). The counts come from that row."""
    import pandas as pd

    from .sync.pipeline import Report, SyncPlan

    frame = log_table.frame
    if not len(frame) or "input_hash" not in frame or str(frame["input_hash"].iloc[-1] or "") != digest:
        return None
    last = frame.iloc[-1]

    def count(key: str) -> int:
        try:
            return int(float(last[key]))
        except (TypeError, ValueError):
            return 0

    report = Report(rows_read=count("rows_read"), rows_with_issues=count("issues"),
                    duplicates=count("duplicates"), unchanged=True)
    report.problems = pd.DataFrame(columns=["row", "cell", "kind", "message"])
    return SyncPlan(ChangeSet(), report, {}, pd.DataFrame())


PHONE_LIKE = re.compile(r"[+\-]?[\d\s().\-]+")  # "+84 912 345 678": a number, not a formula
_CALLS_PENDING = -2_147_483_000  # stands for this run's API request count until the write
_STAMP_PENDING = "…"  # stands for the digest of the state the write leaves (xlsx)


def _sync_log(plan: SyncPlan, table: Table, schemas: Schemas, cfg: Config, backend: Backend,
              started: dt.datetime, t0: float, today: dt.date, outcome: str, digest: str,
              finish: Callable[[str], str] | None = None) -> None:
    """Queue this run's row in `Nhật ký đồng bộ`, trimming the tab to the configured size.
    `digest` is the state this run leaves when it writes nothing but this row; a backend
    that can digest what it writes (xlsx) records, with `finish`, the state after the write."""
    import pandas as pd

    from .sync.pipeline import _append
    from .sync.synclog import sync_log_row

    schema = table.schema
    changes = plan.changes
    report = plan.report
    outcome = outcome if not changes.is_empty() or outcome != "ok" else "no_change"
    fields = {
        "started_at": started,
        "duration_s": time.perf_counter() - t0,
        "backend": backend.name,
        "today": today,
        "rows_read": report.rows_read,
        "issues": report.rows_with_issues,
        "duplicates": report.duplicates,
        "transitions": report.transitions,
        "rows_appended": report.appended,
        "cells_written": changes.cells + len(schema.columns),
        "api_calls": _CALLS_PENDING if hasattr(backend, "count_calls_into") else backend.api_calls,
        "outcome": outcome,
        "input_hash": _STAMP_PENDING if finish is not None and hasattr(backend, "stamp_output_into") else digest,
    }
    row = dict(zip(schema.keys, sync_log_row(fields, cfg.language, schemas)))
    _append(table, pd.DataFrame([row]), changes, schemas, cfg.language)
    if hasattr(backend, "count_calls_into"):
        # The requests of the write that carries this row are known only then: the
        # backend puts the run's whole count in the cell holding the placeholder.
        logged = changes.appends[-1]
        backend.count_calls_into(logged, list(logged.rows[0]).index(_CALLS_PENDING))
    if fields["input_hash"] is _STAMP_PENDING:
        logged = changes.appends[-1]
        backend.stamp_output_into(logged, list(logged.rows[0]).index(_STAMP_PENDING), finish)
    if len(table.frame) + 1 > cfg.sync_log_keep:
        changes.trims.append(TrimRows(table.title, cfg.sync_log_keep))


def sync(workbook: str | Path | None = None, sheet: str | None = None, *,
         config: Config | str | Path | None = None, today: str | dt.date | None = None,
         dry_run: bool = False, **options: Any) -> SyncResult:
    """Run one sync: read every tab, plan the changes, write them (unless `dry_run`)."""
    cfg = _config(config, workbook=str(workbook) if workbook else None, sheet=sheet, **options)
    day = cfg.today(today)
    backend = open_backend(cfg)
    t0 = time.perf_counter()
    started = cfg.now()
    with backend.lock():
        prepare_write = getattr(backend, "prepare_write", None)
        if prepare_write is not None and not dry_run:
            # xlsx: openpyxl loads the workbook on the other core from now on, while this
            # process imports the pipeline, reads and plans; unused when nothing changed.
            prepare_write()
        from .sync.pipeline import fingerprint, plan_digest, plan_sync
        from .sync.tables import bind, find_tab

        schemas = load_team_schemas(cfg)
        settings = _settings(cfg)
        log_schema = schemas.tab("sync_log")
        plan = digest = None
        content_digest = getattr(backend, "content_digest", None)
        if content_digest is not None:
            # The backend can tell what the tabs hold without reading them (xlsx: the
            # package directory), so a run that finds the same input reads only its log.
            log_title = find_tab(backend.tab_titles(), log_schema)
            digest = plan_digest(content_digest(log_title), schemas, settings, day, __version__)
            if not dry_run and log_title is not None:
                log_table = bind(backend.read_tab(log_title), log_title, log_schema, required=False)
                plan = _unchanged_plan(log_table, digest)
        if plan is None:
            sheets = {t: s.values for t, s in backend.read().items()}
            log_table = _sync_log_table(sheets, schemas)
            if digest is None:
                digest = fingerprint(sheets, log_table.title if log_table.exists else None, schemas,
                                     settings, day, __version__)
            plan = plan_sync(sheets, schemas, settings, day, cfg.now())
        if not dry_run:
            def finish(content: str) -> str:
                return plan_digest(content, schemas, settings, day, __version__)

            _sync_log(plan, log_table, schemas, cfg, backend, started, t0, day, "ok", digest, finish)
        applied = None if dry_run else backend.apply(plan.changes)
    result = SyncResult(plan.report, plan.changes, applied, backend.name, backend.location, day,
                        time.perf_counter() - t0, dry_run, _all_titles(plan.report.tabs, schemas, cfg))
    log.info("sync finished: %d rows read, %d with issues, %d cells written%s",
             plan.report.rows_read, plan.report.rows_with_issues, result.cells_written,
             " (dry run)" if dry_run else "", extra={"data": {
        "rows_read": plan.report.rows_read, "rows_with_issues": plan.report.rows_with_issues,
        "duplicates": plan.report.duplicates, "transitions": plan.report.transitions,
        "cells_written": result.cells_written, "dry_run": dry_run}})
    return result


def _all_titles(data_tabs: dict[str, str], schemas: Schemas, cfg: Config) -> dict[str, str]:
    """Every tab a sync keeps, by key: the data tabs as found, the summary tabs as titled."""
    from .sync.summary_tabs import SUMMARY_TABS

    return {**{key: schemas.summary_title(key, cfg.language) for key in SUMMARY_TABS}, **data_tabs}


def check(workbook: str | Path | None = None, sheet: str | None = None, *,
          config: Config | str | Path | None = None, today: str | dt.date | None = None,
          **options: Any) -> SyncResult:
    """Validate without writing: the problems a sync would flag, with their cells."""
    cfg = _config(config, workbook=str(workbook) if workbook else None, sheet=sheet, **options)
    schemas = load_team_schemas(cfg)
    day = cfg.today(today)
    backend = open_backend(cfg)
    t0 = time.perf_counter()
    plan, _ = _plan(backend, cfg, schemas, day)
    return SyncResult(plan.report, plan.changes, None, backend.name, backend.location, day,
                      time.perf_counter() - t0, True, plan.report.tabs)


def init_changes(sheets: dict[str, list[list[Any]]], schemas: Schemas, language: str = "vi") -> ChangeSet:
    """Tabs, headers and dropdowns a workbook lacks. Never touches existing data."""
    from .changes import AddColumns
    from .sync.pipeline import bind_all

    changes = ChangeSet()
    tables = bind_all(sheets, schemas) if any(True for _ in sheets) and _has_leads(sheets, schemas) else None
    statuses = tuple(s.display(language) for s in schemas.chain.statuses)
    reasons = tuple(r.display(language) for r in schemas.reasons.reasons)
    for key, schema in schemas.tabs.items():
        if schema.on_demand and (tables is None or not tables[key].exists):
            continue
        dropdowns = []
        for c in schema.columns:
            if c.type == "status" and c.writer != "sync":
                dropdowns.append((c.header, statuses))
            elif c.type == "reason" and c.writer != "sync":
                dropdowns.append((c.header, reasons))
        table = tables[key] if tables else None
        if table is None or not table.exists:
            cols = tuple(c.header for c in schema.columns if not c.optional)
            changes.ensure_tabs.append(EnsureTab(schema.title, cols, 1, tuple(dropdowns)))
        else:
            missing = [c for c in table.missing if not c.optional]
            header = [str(h) if h is not None else "" for h in table.header]
            if missing:
                changes.add_columns.append(AddColumns(table.title, table.width + 1,
                                                      tuple(c.header for c in missing)))
                header += [c.header for c in missing]
            # Dropdowns go on the columns as the team named them.
            typed = {c.header: c.key for c in schema.columns}
            present = [(header[table.col_of[typed[h]] - 1] if typed[h] in table.col_of else h, options)
                       for h, options in dropdowns]
            if present:
                changes.formats.append(TabFormat(table.title, tuple(header), 1, tuple(present)))
    return changes


def _has_leads(sheets: dict, schemas: Schemas) -> bool:
    from .sync.tables import find_tab

    return find_tab(list(sheets), schemas.tab("leads")) is not None


def init(workbook: str | Path | None = None, sheet: str | None = None, *,
         config: Config | str | Path | None = None, **options: Any) -> ChangeSet:
    """Create the tabs sheetcrm uses, with headers, frozen header row and dropdowns."""
    cfg = _config(config, workbook=str(workbook) if workbook else None, sheet=sheet, **options)
    schemas = load_team_schemas(cfg)
    backend = open_backend(cfg, create=True)
    with backend.lock():
        sheets = {t: s.values for t, s in backend.read().items()}
        changes = init_changes(sheets, schemas, cfg.language)
        applied = backend.apply(changes)
    # Dropdowns and frozen rows already in place are not news.
    return changes if applied.cells_written or changes.ensure_tabs or changes.add_columns else ChangeSet()


@dataclass
class ImportResult:
    plan: ImportPlan
    applied: ApplyResult | None
    backend: str
    location: str
    warnings: list[str]
    dry_run: bool = False


def import_leads(files: list[str | Path], workbook: str | Path | None = None, sheet: str | None = None, *,
                 source: str = "auto", mapping: str | Path | None = None, dry_run: bool = False,
                 config: Config | str | Path | None = None, today: str | dt.date | None = None,
                 **options: Any) -> ImportResult:
    """Import lead exports (Facebook Lead Ads, Google Forms, CSV/.xlsx, or a file described by
    `mapping`) into the leads tab: nothing twice, each input row logged in `Nhập liệu`, new
    leads assigned and due for a first call (docs/intake.md). Files are read before anything is
    written; `tab:NAME` reads a responses tab of the target itself."""
    from .intake.load import is_tab, read_inputs, to_batches
    from .sync.assign import assign_settings
    from .sync.intake import plan_import

    cfg = _config(config, workbook=str(workbook) if workbook else None, sheet=sheet, **options)
    day = cfg.today(today)
    schemas = load_team_schemas(cfg)
    names = [str(f) for f in files]
    local = read_inputs([n for n in names if not is_tab(n)])
    backend = open_backend(cfg)
    with backend.lock():
        sheets = {t: s.values for t, s in backend.read().items()}
        tabs = iter(read_inputs([n for n in names if is_tab(n)], sheets))
        files_ = iter(local)
        inputs = [next(tabs) if is_tab(n) else next(files_) for n in names]
        batches, warnings = to_batches(inputs, source, str(mapping) if mapping else None, schemas, cfg.zone)
        plan = plan_import(sheets, batches, schemas, _settings(cfg), assign_settings(cfg.assignment), day,
                           cfg.now())
        applied = None if dry_run else backend.apply(plan.changes)
    log.info("import finished: %s%s", ", ".join(f"{k} {v}" for k, v in plan.counts.items()) or "nothing",
             " (dry run)" if dry_run else "", extra={"data": {**plan.counts, "dry_run": dry_run}})
    return ImportResult(plan, applied, backend.name, backend.location, warnings, dry_run)


@dataclass
class ForgetResult:
    plan: ForgetPlan
    backend: str
    location: str
    dry_run: bool = False
    cells_written: int = 0


def _person(phone: str | None, email: str | None, lead: str | None, region: str) -> tuple[str, str]:
    """(kind, normalised key) of the one identifier given; never echoes it in an error."""
    from .sync.privacy import identifier

    given = [(k, v) for k, v in (("phone", phone), ("email", email), ("lead", lead)) if v]
    if len(given) != 1:
        raise ConfigError("give exactly one of --phone, --email or --lead")
    kind, value = given[0]
    key = identifier(kind, value, region)
    if key is None:
        raise ConfigError(f"the {kind} given is not a valid {kind}")
    return kind, key


def forget(phone: str | None = None, email: str | None = None, lead: str | None = None,
           workbook: str | Path | None = None, sheet: str | None = None, *, dry_run: bool = False,
           config: Config | str | Path | None = None, **options: Any) -> ForgetResult:
    """Erase one person (by phone, email or lead id) from every tab, log the request in
    `Quyền riêng tư` by a salted hash and suppress their phone and email for later imports
    (docs/privacy.md). Run again after a cut-off, it finishes the erasure."""
    import secrets

    from .sync.privacy import plan_forget

    cfg = _config(config, workbook=str(workbook) if workbook else None, sheet=sheet, **options)
    schemas = load_team_schemas(cfg)
    kind, key = _person(phone, email, lead, cfg.default_region)
    settings = _settings(cfg)
    new_salt = secrets.token_hex(16)
    written = 0

    def planned(backend: Backend) -> ForgetPlan:
        sheets = {t: s.values for t, s in backend.read().items()}
        return plan_forget(sheets, schemas, settings, kind, key, cfg.now(), new_salt)

    backend = open_backend(cfg)
    with backend.lock():
        plan = planned(backend)
        if not dry_run:
            # The intent first (the log row names the lead ids), then the cells: a run cut
            # off in between finds the leads in the log when run again.
            change = plan.intent if not plan.intent.is_empty() else plan.erase
            written += backend.apply(change).cells_written
    if not dry_run and not plan.intent.is_empty():
        backend = open_backend(cfg)
        with backend.lock():
            plan = planned(backend)
            written += backend.apply(plan.erase).cells_written
    log.info("forget finished: %d cells in %d tabs, %d records%s", len(plan.cells), len(plan.tabs),
             plan.records, " (dry run)" if dry_run else "",
             extra={"data": {"cells": len(plan.cells), "tabs": len(plan.tabs), "records": plan.records,
                             "request": plan.identifier_hash[:12], "dry_run": dry_run}})
    return ForgetResult(plan, backend.name, backend.location, dry_run, written)


@dataclass
class ExportResult:
    records: list[dict[str, Any]]
    files: list[Path]
    backend: str
    location: str
    request_hash: str = ""  # the salted hash the privacy log holds for this request


def export_person(out: str | Path, phone: str | None = None, email: str | None = None,
                  lead: str | None = None, workbook: str | Path | None = None, sheet: str | None = None, *,
                  config: Config | str | Path | None = None, **options: Any) -> ExportResult:
    """Everything the workbook holds about one person, from every tab, written to `out` as
    `person.json` and `person.csv` (an access request; docs/privacy.md). The request is
    logged first, as one row of `Quyền riêng tư` (a salted hash, never the identifier);
    nothing else in the workbook is written."""
    import csv
    import json
    import secrets

    from .sync.privacy import plan_export

    cfg = _config(config, workbook=str(workbook) if workbook else None, sheet=sheet, **options)
    schemas = load_team_schemas(cfg)
    kind, key = _person(phone, email, lead, cfg.default_region)
    backend = open_backend(cfg)
    with backend.lock():
        sheets = {t: s.values for t, s in backend.read().items()}
        plan = plan_export(sheets, schemas, _settings(cfg), kind, key, cfg.now(), secrets.token_hex(16),
                           secrets.token_hex(4))
        backend.apply(plan.log)  # no file is written unless the request is on record
    records = plan.records
    folder = Path(out)
    folder.mkdir(parents=True, exist_ok=True)

    def plain(v: Any) -> Any:
        return v.isoformat() if isinstance(v, (dt.date, dt.datetime)) else v

    def cell(v: Any) -> Any:
        # A spreadsheet opening the CSV must not run a typed "=..." as a formula.
        if isinstance(v, str) and (v[:1] in ("=", "@", "\t", "\r")
                                   or (v[:1] in ("+", "-") and not PHONE_LIKE.fullmatch(v))):
            return "'" + v
        return v

    shown = [{"tab": r["tab"], "row": r["row"], "values": {k: plain(v) for k, v in r["values"].items()}}
             for r in records]
    js = folder / "person.json"
    js.write_text(json.dumps({"records": shown}, ensure_ascii=False, indent=2), encoding="utf-8")
    cs = folder / "person.csv"
    with cs.open("w", encoding="utf-8-sig", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["tab", "row", "column", "value"])
        for r in shown:
            for k, v in r["values"].items():
                w.writerow([r["tab"], r["row"], k, cell(v)])
    log.info("export-person finished: %d records from %d tabs, request %s logged", len(records),
             len({r["tab"] for r in records}), plan.identifier_hash[:12],
             extra={"data": {"records": len(records), "request": plan.identifier_hash[:12]}})
    return ExportResult(records, [js, cs], backend.name, backend.location, plan.identifier_hash)


def demo(directory: str | Path = "demo", rows: int = 600, seed: int = 7,
         today: str | dt.date | None = None, language: str | None = None) -> tuple[Path, SyncResult]:
    """Write a realistic Vietnamese demo workbook into `directory`, replaying ~10 months of
    use: before each of the story's sync days the rows created since the previous one are
    appended and the changed statuses, reasons and contact dates typed (sheetcrm.demo_story),
    then that day's sync runs. The leads carry BANT answers, deal values and expected close
    dates (sheetcrm.demo_deals), for the scores and the forecast. Returns the workbook and
    the last (today's) sync."""
    from .demo import write_demo_costs, write_demo_team, write_demo_workbook
    from .demo_story import Replay, build_story

    from dataclasses import replace

    # a manager trying it lands on the overview
    cfg = replace(load_config(None, language=language), open_on="overview")
    day = cfg.today(today)
    folder = Path(directory)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "sheetcrm-demo.xlsx"
    if path.exists():
        path.unlink()
    story = build_story(rows, seed, day)
    write_demo_workbook(path, rows, seed, day)  # column widths and formats; rows come back day by day
    replay = Replay(story, path)
    replay.start()
    # BANT answers, deal values and expected close dates, for the scores and the forecast
    from .demo_deals import KEYS, add_deals, write_headers

    first = len(story.data.grid[0]) + 1
    write_headers(path, add_deals(story.data.grid, seed, day), first)
    replay.col.update({k: first + j for j, k in enumerate(KEYS)})
    init(workbook=path, config=cfg)
    team = load_team_schemas(cfg).tab("team")
    write_demo_team(path, team.title, {c.key: c.header for c in team.columns})
    write_demo_costs(path, story.days[0], day, seed, cfg.language)  # the overview's cost review
    result = None
    for d in story.days:
        replay.step(d)
        if d == story.days[-1]:
            _demo_consent(path)  # the consent some leads gave on their forms
        result = sync(workbook=path, config=cfg, today=d)
    from .intake.sample import write_demo_export

    write_demo_export(folder, seed=seed, today=day)  # to try `sheetcrm import` on
    # Today's nurture emails into an outbox to read (docs/nurture-automation.md): nothing
    # is sent or recorded.
    nurture(workbook=path, config=replace(cfg, nurture=dict(DEMO_NURTURE)), today=day, outbox=folder / "outbox")
    return path, result


DEMO_NURTURE = {"sender": "Công ty Minh Phát <cskh@minhphat.vn>",
                "identity": "Công ty TNHH Minh Phát · 12 Lê Lợi, Q.1, TP.HCM · 028 3812 3456",
                "unsubscribe_email": "huy-dang-ky@minhphat.vn",
                "unsubscribe_url": "https://minhphat.vn/huy-dang-ky?email={email}"}


def _demo_consent(path: Path) -> None:
    """`Đồng ý nhận email` for the demo's leads, as their forms would have given it: yes for
    seven in ten, no for one, blank for the rest (by lead id, so the same every time)."""
    from openpyxl import load_workbook

    from .schema import SCHEMA_DIR, load_tab

    tab = load_tab(SCHEMA_DIR / "leads.toml")
    wb = load_workbook(path)
    ws = wb[tab.title] if tab.title in wb.sheetnames else wb.worksheets[0]
    head = {str(c.value): c.column for c in ws[1] if c.value}
    id_col = head.get(tab.column("lead_id").header)
    if id_col is None or tab.column("email_consent").header in head:
        return
    col = ws.max_column + 1
    ws.cell(1, col, tab.column("email_consent").header)
    for r in range(2, ws.max_row + 1):
        digits = "".join(ch for ch in str(ws.cell(r, id_col).value or "") if ch.isdigit())
        n = int(digits) % 10 if digits else 9
        ws.cell(r, col, "có" if n < 7 else ("không" if n == 7 else None))
    wb.save(path)


# ---------------------------------------------------------------- notify and calendar


@dataclass
class NotifyResult:
    """What `notify` did: one outcome per message it built (docs/notify.md)."""

    outcomes: list[Any]  # sheetcrm.delivery.Outcome
    backend: str
    location: str
    today: dt.date
    dry_run: bool = False
    outbox: Path | None = None
    log_rows: int = 0  # rows appended to the notifications log
    tab: str = ""

    def count(self, state: str) -> int:
        return sum(1 for o in self.outcomes if o.state == state)

    @property
    def sent(self) -> int:
        return self.count("sent")

    @property
    def failed(self) -> list[Any]:
        return [o for o in self.outcomes if o.state == "failed"]


def notify_settings(cfg: Config) -> Any:
    from .notify import NotifySettings

    return NotifySettings(**cfg.notify)


def smtp_settings(cfg: Config, host: str | None = None, port: int | None = None, user: str | None = None,
                  security: str | None = None) -> Any:
    """[smtp] of the config with the command-line options over it; the password only from
    the environment (SHEETCRM_SMTP_PASSWORD)."""
    import os

    from .config import SMTP, check_value
    from .delivery import SmtpSettings

    values = dict(cfg.smtp)
    for key, v in (("host", host), ("port", port), ("user", user), ("security", security)):
        if v is not None:
            values[key] = check_value("--smtp-", key, v, SMTP[key])
    if "port" not in values:
        values["port"] = {"ssl": 465, "none": 25}.get(values.get("security", "starttls"), 587)
    password = os.environ.get("SHEETCRM_SMTP_PASSWORD")
    if values.get("user") and not password:
        raise ConfigError("[smtp] user is set but SHEETCRM_SMTP_PASSWORD is not: the password comes only "
                          "from that environment variable")
    return SmtpSettings(**values, password=password)


@dataclass
class _NotifyInputs:
    plan: Any  # sync.digest.DigestPlan
    builder: Any  # notify.Builder
    log_table: Table
    log_frame: Any  # the log's rows, states as keys


def _notify_inputs(backend: Backend, sheets: dict, cfg: Config, schemas: Schemas, day: dt.date,
                   settings: Any) -> _NotifyInputs:
    from dataclasses import replace

    import pandas as pd

    from .delivery import state_key
    from .notify import Builder
    from .sync.digest import plan_digests, sequence_numbers
    from .sync.pipeline import plan_sync
    from .sync.tables import bind, find_tab

    # The sync's own reading of the leads (parsed, deduplicated, scheduled): the digest is
    # the agenda the sync writes, split by rep.
    plan = plan_sync(sheets, schemas, replace(_settings(cfg), summaries=False), day, cfg.now())
    schema = schemas.tab("notifications")
    title = find_tab(list(sheets), schema)
    log_table = bind(sheets[title] if title else None, title, schema, required=False)
    log_frame = log_table.frame.copy()
    log_frame["state"] = [state_key(v) for v in log_frame["state"]] if len(log_frame) else pd.Series(dtype=object)
    digest = plan_digests(plan.leads, plan.tables["nurture"].frame, plan.tables["team"].frame, schemas, day,
                          settings.stalled_days, _auto_nurture(plan.tables, cfg, schemas, day))
    gid = None
    tab_gid = getattr(backend, "tab_gid", None)
    if tab_gid is not None:
        gid = tab_gid(plan.tables["leads"].title)
    sheet_id = getattr(backend, "spreadsheet_id", None)
    builder = Builder(digest, schemas, cfg.language, cfg.zone, settings, sheet_id, gid,
                      sequence_numbers(log_frame), schemas.summary_title("agenda", cfg.language),
                      dt.datetime.now(cfg.zone))
    return _NotifyInputs(digest, builder, log_table, log_frame)


def _auto_nurture(tables: dict[str, Table], cfg: Config, schemas: Schemas, day: dt.date) -> set[str]:
    """Lead ids `sheetcrm nurture` emails by itself today (none when `[nurture]` lacks the
    sender or identity it needs to send); the content tab as its first run would create it."""
    import pandas as pd

    from .nurture_mail import NurtureSettings, starter_file
    from .schema import SCHEMA_DIR
    from .sync.digest import auto_emailed
    from .sync.nurture_touch import ensure_content

    try:
        NurtureSettings.from_config(cfg.nurture, cfg.language).check_for_sending()
    except ConfigError:
        return set()
    if "nurture_content" not in tables:
        return set()
    starter = pd.read_csv(SCHEMA_DIR / starter_file(cfg.language), dtype=str, keep_default_na=False)
    content = ensure_content(tables, starter, schemas, cfg.language, ChangeSet())
    return auto_emailed(tables, content, schemas, day)


def _log_writer(backend: Backend, table: Table, schemas: Schemas, cfg: Config) -> Any:
    """`write(rows)` for the ledger: one append to the notifications log per call, durable
    when it returns, each row keyed by its event key (a retried write logs it once)."""
    import pandas as pd

    from .sync.pipeline import _append
    from .sync.tables import bind

    state = {"table": table}

    def write(rows: list[dict[str, Any]]) -> None:
        changes = ChangeSet()
        _append(state["table"], pd.DataFrame(rows), changes, schemas, cfg.language, key="event_key")
        backend.apply(changes)
        if not state["table"].exists:
            state["table"] = bind([list(table.schema.headers)], table.title, table.schema, required=False)

    return write


def notify(workbook: str | Path | None = None, sheet: str | None = None, *,
           config: Config | str | Path | None = None, today: str | dt.date | None = None,
           dry_run: bool = False, outbox: str | Path | None = None, smtp_host: str | None = None,
           smtp_port: int | None = None, smtp_user: str | None = None, smtp_security: str | None = None,
           transports: Any = None, **options: Any) -> NotifyResult:
    """Send each rep their digest (and each manager the team's), by email with an .ics
    calendar and by chat webhook, each exactly once a day: every attempt is logged in
    `Thông báo` (docs/notify.md). `outbox`: write .eml files there instead of sending;
    `dry_run`: build the messages, send and log nothing. `transports` (channel → transport)
    replaces the SMTP and webhook transports (for tests)."""
    from .delivery import Ledger, MemoryTransport, OutboxTransport, SmtpTransport, WebhookTransport, send_all

    cfg = _config(config, workbook=str(workbook) if workbook else None, sheet=sheet, **options)
    day = cfg.today(today)
    schemas = load_team_schemas(cfg)
    settings = notify_settings(cfg)
    if not settings.sender:
        if not (dry_run or outbox or transports) and settings.email:
            raise ConfigError(f"{cfg.source or 'config'}: [notify] sender: needed to send the email digests "
                              "(the From: address of the digests)")
        from dataclasses import replace

        settings = replace(settings, sender="sheetcrm@localhost")
    if transports is None and not dry_run and not outbox:
        smtp = smtp_settings(cfg, smtp_host, smtp_port, smtp_user, smtp_security)
        transports = {"email": SmtpTransport(smtp),
                      "webhook": WebhookTransport(cfg.retry.timeout, smtp.attempts, smtp.wait_max)}
    elif outbox:
        box = OutboxTransport(outbox)
        transports = {"email": box, "webhook": box}
    backend = open_backend(cfg)
    log_rows = 0
    with backend.lock():
        if hasattr(backend, "keep_lock"):
            backend.keep_lock = True
        sheets = {t: s.values for t, s in backend.read().items()}
        inputs = _notify_inputs(backend, sheets, cfg, schemas, day, settings)
        messages = inputs.builder.messages()
        if dry_run:
            outcomes = send_all(messages, MemoryTransport(), None)
        else:
            ledger = Ledger(inputs.log_frame.to_dict("records"), _log_writer(backend, inputs.log_table, schemas, cfg),
                            cfg.now, cfg.language, settings.resend_unknown)
            try:
                outcomes = send_all(messages, transports, ledger)
            finally:
                for t in {id(t): t for t in (transports.values() if isinstance(transports, dict) else [transports])}.values():
                    t.close()
            log_rows = ledger.rows_written
    result = NotifyResult(outcomes, backend.name, backend.location, day, dry_run, Path(outbox) if outbox else None,
                          log_rows, inputs.log_table.title)
    for o in result.failed:
        log.warning("notify: %s for %s failed: %s", o.message.kind, o.message.recipient, o.answer)
    log.info("notify finished: %d sent, %d already sent, %d failed%s", result.sent, result.count("already_sent"),
             len(result.failed), " (dry run)" if dry_run else "",
             extra={"data": {"sent": result.sent, "already_sent": result.count("already_sent"),
                             "failed": len(result.failed), "unknown_skipped": result.count("unknown_skipped"),
                             "dry_run": dry_run}})
    return result


@dataclass
class CalendarResult:
    files: list[Path]
    events: int
    backend: str
    location: str


def calendar(out: str | Path, workbook: str | Path | None = None, sheet: str | None = None, *,
             config: Config | str | Path | None = None, today: str | dt.date | None = None,
             **options: Any) -> CalendarResult:
    """Write one .ics file per rep into `out`: an event per recontact of the next 30 days,
    the same UIDs as the digests' calendars; each file written is logged in `Thông báo`
    (channel `calendar`) so the next one carries a higher SEQUENCE (docs/notify.md)."""
    from .delivery import Outgoing, message_id
    from .delivery.ledger import Ledger

    cfg = _config(config, workbook=str(workbook) if workbook else None, sheet=sheet, **options)
    day = cfg.today(today)
    schemas = load_team_schemas(cfg)
    settings = notify_settings(cfg)
    folder = Path(out)
    folder.mkdir(parents=True, exist_ok=True)
    backend = open_backend(cfg)
    files: list[Path] = []
    events = 0
    with backend.lock():
        if hasattr(backend, "keep_lock"):
            backend.keep_lock = True
        sheets = {t: s.values for t, s in backend.read().items()}
        inputs = _notify_inputs(backend, sheets, cfg, schemas, day, settings)
        ledger = Ledger([], _log_writer(backend, inputs.log_table, schemas, cfg), cfg.now, cfg.language)
        import secrets

        stamp = secrets.token_hex(4)  # each run's files are a new delivery: a row of their own
        for p in inputs.plan.people:
            rows = inputs.plan.rep_calendar(p.key)
            if p.manager or not len(rows):
                continue
            path = folder / f"{_file_safe(p.name)}.ics"
            tmp = path.with_suffix(".ics.tmp")
            tmp.write_bytes(inputs.builder.calendar(p, rows))
            tmp.replace(path)
            files.append(path)
            events += len(rows)
            m = Outgoing(message_id(f"calendar-{stamp}", day.isoformat(), p.name), "calendar", "calendar", p.name,
                         path.name, len(rows), day.isoformat())
            ledger.record(m, "sent", f"file {path.name}")
        ledger.flush()
    log.info("calendar finished: %d files, %d events", len(files), events,
             extra={"data": {"files": len(files), "events": events}})
    return CalendarResult(files, events, backend.name, backend.location)


def _file_safe(name: str) -> str:
    from .text import fold

    return "".join(c if c.isalnum() else "-" for c in fold(name)).strip("-") or "rep"


# ---------------------------------------------------------------- nurture


@dataclass
class NurtureResult:
    """What `nurture` found and did. `touches` and `skipped` are the plan's frames
    (sync/nurture_touch.py); `outcomes` one per message handed to the transport."""

    plan: Any  # sync.nurture_touch.TouchPlan
    messages: list[Any]  # delivery.Outgoing, one per touch
    outcomes: list[Any]  # delivery.Outcome (empty for a dry run or an outbox preview)
    recorded: int  # nurture rows whose touch was recorded
    backend: str
    location: str
    today: dt.date
    dry_run: bool = False
    outbox: Path | None = None
    files: list[Path] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    outside_hours: bool = False
    cells_written: int = 0

    @property
    def failed(self) -> int:
        return sum(1 for o in self.outcomes if o.state == "failed")

    @property
    def sent(self) -> int:
        return sum(1 for o in self.outcomes if o.state == "sent")


def _team_contacts(team: Table) -> dict[str, dict[str, str]]:
    """Folded rep name → name, email and signature from `Nhân viên`."""
    from .text import as_text, fold

    f = team.frame
    if not team.exists or not len(f):
        return {}
    get = lambda k: as_text(f[k]).str.strip() if k in f else [""] * len(f)
    out: dict[str, dict[str, str]] = {}
    for name, email, sig in zip(get("name"), get("email"), get("signature")):
        if name and fold(name) not in out:
            out[fold(name)] = {"name": name, "email": email if "@" in email else "", "signature": sig}
    return out


def nurture(workbook: str | Path | None = None, sheet: str | None = None, *,
            config: Config | str | Path | None = None, today: str | dt.date | None = None,
            now: dt.datetime | None = None, dry_run: bool = False, outbox: str | Path | None = None,
            smtp_host: str | None = None, smtp_port: int | None = None, smtp_user: str | None = None,
            smtp_security: str | None = None, smtp: Any = None, transport: Any = None,
            **options: Any) -> NurtureResult:
    """Send the nurture touches due today (docs/nurture-automation.md): for each active
    nurture row whose next touch has come, the next content item its lead has not had,
    to leads who agreed to email and did not unsubscribe; each message logged exactly once
    in `Thông báo`, each touch recorded in `Nuôi dưỡng`.

    `dry_run`: list the touches, write nothing. `outbox`: write the messages as .eml files
    into that folder to read them, and record nothing (a later run sends them). Otherwise
    they go out through `transport` (default: SMTP from `[smtp]` and the `smtp_*` options,
    or `smtp`, a delivery.SmtpSettings), and only within `[nurture] send_hours`."""
    import pandas as pd

    from .delivery import Ledger, OutboxTransport, Outgoing, SmtpTransport, send_all
    from .nurture_mail import NurtureSettings, Templates, build_message, starter_file
    from .schema import SCHEMA_DIR
    from .sync.nurture_touch import ensure_content, fill_content_ids, plan_touches, record_touches
    from .sync.pipeline import bind_all
    from .text import fold

    cfg = _config(config, workbook=str(workbook) if workbook else None, sheet=sheet, **options)
    schemas = load_team_schemas(cfg)
    day = cfg.today(today)
    clock = now or dt.datetime.now(cfg.zone)
    settings = NurtureSettings.from_config(cfg.nurture, cfg.language)
    preview = dry_run or outbox is not None
    if not dry_run:
        settings.check_for_sending()
    templates = Templates(settings.templates or None, cfg.language)
    starter = pd.read_csv(SCHEMA_DIR / starter_file(cfg.language), dtype=str, keep_default_na=False)
    backend = open_backend(cfg)
    warnings: list[str] = []
    outcomes: list[Any] = []
    files: list[Path] = []
    recorded = written = 0
    outside = False
    with backend.lock():
        if hasattr(backend, "keep_lock"):
            backend.keep_lock = True  # several writes under one lock: one per message logged
        sheets = {t: s.values for t, s in backend.read().items()}
        tables = bind_all(sheets, schemas)
        changes = ChangeSet()
        content_t = ensure_content(tables, starter, schemas, cfg.language, changes)
        plan = plan_touches(tables, content_t, schemas, day)
        fill_content_ids(content_t, plan.content, changes)
        if plan.content.unknown_categories:
            warnings.append("content tab: unknown reason categories: " + ", ".join(plan.content.unknown_categories))
        team = _team_contacts(tables["team"])
        messages: list[Outgoing] = []
        for touch in plan.touches.to_dict("records"):
            owner = team.get(fold(str(touch.get("owner") or "")), {"name": str(touch.get("owner") or "")})
            if dry_run and not settings.sender_address:  # a dry run lists touches without a sender
                settings = NurtureSettings(**{**settings.__dict__, "sender": "sheetcrm <nurture@example.invalid>"})
            msg, warning = build_message(touch, owner, settings, templates, clock)
            if warning and warning not in warnings:
                warnings.append(warning)
            messages.append(Outgoing(message_id=msg["Message-ID"], channel="email", kind="nurture",
                                     recipient=str(touch["lead_id"]), address=str(touch["email"]),
                                     items=1, day=day.isoformat(), email=msg,
                                     extra={"lead_id": touch["lead_id"], "n_index": touch["n_index"],
                                            "content_id": touch["content_id"]}))
        if preview:
            if outbox is not None:
                box = OutboxTransport(outbox)
                for m in messages:
                    box.send(m)
                files = list(box.files)
        elif messages and not settings.in_hours(clock):
            outside = True
        else:
            if not changes.is_empty():  # the content tab and its ids first: the items sent name them
                written += backend.apply(changes).cells_written
            if messages:
                log_t = tables["notifications"]
                rows = log_t.frame.to_dict("records") if log_t.exists else []
                ledger = Ledger(rows, _log_writer(backend, log_t, schemas, cfg), now=cfg.now, language=cfg.language)
                if transport is None:
                    transport = SmtpTransport(smtp or smtp_settings(cfg, smtp_host, smtp_port, smtp_user,
                                                                    smtp_security))
                try:
                    outcomes = send_all(messages, {"email": transport}, ledger)
                finally:
                    transport.close()
                # Sent now, sent before (the cells were not written then) or of unknown
                # outcome: the touch happened; only a failed one is tried again next run.
                done_idx = {o.message.extra["n_index"] for o in outcomes if o.state != "failed"}
                done = plan.touches[plan.touches["n_index"].isin(done_idx)]
                record = ChangeSet()
                record_touches(tables["nurture"], done, day, record)
                applied = backend.apply(record)
                written += applied.cells_written
                recorded = len(done)
    result = NurtureResult(plan, messages, outcomes, recorded, backend.name, backend.location, day, dry_run,
                           Path(outbox) if outbox is not None else None, files, warnings, outside, written)
    log.info("nurture finished: %d due, %d to send, %d sent, %d failed%s", plan.counts.get("due", 0),
             len(messages), result.sent, result.failed,
             " (dry run)" if dry_run else (" (outbox)" if outbox is not None else ""),
             extra={"data": {**plan.counts, "sent": result.sent, "failed": result.failed, "dry_run": dry_run}})
    return result
