"""Append rows to one small tab by patching the package, without a full openpyxl load.

A sync that changes nothing but its own sync-log row should cost one fast read, not an
openpyxl load and save of every tab (~20 s at 100k leads). This module rewrites only the
log tab's XML and copies every other zip member byte for byte (no recompression).
It handles what `apply_to_workbook` would do for `AppendRows` without an event-key
check and `TrimRows`; anything else returns False and the caller takes the openpyxl path.
"""

from __future__ import annotations

import copy
import datetime as dt
import re
import struct
import zipfile
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

from ..a1 import col_letter
from ..changes import ChangeSet

_ROW = re.compile(r"<row\b[^>]*?(?:/>|>.*?</row>)", re.S)
_ROW_NUM = re.compile(r'(<row\b[^>]*?\br=")(\d+)(")')
_CELL_REF = re.compile(r'(<c\b[^>]*?\br=")([A-Z]+)(\d+)(")')
_DATE_CODES = re.compile(r"[dmy]", re.I)
_BUILTIN_DATE_FMTS = {14, 15, 16, 17, 22}


def sheet_paths(z: zipfile.ZipFile) -> dict[str, str]:
    """Tab title → zip member of its sheet XML."""
    wb = z.read("xl/workbook.xml").decode("utf-8")
    rels = z.read("xl/_rels/workbook.xml.rels").decode("utf-8")
    targets = {}
    for m in re.finditer(r"<Relationship\b([^>]*)/?>", rels):
        attrs = dict(re.findall(r'(\w+)="([^"]*)"', m.group(1)))
        if "Id" in attrs and "Target" in attrs:
            t = attrs["Target"]
            targets[attrs["Id"]] = t.lstrip("/") if t.startswith("/") else "xl/" + t
    out = {}
    for m in re.finditer(r"<sheet\b([^>]*)/?>", wb):
        name = re.search(r'\bname="([^"]*)"', m.group(1))
        rid = re.search(r'\br:id="([^"]*)"', m.group(1)) or re.search(r'\b\w+:id="([^"]*)"', m.group(1))
        if name and rid and rid.group(1) in targets:
            out[_unescape(name.group(1))] = targets[rid.group(1)]
    return out


def _unescape(s: str) -> str:
    return (s.replace("&lt;", "<").replace("&gt;", ">").replace("&quot;", '"')
             .replace("&apos;", "'").replace("&amp;", "&"))


def _date_style(styles: str) -> int | None:
    """Index of a cellXfs entry with a date number format, if the workbook has one."""
    custom = {int(i): code for i, code in re.findall(r'<numFmt\b[^>]*numFmtId="(\d+)"[^>]*formatCode="([^"]*)"', styles)}
    xfs = re.search(r"<cellXfs\b[^>]*>(.*?)</cellXfs>", styles, re.S)
    if not xfs:
        return None
    for i, m in enumerate(re.finditer(r"<xf\b([^>]*?)(?:/>|>.*?</xf>)", xfs.group(1), re.S)):
        fid = re.search(r'numFmtId="(\d+)"', m.group(1))
        if not fid:
            continue
        n = int(fid.group(1))
        code = custom.get(n, "")
        if n in _BUILTIN_DATE_FMTS or (code and _DATE_CODES.search(code) and "h" not in code.lower()):
            return i
    return None


def _cell(ref: str, v: Any, date_style: int) -> str:
    if v is None:
        return ""
    if isinstance(v, bool):
        return f'<c r="{ref}" t="b"><v>{int(v)}</v></c>'
    if isinstance(v, (int, float)):
        return f'<c r="{ref}" t="n"><v>{v!r}</v></c>'
    if isinstance(v, dt.date) and not isinstance(v, dt.datetime):
        from ..sync.dates import date_to_serial  # not at the top: it imports pandas

        return f'<c r="{ref}" s="{date_style}" t="n"><v>{date_to_serial(v)}</v></c>'
    text = escape(str(v))
    space = ' xml:space="preserve"' if text != text.strip() else ""
    return f'<c r="{ref}" t="inlineStr"><is><t{space}>{text}</t></is></c>'


