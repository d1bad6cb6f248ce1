"""Google Sheets backend (gspread + google-auth).

A sync costs, in the common case, four requests:

1. `:batchUpdate` adding the lock (a named range) with `includeSpreadsheetInResponse`,
   which also answers the metadata (tabs, grid sizes, named ranges, charts, protections);
2. one `values:batchGet` of every tab (UNFORMATTED_VALUE, dates as serial numbers);
3. one `values:batchGet` re-reading, just before writing, the id column and every target
   column of the lead tab, and the event-key column and tail of each log tab — each
   range inside the grid just read (Google refuses a range that starts past it);
4. one `:batchUpdate`, in this order: structure (new tabs, grids grown), the summary and
   agenda tabs' row inserts/deletes and the formats of their new rows, `updateCells` for
   the cells whose value changes (text as `stringValue`, never parsed), `appendDimension`
   where log rows need room then `appendCells` for them (Sheets places them after the
   last row with data *at that moment*, so rows a person added are never overwritten),
   the protections, charts and trims not yet in place, and the lock release. A batch is
   all-or-nothing, and a replay of an applied batch fails on the already-deleted lock, so
   a lost answer never appends a row twice.

Past ~2 MB the write is split into several batches.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import json
import logging
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..a1 import quote_title
from ..changes import AppendRows, CellUpdate, ChangeSet, ChartSpec, SheetLayout
from ..errors import BackendError, ConfigError, LockHeldError, SheetcrmError
from . import gsheets_plan as plan
from . import locks, retry
from .base import ApplyResult, RawSheet
from .gsheets_plan import parse_sheet_id
from .retry import RetryPolicy

log = logging.getLogger("sheetcrm.gsheets")

SCOPES = ("https://www.googleapis.com/auth/spreadsheets",)
PAYLOAD_LIMIT = 2_000_000  # bytes per values:batchUpdate (Google recommends ~2 MB)
LOCK_TTL = 15 * 60.0
DATE_FORMAT = {"type": "DATE", "pattern": "dd/mm/yyyy"}
MIN_NEW_ROWS = 1000  # grow a grid by at least this many rows at a time
READ_PARAMS = {"valueRenderOption": "UNFORMATTED_VALUE", "dateTimeRenderOption": "SERIAL_NUMBER", "majorDimension": "ROWS"}


# ---------------------------------------------------------------- credentials


def load_credentials(path: str | None) -> tuple[Any, str | None]:
    """google-auth credentials and, for a service account, its email (for messages).

    `path` (or GOOGLE_APPLICATION_CREDENTIALS) may hold a service-account key or OAuth
    user credentials (`authorized_user`); with neither, application-default credentials.
    """
    source = "--credentials" if path else "GOOGLE_APPLICATION_CREDENTIALS"
    path = path or os.environ.get("GOOGLE_APPLICATION_CREDENTIALS")
    if not path:
        from google.auth import _cloud_sdk

        # gcloud's ADC file is read like any other, so its token_uri is honoured too.
        adc = _cloud_sdk.get_application_default_credentials_path()
        if adc and os.path.isfile(adc):
            path, source = adc, "gcloud auth application-default login"
    if not path:
        import google.auth
        import google.auth.exceptions

        try:
            creds, _ = google.auth.default(scopes=list(SCOPES))
        except google.auth.exceptions.DefaultCredentialsError:
            raise ConfigError(
                "No Google credentials: pass --credentials KEY.json (a service-account key), "
                "set GOOGLE_APPLICATION_CREDENTIALS, or run `gcloud auth application-default login`."
            ) from None
        return creds, getattr(creds, "service_account_email", None)
    p = Path(path).expanduser()
    where = f"Credentials file {p} (from {source})"
    if not p.exists():
        raise ConfigError(f"{where} does not exist.")
    try:
        info = json.loads(p.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{where} is not JSON (line {exc.lineno}, column {exc.colno}); download the key again.") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{where} cannot be read: {getattr(exc, 'strerror', None) or type(exc).__name__}.") from None
    if not isinstance(info, dict):
        raise ConfigError(f"{where} is not a Google credentials file (expected a JSON object).")
    kind = info.get("type")
    if kind == "service_account":
        missing = [k for k in ("client_email", "private_key", "token_uri") if not info.get(k)]
        if missing:
            raise ConfigError(f"{where} is a service-account key without {', '.join(missing)}; download the key again.")
        from google.oauth2 import service_account

        try:
            creds = service_account.Credentials.from_service_account_info(info, scopes=list(SCOPES))
        except (ValueError, TypeError):
            # Never echo the key material itself.
            raise ConfigError(f"{where}: its private_key cannot be read; download the key again.") from None
        return creds, info["client_email"]
    if kind == "authorized_user":
        from google.oauth2 import credentials as user_credentials

        try:
            creds = user_credentials.Credentials.from_authorized_user_info(info, scopes=list(SCOPES))
        except ValueError as exc:
            raise ConfigError(f"{where}: OAuth user credentials are incomplete ({_first_line(exc)}).") from None
        if info.get("token_uri"):
            # google-auth always refreshes at Google's endpoint; the file's token_uri wins.
            creds = creds.with_token_uri(info["token_uri"])
        return creds, None
    raise ConfigError(
        f"{where} is neither a service-account key nor OAuth user credentials (type is {kind!r})."
    )


def _first_line(exc: BaseException) -> str:
    return (str(exc).splitlines() or [type(exc).__name__])[0][:200]


def _share_with(email: str | None) -> str:
    if not email or "@" not in email:
        return "the account you authorised"
    return email  # a service account's address is what the user must share with


# ---------------------------------------------------------------- backend


class GSheetsBackend:
    name = "gsheets"

    def __init__(
        self,
        spreadsheet_id: str,
        credentials: Any,
        *,
        account: str | None = None,
        api_endpoint: str | None = None,
        retry_policy: RetryPolicy | None = None,
        timeout: float = 60.0,
        lock_ttl: float = LOCK_TTL,
    ):
        from ..google_http import EndpointHTTPClient, keep_off_google

        keep_off_google(credentials, api_endpoint)
        self.spreadsheet_id = spreadsheet_id
        self.location = spreadsheet_id
        self.account = account
        self.policy = retry_policy or RetryPolicy()
        self.lock_ttl = lock_ttl
        # gspread's default timeout is none: a hung connection would hang the cron job.
        self.http = EndpointHTTPClient.configured(api_endpoint, timeout)(credentials)
        self.http.set_timeout(timeout)
        self._calls = 0
        self._meta: dict | None = None  # metadata as of the last read
        # True while a command writes several times under one lock (docs/notify.md): each
        # write renews the lock instead of releasing it, and reads only the metadata again.
        self.keep_lock = False
        self._fresh_meta: dict | None = None  # metadata answered by the lock call
        self._first: dict[str, list[list[Any]]] = {}
        self._lock: locks.SheetLock | None = None
        self._pending: list[dict] = []  # formats/charts/trims sent with the lock release
        self._in_lock = False
        self._count_cell: tuple[AppendRows, int] | None = None
        self._count_target: tuple[dict, int] | None = None  # appendCells request, its column

    # -- construction -------------------------------------------------------

    @classmethod
    def from_options(
        cls,
        sheet: str,
        credentials: str | None = None,
        api_endpoint: str | None = None,
        retry: RetryPolicy | None = None,
        timeout: float = 60.0,
    ) -> GSheetsBackend:
        creds, account = load_credentials(credentials)
        endpoint = api_endpoint or os.environ.get("SHEETCRM_API_ENDPOINT") or None
        return cls(parse_sheet_id(sheet), creds, account=account, api_endpoint=endpoint,
                   retry_policy=retry, timeout=timeout)

    @classmethod
    def from_config(cls, cfg: Any) -> GSheetsBackend:
        """From `sheetcrm.config.Config` (sheet, credentials, api_endpoint, [retry])."""
        settings = getattr(cfg, "retry", None)
        policy = RetryPolicy.from_settings(settings) if settings else None
        return cls.from_options(cfg.sheet, cfg.credentials, cfg.api_endpoint, policy,
                                float(getattr(settings, "timeout", 60.0) or 60.0))

    @property
    def api_calls(self) -> int:
        return self._calls

    def count_calls_into(self, append: AppendRows, col: int) -> None:
        """Write this run's request count into cell `col` of `append`'s first row when it
        is sent: every request up to and including the write's own batches (token
        refreshes apart; a retry of the last batch itself cannot be counted in it)."""
        self._count_cell = (append, col)

    # -- HTTP ---------------------------------------------------------------

    def _call(self, what: str, fn: Callable[[], Any], count: bool = True) -> Any:
        import google.auth.exceptions
        from gspread.exceptions import APIError

        def attempt() -> Any:
            self._calls += count
            return fn()

        def on_retry(exc: BaseException, n: int) -> None:
            log.warning("%s: %s, retrying (attempt %d)", what, retry.describe(exc), n + 1)

        try:
            return retry.call(attempt, self.policy, what, on_retry=on_retry)
        except APIError as exc:
            raise self._api_error(exc, what) from None
        except google.auth.exceptions.RefreshError as exc:
            raise ConfigError(
                f"Google refused the credentials{f' of {self.account}' if self.account else ''}: "
                f"{_first_line(exc)}. Check the key is current (not deleted) or download a new one."
            ) from None
        except google.auth.exceptions.TransportError as exc:
            raise BackendError(f"Could not reach Google's token endpoint ({type(exc).__name__}); the next run converges.") from None

    def _api_error(self, exc: Any, what: str) -> SheetcrmError:
        code = retry.status_of(exc)
        message = _first_line(Exception(getattr(exc, "error", {}).get("message", "") or exc))
        if code == 403:
            return ConfigError(
                f"No access to spreadsheet {self.spreadsheet_id}: share it with "
                f"{_share_with(self.account)} as Editor (Share button in Google Sheets)."
            )
        if code == 404:
            return ConfigError(
                f"Spreadsheet {self.spreadsheet_id} was not found: the id is wrong "
                "(copy the URL from the browser's address bar)."
            )
        if code == 401:
            return ConfigError("Google rejected the credentials (401); download a new key.")
        return BackendError(f"Google Sheets refused {what}: HTTP {code}: {message}")

    def _batch_update(self, requests: list[dict], what: str, include_spreadsheet: bool = False) -> dict:
        body: dict = {"requests": requests}
        if include_spreadsheet:
            body["includeSpreadsheetInResponse"] = True
        return self._call(what, lambda: self.http.batch_update(self.spreadsheet_id, body))

    def _metadata(self) -> dict:
        return self._call("metadata", lambda: self.http.fetch_sheet_metadata(self.spreadsheet_id))

    def _batch_get(self, ranges: list[str], what: str) -> list[list[list[Any]]]:
        if not ranges:
            return []
        resp = self._call(what, lambda: self.http.values_batch_get(self.spreadsheet_id, list(ranges), dict(READ_PARAMS)))
        out = [vr.get("values", []) for vr in resp.get("valueRanges", [])]
        if len(out) != len(ranges):
            raise BackendError(f"{what}: asked for {len(ranges)} ranges, got {len(out)}")
        return out

    # -- lock ----------------------------------------------------------------

    @contextlib.contextmanager
    def lock(self) -> Iterator[None]:
        with locks.local_lock(f"gsheets:{self.spreadsheet_id}", f"spreadsheet {self.spreadsheet_id}"):
            self._refresh_if_due()
            self._acquire()
            self._in_lock = True
            try:
                yield
            finally:
                self._in_lock = False
                self._release()
                # A process that syncs hourly keeps no idle keep-alive sockets between runs.
                self.http.session.close()

    def _refresh_if_due(self) -> None:
        """Refresh the token now, with retries, when it would expire during this sync
        (a scheduler reuses one Credentials for many syncs): a token endpoint hiccup is
        retried with backoff here, not met half-way through a write."""
        from google.auth.transport.requests import Request

        creds = self.http.auth
        expiry = getattr(creds, "expiry", None)
        if expiry is None and getattr(creds, "token", None):
            return  # a token without expiry (tests, static tokens)
        due = expiry is None or expiry - dt.datetime.now(dt.UTC).replace(tzinfo=None) < dt.timedelta(seconds=self.lock_ttl)
        if due:
            # A plain session: the AuthorizedSession would try to authorise the token request.
            self._call("refreshing the access token", lambda: creds.refresh(Request()), count=False)

    def _acquire(self) -> None:
        mine = locks.SheetLock.new(self.lock_ttl)
        try:
            resp = self._batch_update([locks.add_request(mine, 0)], "taking the sync lock", include_spreadsheet=True)
        except ConfigError:
            raise
        except BackendError as exc:
            if "HTTP 400" not in str(exc):
                raise
            # The name is taken, or there is no sheet 0: look, then decide.
            meta = self._metadata()
            held = locks.find_lock(meta)
            if held and held.id == mine.id:
                # Our own request went through and its answer was lost: the lock is ours.
                self._lock, self._fresh_meta = mine, meta
                return
            if held and not held.expired():
                raise LockHeldError(
                    f"Another sync holds spreadsheet {self.spreadsheet_id} until {held.until()} "
                    f"(named range {locks.LOCK_NAME}); it expires by itself if that run crashed."
                ) from None
            reqs = ([locks.delete_request(held)] if held else []) + [locks.add_request(mine, _first_sheet_id(meta))]
            try:
                resp = self._batch_update(reqs, "taking over an expired sync lock", include_spreadsheet=True)
            except BackendError as exc2:
                if "HTTP 400" in str(exc2):
                    raise LockHeldError(f"Another sync took spreadsheet {self.spreadsheet_id} just now.") from None
                raise
            if held:
                log.warning("took over an expired sync lock (held until %s)", held.until())
        self._lock = mine
        self._fresh_meta = resp.get("updatedSpreadsheet")

    def _release(self) -> None:
        reqs = list(self._pending)
        self._pending.clear()
        if self._lock is not None:
            reqs.append(locks.delete_request(self._lock))
        if not reqs:
            return
        try:
            self._batch_update(reqs, "releasing the sync lock")
        except SheetcrmError as exc:
            log.warning("could not release the sync lock (%s); it expires at %s",
                        exc, self._lock.until() if self._lock else "?")
        finally:
            self._lock = None

    # -- read ----------------------------------------------------------------

    def read(self) -> dict[str, RawSheet]:
        meta = self._fresh_meta or self._metadata()
        self._fresh_meta = None
        self._meta = meta
        titles = [s["properties"]["title"] for s in _grid_sheets(meta)]
        grids = self._batch_get([quote_title(t) for t in titles], "reading every tab")
        self._first = {t: g for t, g in zip(titles, grids)}
        return {t: RawSheet(t, g) for t, g in self._first.items()}

    def tab_gid(self, title: str) -> int | None:
        """The sheet id (`gid` in a link) of tab `title`, as of the last read."""
        for sh in _grid_sheets(self._meta or {}):
            if sh["properties"]["title"] == title:
                return sh["properties"]["sheetId"]
        return None

    # -- apply ---------------------------------------------------------------

    def apply(self, changes: ChangeSet) -> ApplyResult:
        """Write `changes` in (usually) two calls: one re-read, one :batchUpdate.

        Phases each build a request list against the grid just read (sizes grow as the
        plan grows them, so no range ever passes the grid); `_execute` sends them with the
        lock release, in this order: structure, summary rows and their formats, values,
        appends, formats, charts, trims."""
        calls0 = self._calls
        result = ApplyResult()
        if changes.is_empty():
            return result
        if self._meta is None:
            if self.keep_lock and self._first:
                self._meta = self._metadata()  # a later write of the run: the tabs as read stay known
            else:
                self.read()
        assert self._meta is not None
        tabs = _Tabs.of(self._meta)
        structure, new_tabs = self._structure_phase(changes, tabs)
        layouts, edits = self._layout_phase(changes, tabs)
        seen = self._reread(changes, tabs, new_tabs)
        values = self._values_phase(changes, tabs, seen, new_tabs, edits, result)
        appends, ends = self._appends_phase(changes, tabs, seen, result)
        formats = self._formats_phase(changes, tabs)
        charts = self._charts_phase(changes, tabs)
        trims = self._trims_phase(changes, tabs, seen, ends)
        reqs = structure + layouts + values + appends + self._pending + formats + charts + trims
        if reqs and changes.open_on in tabs.ids:
            reqs += _first_tab(tabs, changes.open_on)
        self._pending.clear()
        if reqs:
            self._execute(reqs, [a for a in changes.appends if a.rows])
            result.wrote = True
        result.api_calls = self._calls - calls0
        self._meta = None  # the sheet changed: the next read() fetches metadata again
        return result

    # -- phases: each returns the requests it needs, in the order they must run --

    def _structure_phase(self, changes: ChangeSet, tabs: _Tabs) -> tuple[list[dict], dict[str, tuple[str, ...]]]:
        """New tabs, frozen headers and grid growth that the values need first."""
        out: list[dict] = []
        new_tabs: dict[str, tuple[str, ...]] = {}
        for et in [*changes.ensure_tabs, *changes.formats]:
            if et.tab not in tabs.ids:
                out.append(tabs.add(et.tab, MIN_NEW_ROWS, len(et.headers), et.freeze_rows))
                new_tabs[et.tab] = et.headers
            elif et.freeze_rows and tabs.frozen(et.tab) < et.freeze_rows:
                out.append(_freeze(tabs.ids[et.tab], et.freeze_rows))
        for lay in changes.replacements:
            if lay.tab not in tabs.ids:
                out.append(tabs.add(lay.tab, len(lay.cells) + 10, max((len(r) for r in lay.cells), default=1), lay.freeze_rows))
        for tab in {a.tab for a in changes.add_columns} | {a.tab for a in changes.appends if a.rows}:
            if tab not in tabs.ids:
                raise BackendError(f"tab '{tab}' does not exist and the change set does not create it")
        for ac in changes.add_columns:
            out.extend(tabs.grow(ac.tab, 1, ac.first_col + len(ac.headers) - 1))
        for lay in changes.replacements:
            old = self._first.get(lay.tab, [])
            out.extend(tabs.grow(lay.tab, max(len(lay.cells), len(old)),
                                 max([len(r) for r in lay.cells] + [len(r) for r in old] + [1])))
        for ap in changes.appends:
            if ap.rows:  # rows are grown next to the append; columns must exist first
                out.extend(tabs.grow(ap.tab, 1, max(len(r) for r in ap.rows)))
        return out, new_tabs

    def _layout_phase(self, changes: ChangeSet, tabs: _Tabs) -> tuple[list[dict], dict[str, plan.RowEdits]]:
        """Summary and agenda tabs: rows inserted and deleted so that rows which only
        moved are not rewritten, then formats — all of them when the tab's layout marker
        is missing, else only those of the rows that are new or rewritten. Sent before
        the values, whose dates carry their own number format."""
        out: list[dict] = []
        edits: dict[str, plan.RowEdits] = {}
        for lay in changes.replacements:
            old = self._first.get(lay.tab, [])
            edit = edits[lay.tab] = plan.align_rows(old, lay.cells)
            sheet_id = tabs.ids[lay.tab]
            for kind, start, count in edit.ops:
                rng = {"sheetId": sheet_id, "dimension": "ROWS", "startIndex": start, "endIndex": start + count}
                out.append({"insertDimension": {"range": rng, "inheritFromBefore": start > 0}} if kind == "insert"
                           else {"deleteDimension": {"range": rng}})
                tabs.rows[lay.tab] += count if kind == "insert" else -count
            fresh = {j + 1 for j, i in enumerate(edit.was)
                     if i is None or i >= len(old) or plan.row_key(lay.cells[j]) != plan.row_key(old[i])}
            out.extend(_layout_formats(lay, sheet_id, tabs.sheets.get(lay.tab), tabs.named, fresh))
        return out, edits

    def _reread(self, changes: ChangeSet, tabs: _Tabs, new_tabs: dict) -> _Seen:
        """One values:batchGet of the targets, the log tails and the log keys, each range
        inside the grid as read (a column or rows past it are empty by construction)."""
        seen = _Seen()
        for u in changes.updates:
            seen.by_tab.setdefault(u.tab, []).append(u)
        seen.plans = {t: plan.plan_reread(t, self._first.get(t, []), us) for t, us in seen.by_tab.items()}
        ranges: list[str] = []
        slots: list[tuple[str, str, Any]] = []

        def ask(kind: str, tab: str, arg: Any, rng: str) -> None:
            ranges.append(rng)
            slots.append((kind, tab, arg))

        for t, p in seen.plans.items():
            seen.now[t] = plan.Reread()
            if t in new_tabs or tabs.rows.get(t, 0) < 1:
                seen.now[t].grid = []
            elif p.whole_tab:
                ask("grid", t, None, quote_title(t))
            else:
                for c in p.cols:
                    if c <= tabs.read_cols(t):
                        ask("col", t, c, plan.col_range(t, c))
                    else:
                        seen.now[t].columns[c] = []
                for r in p.rows:
                    if r <= tabs.read_rows(t):
                        ask("row", t, r, plan.rows_range(t, r))
                    else:
                        seen.now[t].rows[r] = []
        for a in changes.appends:
            if not a.rows or a.tab in new_tabs:
                continue
            n = len(self._first.get(a.tab, []))
            if n < tabs.read_rows(a.tab):  # rows below what was read, if the grid has any
                ask("tail", a.tab, None, plan.rows_range(a.tab, n + 1, tabs.read_rows(a.tab)))
            if a.key_col is not None and a.key_col < tabs.read_cols(a.tab):
                ask("key", a.tab, None, plan.col_range(a.tab, a.key_col + 1))
        got = self._batch_get(ranges, "re-reading the cells to write") if ranges else []
        for (kind, t, arg), vals in zip(slots, got):
            seen.store(kind, t, arg, vals)
        return seen

    def _values_phase(self, changes: ChangeSet, tabs: _Tabs, seen: _Seen, new_tabs: dict,
                      edits: dict[str, plan.RowEdits], result: ApplyResult) -> list[dict]:
        """updateCells for lead cells still as read, headers, and summary cells that differ."""
        cells: dict[str, list[tuple[int, int, Any]]] = {}
        for t, us in seen.by_tab.items():
            writes, skipped = plan.reconcile(t, self._first.get(t, []), seen.plans[t], seen.now[t], us)
            cells.setdefault(t, []).extend(writes)
            result.skipped.extend(skipped)
        for t, headers in new_tabs.items():
            cells.setdefault(t, []).extend((1, i + 1, h) for i, h in enumerate(headers))
        for ac in changes.add_columns:
            cells.setdefault(ac.tab, []).extend((1, ac.first_col + i, h) for i, h in enumerate(ac.headers))
        for lay in changes.replacements:
            cells.setdefault(lay.tab, []).extend(plan.changed_cells(self._first.get(lay.tab, []), lay.cells, edits[lay.tab].was))
        out: list[dict] = []
        for t, cs in cells.items():
            for r, c, vals in plan.runs(cs):
                out.extend(_update_cells(tabs.ids[t], r, c, vals))
                result.cells_written += len(vals)
        return out

    def _appends_phase(self, changes: ChangeSet, tabs: _Tabs, seen: _Seen,
                       result: ApplyResult) -> tuple[list[dict], dict[str, int]]:
        """appendCells for log rows not logged yet, each after an appendDimension giving
        the grid room for them (Sheets would grow it too; a range past it is never sent)."""
        out: list[dict] = []
        ends: dict[str, int] = {}
        for a in changes.appends:
            if not a.rows:
                continue
            end = ends.get(a.tab, max(plan.table_end(self._first.get(a.tab, []), seen.tails.get(a.tab)), 1))
            rows = plan.new_log_rows(a, seen.keys.setdefault(a.tab, set()))
            if not rows:
                continue
            out.extend(tabs.room(a.tab, end + len(rows)))
            out.append(_append_cells(tabs.ids[a.tab], rows))
            if self._count_cell and self._count_cell[0] is a and rows[0] is a.rows[0]:
                self._count_target = (out[-1], self._count_cell[1])
            result.rows_appended += len(rows)
            result.cells_written += sum(1 for row in rows for v in row if plan.to_api(v) != "")
            ends[a.tab] = end + len(rows)
        return out, ends

    def _formats_phase(self, changes: ChangeSet, tabs: _Tabs) -> list[dict]:
        """Dropdowns, protections and summary formats not yet in place (markers record them)."""
        out: list[dict] = []
        for et in [*changes.ensure_tabs, *changes.formats]:
            out.extend(_dropdowns(et, tabs.ids[et.tab], self._first.get(et.tab, []), tabs.named))
        for ac in changes.add_columns:
            out.extend(_protect(tabs.sheets.get(ac.tab), tabs.ids[ac.tab], f"sheetcrm: computed column {', '.join(ac.headers)}",
                                (ac.first_col, ac.first_col + len(ac.headers) - 1)))
        for lay in changes.replacements:
            out.extend(_protect(tabs.sheets.get(lay.tab), tabs.ids[lay.tab], "sheetcrm: summary written by sync", None))
        return out

    def _charts_phase(self, changes: ChangeSet, tabs: _Tabs) -> list[dict]:
        out: list[dict] = []
        for lay in changes.replacements:
            here = {(ch.get("spec") or {}).get("title") for ch in (tabs.sheets.get(lay.tab) or {}).get("charts", []) or []}
            out.extend(_chart(ch, tabs.ids[lay.tab]) for ch in lay.charts if ch.title not in here)
        return out

    def _trims_phase(self, changes: ChangeSet, tabs: _Tabs, seen: _Seen, ends: dict[str, int]) -> list[dict]:
        out = []
        for tr in changes.trims:
            total = ends.get(tr.tab, plan.table_end(self._first.get(tr.tab, []), seen.tails.get(tr.tab)))
            drop = total - 1 - tr.keep
            if drop > 0 and tr.tab in tabs.ids:
                out.append({"deleteDimension": {"range": {"sheetId": tabs.ids[tr.tab], "dimension": "ROWS",
                                                          "startIndex": 1, "endIndex": 1 + drop}}})
        return out

    # -- execution -----------------------------------------------------------

    def _execute(self, reqs: list[dict], appends: list[AppendRows]) -> None:
        """Send the requests, with the lock release last when a lock is held.

        Above the payload limit the leading chunks go first, each a batch of its own.
        The last batch deletes the lock's named range: if an attempt was applied but its
        answer lost, the retry fails on the missing lock instead of appending twice."""
        lock = self._lock if self._in_lock else None
        renewed = None
        if lock is not None:
            reqs = [*reqs, locks.delete_request(lock)]
            if self.keep_lock:
                # Several writes under one lock (the notifications log): the same batch
                # that releases the lock takes a fresh one, so it never lapses in between.
                renewed = locks.SheetLock.new(self.lock_ttl)
                reqs.append(locks.add_request(renewed, _first_sheet_id(self._meta or {})))
        chunks = list(_chunks(reqs, PAYLOAD_LIMIT))
        if self._count_target is not None:
            req, col = self._count_target
            req["appendCells"]["rows"][0]["values"][col] = _cell_data(self._calls + len(chunks))
            self._count_target = self._count_cell = None
        for chunk in chunks[:-1]:
            self._send_chunk(chunk)
        attempts = 0

        def send() -> dict:
            nonlocal attempts
            attempts += 1
            return self.http.batch_update(self.spreadsheet_id, {"requests": chunks[-1]})

        try:
            self._call("writing cells", send)
        except BackendError as exc:
            if not (lock is not None and attempts > 1 and "HTTP 400" in str(exc) and self._lock_gone(lock)):
                raise
            # An earlier attempt went through: our lock is gone and our rows are there.
            if not self._appended(appends):
                raise BackendError(
                    f"Lost the sync lock of spreadsheet {self.spreadsheet_id} before writing; "
                    "nothing was written. The next run converges."
                ) from None
            log.warning("writing cells: an earlier attempt was applied (its answer was lost)")
        if lock is not None:
            self._lock = renewed

    def _send_chunk(self, chunk: list[dict]) -> None:
        """A leading chunk: replaying updateCells is harmless, replaying appendCells is
        not, so a chunk with appends is sent once (a failure ends the run; the next run
        finds the rows by their keys)."""
        if not any("appendCells" in r for r in chunk):
            self._batch_update(chunk, "writing cells")
            return
        saved = self.policy
        self.policy = dataclasses.replace(saved, attempts=1)
        try:
            self._batch_update(chunk, "appending rows")
        finally:
            self.policy = saved

    def _lock_gone(self, lock: locks.SheetLock) -> bool:
        held = locks.find_lock(self._metadata())
        return held is None or held.id != lock.id

    def _appended(self, appends: list[AppendRows]) -> bool:
        """Whether the keyed rows of `appends` are in their tabs now."""
        keyed = [a for a in appends if a.key_col is not None]
        if not keyed:
            return True
        got = self._batch_get([plan.col_range(a.tab, a.key_col + 1) for a in keyed], "checking the log rows")
        for a, vals in zip(keyed, got):
            present = {plan.key_text(v) for v in plan.column_values(vals)}
            if any(plan.key_text(r[a.key_col]) not in present for r in a.rows if a.key_col < len(r)):
                return False
        return True


# ---------------------------------------------------------------- plan state


def _first_tab(tabs: _Tabs, title: str) -> list[dict]:
    """Google opens a spreadsheet on its first tab: move `title` there unless it is."""
    props = tabs.sheets.get(title, {}).get("properties", {})
    if props.get("index") == 0:
        return []
    return [{"updateSheetProperties": {"properties": {"sheetId": tabs.ids[title], "index": 0}, "fields": "index"}}]


@dataclass
class _Tabs:
    """Tabs as apply() plans them: ids and grid sizes as read, grown as requests are added."""

    sheets: dict[str, dict]
    named: dict[str, dict]
    ids: dict[str, int]
    rows: dict[str, int]
    cols: dict[str, int]
    next_id: int
    as_read: dict[str, tuple[int, int]] = field(default_factory=dict)

    @classmethod
    def of(cls, meta: dict) -> _Tabs:
        sheets = {s["properties"]["title"]: s for s in meta.get("sheets", [])}
        grid = {t: s["properties"].get("gridProperties", {}) for t, s in sheets.items()}
        rows = {t: int(g.get("rowCount", 1000)) for t, g in grid.items()}
        cols = {t: int(g.get("columnCount", 26)) for t, g in grid.items()}
        ids = {t: s["properties"]["sheetId"] for t, s in sheets.items()}
        return cls(sheets, {nr.get("name"): nr for nr in meta.get("namedRanges", []) or []}, ids, rows, cols,
                   max(list(ids.values()) + [0]) + 1, {t: (rows[t], cols[t]) for t in sheets})

    def read_rows(self, tab: str) -> int:
        return self.as_read.get(tab, (0, 0))[0]

    def read_cols(self, tab: str) -> int:
        return self.as_read.get(tab, (0, 0))[1]

    def frozen(self, tab: str) -> int:
        return int(self.sheets[tab]["properties"].get("gridProperties", {}).get("frozenRowCount", 0) or 0)

    def add(self, title: str, rows: int, cols: int, freeze: int) -> dict:
        sid, self.next_id = self.next_id, self.next_id + 1
        rows, cols = max(rows, MIN_NEW_ROWS), max(cols, 26)
        grid: dict = {"rowCount": rows, "columnCount": cols}
        if freeze:
            grid["frozenRowCount"] = freeze
        self.ids[title], self.rows[title], self.cols[title] = sid, rows, cols
        return {"addSheet": {"properties": {"sheetId": sid, "title": title, "gridProperties": grid}}}

    def grow(self, tab: str, rows: int, cols: int) -> list[dict]:
        """updateSheetProperties when the grid is smaller than rows × cols."""
        r, c = self.rows[tab], self.cols[tab]
        if rows <= r and cols <= c:
            return []
        self.rows[tab] = max(rows, r + MIN_NEW_ROWS) if rows > r else r
        self.cols[tab] = max(c, cols)
        props = {"sheetId": self.ids[tab], "gridProperties": {"rowCount": self.rows[tab], "columnCount": self.cols[tab]}}
        return [{"updateSheetProperties": {"properties": props, "fields": "gridProperties.rowCount,gridProperties.columnCount"}}]

    def room(self, tab: str, last_row: int) -> list[dict]:
        """appendDimension so that row `last_row` exists (with a margin for later runs)."""
        if last_row <= self.rows[tab]:
            return []
        add = max(last_row - self.rows[tab], MIN_NEW_ROWS)
        self.rows[tab] += add
        return [{"appendDimension": {"sheetId": self.ids[tab], "dimension": "ROWS", "length": add}}]


@dataclass
class _Seen:
    """The re-read just before writing: lead-tab targets, log tails, log keys."""

    by_tab: dict[str, list[CellUpdate]] = field(default_factory=dict)
    plans: dict[str, plan.ReadPlan] = field(default_factory=dict)
    now: dict[str, plan.Reread] = field(default_factory=dict)
    tails: dict[str, list[list[Any]]] = field(default_factory=dict)
    keys: dict[str, set[str]] = field(default_factory=dict)

    def store(self, kind: str, tab: str, arg: Any, vals: list[list[Any]]) -> None:
        if kind == "grid":
            self.now[tab].grid = vals
        elif kind == "col":
            self.now[tab].columns[arg] = plan.column_values(vals)
        elif kind == "row":
            self.now[tab].rows[arg] = list(vals[0]) if vals else []
        elif kind == "tail":
            self.tails[tab] = vals
        else:
            self.keys[tab] = {plan.key_text(v) for v in plan.column_values(vals) if plan.key_text(v)}


# ---------------------------------------------------------------- helpers


def _grid_sheets(meta: dict) -> list[dict]:
    return [s for s in meta.get("sheets", []) if s["properties"].get("sheetType", "GRID") == "GRID"]


def _first_sheet_id(meta: dict) -> int | None:
    sheets = _grid_sheets(meta)
    return sheets[0]["properties"]["sheetId"] if sheets else None


def _chunks(data: list[dict], limit: int) -> Iterator[list[dict]]:
    chunk: list[dict] = []
    size = 0
    for d in data:
        n = len(json.dumps(d))  # as requests sends it: ASCII, \u-escaped
        if chunk and size + n > limit:
            yield chunk
            chunk, size = [], 0
        chunk.append(d)
        size += n
    if chunk:
        yield chunk


def _grid(sheet_id: int, r1: int, c1: int, r2: int | None = None, c2: int | None = None) -> dict:
    """1-based inclusive → Sheets' 0-based half-open GridRange."""
    return {"sheetId": sheet_id, "startRowIndex": r1 - 1, "endRowIndex": r2 or r1,
            "startColumnIndex": c1 - 1, "endColumnIndex": c2 or c1}


