"""State and behaviour of the fake Sheets/Drive API. Every public method of
``SheetsBackend`` expects the caller to hold ``backend.lock``; errors are raised as
``SheetsError`` carrying Google's HTTP code, status and message."""
from __future__ import annotations

import copy
import datetime as _dt
import random
import secrets
import string
import threading
from typing import Any

from . import a1
from .values import Cell, ErrorValue, Evaluator, json_number, parse_raw, parse_user_entered, render

MAX_CELLS = 10_000_000
MAX_CELL_CHARS = 50_000
SPREADSHEET_MIME = "application/vnd.google-apps.spreadsheet"

STATUS_BY_CODE = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    409: "ALREADY_EXISTS",
    429: "RESOURCE_EXHAUSTED",
    500: "INTERNAL",
    501: "UNIMPLEMENTED",
    503: "UNAVAILABLE",
}
DEFAULT_MESSAGES = {
    400: "Request contains an invalid argument.",
    401: "Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential. See https://developers.google.com/identity/sign-in/web/devconsole-project.",
    403: "The caller does not have permission",
    404: "Requested entity was not found.",
    429: "Quota exceeded for quota metric 'Requests' and limit 'Requests per minute per user' of service 'sheets.googleapis.com'.",
    500: "Internal error encountered.",
    503: "The service is currently unavailable.",
}


class SheetsError(Exception):
    """An API error in Google's envelope."""

    def __init__(self, code: int, message: str | None = None, status: str | None = None, details=None, drive=None):
        self.code = code
        self.message = message or DEFAULT_MESSAGES.get(code, "Error")
        self.status = status or STATUS_BY_CODE.get(code, "UNKNOWN")
        self.details = details
        self.drive = drive  # Drive v3 uses an "errors" list instead of "status"
        super().__init__(f"{code} {self.status}: {self.message}")

    def body(self) -> dict:
        if self.drive:
            return {"error": {"code": self.code, "message": self.message, "errors": [dict(self.drive, message=self.message)]}}
        err: dict[str, Any] = {"code": self.code, "message": self.message, "status": self.status}
        if self.details:
            err["details"] = self.details
        return {"error": err}


def bad_request(msg: str) -> SheetsError:
    return SheetsError(400, msg)


def cell_too_long() -> str:
    return f"Your input contains more than the maximum of {MAX_CELL_CHARS} characters in a single cell."


DEFAULT_FORMAT = {
    "backgroundColor": {"red": 1, "green": 1, "blue": 1},
    "padding": {"top": 2, "right": 3, "bottom": 2, "left": 3},
    "verticalAlignment": "BOTTOM",
    "wrapStrategy": "OVERFLOW_CELL",
    "textFormat": {
        "foregroundColor": {},
        "fontFamily": "arial,sans,sans-serif",
        "fontSize": 10,
        "bold": False,
        "italic": False,
        "strikethrough": False,
        "underline": False,
        "foregroundColorStyle": {"rgbColor": {}},
    },
    "backgroundColorStyle": {"rgbColor": {"red": 1, "green": 1, "blue": 1}},
}
_THEME = [
    ("TEXT", {}), ("BACKGROUND", {"red": 1, "green": 1, "blue": 1}),
    ("ACCENT1", {"red": 0.25882354, "green": 0.52156866, "blue": 0.95686275}),
    ("ACCENT2", {"red": 0.91764706, "green": 0.2627451, "blue": 0.20784314}),
    ("ACCENT3", {"red": 0.9843137, "green": 0.7372549, "blue": 0.015686275}),
    ("ACCENT4", {"red": 0.20392157, "green": 0.65882355, "blue": 0.3254902}),
    ("ACCENT5", {"red": 1, "green": 0.42745098, "blue": 0.003921569}),
    ("ACCENT6", {"red": 0.27450982, "green": 0.7411765, "blue": 0.7764706}),
    ("LINK", {"red": 0.06666667, "green": 0.33333334, "blue": 0.8}),
]
DEFAULT_THEME = {
    "primaryFontFamily": "Arial",
    "themeColors": [{"colorType": t, "color": {"rgbColor": c}} for t, c in _THEME],
}


def now_rfc3339() -> str:
    t = _dt.datetime.now(_dt.UTC)
    return t.strftime("%Y-%m-%dT%H:%M:%S.") + f"{t.microsecond // 1000:03d}Z"


def new_id() -> str:
    alphabet = string.ascii_letters + string.digits + "-_"
    return "1" + "".join(secrets.choice(alphabet) for _ in range(43))


