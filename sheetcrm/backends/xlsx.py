"""The .xlsx backend: calamine for fast reads, openpyxl for writes, atomic replace.

A sync that finds nothing to change costs one fast read and writes nothing. A sync that
changes cells loads the workbook with openpyxl (keeping other tabs, formatting, widths and
extra columns), applies the change set and saves to a temporary file in the same folder,
then renames it over the original, so a crash never leaves a half-written workbook.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import os
import re
import tempfile
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from filelock import FileLock, Timeout
from openpyxl import Workbook, load_workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import column_index_from_string, get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation

from ..changes import ChangeSet, EnsureTab
from ..errors import BackendError, LockHeldError, OfficeLockError, WorkbookError
from ..logs import log
from . import xlsx_preload
from .base import ApplyResult, RawSheet
from .office_lock import find_office_lock
from .xlsx_patch import can_patch, patch_appends, sheet_paths
from .xlsx_preload import Preload

DATE_FORMAT = "dd/mm/yyyy"
HEADER_FONT = Font(bold=True)
HEADER_FILL = PatternFill("solid", fgColor="DDEBF7")


class XlsxBackend:
    name = "xlsx"

    def __init__(self, path: str | Path, create: bool = False):
        self.path = Path(path)
        self.location = str(self.path)
        self.create = create
        self.api_calls = 0
        self._read_stamp: tuple[int, int] | None = None  # the file as read(): mtime, size
        self._preload: Preload | None = None

    # ------------------------------------------------------------------ checks
    def _check_file(self) -> None:
        p = self.path
        if p.suffix.lower() not in (".xlsx", ".xlsm"):
            raise WorkbookError(f"{p}: not an .xlsx workbook (expected a .xlsx file)")
        if not p.exists():
            if self.create:
                return
            raise WorkbookError(f"{p}: file not found")
        if p.is_dir():
            raise WorkbookError(f"{p}: is a folder, not a workbook")
        if not os.access(p, os.R_OK):
            raise WorkbookError(f"{p}: cannot be read (permission denied)")
        if not zipfile.is_zipfile(p):
            raise WorkbookError(f"{p}: not an .xlsx workbook (the file is not a zip package)")
        try:
            with zipfile.ZipFile(p) as z:
                names = set(z.namelist())
        except (zipfile.BadZipFile, OSError) as exc:
            raise WorkbookError(f"{p}: not an .xlsx workbook (broken zip package: {exc})") from None
        if "xl/workbook.xml" not in names:
            raise WorkbookError(f"{p}: not an .xlsx workbook (the zip package has no xl/workbook.xml)")

    def _check_writable(self) -> None:
        lock = find_office_lock(self.path)
        if lock is not None and not lock.stale:
            raise OfficeLockError(f"{self.path}: is open in {lock.describe()} ({lock.why}); "
                                  "nothing was written, the next run writes once it is closed")
        if lock is not None:
            log.warning("%s: ignored a stale %s (%s)", self.path.name, lock.describe(), lock.why)
        folder = self.path.parent if self.path.parent != Path("") else Path(".")
        if self.path.exists() and not os.access(self.path, os.W_OK):
            raise WorkbookError(f"{self.path}: cannot be written (read-only file)")
        if not os.access(folder, os.W_OK):
            raise WorkbookError(f"{self.path}: its folder cannot be written")

    def _check_unchanged(self) -> None:
        """A person who saved the workbook while the sync ran must not lose that save: the
        plan was made from the older file, so write nothing; the next run converges."""
        if self._read_stamp is not None and _stamp(self.path) != self._read_stamp:
            raise BackendError(f"{self.path}: the workbook was saved by someone else during the sync; "
                               "nothing was written, run again")

    # ------------------------------------------------------------------ lock
    @contextlib.contextmanager
    def lock(self) -> Iterator[None]:
        lock_path = self.path.with_name(f".{self.path.name}.sheetcrm.lock")
        fl = FileLock(str(lock_path), timeout=0)
        try:
            fl.acquire()
        except Timeout:
            raise LockHeldError(f"{self.path}: another sync is running (lock {lock_path.name})") from None
        try:
            yield
        finally:
            if self._preload is not None:  # the sync stopped before writing
                self._preload.cancel()
                self._preload = None
            fl.release()
            with contextlib.suppress(OSError):
                lock_path.unlink()

    # ------------------------------------------------------------------ read
    def read(self) -> dict[str, RawSheet]:
        self._check_file()
        if not self.path.exists():
            return {}
        from python_calamine import CalamineError, CalamineWorkbook

        try:
            if self._read_stamp is None:
                self._read_stamp = _stamp(self.path)
            wb = CalamineWorkbook.from_path(str(self.path))
            errors = _error_cells(self.path)
            out = {}
            for name in wb.sheet_names:
                # calamine gives '' for empty cells and floats for numbers; the pipeline reads both.
                rows = wb.get_sheet_by_name(name).to_python(skip_empty_area=False)
                for (r, c), value in errors.get(name, {}).items():
                    if r <= len(rows) and c <= len(rows[r - 1]):
                        rows[r - 1][c - 1] = value
                out[name] = RawSheet(name, rows)
            return out
        except (CalamineError, ValueError, OSError) as exc:
            raise WorkbookError(f"{self.path}: cannot be read as a workbook ({exc})") from None

    def prepare_write(self) -> None:
        """Start loading the workbook for writing while the caller plans (see
        xlsx_preload); `apply` uses it or cancels it."""
        if self._preload is None and xlsx_preload.worthwhile(self.path):
            self._preload = Preload(self.path)

    # ------------------------------------------------------------------ cheap looks
    def tab_titles(self) -> list[str]:
        self._check_file()
        if not self.path.exists():
            return []
        with zipfile.ZipFile(self.path) as z:
            return list(sheet_paths(z))

    def read_tab(self, title: str) -> list[list[Any]]:
        """One tab's grid (the sync log), without reading the others."""
        from python_calamine import CalamineWorkbook

        return CalamineWorkbook.from_path(str(self.path)).get_sheet_by_name(title).to_python(
            skip_empty_area=False)

    def content_digest(self, exclude_title: str | None) -> str:
        """What every tab but `exclude_title` holds, from the package directory: each
        member's name, CRC-32 and size. No cell is read, so a run that finds the same input
        as the last one costs milliseconds; any save of the workbook changes it."""
        self._check_file()
        if not self.path.exists():
            return ""
        self._read_stamp = _stamp(self.path)
        with zipfile.ZipFile(self.path) as z:
            skip = sheet_paths(z).get(exclude_title) if exclude_title else None
            h = hashlib.blake2b(digest_size=12)
            for info in sorted(z.infolist(), key=lambda i: i.filename):
                if info.filename != skip:
                    h.update(f"{info.filename}:{info.CRC}:{info.file_size}\n".encode())
        return h.hexdigest()

    # ------------------------------------------------------------------ write
    def apply(self, changes: ChangeSet) -> ApplyResult:
        preload, self._preload = self._preload, None
        try:
            return self._apply(changes, preload)
        finally:
            if preload is not None:
                preload.cancel()  # unused, or already finished: nothing left to wait for

    def _apply(self, changes: ChangeSet, preload: Preload | None) -> ApplyResult:
        result = ApplyResult()
        if changes.is_empty():
            return result
        self._check_file()
        self._check_writable()
        self._check_unchanged()
        if self.path.exists() and can_patch(changes):
            patched = self._write_atomically(lambda tmp: patch_appends(self.path, Path(tmp), changes))
            if patched is not None:
                result.cells_written, result.rows_appended = patched
                result.wrote = True
                return result
        if preload is not None and self.path.exists():
            answer = None

            def write(tmp: str) -> bool:
                nonlocal answer
                answer = preload.write(changes, tmp)
                return answer is not None and answer[0] == "saved"

            self._write_atomically(write)
            if answer is not None:  # else the child failed: load here, as without it
                outcome, result.cells_written, result.rows_appended = answer
                result.wrote = outcome == "saved"
                return result
        if self.path.exists():
            try:
                wb = load_workbook(self.path)
            except Exception as exc:  # openpyxl raises many kinds for broken files
                raise WorkbookError(f"{self.path}: cannot be opened for writing ({exc})") from None
        else:
            wb = Workbook()
            wb.remove(wb.active)
        result.cells_written, result.rows_appended = apply_to_workbook(wb, changes)
        if not result.cells_written and not (changes.trims or changes.replacements):
            return result  # e.g. init found every dropdown in place: leave the file alone
        self._save(wb)
        result.wrote = True
        return result

    def _save(self, wb: Workbook) -> None:
        self._write_atomically(lambda tmp: wb.save(tmp) or True)

    def _write_atomically(self, write: Any) -> Any:
        """Run `write(tmp)` on a temp file beside the workbook, then rename it over the
        workbook (atomic on one filesystem). A falsy result discards the temp file."""
        fd, tmp = tempfile.mkstemp(prefix=f".{self.path.stem}.", suffix=".xlsx.tmp", dir=self.path.parent)
        os.close(fd)
        try:
            out = write(tmp)
            if not out:
                os.unlink(tmp)
                return out
            if self.path.exists():
                os.chmod(tmp, self.path.stat().st_mode & 0o777)
            self._check_unchanged()
            os.replace(tmp, self.path)
            return out
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise


def _error_cells(path: Path) -> dict[str, dict[tuple[int, int], str]]:
    """Error cells (#N/A, #REF!) by tab: calamine reads them as '' (python-calamine #105),
    which would hide them from validation. They are rare, so find each `t="e"` in the
    sheet XML and read its reference and value there, without parsing the whole sheet."""
    out: dict[str, dict[tuple[int, int], str]] = {}
    with zipfile.ZipFile(path) as z:
        for title, member in sheet_paths(z).items():
            xml = z.read(member)
            pos = xml.find(b't="e"')
            while pos >= 0:
                start = xml.rfind(b"<c ", 0, pos)
                end = xml.find(b"</c>", pos)
                cell = _ERROR_CELL.match(xml, start, end + 4) if start >= 0 and end >= 0 else None
                if cell:
                    row, col = int(cell.group(2)), column_index_from_string(cell.group(1).decode())
                    out.setdefault(title, {})[(row, col)] = cell.group(3).decode()
                pos = xml.find(b't="e"', pos + 5)
    return out


_ERROR_CELL = re.compile(rb'<c [^>]*?r="([A-Z]+)(\d+)"[^>]*>.*?<v>([^<]*)</v>', re.S)


def _stamp(path: Path) -> tuple[int, int] | None:
    try:
        st = path.stat()
    except FileNotFoundError:
        return None
    return st.st_mtime_ns, st.st_size