def _freeze(sheet_id: int, rows: int) -> dict:
    return {"updateSheetProperties": {"properties": {"sheetId": sheet_id, "gridProperties": {"frozenRowCount": rows}},
                                      "fields": "gridProperties.frozenRowCount"}}


def _cell_data(value: Any) -> dict:
    """A value as CellData: text is a stringValue (never parsed, so `=...` stays text),
    a date a serial number carrying the date format."""
    v = plan.to_api(value)
    if v == "":
        return {}
    if isinstance(v, bool):
        return {"userEnteredValue": {"boolValue": v}}
    if isinstance(v, (int, float)):
        cd: dict = {"userEnteredValue": {"numberValue": v}}
        if isinstance(value, dt.date):
            cd["userEnteredFormat"] = {"numberFormat": DATE_FORMAT}
        return cd
    return {"userEnteredValue": {"stringValue": str(v)}}


def _fields(values: Any) -> str:
    # The number format only where a date is written: other cells keep theirs.
    dated = any(isinstance(v, dt.date) for v in values)
    return "userEnteredValue,userEnteredFormat.numberFormat" if dated else "userEnteredValue"


def _update_cells(sheet_id: int, row: int, col: int, values: list[Any]) -> list[dict]:
    """updateCells for one horizontal run, split where dates start or stop."""
    out: list[dict] = []
    i = 0
    while i < len(values):
        j = i + 1
        dated = isinstance(values[i], dt.date)
        while j < len(values) and isinstance(values[j], dt.date) == dated:
            j += 1
        part = values[i:j]
        out.append({"updateCells": {
            "start": {"sheetId": sheet_id, "rowIndex": row - 1, "columnIndex": col - 1 + i},
            "rows": [{"values": [_cell_data(v) for v in part]}], "fields": _fields(part)}})
        i = j
    return out


