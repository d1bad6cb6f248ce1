"""The .xlsx backend: calamine for fast reads, package patches for writes, atomic replace.

A sync that finds nothing to change costs one fast read and writes nothing. A sync that
changes cells edits only the parts it owns (see xlsx_patch): cells of the leads tab,
rows of the log tabs, the summary tabs. The result goes to a temporary file in the same
folder, then is renamed over the original, so a crash never leaves a half-written
workbook. A cell holding a formula is a person's value: it is read as its cached result
and never written.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import tempfile
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from filelock import FileLock, Timeout
from lxml import etree

from ..a1 import cell_name, col_letter
from ..changes import AppendRows, ChangeSet, EnsureTab, TabFormat
from ..errors import BackendError, LockHeldError, OfficeLockError, WorkbookError
from ..logs import log
from .base import ApplyResult, RawSheet
from .office_lock import find_office_lock
from .xlsx_patch import (
    CT_NS,
    MAIN,
    PKG_RELS,
    R_NS,
    Package,
    SheetXml,
    Styles,
    col_index,
    dump,
    edit_cells,
    edit_skeleton,
    insert_ordered,
    package_digest,
    parse,
    q,
    set_dimension,
    sheet_paths,
)

HEADER_FILL_RGB = "FFDDEBF7"


class XlsxBackend:
    name = "xlsx"

    def __init__(self, path: str | Path, create: bool = False):
        self.path = Path(path)
        self.location = str(self.path)
        self.create = create
        self.api_calls = 0
        self._read_stamp: tuple[int, int] | None = None  # the file as read(): mtime, size
        self._grids: dict[str, list[list[Any]]] = {}  # what read() or read_tab() found
        self._stamp: tuple[AppendRows, int, Callable[[str], str]] | None = None

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
            marks = _marked_cells(self.path)
            out = {}
            for name in wb.sheet_names:
                # calamine gives '' for empty cells and floats for numbers; the pipeline reads both.
                rows = wb.get_sheet_by_name(name).to_python(skip_empty_area=False)
                errors, formulas = marks.get(name, ({}, frozenset()))
                for (r, c), value in errors.items():
                    while len(rows) < r:
                        rows.append([])
                    if c > len(rows[r - 1]):
                        rows[r - 1].extend([""] * (c - len(rows[r - 1])))
                    rows[r - 1][c - 1] = value
                self._grids[name] = rows
                out[name] = RawSheet(name, rows, formulas)
            return out
        except (CalamineError, ValueError, OSError, etree.XMLSyntaxError, KeyError) as exc:
            raise WorkbookError(f"{self.path}: cannot be read as a workbook ({exc})") from None

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

        rows = CalamineWorkbook.from_path(str(self.path)).get_sheet_by_name(title).to_python(
            skip_empty_area=False)
        self._grids[title] = rows
        return rows

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
            return package_digest({i.filename: (i.CRC, i.file_size) for i in z.infolist()}, skip)

    def stamp_output_into(self, append: AppendRows, col: int, finish: Callable[[str], str]) -> None:
        """When `append` is written, put `finish(content)` in cell `col` of its first row,
        where `content` is `content_digest` of the workbook as this write leaves it (its tab
        excluded): the sync log records the state it left, so the next run that finds the
        file untouched knows it without reading the tabs (docs/tabs.md, sync log)."""
        self._stamp = (append, col, finish)

    # ------------------------------------------------------------------ write
    def apply(self, changes: ChangeSet) -> ApplyResult:
        result = ApplyResult()
        if changes.is_empty():
            return result
        self._check_file()
        self._check_writable()
        self._check_unchanged()
        src: Any = self.path if self.path.exists() else io.BytesIO(_empty_workbook())

        def write(tmp: str) -> bool:
            try:
                with zipfile.ZipFile(src) as z:
                    return _patch(z, Path(tmp), changes, self._grid, result, self._stamp)
            except (zipfile.BadZipFile, etree.XMLSyntaxError, KeyError, ValueError) as exc:
                raise WorkbookError(f"{self.path}: cannot be opened for writing ({exc})") from None

        result.wrote = bool(self._write_atomically(write))
        if result.wrote:
            # The file is now what this process wrote: a later apply in the same run (the
            # notifications log writes once per message) checks against this state, and
            # reads the tabs it appends to again.
            self._read_stamp = _stamp(self.path)
            for a in changes.appends:
                self._grids.pop(a.tab, None)
        return result

    def _grid(self, title: str) -> list[list[Any]]:
        if title not in self._grids and self.path.exists():
            try:
                self.read_tab(title)
            except Exception:  # a tab created by this very change set
                self._grids[title] = []
        return self._grids.get(title, [])

    def _write_atomically(self, write: Any) -> Any:
        """Run `write(tmp)` on a temp file beside the workbook, then rename it over the
        workbook (atomic on one filesystem). A falsy result discards the temp file."""
        folder = self.path.parent if str(self.path.parent) else Path(".")
        fd, tmp = tempfile.mkstemp(prefix=f".{self.path.stem}.", suffix=".xlsx.tmp", dir=folder)
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


def _stamp(path: Path) -> tuple[int, int] | None:
    try:
        st = path.stat()
    except FileNotFoundError:
        return None
    return st.st_mtime_ns, st.st_size


_CELL_R = re.compile(rb'\sr="([A-Z]+)(\d+)"')
_TEXT_TYPED = re.compile(rb'\st="(?:str|s|inlineStr)"')
_ERROR_V = re.compile(rb"<(?:\w+:)?v>([^<]*)</(?:\w+:)?v>")


def _marked_cells(path: Path) -> dict[str, tuple[dict[tuple[int, int], str], frozenset[tuple[int, int]]]]:
    """Per tab: cells whose value calamine cannot give (error values such as #N/A, which it
    reads as '' — python-calamine #105 — and formulas with no cached result), and every
    cell holding a formula. Both are rare or cheap to find: the sheet XML is searched for
    `t="e"` and formula elements and only those cells are looked at."""
    from ..sync.validate import UNCALCULATED

    out = {}
    with zipfile.ZipFile(path) as z:
        for title, member in sheet_paths(z).items():
            xml = z.read(member)
            p = (SheetXml(xml).prefix if b":worksheet" in xml[:2048] else "").encode()
            values: dict[tuple[int, int], str] = {}
            formulas = set()
            for pattern, is_formula in ((b't="e"', False), (b"<" + p + b"f", True)):
                for m in re.finditer(re.escape(pattern) + (rb"[\s>/]" if is_formula else b""), xml):
                    start = xml.rfind(b"<" + p + b"c ", 0, m.start())
                    end = xml.find(b"</" + p + b"c>", m.start())
                    if start < 0:
                        continue
                    close = xml.find(b">", start)
                    if end < 0 or xml.rfind(b"/>", start, close + 1) == close - 1:
                        end = close  # <c .../> holds no formula
                    ref = _CELL_R.search(xml, start, close)
                    if ref is None:
                        continue
                    rc = (int(ref.group(2)), col_index(ref.group(1).decode()))
                    v = _ERROR_V.search(xml, close, end)
                    if is_formula:
                        formulas.add(rc)
                        # No value, or an empty one in a cell not typed as text (openpyxl
                        # writes `<v></v>`; a formula giving "" is saved as t="str").
                        if v is None or (not v.group(1) and not _TEXT_TYPED.search(xml, start, close)):
                            values.setdefault(rc, UNCALCULATED)
                    elif v is not None:
                        values[rc] = v.group(1).decode()
            if values or formulas:
                out[title] = (values, frozenset(formulas))
    return out


def _last_row(grid: list[list[Any]]) -> int:
    """The last row holding a value (a formatted empty row does not count); 1 at least,
    the header."""
    for r in range(len(grid), 0, -1):
        if any(v not in (None, "") for v in grid[r - 1]):
            return r
    return 1


def _header_xf(styles: Styles) -> int:
    font = etree.Element(q("font"))
    etree.SubElement(font, q("b"))
    etree.SubElement(font, q("sz"), val="11")
    fill = etree.Element(q("fill"))
    pf = etree.SubElement(fill, q("patternFill"), patternType="solid")
    etree.SubElement(pf, q("fgColor"), rgb=HEADER_FILL_RGB)
    etree.SubElement(pf, q("bgColor"), rgb=HEADER_FILL_RGB)
    return styles.xf(0, font=font, fill=fill, align={"vertical": "center"})


def _new_tab_xml(t: EnsureTab, styles: Styles) -> bytes:
    """A tab with its header row, frozen rows and dropdowns."""
    from .xlsx_patch import dropdowns, freeze, set_value

    ws = etree.Element(q("worksheet"), nsmap={None: MAIN, "r": R_NS})
    etree.SubElement(ws, q("dimension"), ref=f"A1:{col_letter(max(len(t.headers), 1))}1")
    if t.freeze_rows:
        freeze(ws, t.freeze_rows)
    cols = etree.SubElement(ws, q("cols"))
    data = etree.SubElement(ws, q("sheetData"))
    row = etree.SubElement(data, q("row"), r="1")
    s = _header_xf(styles)
    for i, h in enumerate(t.headers, start=1):
        etree.SubElement(cols, q("col"), min=str(i), max=str(i), width=str(max(12, min(40, len(h) + 4))),
                         customWidth="1")
        c = etree.SubElement(row, q("c"), r=f"{col_letter(i)}1", s=str(s))
        set_value(c, h, styles)
    if not len(cols):
        ws.remove(cols)
    dropdowns(ws, t.headers, t.dropdowns)
    insert_ordered(ws, etree.Element(q("pageMargins"), left="0.7", right="0.7", top="0.75", bottom="0.75",
                                     header="0.3", footer="0.3"))
    return dump(ws)


def _format_tab(pkg: Package, part: str, f: TabFormat) -> int:
    """`init` on a tab a team already uses: frozen header, dropdowns where missing."""
    from .xlsx_patch import dropdowns, freeze

    done = 0

    def edit(root: etree._Element) -> bool:
        nonlocal done
        done = int(bool(f.freeze_rows) and freeze(root, f.freeze_rows))
        done += dropdowns(root, f.headers, f.dropdowns)
        return done > 0

    data = edit_skeleton(pkg.read(part), edit)
    if done:
        pkg.put(part, data)
    return done


def _empty_workbook() -> bytes:
    """A package with no tab yet, for `init` of a new workbook: the tabs are added to it."""
    ct = etree.Element(f"{{{CT_NS}}}Types", nsmap={None: CT_NS})
    for ext, kind in (("rels", "application/vnd.openxmlformats-package.relationships+xml"),
                      ("xml", "application/xml")):
        etree.SubElement(ct, f"{{{CT_NS}}}Default", Extension=ext, ContentType=kind)
    for name, kind in (("/xl/workbook.xml", "spreadsheetml.sheet.main+xml"), ("/xl/styles.xml", "spreadsheetml.styles+xml")):
        etree.SubElement(ct, f"{{{CT_NS}}}Override", PartName=name,
                         ContentType="application/vnd.openxmlformats-officedocument." + kind)
    wb = etree.Element(q("workbook"), nsmap={None: MAIN, "r": R_NS})
    etree.SubElement(wb, q("sheets"))
    st = etree.Element(q("styleSheet"), nsmap={None: MAIN})
    font = etree.SubElement(etree.SubElement(st, q("fonts"), count="1"), q("font"))
    etree.SubElement(font, q("sz"), val="11")
    etree.SubElement(font, q("name"), val="Calibri")
    fills = etree.SubElement(st, q("fills"), count="2")
    for kind in ("none", "gray125"):
        etree.SubElement(etree.SubElement(fills, q("fill")), q("patternFill"), patternType=kind)
    border = etree.SubElement(etree.SubElement(st, q("borders"), count="1"), q("border"))
    for side in ("left", "right", "top", "bottom", "diagonal"):
        etree.SubElement(border, q(side))
    xf = dict(numFmtId="0", fontId="0", fillId="0", borderId="0")
    etree.SubElement(etree.SubElement(st, q("cellStyleXfs"), count="1"), q("xf"), xf)
    etree.SubElement(etree.SubElement(st, q("cellXfs"), count="1"), q("xf"), xf, xfId="0")
    etree.SubElement(etree.SubElement(st, q("cellStyles"), count="1"), q("cellStyle"), name="Normal", xfId="0",
                     builtinId="0")
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", dump(ct))
        z.writestr("_rels/.rels", _rels([("officeDocument", "xl/workbook.xml")]))
        z.writestr("xl/workbook.xml", dump(wb))
        z.writestr("xl/_rels/workbook.xml.rels", _rels([("styles", "styles.xml")]))
        z.writestr("xl/styles.xml", dump(st))
    return buf.getvalue()


def _rels(items: list[tuple[str, str]]) -> bytes:
    root = etree.Element(f"{{{PKG_RELS}}}Relationships", nsmap={None: PKG_RELS})
    for i, (kind, target) in enumerate(items, start=1):
        etree.SubElement(root, f"{{{PKG_RELS}}}Relationship", Id=f"rId{i}", Type=f"{R_NS}/{kind}", Target=target)
    return dump(root)


def _patch(z: zipfile.ZipFile, dst: Path, changes: ChangeSet, grid: Any, result: ApplyResult,
           stamp: tuple[AppendRows, int, Callable[[str], str]] | None = None) -> bool:
    """Write the package in `z` plus `changes` to `dst`; False when nothing changed.
    `stamp`: see `XlsxBackend.stamp_output_into`."""
    pkg = Package(z)
    styles = Styles(pkg)
    cells = 0
    titles = pkg.sheet_paths()
    for t in changes.ensure_tabs:
        if t.tab not in titles:
            pkg.add_sheet(t.tab, _new_tab_xml(t, styles))
            cells += len(t.headers)
    paths = pkg.sheet_paths()
    edits, headers, at = _cell_edits(changes, grid, result, stamp)
    trims = {t.tab: t.keep for t in changes.trims}
    for tab in edits.keys() | trims.keys():
        part = paths[tab]
        data = pkg.read(part)
        if edits.get(tab):
            hs = _header_xf(styles) if tab in headers else None
            data, n, skipped = edit_cells(SheetXml(data), edits[tab], styles, header_style=hs)
            cells += n
            result.skipped += [f"{cell_name(tab, r, c)}: holds a formula" for r, c in skipped]
            last_row = max(edits[tab])
            last_col = max(c for row in edits[tab].values() for c in row)
            data = set_dimension(data, last_row, last_col)
        if tab in trims and (at is None or tab != at[0]):
            data = _trim(data, trims[tab])
        if data != pkg.read(part):
            pkg.put(part, data)
    for f in changes.formats:
        cells += _format_tab(pkg, paths[f.tab], f)
    if changes.replacements:
        from .xlsx_layout import write_layout  # openpyxl's charts: imported only to draw

        for layout in changes.replacements:
            cells += write_layout(pkg, styles, layout)
    if changes.open_on and (pkg.new or pkg.dropped):  # with a write, never one by itself
        _open_on(pkg, changes.open_on)
    styles.flush()
    result.cells_written = cells
    if not pkg.new and not pkg.dropped:
        return False
    if at is not None:
        # Every other member is final now: the digest of the package as it will be read
        # next goes into the one cell (an inline string: no style, no other part changes).
        # Its tab is trimmed after, as the rows move.
        tab, row, col = at
        part = paths[tab]
        value = stamp[2](package_digest(pkg.directory(), skip=part))
        data, _, _ = edit_cells(SheetXml(pkg.read(part)), {row: {col: value}}, styles)
        if tab in trims:
            data = _trim(data, trims[tab])
        pkg.put(part, data)
    pkg.save(dst)
    return True


def _open_on(pkg: Package, title: str) -> None:
    """Make `title` the tab the workbook opens on: `activeTab` of the workbook view, and the
    only tab selected (two selected tabs are a group in Excel: typing goes into both). Parts
    already so keep their bytes."""
    paths = pkg.sheet_paths()
    if title not in paths:
        return
    wb = parse(pkg.read("xl/workbook.xml"))
    sheets = wb.find(q("sheets"))
    names = [s.get("name") for s in sheets]
    index = names.index(title)
    if sheets[index].get("state") in ("hidden", "veryHidden"):
        return
    views = wb.find(q("bookViews"))
    if views is None:
        views = etree.Element(q("bookViews"))
        sheets.addprevious(views)
    view = views.find(q("workbookView"))
    if view is None:
        view = etree.SubElement(views, q("workbookView"))
    if view.get("activeTab", "0") != str(index) or int(view.get("firstSheet", "0")) > index:
        view.set("activeTab", str(index))
        if int(view.get("firstSheet", "0")) > index:
            view.set("firstSheet", str(index))
        pkg.put("xl/workbook.xml", dump(wb))
    for name, part in paths.items():
        data = pkg.read(part)
        head = data[:max(data.find(b"sheetData"), 0)]  # the views come before the rows
        if (b'tabSelected="1"' in head or b"tabSelected='1'" in head) != (name == title):
            pkg.put(part, edit_skeleton(data, lambda root, on=name == title: _select(root, on)))


def _select(root: etree._Element, on: bool) -> bool:
    views = root.find(q("sheetViews"))
    if views is None:
        if not on:
            return False
        views = insert_ordered(root, etree.Element(q("sheetViews")))
    view = views.find(q("sheetView"))
    if view is None:
        view = etree.SubElement(views, q("sheetView"), workbookViewId="0")
    if on:
        view.set("tabSelected", "1")
    else:
        view.attrib.pop("tabSelected", None)
    return True


def _cell_edits(changes: ChangeSet, grid: Any, result: ApplyResult,
                stamp: tuple[AppendRows, int, Any] | None = None
                ) -> tuple[dict, set[str], tuple[str, int, int] | None]:
    """{tab: {row: {col: value}}} for updates, new headers and appended rows; and the
    cell (tab, row, column) of `stamp`'s append, when it is written."""
    edits: dict[str, dict[int, dict[int, Any]]] = {}
    headers = set()
    for a in changes.add_columns:
        row1 = edits.setdefault(a.tab, {}).setdefault(1, {})
        for i, h in enumerate(a.headers):
            row1[a.first_col + i] = h
        headers.add(a.tab)
    for u in changes.updates:
        edits.setdefault(u.tab, {}).setdefault(u.row, {})[u.col] = u.value
    next_row: dict[str, int] = {}
    at = None
    for a in changes.appends:
        if not a.rows:
            continue
        g = grid(a.tab)
        if a.tab not in next_row:
            next_row[a.tab] = _last_row(g) + 1
        rows = a.rows
        if a.key_col is not None:
            # Exactly once: rows whose event key is already logged are skipped.
            have = {str(r[a.key_col]) for r in g[1:] if len(r) > a.key_col and r[a.key_col] not in (None, "")}
            rows = tuple(r for r in rows if str(r[a.key_col]) not in have)
        tab = edits.setdefault(a.tab, {})
        if stamp is not None and stamp[0] is a and rows and rows[0] is a.rows[0]:
            at = (a.tab, next_row[a.tab], stamp[1] + 1)
        for values in rows:
            tab[next_row[a.tab]] = {j: v for j, v in enumerate(values, start=1) if v is not None}
            next_row[a.tab] += 1
        result.rows_appended += len(rows)
    return edits, headers, at


def _trim(data: bytes, keep: int) -> bytes:
    """Keep the last `keep` data rows (row 1 is the header), moving them up."""
    sheet = SheetXml(data)
    nums = [n for n, _, _ in sheet.rows() if n > 1]
    excess = len(nums) - keep
    if excess <= 0:
        return data
    drop = nums[:excess]
    out, _, _ = edit_cells(sheet, {}, None, drop=drop, shift=excess)  # type: ignore[arg-type]
    return out
