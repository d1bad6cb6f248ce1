"""Files → raw tables: encoding and delimiter detected, every cell kept as text.

Exports come as UTF-8 (with or without a BOM), as the UTF-16 tab-separated file Meta
produces, or in an older code page; charset-normalizer guesses what has no BOM and is
not UTF-8. A file that cannot be read raises IntakeError naming the file and the line.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import SheetcrmError

# Vietnamese UTF-8 read as cp1252/latin-1 leaves these pairs behind (Nguyá»…n, Ä‘).
_MOJIBAKE = re.compile("Ã[\x80-\xbf\u0152-\u203a]|á»|áº|Ä‘|Æ°|Æ¡|\ufffd")


class IntakeError(SheetcrmError):
    """An input file cannot be read."""

    exit_code = 2


@dataclass
class RawTable:
    """One input table: `headers`, `rows` (text cells) and each row's first file line."""

    path: Path
    headers: list[str]
    rows: list[list[str]]
    lines: list[int]
    encoding: str = "utf-8"
    warnings: list[str] = field(default_factory=list)
    sheet: str | None = None  # the tab, for a workbook or a spreadsheet

    @property
    def name(self) -> str:
        return f"{self.path.name}:{self.sheet}" if self.sheet else self.path.name


def decode(data: bytes, name: str) -> tuple[str, str]:
    """`data` as text and the encoding used."""
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8", errors="strict"), "utf-8-sig"
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16"), "utf-16"
        except UnicodeDecodeError as exc:
            raise IntakeError(f"{name}: not valid UTF-16 at byte {exc.start}") from None
    if len(data) >= 4 and data[1] == 0 and data[3] == 0 and data[0] != 0:
        return data.decode("utf-16-le", errors="replace"), "utf-16-le"  # UTF-16 without a BOM
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    from charset_normalizer import from_bytes

    best = from_bytes(data).best()
    if best is None:
        raise IntakeError(f"{name}: cannot tell the text encoding (save it as UTF-8 CSV)")
    return str(best), best.encoding


def _delimiter(first_line: str) -> str:
    counts = {d: first_line.count(d) for d in ("\t", ",", ";")}
    return max(counts, key=lambda d: (counts[d], d == ","))


def read_csv(path: Path) -> RawTable:
    name = path.name
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise IntakeError(f"{name}: cannot read: {exc.strerror or exc}") from None
    if data.startswith(b"PK\x03\x04"):
        return read_xlsx(path)
    if b"\x00" in data[:4096] and not data.startswith((b"\xff\xfe", b"\xfe\xff")) and data[1:2] != b"\x00":
        raise IntakeError(f"{name}: line 1: binary data, not a CSV or TSV file")
    text, encoding = decode(data, name)
    first = text.split("\n", 1)[0]
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=_delimiter(first), strict=True)
    rows: list[list[str]] = []
    lines: list[int] = []
    try:
        headers = next(reader, None)
        start = reader.line_num + 1
        for row in reader:
            rows.append(row)
            lines.append(start)
            start = reader.line_num + 1
    except csv.Error as exc:
        raise IntakeError(f"{name}: line {reader.line_num}: cannot read: {exc}") from None
    if not headers or not any(h.strip() for h in headers):
        raise IntakeError(f"{name}: line 1: no header row")
    width = len(headers)
    for row, line in zip(rows, lines):
        if len(row) > width and any(c.strip() for c in row[width:]):
            raise IntakeError(f"{name}: line {line}: {len(row)} cells but the header has {width}")
    table = RawTable(path, [h.strip() for h in headers], rows, lines, encoding)
    _check_mojibake(table, text)
    return table


def _check_mojibake(table: RawTable, text: str) -> None:
    m = _MOJIBAKE.search(text)
    if m:
        line = text.count("\n", 0, m.start()) + 1
        table.warnings.append(f"{table.name}: line {line}: text looks mis-decoded "
                              f"({text[max(0, m.start() - 6):m.end() + 6]!r}); check the file's encoding")


def read_xlsx(path: Path, sheet: str | None = None) -> RawTable:
    """The first tab (or `sheet`) of a workbook, cells as text."""
    from python_calamine import CalamineWorkbook

    try:
        wb = CalamineWorkbook.from_path(str(path))
        names = wb.sheet_names
        title = sheet if sheet in names else names[0]
        grid = wb.get_sheet_by_name(title).to_python(skip_empty_area=False)
    except Exception as exc:  # calamine raises its own types for broken files
        raise IntakeError(f"{path.name}: line 1: not a readable workbook ({type(exc).__name__})") from None
    return from_grid(path, grid, title)


def from_grid(path: Path, grid: list[list[object]], sheet: str | None = None) -> RawTable:
    """A raw grid (a tab of a workbook or spreadsheet) as a table: row 1 the header."""
    if not grid or not any(str(h).strip() for h in grid[0]):
        raise IntakeError(f"{path.name}{':' + sheet if sheet else ''}: line 1: no header row")
    headers = [_cell(h).strip() for h in grid[0]]
    rows = [[_cell(v) for v in r] for r in grid[1:]]
    return RawTable(path, headers, rows, list(range(2, len(rows) + 2)), "xlsx", sheet=sheet)


def _cell(v: object) -> str:
    if v is None:
        return ""
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    if hasattr(v, "isoformat"):
        return v.isoformat(sep=" ") if hasattr(v, "hour") else v.isoformat()
    return str(v)


def read_file(path: str | Path) -> RawTable:
    p = Path(path)
    if not p.exists():
        raise IntakeError(f"{p}: file not found")
    if p.suffix.lower() in (".xlsx", ".xlsm"):
        return read_xlsx(p)
    return read_csv(p)