def _append_cells(sheet_id: int, rows: list[tuple[Any, ...]]) -> dict:
    data = []
    for row in rows:
        cells = [_cell_data(v) for v in row]
        while cells and not cells[-1]:
            cells.pop()
        data.append({"values": cells})
    return {"appendCells": {"sheetId": sheet_id, "rows": data, "fields": _fields(v for r in rows for v in r)}}


def _marker(sheet_id: int, name: str) -> dict:
    return {"addNamedRange": {"namedRange": {"name": name, "range": _grid(sheet_id, 1, 1)}}}


def _dropdowns(et: Any, sheet_id: int, grid: list[list[Any]], named: dict) -> list[dict]:
    if not et.dropdowns:
        return []
    header = [str(h) for h in (grid[0] if grid else et.headers)]
    name = plan.marker_name("dropdowns", et.tab, et.dropdowns, header)
    if name in named:
        return []
    out = []
    for h, allowed in et.dropdowns:
        if h not in header:
            continue
        col = header.index(h) + 1
        out.append({"setDataValidation": {
            "range": {"sheetId": sheet_id, "startRowIndex": 1, "startColumnIndex": col - 1, "endColumnIndex": col},
            "rule": {"condition": {"type": "ONE_OF_LIST", "values": [{"userEnteredValue": v} for v in allowed]},
                     "strict": False, "showCustomUi": True}}})
    return out + [_marker(sheet_id, name)] if out else []