class Sheet:
    def __init__(self, sheet_id: int, title: str, index: int, rows: int = 1000, cols: int = 26):
        self.props: dict[str, Any] = {
            "sheetId": sheet_id,
            "title": title,
            "index": index,
            "sheetType": "GRID",
            "gridProperties": {"rowCount": rows, "columnCount": cols},
        }
        self.cells: dict[tuple[int, int], Cell] = {}
        self.merges: list[dict] = []
        self.protected: list[dict] = []
        self.basic_filter: dict | None = None
        self.charts: list[dict] = []
        self.conditional_formats: list[dict] = []
        self.row_groups: list[dict] = []
        self.col_groups: list[dict] = []
        self.row_meta: dict[int, dict] = {}
        self.col_meta: dict[int, dict] = {}

    @property
    def id(self) -> int:
        return self.props["sheetId"]

    @property
    def title(self) -> str:
        return self.props["title"]

    @property
    def rows(self) -> int:
        return self.props["gridProperties"]["rowCount"]

    @property
    def cols(self) -> int:
        return self.props["gridProperties"]["columnCount"]

    def set_grid(self, rows=None, cols=None):
        gp = self.props["gridProperties"]
        if rows is not None:
            gp["rowCount"] = rows
            self.cells = {k: v for k, v in self.cells.items() if k[0] < rows}
        if cols is not None:
            gp["columnCount"] = cols
            self.cells = {k: v for k, v in self.cells.items() if k[1] < cols}

    def snapshot(self) -> Sheet:
        # Cells are copy-on-write (never mutated in place), so a shallow dict copy
        # is a consistent snapshot for batchUpdate rollback.
        s = copy.copy(self)
        s.props = copy.deepcopy(self.props)
        s.cells = dict(self.cells)
        for name in ("merges", "protected", "charts", "conditional_formats", "row_groups", "col_groups"):
            setattr(s, name, copy.deepcopy(getattr(self, name)))
        s.basic_filter = copy.deepcopy(self.basic_filter)
        s.row_meta = copy.deepcopy(self.row_meta)
        s.col_meta = copy.deepcopy(self.col_meta)
        return s


class Spreadsheet:
    def __init__(self, sid: str, title: str, owner: str | None):
        self.id = sid
        self.props: dict[str, Any] = {
            "title": title,
            "locale": "en_US",
            "autoRecalc": "ON_CHANGE",
            "timeZone": "Etc/GMT",
            "defaultFormat": copy.deepcopy(DEFAULT_FORMAT),
            "spreadsheetTheme": copy.deepcopy(DEFAULT_THEME),
        }
        self.sheets: list[Sheet] = []
        self.named_ranges: list[dict] = []
        self.owner = owner
        self.permissions: dict[str, str] = {}  # email -> role ("owner" | "writer" | "reader")
        if owner:
            self.permissions[owner] = "owner"
        self.anyone: str | None = None
        self.created = now_rfc3339()
        self.modified = self.created
        self.next_protected_id = random.randint(10**8, 2 * 10**9)

    @property
    def title(self) -> str:
        return self.props["title"]

    def touch(self):
        self.modified = now_rfc3339()

    def role(self, email: str | None) -> str | None:
        if email is None:  # admin access
            return "owner"
        return self.permissions.get(email) or self.anyone

    def sheet_by_title(self, title: str) -> Sheet | None:
        for s in self.sheets:
            if s.title == title:
                return s
        return None

    def sheet_by_id(self, sheet_id) -> Sheet | None:
        for s in self.sheets:
            if s.id == sheet_id:
                return s
        return None

    def total_cells(self, skip=None) -> int:
        return sum(s.rows * s.cols for s in self.sheets if s is not skip)

    def reindex(self):
        for i, s in enumerate(self.sheets):
            s.props["index"] = i

    def snapshot(self) -> tuple:
        """Everything a request may change, for rollback (see ``restore``)."""
        return ([s.snapshot() for s in self.sheets], copy.deepcopy(self.props), copy.deepcopy(self.named_ranges), self.next_protected_id)

    def restore(self, snap: tuple) -> None:
        self.sheets, self.props, self.named_ranges, self.next_protected_id = snap