def _patch_sheet(xml: str, rows: list[tuple], keep: int | None, date_style: int) -> str:
    start = xml.find("<sheetData")
    if start < 0:
        raise ValueError("no sheetData")
    if xml.startswith("<sheetData/>", start):
        head, body, tail = xml[:start], "", xml[start + len("<sheetData/>"):]
    else:
        open_end = xml.index(">", start) + 1
        close = xml.index("</sheetData>", open_end)
        head, body, tail = xml[:start], xml[open_end:close], xml[close + len("</sheetData>"):]
    existing = _ROW.findall(body)
    header = [r for r in existing if int(_ROW_NUM.search(r).group(2)) == 1]
    data = [r for r in existing if int(_ROW_NUM.search(r).group(2)) > 1]
    # Every new row is written after the last existing row, like apply_to_workbook.
    new = []
    last = max((int(_ROW_NUM.search(r).group(2)) for r in existing), default=1)
    for i, values in enumerate(rows, start=last + 1):
        cells = "".join(_cell(f"{col_letter(j)}{i}", v, date_style) for j, v in enumerate(values, start=1))
        new.append(f'<row r="{i}">{cells}</row>')
    data += new
    if keep is not None and len(data) > keep:
        data = data[len(data) - keep:]
        data = [_renumber(r, n) for n, r in enumerate(data, start=2)]
    body = "".join(header + data)
    out = f"{head}<sheetData>{body}</sheetData>{tail}"
    last_row = 1 + len(data) if data else 1
    width = max((len(r) for r in rows), default=1)
    return re.sub(r'<dimension ref="([A-Z]+)(\d+)(?::([A-Z]+)(\d+))?"',
                  lambda m: f'<dimension ref="A1:{m.group(3) or col_letter(width)}{last_row}"', out, count=1)


def _renumber(row_xml: str, n: int) -> str:
    row_xml = _ROW_NUM.sub(lambda m: f"{m.group(1)}{n}{m.group(3)}", row_xml, count=1)
    return _CELL_REF.sub(lambda m: f"{m.group(1)}{m.group(2)}{n}{m.group(4)}", row_xml)


def can_patch(changes: ChangeSet) -> bool:
    return (not changes.ensure_tabs and not changes.add_columns and not changes.updates
            and not changes.replacements and all(a.key_col is None for a in changes.appends)
            and len({a.tab for a in changes.appends} | {t.tab for t in changes.trims}) == 1
            and any(a.rows for a in changes.appends))


def patch_appends(src: Path, dst: Path, changes: ChangeSet) -> tuple[int, int] | None:
    """Write `src` + the appends of `changes` to `dst`. Returns (cells, rows) or None when
    this change set or workbook needs the full path."""
    if not can_patch(changes):
        return None
    tab = (changes.appends or changes.trims)[0].tab
    rows = [r for a in changes.appends for r in a.rows]
    keep = min((t.keep for t in changes.trims), default=None)
    with zipfile.ZipFile(src) as zin:
        member = sheet_paths(zin).get(tab)
        if member is None:
            return None
        styles = zin.read("xl/styles.xml").decode("utf-8") if "xl/styles.xml" in zin.namelist() else ""
        date_style = _date_style(styles)
        needs_date = any(isinstance(v, dt.date) and not isinstance(v, dt.datetime) for r in rows for v in r)
        if needs_date and date_style is None:
            return None
        try:
            xml = _patch_sheet(zin.read(member).decode("utf-8"), rows, keep, date_style or 0)
        except (ValueError, AttributeError):
            return None
        with zipfile.ZipFile(dst, "w") as zout:
            for info in zin.infolist():
                if info.filename == member:
                    zi = copy.copy(info)
                    zout.writestr(zi, xml.encode("utf-8"), compress_type=zipfile.ZIP_DEFLATED)
                else:
                    _copy_raw(zin, zout, info)
    cells = sum(sum(v is not None for v in r) for r in rows)
    return cells, len(rows)


def _copy_raw(zin: zipfile.ZipFile, zout: zipfile.ZipFile, info: zipfile.ZipInfo) -> None:
    """Copy one member's compressed bytes as they are (no inflate/deflate)."""
    fp = zin.fp
    fp.seek(info.header_offset)
    header = fp.read(30)
    name_len, extra_len = struct.unpack("<HH", header[26:30])
    fp.seek(info.header_offset + 30 + name_len + extra_len)
    zi = copy.copy(info)
    zi.flag_bits &= ~0x08  # sizes go in the local header; no data descriptor follows
    zi.extra = b""
    zi.header_offset = zout.fp.tell()
    zout.fp.write(zi.FileHeader(zip64=False))
    remaining = info.compress_size
    while remaining:
        chunk = fp.read(min(remaining, 1 << 20))
        if not chunk:
            raise ValueError(f"truncated member {info.filename}")
        zout.fp.write(chunk)
        remaining -= len(chunk)
    zout.filelist.append(zi)
    zout.NameToInfo[zi.filename] = zi
    zout.start_dir = zout.fp.tell()