def _protect(sheet: dict | None, sheet_id: int, description: str, cols: tuple[int, int] | None) -> list[dict]:
    for pr in (sheet or {}).get("protectedRanges", []) or []:
        if pr.get("description") == description:
            return []
    rng: dict = {"sheetId": sheet_id}
    if cols:
        rng.update(startColumnIndex=cols[0] - 1, endColumnIndex=cols[1])
    return [{"addProtectedRange": {"protectedRange": {"range": rng, "description": description, "warningOnly": True}}}]


_STYLES: dict[str, dict] = {
    "title": {"textFormat": {"bold": True, "fontSize": 14}},
    "subtitle": {"textFormat": {"bold": True, "fontSize": 11}},
    "header": {"textFormat": {"bold": True}, "backgroundColor": {"red": 0.9, "green": 0.92, "blue": 0.95}},
    "percent": {"numberFormat": {"type": "PERCENT", "pattern": "0.0%"}},
    "date": {"numberFormat": DATE_FORMAT},
    "integer": {"numberFormat": {"type": "NUMBER", "pattern": "#,##0"}},
    "decimal": {"numberFormat": {"type": "NUMBER", "pattern": "#,##0.00"}},
    "bold": {"textFormat": {"bold": True}},
    "note": {"textFormat": {"italic": True, "foregroundColor": {"red": 0.4, "green": 0.4, "blue": 0.4}}},
}


