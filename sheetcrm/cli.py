"""`sheetcrm` command line: a thin layer over `sheetcrm.api`.

Exit codes: 0 done (data problems are flagged in the sheet, not failures); 1 `check`
found problems; 2 usage or configuration error; 3 backend/API failure after retries, or
an unexpected error (its traceback only with --debug); 4 another sync holds the lock, or
the workbook is open in an office app: try later.
"""

from __future__ import annotations

import functools
import logging
import sys
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from . import __version__, api
from .errors import SheetcrmError
from .logs import redact, setup


def target_options(fn: Callable) -> Callable:
    """Options every command that opens a workbook or spreadsheet shares."""
    options = [
        click.option("--workbook", "-w", type=click.Path(dir_okay=False), help="The .xlsx workbook."),
        click.option("--sheet", "-s", help="Google Sheets id, or the URL copied from the browser."),
        click.option("--config", "-c", "config_path", type=click.Path(dir_okay=False),
                     help="Config file (default: ./sheetcrm.toml when present)."),
        click.option("--credentials", type=click.Path(dir_okay=False),
                     help="Google service-account or OAuth user JSON (default: GOOGLE_APPLICATION_CREDENTIALS)."),
        click.option("--api-endpoint", help="Another Sheets API base URL (default: SHEETCRM_API_ENDPOINT)."),
        click.option("--log-format", type=click.Choice(["text", "json"]), default="text", show_default=True,
                     help="json: one JSON object per line, for cron."),
        click.option("-v", "--verbose", count=True, help="More detail."),
        click.option("-q", "--quiet", is_flag=True, help="Only errors."),
        click.option("--debug", is_flag=True, help="Show the traceback of an unexpected error."),
    ]
    for opt in reversed(options):
        fn = opt(fn)
    return fn