def _set(cell: Any, value: Any) -> None:
    """Write a value the way it came from a person: text stays text (a leading '=' never
    becomes a formula), dates get a date format."""
    if isinstance(value, str):
        cell.value = value
        cell.data_type = "s"
    elif isinstance(value, dt.datetime):
        cell.value = value
        cell.number_format = "dd/mm/yyyy hh:mm"
    elif isinstance(value, dt.date):
        cell.value = value
        cell.number_format = DATE_FORMAT
    else:
        cell.value = value


def _last_row(ws: Any) -> int:
    """The last row holding a value (openpyxl's max_row also counts formatted empty rows)."""
    for r in range(ws.max_row, 0, -1):
        for c in ws[r]:
            if c.value not in (None, ""):
                return r
    return 0


def _style_header(ws: Any, first_col: int, headers: tuple[str, ...]) -> None:
    for i, h in enumerate(headers):
        cell = ws.cell(row=1, column=first_col + i)
        _set(cell, h)
        cell.font = HEADER_FONT
        cell.fill = HEADER_FILL
        cell.alignment = Alignment(vertical="center", wrap_text=False)
        width = max(12, min(40, len(h) + 4))
        ws.column_dimensions[get_column_letter(first_col + i)].width = width


def _ensure_tab(wb: Workbook, t: EnsureTab) -> Any:
    ws = wb.create_sheet(t.tab)
    _style_header(ws, 1, t.headers)
    if t.freeze_rows:
        ws.freeze_panes = ws.cell(row=t.freeze_rows + 1, column=1)
    add_dropdowns(ws, t.headers, t.dropdowns)
    return ws