def _layout_formats(lay: SheetLayout, sheet_id: int, sheet: dict | None, named: dict, fresh: set[int]) -> list[dict]:
    """Formats, widths, merges and frozen rows of a summary tab. A named-range marker
    records that this tab's formats follow its layout (widths, frozen rows, charts): then
    only the `fresh` rows (1-based; new or rewritten) get theirs, since rows that merely
    moved carry their formats along. Without it, everything is set."""
    prefix = plan.marker_name("layout", lay.tab)[:-8]
    name = prefix + plan.marker_name("rows", lay.col_widths, lay.freeze_rows, [c.key for c in lay.charts])[-8:]
    if name in named:
        return _row_formats(lay, sheet_id, fresh)
    reqs: list[dict] = [{"repeatCell": {"range": {"sheetId": sheet_id}, "cell": {"userEnteredFormat": {}}, "fields": "userEnteredFormat"}}]
    reqs.extend(_styles(sheet_id, lay.styles))
    for i, w in enumerate(lay.col_widths):
        reqs.append({"updateDimensionProperties": {
            "range": {"sheetId": sheet_id, "dimension": "COLUMNS", "startIndex": i, "endIndex": i + 1},
            "properties": {"pixelSize": int(w * 7 + 10)}, "fields": "pixelSize"}})
    reqs.append({"unmergeCells": {"range": {"sheetId": sheet_id}}})
    for r1, c1, r2, c2 in lay.merges:
        reqs.append({"mergeCells": {"range": _grid(sheet_id, r1, c1, r2, c2), "mergeType": "MERGE_ALL"}})
    frozen = ((sheet or {}).get("properties", {}).get("gridProperties", {}) or {}).get("frozenRowCount", 0)
    if lay.freeze_rows != frozen:
        reqs.append(_freeze(sheet_id, lay.freeze_rows))
    for old in named:
        if old and old.startswith(prefix) and old != name:
            reqs.append({"deleteNamedRange": {"namedRangeId": named[old].get("namedRangeId")}})
    reqs.append(_marker(sheet_id, name))
    return reqs