class SheetsBackend:
    """The one store. Hold ``lock`` around every call."""

    def __init__(self):
        self.lock = threading.RLock()
        self.rng = random.Random()
        self.reset()

    def reset(self):
        self.spreadsheets: dict[str, Spreadsheet] = {}

    # ------------------------------------------------------------ spreadsheets

    def create_spreadsheet(self, title: str, owner: str | None, tabs: dict | None = None, sid: str | None = None) -> Spreadsheet:
        ss = Spreadsheet(sid or new_id(), title, owner)
        if not tabs:
            ss.sheets.append(Sheet(0, "Sheet1", 0))
        else:
            for i, (name, rows) in enumerate(tabs.items()):
                rows = rows or []
                nrows = max(1000, len(rows))
                ncols = max(26, max((len(r) for r in rows), default=0))
                sh = Sheet(0 if i == 0 else self._new_sheet_id(ss), name, i, nrows, ncols)
                ss.sheets.append(sh)
                for r, row in enumerate(rows):
                    for c, v in enumerate(row):
                        cell = parse_user_entered(v)
                        if cell is not None:
                            sh.cells[(r, c)] = cell
        self.spreadsheets[ss.id] = ss
        return ss

    def _new_sheet_id(self, ss: Spreadsheet) -> int:
        while True:
            n = self.rng.randint(1, 2**31 - 1)
            if ss.sheet_by_id(n) is None:
                return n

    def get(self, sid: str, user: str | None, write: bool = False, drive: bool = False) -> Spreadsheet:
        ss = self.spreadsheets.get(sid)
        role = ss.role(user) if ss else None
        if ss is None or role is None:
            if drive:
                raise SheetsError(404, f"File not found: {sid}.", drive={"domain": "global", "reason": "notFound", "locationType": "parameter", "location": "fileId"})
            if ss is None:
                raise SheetsError(404, "Requested entity was not found.")
            raise SheetsError(403, "The caller does not have permission")
        if write and role == "reader":
            if drive:
                raise SheetsError(403, "The user does not have sufficient permissions for this file.", drive={"domain": "global", "reason": "insufficientFilePermissions"})
            raise SheetsError(403, "The caller does not have permission")
        return ss

    # ------------------------------------------------------------ ranges

    def resolve(self, ss: Spreadsheet, text: str, clamp: bool = True):
        """Range text -> (sheet, r1, c1, r2, c2) with open ends filled from the grid."""
        rng = self.parse_range(ss, text)
        if rng.title is None:
            sheet = ss.sheets[0]
        else:
            sheet = ss.sheet_by_title(rng.title)
            if sheet is None:
                raise bad_request(f"Unable to parse range: {text}")
        r1 = rng.r1 or 0
        c1 = rng.c1 or 0
        r2 = rng.r2 if rng.r2 is not None else sheet.rows
        c2 = rng.c2 if rng.c2 is not None else sheet.cols
        if clamp:
            if r1 >= sheet.rows or c1 >= sheet.cols:
                raise bad_request(self._grid_msg(sheet, text))
            r2, c2 = min(r2, sheet.rows), min(c2, sheet.cols)
        return sheet, r1, c1, r2, c2

    def parse_range(self, ss: Spreadsheet, text: str) -> a1.A1Range:
        """A1 text, a sheet title, or a named range (``Name`` or ``'Sheet1'!Name``)."""
        titles = [s.title for s in ss.sheets]
        try:
            title, rest = a1.split_title(text)
            if title is not None or text.strip() not in titles:
                nr = next((n for n in ss.named_ranges if n.get("name", "").lower() == rest.strip().lower()), None)
                if nr is not None:
                    return self._named(ss, nr, title, text)
            return a1.parse(text, titles)
        except a1.A1Error:
            raise bad_request(f"Unable to parse range: {text}") from None

    @staticmethod
    def _named(ss: Spreadsheet, nr: dict, title: str | None, text: str) -> a1.A1Range:
        gr = nr.get("range") or {}
        sheet = ss.sheet_by_id(gr.get("sheetId", 0))
        if sheet is None or (title is not None and title != sheet.title):
            raise a1.A1Error(text)
        return a1.A1Range(sheet.title, gr.get("startRowIndex"), gr.get("startColumnIndex"), gr.get("endRowIndex"), gr.get("endColumnIndex"))

    @staticmethod
    def _grid_msg(sheet: Sheet, text: str) -> str:
        try:
            _, rest = a1.split_title(text)
        except a1.A1Error:
            rest = ""
        if rest == sheet.title:
            rest = ""
        shown = "'" + sheet.title.replace("'", "''") + "'" + ("!" + rest if rest else "")
        return f"Range ({shown}) exceeds grid limits. Max rows: {sheet.rows}, max columns: {sheet.cols}"

    # ------------------------------------------------------------ evaluation

    def effective(self, sheet: Sheet, r: int, c: int, cache: dict, depth: int = 0):
        cell = sheet.cells.get((r, c))
        if cell is None:
            return None
        if cell.formula is None:
            return cell.value
        key = (sheet.id, r, c)
        if key in cache:
            return cache[key]
        if depth > 50:
            return ErrorValue("#REF!", "REF", "Circular dependency detected.")
        cache[key] = ErrorValue("#REF!", "REF", "Circular dependency detected.")
        ev = Evaluator(lambda rr, cc: self.effective(sheet, rr, cc, cache, depth + 1))
        v = ev.evaluate(cell.formula)
        cache[key] = v
        return v

    # ------------------------------------------------------------ values API

    def values_get(self, ss, text, major="ROWS", render_opt="FORMATTED_VALUE", dt_opt="SERIAL_NUMBER") -> dict:
        sheet, r1, c1, r2, c2 = self.resolve(ss, text)
        render_opt = render_opt or "FORMATTED_VALUE"
        dt_opt = dt_opt or "SERIAL_NUMBER"
        cache: dict = {}
        grid: list[list] = []
        # Only visit stored cells: reading A:Z of a 1000-row sheet stays cheap.
        present = {}
        for (r, c) in sheet.cells:
            if r1 <= r < r2 and c1 <= c < c2:
                present.setdefault(r, []).append(c)
        rows_out: dict[int, dict[int, Any]] = {}
        for r, cols in present.items():
            for c in cols:
                cell = sheet.cells[(r, c)]
                v = self.effective(sheet, r, c, cache)
                if cell.formula is None and (v is None or v == ""):
                    continue
                out = render(cell, v, render_opt, dt_opt)
                rows_out.setdefault(r - r1, {})[c - c1] = out
        if (major or "ROWS") == "COLUMNS":
            cols_out: dict[int, dict[int, Any]] = {}
            for r, row in rows_out.items():
                for c, v in row.items():
                    cols_out.setdefault(c, {})[r] = v
            rows_out = cols_out
        if rows_out:
            n = max(rows_out) + 1
            for i in range(n):
                row = rows_out.get(i, {})
                grid.append([row.get(j, "") for j in range(max(row) + 1)] if row else [])
        res = {"range": a1.fmt(sheet.title, r1, c1, r2, c2), "majorDimension": major or "ROWS"}
        if grid:
            res["values"] = grid
        return res

    def _check_cells_cap(self, ss, sheet, rows, cols):
        if ss.total_cells(skip=sheet) + rows * cols > MAX_CELLS:
            raise bad_request(f"This action would increase the number of cells in the workbook above the limit of {MAX_CELLS} cells.")

    def write_values(self, ss, text, values, input_option, major="ROWS", append_mode=False, counters=None, insert_rows=False) -> dict:
        if input_option not in ("RAW", "USER_ENTERED"):
            raise bad_request("'valueInputOption' is required but not specified")
        values = values or []
        if not isinstance(values, list) or any(not isinstance(r, list) for r in values):
            raise bad_request("Invalid values: expected a list of lists")
        _check_values(values)
        if (major or "ROWS") == "COLUMNS":
            width = max((len(r) for r in values), default=0)
            values = [[col[i] if i < len(col) else None for col in values] for i in range(width)]
        sheet, r1, c1, r2, c2 = self.resolve(ss, text, clamp=False)
        nrows = len(values)
        ncols = max((len(r) for r in values), default=0)
        explicit = self.parse_range(ss, text)
        if not append_mode:
            if r1 >= sheet.rows or c1 >= sheet.cols or r1 + nrows > sheet.rows or c1 + ncols > sheet.cols:
                raise bad_request(self._grid_msg(sheet, text))
            # The data must fit in an explicit range (a single cell is only an anchor).
            single = explicit.r2 is not None and explicit.c2 is not None and explicit.r2 - (explicit.r1 or 0) == 1 and explicit.c2 - (explicit.c1 or 0) == 1
            if not single and explicit.r2 is not None and r1 + nrows > r2:
                raise bad_request(f"Requested writing within range [{text}], but tried writing to row [{r2 + 1}]")
            if not single and explicit.c2 is not None and c1 + ncols > c2:
                raise bad_request(f"Requested writing within range [{text}], but tried writing to column [{a1.col_to_letters(c2)}]")
        parse = parse_user_entered if input_option == "USER_ENTERED" else parse_raw
        table_range = None
        if append_mode:
            r1, c1, table_range = self._append_start(sheet, explicit, r1, c1, r2, c2)
            need_rows = r1 + nrows
            need_cols = c1 + ncols
            if need_rows > sheet.rows or need_cols > sheet.cols:
                add_r = max(0, need_rows - sheet.rows)
                add_c = max(0, need_cols - sheet.cols)
                self._check_cells_cap(ss, sheet, sheet.rows + add_r, sheet.cols + add_c)
                sheet.set_grid(sheet.rows + add_r, sheet.cols + add_c)
            if insert_rows:
                self._shift(sheet, "ROWS", r1, nrows)
                sheet.set_grid(rows=sheet.rows + nrows)
        written = 0
        for i, row in enumerate(values):
            for j, raw in enumerate(row):
                if raw is None:
                    continue  # null means "leave this cell alone"
                key = (r1 + i, c1 + j)
                new = parse(raw)
                old = sheet.cells.get(key)
                written += 1
                if new is None:
                    if old is not None:
                        _clear_value(sheet, key)
                    continue
                if old is not None:
                    new.note, new.validation = old.note, old.validation
                    new.format = old.format
                    if new.number_format is None and old.number_format and not isinstance(new.value, str):
                        new.number_format = old.number_format
                sheet.cells[key] = new
        if counters is not None:
            counters["cells_written"] = counters.get("cells_written", 0) + written
        ss.touch()
        res: dict[str, Any] = {"spreadsheetId": ss.id}
        if nrows and ncols:
            touched_cols = {j for row in values for j, v in enumerate(row) if v is not None}
            res.update(
                updatedRange=a1.fmt(sheet.title, r1, c1, r1 + nrows, c1 + ncols),
                updatedRows=sum(1 for r in values if any(v is not None for v in r)),
                updatedColumns=len(touched_cols),
                updatedCells=written,
            )
            res["_cells"] = {(r1 + i, c1 + j) for i, row in enumerate(values) for j, v in enumerate(row) if v is not None}
        else:
            res["updatedRange"] = a1.fmt(sheet.title, r1, c1, r1 + 1, c1 + 1)
        if append_mode:
            out = {"spreadsheetId": ss.id}
            if table_range:
                out["tableRange"] = table_range
            out["updates"] = res
            return out
        return res

    def _append_start(self, sheet, explicit, r1, c1, r2, c2):
        """Find where values:append writes: below the table found in the range.
        A single-cell range anchors the table at that cell (an empty anchor is written
        directly); otherwise the table is the right-most run of non-empty cells in the
        first row holding data, extended down while rows have data in its columns.
        Rows are written from the table's first column, as Google does."""
        has = lambda r, c: (lambda cell: cell is not None and cell.has_value())(sheet.cells.get((r, c)))
        single = explicit.r2 is not None and explicit.c2 is not None and explicit.r2 - explicit.r1 == 1 and explicit.c2 - explicit.c1 == 1
        span_end = sheet.cols if single else min(c2, sheet.cols)
        if single:
            if not has(r1, c1):
                return r1, c1, None
            start, tc1 = r1, c1
        else:
            rows_with = sorted({r for (r, c), cell in sheet.cells.items() if c1 <= c < span_end and r1 <= r < r2 and cell.has_value()})
            if not rows_with:
                return r1, c1, None
            start = rows_with[0]
            filled = sorted(c for (r, c), cell in sheet.cells.items() if r == start and c1 <= c < span_end and cell.has_value())
            tc1 = filled[-1]
            while tc1 - 1 >= c1 and has(start, tc1 - 1):
                tc1 -= 1
        tc2 = tc1
        while tc2 < span_end and has(start, tc2):
            tc2 += 1
        end = start + 1
        while end < sheet.rows and any(has(end, c) for c in range(tc1, tc2)):
            end += 1
        return end, tc1, a1.fmt(sheet.title, start, tc1, end, tc2)

    def values_clear(self, ss, text) -> dict:
        sheet, r1, c1, r2, c2 = self.resolve(ss, text)
        for key in [k for k in sheet.cells if r1 <= k[0] < r2 and c1 <= k[1] < c2]:
            _clear_value(sheet, key)
        ss.touch()
        return {"spreadsheetId": ss.id, "clearedRange": a1.fmt(sheet.title, r1, c1, r2, c2)}

    # ------------------------------------------------------------ grid helpers

    def _shift(self, sheet: Sheet, dim: str, start: int, count: int):
        """Insert (count>0) or delete (count<0) rows/columns at ``start``."""
        idx = 0 if dim == "ROWS" else 1
        new = {}
        for k, v in sheet.cells.items():
            p = k[idx]
            if count < 0 and start <= p < start - count:
                continue
            if p >= start:
                p += count
            nk = (p, k[1]) if idx == 0 else (k[0], p)
            new[nk] = v
        sheet.cells = new
        meta = sheet.row_meta if dim == "ROWS" else sheet.col_meta
        moved = {}
        for p, m in meta.items():
            if count < 0 and start <= p < start - count:
                continue
            moved[p + count if p >= start else p] = m
        meta.clear()
        meta.update(moved)
        key_s, key_e = ("startRowIndex", "endRowIndex") if dim == "ROWS" else ("startColumnIndex", "endColumnIndex")
        for gr in list(sheet.merges):
            s, e = gr.get(key_s, 0), gr.get(key_e, 0)
            if count < 0:
                lo, hi = start, start - count
                ns = s - max(0, min(s, hi) - lo) if s > lo else s
                ne = e - max(0, min(e, hi) - lo) if e > lo else e
            else:
                ns = s + count if s >= start else s
                ne = e + count if e > start else e
            if ne <= ns:
                sheet.merges.remove(gr)
            else:
                gr[key_s], gr[key_e] = ns, ne

    def grid_range(self, ss: Spreadsheet, gr: dict, where: str):
        sheet = ss.sheet_by_id(gr.get("sheetId", 0))
        if sheet is None:
            raise bad_request(f"Invalid {where}: No grid with id: {gr.get('sheetId', 0)}")
        r1 = gr.get("startRowIndex", 0)
        r2 = gr.get("endRowIndex", sheet.rows)
        c1 = gr.get("startColumnIndex", 0)
        c2 = gr.get("endColumnIndex", sheet.cols)
        if r1 < 0 or c1 < 0 or r2 > sheet.rows or c2 > sheet.cols or r1 > r2 or c1 > c2:
            raise bad_request(
                f"Invalid {where}: Range ('{sheet.title}'!"
                f"{a1.col_to_letters(c1)}{r1 + 1}:{a1.col_to_letters(max(c2 - 1, 0))}{r2}) exceeds grid limits. "
                f"Max rows: {sheet.rows}, max columns: {sheet.cols}"
            )
        return sheet, r1, c1, r2, c2

    # ------------------------------------------------------------ state dump

    def state(self, ss: Spreadsheet) -> dict:
        cache: dict = {}
        out = {
            "spreadsheetId": ss.id,
            "title": ss.title,
            "owner": ss.owner,
            "permissions": dict(ss.permissions),
            "namedRanges": copy.deepcopy(ss.named_ranges),
            "sheets": [],
        }
        for sh in ss.sheets:
            vals = self.values_get(ss, "'" + sh.title.replace("'", "''") + "'", render_opt="FORMATTED_VALUE")
            out["sheets"].append(
                {
                    "properties": copy.deepcopy(sh.props),
                    "values": vals.get("values", []),
                    "cells": {a1.col_to_letters(c) + str(r + 1): dict(cell.to_state(), effective=_plain(self.effective(sh, r, c, cache))) for (r, c), cell in sorted(sh.cells.items())},
                    "merges": copy.deepcopy(sh.merges),
                    "protectedRanges": copy.deepcopy(sh.protected),
                    "charts": copy.deepcopy(sh.charts),
                    "basicFilter": copy.deepcopy(sh.basic_filter),
                    "conditionalFormats": copy.deepcopy(sh.conditional_formats),
                }
            )
        return out


def _check_values(values: list) -> None:
    """Refuse a write before any cell changes: the write is all-or-nothing."""
    for i, row in enumerate(values):
        for j, raw in enumerate(row):
            if isinstance(raw, (dict, list)):
                raise bad_request(f"Invalid values[{i}][{j}]: {'struct_value' if isinstance(raw, dict) else 'list_value'} {{\n}}")
            if isinstance(raw, str) and len(raw) > MAX_CELL_CHARS:
                raise bad_request(cell_too_long())


def _plain(v):
    if isinstance(v, ErrorValue):
        return v.text
    if isinstance(v, float):
        return json_number(v)
    return v


def _clear_value(sheet, key) -> None:
    """Clearing a value keeps the cell's note, format and validation, as Google does."""
    old = sheet.cells[key]
    if old.note or old.format or old.validation:
        kept = old.copy()
        kept.value, kept.formula = None, None
        sheet.cells[key] = kept
    else:
        del sheet.cells[key]