def _handle_errors(fn: Callable) -> Callable:
    """Turn a SheetcrmError into one clear line on stderr and its exit code; anything else
    into a short message and exit 3, with the traceback only under --debug."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        debug = kwargs.pop("debug", False)
        setup(kwargs.get("log_format", "text"), -1 if kwargs.get("quiet") else kwargs.get("verbose", 0))
        if kwargs.get("workbook") and kwargs.get("sheet"):
            raise click.UsageError("give --workbook or --sheet, not both")
        try:
            return fn(*args, **kwargs)
        except SheetcrmError as exc:
            click.echo(f"Error: {redact(str(exc))}", err=True)
            sys.exit(exc.exit_code)
        except (click.exceptions.Exit, click.ClickException, KeyboardInterrupt):
            raise
        except Exception as exc:  # the last handler: no traceback reaches a user
            if debug:
                click.echo(redact(traceback.format_exc()), err=True)
            where = traceback.extract_tb(exc.__traceback__)[-1]
            click.echo(f"Error: unexpected {type(exc).__name__}: {redact(str(exc))[:300]} "
                       f"(in {Path(where.filename).name}:{where.lineno}; run again with --debug for details)",
                       err=True)
            logging.getLogger("sheetcrm").debug("unexpected error", exc_info=True)
            sys.exit(3)

    return wrapper


def _common(kw: dict) -> dict:
    return dict(workbook=kw["workbook"], sheet=kw["sheet"], config=kw["config_path"],
                credentials=kw["credentials"], api_endpoint=kw["api_endpoint"])


def _say(quiet: bool, text: str = "") -> None:
    if not quiet:
        click.echo(text)


@click.group()
@click.version_option(__version__, prog_name="sheetcrm")
def main() -> None:
    """Turn a Google Sheet or an .xlsx workbook into a working sales CRM."""


@main.command()
@target_options
@_handle_errors
def init(**kw: Any) -> None:
    """Create missing tabs with headers, frozen header row and dropdowns.

    Never touches existing data. Example: sheetcrm init --workbook leads.xlsx
    """
    changes = api.init(**_common(kw))
    if changes.is_empty():
        _say(kw["quiet"], "Nothing to create: every tab and column is there.")
    for line in changes.describe():
        _say(kw["quiet"], line)


@main.command()
@target_options
@click.option("--dry-run", is_flag=True, help="Print what would change; write nothing.")
@click.option("--today", help="Use this date as today (YYYY-MM-DD), for reproducible runs.")
@_handle_errors
def sync(dry_run: bool, today: str | None, **kw: Any) -> None:
    """Validate, deduplicate, apply the status chain and write the summary tabs.

    Example: sheetcrm sync --workbook leads.xlsx
    """
    result = api.sync(**_common(kw), today=today, dry_run=dry_run)
    _print_result(result, kw["quiet"])
    if dry_run:
        lines = result.changes.describe()
        _say(kw["quiet"], "Dry run: nothing was written. Would change:" if lines else "Dry run: nothing to change.")
        for line in lines:
            _say(kw["quiet"], "  " + redact(line))


@main.command()
@target_options
@click.option("--today", help="Use this date as today (YYYY-MM-DD).")
@click.option("--limit", default=200, show_default=True, type=click.IntRange(min=1),
              help="Show at most this many problems.")
@_handle_errors
def check(today: str | None, limit: int, **kw: Any) -> None:
    """List data problems with their cells; exit 1 when there are any.

    Example: sheetcrm check --workbook leads.xlsx
    """
    result = api.check(**_common(kw), today=today)
    problems = result.report.problems
    if not len(problems):
        _say(kw["quiet"], f"No problems in {result.report.rows_read} rows.")
        return
    for rec in problems.head(limit).itertuples():
        click.echo(redact(f"{rec.cell}: {rec.message}"))
    if len(problems) > limit:
        click.echo(f"... and {len(problems) - limit} more")
    click.echo(f"{len(problems)} problem(s) on {result.report.rows_with_issues} of "
               f"{result.report.rows_read} rows.")
    sys.exit(1)


@main.command("import")
@target_options
@click.argument("files", nargs=-1, required=True)
@click.option("--source", type=click.Choice(["auto", "facebook", "google-forms", "csv", "unsubscribe"]), default="auto",
              show_default=True, help="What the files are (auto: told by their headers).")
@click.option("--map", "mapping", type=click.Path(dir_okay=False, exists=True),
              help="A mapping file naming the columns (docs/intake.md).")
@click.option("--dry-run", is_flag=True, help="Print what would be imported; write nothing.")
@click.option("--today", help="Use this date as today (YYYY-MM-DD).")
@_handle_errors
def import_(files: tuple[str, ...], source: str, mapping: str | None, dry_run: bool, today: str | None,
            **kw: Any) -> None:
    """Import lead exports (Facebook Lead Ads, Google Forms, CSV/.xlsx) into the leads tab.

    Nothing is added twice; every input row is logged in 'Nhập liệu'; new leads get an owner
    and a first-call date. FILE may be tab:NAME, a responses tab of the target spreadsheet.

    Example: sheetcrm import leads-facebook.csv --workbook leads.xlsx
    """
    result = api.import_leads(list(files), **_common(kw), source=source, mapping=mapping, dry_run=dry_run,
                              today=today)
    q = kw["quiet"]
    for w in result.warnings:
        click.echo(f"Warning: {redact(w)}", err=True)
    counts = result.plan.counts
    names = (("new", "new"), ("invalid", "new with problems"), ("duplicate", "already there"),
             ("returning", "returning"), ("skipped", "empty rows skipped"),
             ("already_imported", "imported before"), ("completed", "completed from a cut-off import"),
             ("erased", "refused: erased on request"), ("do_not_contact", "refused: do not contact"),
             ("unsubscribed", "unsubscribed from nurture email"))
    summary = "; ".join(f"{label}: {counts[k]}" for k, label in names if counts.get(k))
    _say(q, f"{'Would import' if dry_run else 'Imported'} into {result.backend} {result.location}: "
            f"{summary or 'nothing to import'}")
    if dry_run:
        _say(q, "Dry run: nothing was written. Would change:")
        for line in result.plan.changes.describe():
            _say(q, "  " + redact(line))


def person_options(fn: Callable) -> Callable:
    """The one identifier of a person `forget` and `export-person` take."""
    for opt in reversed([
        click.option("--phone", help="The person's phone, in any spelling (0912 345 678, +84912345678)."),
        click.option("--email", help="The person's email."),
        click.option("--lead", help="A lead id (KH-000123): that lead and its duplicates."),
    ]):
        fn = opt(fn)
    return fn


@main.command()
@target_options
@person_options
@click.option("--dry-run", is_flag=True, help="List every cell that would be erased; write nothing.")
@_handle_errors
def forget(phone: str | None, email: str | None, lead: str | None, dry_run: bool, **kw: Any) -> None:
    """Erase a person's personal data from every tab and refuse them in later imports.

    Ids, statuses and dates stay, so the counts hold; the request is logged in 'Quyền riêng
    tư' by a salted hash, never the identifier (docs/privacy.md).

    Example: sheetcrm forget --phone "0912 345 678" --workbook leads.xlsx --dry-run
    """
    result = api.forget(phone, email, lead, **_common(kw), dry_run=dry_run)
    plan, q = result.plan, kw["quiet"]
    if dry_run:
        _say(q, f"Dry run: nothing was written. Would erase {len(plan.cells)} cell(s) in "
                f"{len(plan.tabs)} tab(s), {plan.records} record(s):")
        for line, u in zip(plan.cells, plan.erase.updates):  # the tombstone, an empty cell or a category
            _say(q, f"  {line} -> {u.value if u.value not in (None, '') else '(empty)'}")
        for line in plan.intent.describe():
            _say(q, "  " + line)
        return
    if not plan.cells:
        _say(q, f"Nothing (left) to erase in {result.backend} {result.location}; the request is logged.")
    else:
        _say(q, f"Erased {len(plan.cells)} cell(s) in {len(plan.tabs)} tab(s) of {result.backend} "
                f"{result.location}; the request is logged in the privacy log.")


@main.command("export-person")
@target_options
@person_options
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False),
              help="The folder to write person.json and person.csv into.")
@_handle_errors
def export_person(phone: str | None, email: str | None, lead: str | None, out_dir: str, **kw: Any) -> None:
    """Write everything held about a person, from every tab, as JSON and CSV.

    Example: sheetcrm export-person --email lan@example.com --workbook leads.xlsx --out export/
    """
    result = api.export_person(out_dir, phone, email, lead, **_common(kw))
    tabs = len({r["tab"] for r in result.records})
    _say(kw["quiet"], f"Exported {len(result.records)} record(s) from {tabs} tab(s) to "
                      f"{', '.join(str(p) for p in result.files)}")


@main.command()
@target_options
@click.option("--dry-run", is_flag=True, help="Build the digests and show them; send and log nothing.")
@click.option("--outbox", type=click.Path(file_okay=False), help="Write .eml files into this folder instead of sending.")
@click.option("--smtp-host", help="SMTP server (default: [smtp] host).")
@click.option("--smtp-port", type=click.IntRange(1, 65535), help="SMTP port (default: [smtp] port, else 587).")
@click.option("--smtp-user", help="SMTP user; the password comes only from SHEETCRM_SMTP_PASSWORD.")
@click.option("--smtp-security", type=click.Choice(["starttls", "ssl", "none"]), help="Default: [smtp] security, else starttls.")
@click.option("--today", help="Use this date as today (YYYY-MM-DD).")
@_handle_errors
def notify(dry_run: bool, outbox: str | None, smtp_host: str | None, smtp_port: int | None, smtp_user: str | None,
           smtp_security: str | None, today: str | None, **kw: Any) -> None:
    """Email each rep their list for today (and each manager the team's), with a calendar.

    Each message goes out once a day: every attempt is logged in 'Thông báo', and a rerun
    sends only what was not delivered (docs/notify.md). Exit 3 when a delivery failed.

    Example: SHEETCRM_SMTP_PASSWORD=... sheetcrm notify --workbook leads.xlsx --smtp-host smtp.gmail.com --smtp-user crm@team.vn
    """
    result = api.notify(**_common(kw), today=today, dry_run=dry_run, outbox=outbox, smtp_host=smtp_host,
                        smtp_port=smtp_port, smtp_user=smtp_user, smtp_security=smtp_security)
    q = kw["quiet"]
    verb = "Would send" if dry_run else ("Wrote" if outbox else "Sent")
    if not result.outcomes:
        _say(q, "No message to send: nobody active in the team tab has both an Email (or a Webhook) "
                "and something due (docs/notify.md).")
    for o in result.outcomes:
        m = o.message
        where = f" to {result.outbox}" if outbox and o.state == "sent" else ""
        label = {"sent": verb.lower(), "already_sent": "already sent today", "failed": "FAILED",
                 "unknown_skipped": "not resent: its last attempt was cut off (resend_unknown = false)"}[o.state]
        _say(q, f"  {m.kind} for {m.recipient} ({m.channel}, {m.items} item(s)): {label}{where}")
        if o.state == "failed":
            click.echo(f"  {redact(o.answer)}", err=True)
    _say(q, f"{verb} {result.sent} message(s) from {result.backend} {result.location} "
            f"({result.today:%d/%m/%Y}); already sent: {result.count('already_sent')}; failed: {len(result.failed)}"
            + ("; dry run: nothing was sent or logged." if dry_run else f"; logged in '{result.tab}'."))
    if result.failed:
        click.echo(f"Error: {len(result.failed)} message(s) could not be delivered; they are logged as failed "
                   "and the next run tries them again.", err=True)
        sys.exit(3)


@main.command()
@target_options
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False), help="The folder for the .ics files.")
@click.option("--today", help="Use this date as today (YYYY-MM-DD).")
@_handle_errors
def calendar(out_dir: str, today: str | None, **kw: Any) -> None:
    """Write one .ics calendar per rep: an event per recontact of the next 30 days.

    Events keep their UID from one file to the next, so a calendar app updates them
    (docs/notify.md). Example: sheetcrm calendar --workbook leads.xlsx --out calendars/
    """
    result = api.calendar(out_dir, **_common(kw), today=today)
    _say(kw["quiet"], f"Wrote {len(result.files)} calendar(s), {result.events} event(s): "
                      + (", ".join(str(p) for p in result.files) or "no rep has a recontact in the next 30 days"))


@main.command()
@click.option("--dir", "directory", default="sheetcrm-demo", show_default=True, type=click.Path(file_okay=False),
              help="Where to write the demo workbook.")
@click.option("--rows", default=600, show_default=True, type=click.IntRange(1, 100_000),
              help="Number of leads.")
@click.option("--seed", default=7, show_default=True, type=click.IntRange(min=0),
              help="Random seed (same seed, same workbook).")
@click.option("--today", help="Use this date as today (YYYY-MM-DD).")
@click.option("--language", type=click.Choice(["vi", "en"]), default=None, help="Language of issues and summaries.")
@click.option("--log-format", type=click.Choice(["text", "json"]), default="text")
@click.option("-v", "--verbose", count=True)
@click.option("-q", "--quiet", is_flag=True)
@click.option("--debug", is_flag=True, help="Show the traceback of an unexpected error.")
@_handle_errors
def demo(directory: str, rows: int, seed: int, today: str | None, language: str | None, **kw: Any) -> None:
    """Write a realistic Vietnamese demo workbook and sync it. No account needed.

    Example: sheetcrm demo --dir /tmp/demo --rows 1000
    """
    path, result = api.demo(directory, rows, seed, today, language)
    q = kw["quiet"]
    _say(q, f"Demo workbook: {Path(path).resolve()}")
    _say(q, "It holds ~10 months of a sales team's work, replayed sync by sync; the last sync:")
    _print_result(result, q)
    tabs = result.tabs
    _say(q, "")
    _say(q, "Open it in Excel or LibreOffice and look at:")
    for key, text in (("leads", "the leads; 'Lỗi dữ liệu' says what is wrong on a row, 'Trùng với' names duplicates"),
                      ("history", "every status change"),
                      ("rejections", "one row per rejection, with its reason category"),
                      ("nurture", "leads kept warm, with their next touch"),
                      ("sync_log", "one row per sync run"),
                      ("team", "the reps new leads are handed to (caps, days off, products)"),
                      ("intake", "one row per imported form or export row, and what became of it"),
                      ("overview", "the overview for managers (status, funnel, reasons, charts)"),
                      ("agenda", "who to call, per rep: overdue, today, this week, next 30 days"),
                      ("forecast", "what will close, per rep and month: weighted pipeline, the model's backtest"),
                      ("activity", "each rep's weeks: new leads, first contacts, moves, wins, recontacts done"),
                      ("notifications", "every digest and nurture email sent, once each"),
                      ("nurture_content", "the nurture emails the team writes, per reason")):
        if key in tabs:
            _say(q, f"  {tabs[key]:<18} {text}")
    from .backends.xlsx import XlsxBackend
    from .sync.channels import COST_TABS
    from .text import fold

    for title in XlsxBackend(path).tab_titles():
        if fold(title) in COST_TABS:
            _say(q, f"  {title:<18} the team's spend per month and source (the overview's cost review)")
    _say(q, "")
    _say(q, f"Try an import: sheetcrm import {Path(path).parent / 'facebook-leads.csv'} --workbook {path}")
    _say(q, f"Read the reps' digests (nothing is sent): sheetcrm notify --workbook {path} "
            f"--outbox {Path(path).parent / 'digests'}")
    outbox = Path(path).parent / "outbox"
    emails = sorted(outbox.glob("*.eml")) if outbox.is_dir() else []
    _say(q, f"Today's nurture emails, to read (nothing was sent): {len(emails)} in {outbox.resolve()}")
    _say(q, f"  preview again: sheetcrm nurture --workbook {path} --dry-run")


NURTURE_SKIPS = (("erased", "erased on request"), ("do_not_contact", "do not contact"),
                 ("unsubscribed", "unsubscribed"), ("no_consent", "no email consent"), ("no_email", "no valid email"),
                 ("no_content", "no content item left"), ("same_email", "address already sent to in this run"))


@main.command()
@target_options
@click.option("--dry-run", is_flag=True, help="List the touches due and their subjects; send and write nothing.")
@click.option("--outbox", type=click.Path(file_okay=False), help="Write the emails as .eml files here to read them; "
              "send and record nothing.")
@click.option("--smtp-host", help="SMTP server (default: [smtp] host).")
@click.option("--smtp-port", type=click.IntRange(1, 65535), help="SMTP port (default: [smtp] port, else 587).")
@click.option("--smtp-user", help="SMTP user; the password comes only from SHEETCRM_SMTP_PASSWORD.")
@click.option("--smtp-security", type=click.Choice(["starttls", "ssl", "none"]), help="Default: [smtp] security, else starttls.")
@click.option("--today", help="Use this date as today (YYYY-MM-DD).")
@_handle_errors
def nurture(dry_run: bool, outbox: str | None, smtp_host: str | None, smtp_port: int | None, smtp_user: str | None,
            smtp_security: str | None, today: str | None, **kw: Any) -> None:
    """Send the nurture emails due today and record each touch in 'Nuôi dưỡng'.

    Each lead in nurture whose next touch has come gets the next item of 'Nội dung nuôi
    dưỡng' it has not had, if it agreed to email and did not unsubscribe; every message is
    logged once in 'Thông báo' (docs/nurture-automation.md). Exit 3 when a send failed.

    Example: sheetcrm nurture --workbook leads.xlsx --outbox outbox/
    """
    result = api.nurture(**_common(kw), today=today, dry_run=dry_run, outbox=outbox, smtp_host=smtp_host,
                         smtp_port=smtp_port, smtp_user=smtp_user, smtp_security=smtp_security)
    q, plan = kw["quiet"], result.plan
    for w in result.warnings:
        click.echo(f"Warning: {redact(w)}", err=True)
    c = plan.counts
    _say(q, f"Nurture {result.backend} {result.location} (today = {result.today:%d/%m/%Y}): "
            f"{c.get('active', 0)} active, {c.get('due', 0)} due, {len(result.messages)} to send")
    if not plan.today_is_working_day:
        _say(q, "  today is not a working day: nothing is due")
    skipped = "; ".join(f"{label}: {c[f'skipped_{k}']}" for k, label in NURTURE_SKIPS if c.get(f"skipped_{k}"))
    if skipped:
        _say(q, f"  not sent: {skipped}")
    if dry_run or result.outbox is not None:
        for t in plan.touches.itertuples():
            _say(q, f"  {t.lead_id} ({t.owner or '-'}): {t.content_id} {t.title}")
        if result.outbox is not None:
            _say(q, f"Wrote {len(result.files)} message(s) to {result.outbox}; nothing was sent or recorded.")
        else:
            _say(q, "Dry run: nothing was sent or written.")
        return
    if result.outside_hours:
        _say(q, "  outside the sending hours ([nurture] send_hours): nothing was sent")
        return
    _say(q, f"  sent: {result.sent}; recorded: {result.recorded}; failed: {result.failed}; "
            f"cells written: {result.cells_written}")
    if result.failed:
        for o in result.outcomes:
            if o.state == "failed":
                click.echo(redact(f"  failed: {o.message.extra.get('lead_id')}: {o.answer}"), err=True)
        sys.exit(3)


def _print_result(result: api.SyncResult, quiet: bool) -> None:
    r = result.report
    _say(quiet, f"Synced {result.backend} {result.location} (today = {result.today:%d/%m/%Y})")
    if r.unchanged:
        _say(quiet, "  the workbook is as the last run left it today: nothing to plan; its counts: "
                    f"rows read: {r.rows_read}; rows with issues: {r.rows_with_issues}; "
                    f"duplicates: {r.duplicates}")
    else:
        _say(quiet, f"  rows read: {r.rows_read}; rows with issues: {r.rows_with_issues}; "
                    f"new ids: {r.ids_assigned}; duplicates: {r.duplicates} in {r.clusters} "
                    f"clusters; owner collisions: {r.collisions}")
    _say(quiet, f"  status changes: {r.transitions}; log rows appended: {r.appended}; "
                f"cells written: {result.cells_written}; {result.duration:.1f} s")
    if result.applied and result.applied.skipped:
        _say(quiet, f"  left {len(result.applied.skipped)} cell(s) as a person has them "
                    "(a formula, or an edit made during the sync):")
        for s in result.applied.skipped[:20]:
            _say(quiet, "    " + s)


if __name__ == "__main__":  # pragma: no cover
    main()