def _row_formats(lay: SheetLayout, sheet_id: int, fresh: set[int]) -> list[dict]:
    """The formats and merges of rows `fresh` only: cleared, then set."""
    if not fresh:
        return []
    reqs: list[dict] = []
    for r1, r2 in _spans(sorted(fresh)):
        rng = {"sheetId": sheet_id, "startRowIndex": r1 - 1, "endRowIndex": r2}
        reqs.append({"repeatCell": {"range": rng, "cell": {"userEnteredFormat": {}}, "fields": "userEnteredFormat"}})
        reqs.append({"unmergeCells": {"range": rng}})
    reqs.extend(_styles(sheet_id, [s for s in lay.styles if s[0] in fresh]))
    for r1, c1, r2, c2 in lay.merges:
        if r1 in fresh:
            reqs.append({"mergeCells": {"range": _grid(sheet_id, r1, c1, r2, c2), "mergeType": "MERGE_ALL"}})
    return reqs


def _spans(rows: list[int]) -> list[tuple[int, int]]:
    """Sorted row numbers as inclusive runs of consecutive rows."""
    out: list[tuple[int, int]] = []
    for r in rows:
        if out and out[-1][1] == r - 1:
            out[-1] = (out[-1][0], r)
        else:
            out.append((r, r))
    return out