def add_dropdowns(ws: Any, headers: tuple[str, ...], dropdowns: tuple[tuple[str, tuple[str, ...]], ...]) -> None:
    for header, options in dropdowns:
        if header not in headers:
            continue
        col = get_column_letter(headers.index(header) + 1)
        # showErrorMessage off: the list helps, but free text (a reason as typed) stays allowed.
        dv = DataValidation(type="list", formula1='"' + ",".join(options) + '"', allow_blank=True,
                            showErrorMessage=False)
        dv.add(f"{col}2:{col}100000")
        ws.add_data_validation(dv)


def apply_to_workbook(wb: Workbook, changes: ChangeSet) -> tuple[int, int]:
    """Apply a change set to an open workbook; returns (cells written, rows appended)."""
    cells = 0
    appended = 0
    for t in changes.ensure_tabs:
        if t.tab not in wb.sheetnames:
            _ensure_tab(wb, t)
            cells += len(t.headers)
    for a in changes.add_columns:
        _style_header(wb[a.tab], a.first_col, a.headers)
        cells += len(a.headers)
    for f in changes.formats:
        ws = wb[f.tab]
        if f.freeze_rows and ws.freeze_panes is None:
            ws.freeze_panes = ws.cell(row=f.freeze_rows + 1, column=1)
            cells += 1
        have = {str(r).split(":")[0].rstrip("0123456789") for dv in ws.data_validations.dataValidation
                for r in dv.sqref.ranges}
        wanted = tuple((h, o) for h, o in f.dropdowns
                       if h in f.headers and get_column_letter(f.headers.index(h) + 1) not in have)
        add_dropdowns(ws, f.headers, wanted)
        cells += len(wanted)
    for u in changes.updates:
        _set(wb[u.tab].cell(row=u.row, column=u.col), u.value)
        cells += 1
    for a in changes.appends:
        if not a.rows:
            continue
        ws = wb[a.tab]
        last = _last_row(ws)
        rows = a.rows
        if a.key_col is not None:
            # Exactly once: rows whose event key is already logged are skipped.
            have = {ws.cell(row=r, column=a.key_col + 1).value for r in range(2, last + 1)}
            rows = tuple(r for r in rows if r[a.key_col] not in have)
        for i, values in enumerate(rows, start=last + 1):
            for j, v in enumerate(values, start=1):
                if v is not None:
                    _set(ws.cell(row=i, column=j), v)
                    cells += 1
        appended += len(rows)
    for t in changes.trims:
        ws = wb[t.tab]
        excess = _last_row(ws) - 1 - t.keep
        if excess > 0:
            ws.delete_rows(2, excess)
    for layout in changes.replacements:
        from .xlsx_layout import render_layout

        index = None
        if layout.tab in wb.sheetnames:
            index = wb.sheetnames.index(layout.tab)
            wb.remove(wb[layout.tab])
        ws = wb.create_sheet(layout.tab, index)
        render_layout(ws, layout)
        cells += sum(sum(v is not None for v in r) for r in layout.cells)
    return cells, appended