def _styles(sheet_id: int, styles: Any) -> list[dict]:
    """One repeatCell per style per column per run of consecutive rows."""
    by: dict[tuple[str, int], list[int]] = {}
    for r, c, style in styles:
        if style in _STYLES:
            by.setdefault((style, c), []).append(r)
    out = []
    for (style, c), rows in by.items():
        fmt = _STYLES[style]
        for r1, r2 in _spans(sorted(set(rows))):
            out.append({"repeatCell": {"range": _grid(sheet_id, r1, c, r2, c), "cell": {"userEnteredFormat": fmt},
                                       "fields": ",".join(f"userEnteredFormat.{k}" for k in fmt)}})
    return out


def _chart(ch: ChartSpec, sheet_id: int) -> dict:
    def src(r: tuple[int, int, int, int]) -> dict:
        return {"sourceRange": {"sources": [_grid(sheet_id, r[0], r[1], r[2], r[3])]}}

    spec = {
        "chartType": "BAR" if ch.kind == "bar" else "COLUMN",
        "legendPosition": "BOTTOM_LEGEND",
        "headerCount": 1,
        "domains": [{"domain": src(ch.categories)}],
        "series": [{"series": src(s), "targetAxis": "BOTTOM_AXIS" if ch.kind == "bar" else "LEFT_AXIS"} for s in ch.series],
    }
    if ch.kind == "stacked_column":
        spec["stackedType"] = "STACKED"
    return {"addChart": {"chart": {
        "spec": {"title": ch.title, "basicChart": spec},
        "position": {"overlayPosition": {"anchorCell": {"sheetId": sheet_id, "rowIndex": ch.anchor[0] - 1, "columnIndex": ch.anchor[1] - 1},
                                         "widthPixels": ch.width, "heightPixels": ch.height}}}}}
