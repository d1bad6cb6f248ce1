"""Edit an .xlsx package in place of an openpyxl load + save.

A workbook is a zip of XML parts. A sync owns a few cells of a few parts, so it rewrites
only those parts and copies every other member's compressed bytes as they are. In a
sheet it edits, rows are located by their start tags and only the rows holding an owned
cell are parsed and written again with lxml; every other byte of the part (other rows,
cached values, rich text, `extLst`, validations, conditional formats) stays as it was.
New text goes in as inline strings, so the shared-strings table is never rewritten.
How the pieces fit is described in docs/xlsx.md.
"""

from __future__ import annotations

import copy
import datetime as dt
import hashlib
import numbers
import posixpath
import re
import struct
import zipfile
import zlib
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
from lxml import etree

from ..a1 import col_letter

MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
R_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
PKG_RELS = "http://schemas.openxmlformats.org/package/2006/relationships"
CT_NS = "http://schemas.openxmlformats.org/package/2006/content-types"
WORKSHEET_CT = "application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"
REL_WORKSHEET = R_NS + "/worksheet"
_BUILTIN_DATE_FMTS = {14, 15, 16, 17, 22, 45, 46, 47}
_QUOTED = re.compile(r'"[^"]*"|\[[^\]]*\]|\\.')
_PARSER = etree.XMLParser(remove_blank_text=False, resolve_entities=False, huge_tree=True)
DATE_CODE = "dd/mm/yyyy"
DATETIME_CODE = "dd/mm/yyyy hh:mm"


def q(tag: str) -> str:
    return f"{{{MAIN}}}{tag}"


def parse(data: bytes) -> etree._Element:
    return etree.fromstring(data, _PARSER)


def dump(root: etree._Element) -> bytes:
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", standalone=True)


class Package:
    """The members of one workbook: parts edited or added here replace or join the
    originals when saved; every other member is copied raw."""

    def __init__(self, zin: zipfile.ZipFile):
        self.zin = zin
        self.names = set(zin.namelist())
        self.new: dict[str, bytes] = {}
        self.dropped: set[str] = set()
        self._types: etree._Element | None = None
        self._read: dict[str, bytes] = {}

    def has(self, name: str) -> bool:
        return name in self.new or (name in self.names and name not in self.dropped)

    def read(self, name: str) -> bytes:
        if name in self.new:
            return self.new[name]
        if name not in self._read:
            self._read[name] = self.zin.read(name)
        return self._read[name]

    def put(self, name: str, data: bytes, content_type: str | None = None) -> None:
        self.new[name] = data
        self.dropped.discard(name)
        if content_type is not None:
            self._set_type(name, content_type)

    def drop(self, name: str) -> None:
        self.new.pop(name, None)
        self.dropped.add(name)
        types = self.types()
        for el in types.findall(f"{{{CT_NS}}}Override"):
            if el.get("PartName") == "/" + name:
                types.remove(el)

    def types(self) -> etree._Element:
        if self._types is None:
            self._types = parse(self.read("[Content_Types].xml"))
        return self._types

    def _set_type(self, name: str, content_type: str) -> None:
        types = self.types()
        for el in types.findall(f"{{{CT_NS}}}Override"):
            if el.get("PartName") == "/" + name:
                el.set("ContentType", content_type)
                return
        etree.SubElement(types, f"{{{CT_NS}}}Override", PartName="/" + name, ContentType=content_type)

    def free_name(self, pattern: str) -> str:
        """The first `pattern.format(n)` not in the package (n from 1)."""
        n = 1
        while self.has(pattern.format(n)) or pattern.format(n) in self.names:
            n += 1
        return pattern.format(n)

    # -------------------------------------------------------------- relationships
    def rels_of(self, part: str) -> tuple[str, etree._Element]:
        folder, base = posixpath.split(part)
        path = posixpath.join(folder, "_rels", base + ".rels")
        if self.has(path):
            return path, parse(self.read(path))
        return path, etree.Element(f"{{{PKG_RELS}}}Relationships", nsmap={None: PKG_RELS})

    def targets(self, part: str) -> list[tuple[str, str, str]]:
        """(Id, Type, absolute member name) of each relationship of `part`."""
        _, rels = self.rels_of(part)
        folder = posixpath.dirname(part)
        out = []
        for el in rels.findall(f"{{{PKG_RELS}}}Relationship"):
            if el.get("TargetMode") == "External":
                continue
            t = el.get("Target", "")
            name = t.lstrip("/") if t.startswith("/") else posixpath.normpath(posixpath.join(folder, t))
            out.append((el.get("Id", ""), el.get("Type", ""), name))
        return out

    def sheet_paths(self) -> dict[str, str]:
        """Tab title → member of its sheet XML, in tab order."""
        wb = parse(self.read("xl/workbook.xml"))
        rels = {rid: name for rid, _, name in self.targets("xl/workbook.xml")}
        out = {}
        for s in wb.iter(q("sheet")):
            rid = s.get(f"{{{R_NS}}}id")
            if rid in rels:
                out[s.get("name")] = rels[rid]
        return out

    def add_sheet(self, title: str, xml: bytes, index: int | None = None) -> str:
        """A new tab (at `index` in the tab order, else last) holding `xml`."""
        name = self.free_name("xl/worksheets/sheet{}.xml")
        self.put(name, xml, WORKSHEET_CT)
        path, rels = self.rels_of("xl/workbook.xml")
        ids = {el.get("Id") for el in rels}
        rid = next(f"rId{n}" for n in range(1, len(ids) + 2) if f"rId{n}" not in ids)
        etree.SubElement(rels, f"{{{PKG_RELS}}}Relationship", Id=rid, Type=REL_WORKSHEET,
                         Target=posixpath.relpath(name, "xl"))
        self.put(path, dump(rels))
        wb = parse(self.read("xl/workbook.xml"))
        sheets = wb.find(q("sheets"))
        sheet_id = 1 + max((int(s.get("sheetId", "0")) for s in sheets), default=0)
        el = etree.Element(q("sheet"), name=title, sheetId=str(sheet_id))
        el.set(f"{{{R_NS}}}id", rid)
        if index is None or index >= len(sheets):
            sheets.append(el)
        else:
            sheets.insert(index, el)
        self.put("xl/workbook.xml", dump(wb))
        return name

    # -------------------------------------------------------------- output
    def directory(self) -> dict[str, tuple[int, int]]:
        """Member name → (CRC-32, size) of the package `save` would write now."""
        self._final_types()
        out = {i.filename: (i.CRC, i.file_size) for i in self.zin.infolist()
               if i.filename not in self.dropped and i.filename not in self.new}
        out.update({name: (zlib.crc32(data), len(data)) for name, data in self.new.items()})
        return out

    def _final_types(self) -> None:
        if self._types is not None:
            self.new["[Content_Types].xml"] = dump(self._types)

    def save(self, dst: Path) -> None:
        self._final_types()
        with zipfile.ZipFile(dst, "w") as zout:
            for info in self.zin.infolist():
                if info.filename in self.dropped:
                    continue
                if info.filename in self.new:
                    zi = copy.copy(info)
                    zi.flag_bits &= ~0x08
                    zi.extra = b""
                    zout.writestr(zi, self.new[info.filename], compress_type=zipfile.ZIP_DEFLATED,
                                  compresslevel=_level(self.new[info.filename]))
                else:
                    _copy_raw(self.zin, zout, info)
            for name, data in self.new.items():
                if name not in self.names:
                    zout.writestr(zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0)), data,
                                  compress_type=zipfile.ZIP_DEFLATED)


def package_digest(directory: Mapping[str, tuple[int, int]], skip: str | None = None) -> str:
    """A digest of a package's members (name, CRC-32, size) but `skip`: what its parts
    hold, without reading them."""
    h = hashlib.blake2b(digest_size=12)
    for name in sorted(directory):
        if name != skip:
            crc, size = directory[name]
            h.update(f"{name}:{crc}:{size}\n".encode())
    return h.hexdigest()


def _level(data: bytes) -> int:
    # A big sheet compressed at level 1 costs a fifth of the time for a file ~15% larger.
    return 1 if len(data) > 1 << 20 else 6


def sheet_paths(z: zipfile.ZipFile) -> dict[str, str]:
    return Package(z).sheet_paths()


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


# ---------------------------------------------------------------------- styles
def shape(el: etree._Element) -> tuple:
    """What an element says, whatever its prefixes, attribute order or whitespace."""
    return (etree.QName(el).localname, tuple(sorted((etree.QName(k).localname, v) for k, v in el.attrib.items())),
            (el.text or "").strip(), tuple(shape(c) for c in el if isinstance(c.tag, str)))


def graft(parent: etree._Element, item: etree._Element) -> etree._Element:
    """Copy `item` under `parent` element by element, so it takes the parent's prefixes
    instead of carrying namespace declarations of its own."""
    el = etree.SubElement(parent, item.tag, dict(item.attrib))
    el.text = item.text
    for child in item:
        if isinstance(child.tag, str):
            graft(el, child)
    return el


class Styles:
    """The workbook's cell formats, extended only by the formats the sync needs.

    An entry the sync adds is found again by its serialised form on the next run, so
    styles.xml grows once, not on every sync."""

    def __init__(self, pkg: Package):
        self.pkg = pkg
        self.root = parse(pkg.read("xl/styles.xml")) if pkg.has("xl/styles.xml") else None
        self.changed = False
        self._index: dict[str, dict[tuple, int]] = {}
        self._dates: dict[tuple[int, bool], int] = {}

    def _list(self, tag: str, before: tuple[str, ...]) -> etree._Element:
        el = self.root.find(q(tag))
        if el is None:
            el = etree.Element(q(tag), count="0")
            anchor = next((self.root.find(q(b)) for b in before if self.root.find(q(b)) is not None), None)
            if anchor is not None:
                anchor.addprevious(el)
            else:
                self.root.append(el)
        return el

    def _find_or_add(self, tag: str, item: etree._Element, before: tuple[str, ...] = ()) -> int:
        lst = self._list(tag, before)
        key = shape(item)
        index = self._index.get(tag)
        if index is None:
            index = self._index[tag] = {}
            for i, el in enumerate(lst):
                index.setdefault(shape(el), i)
        if key in index:
            return index[key]
        graft(lst, item)
        index[key] = len(lst) - 1
        lst.set("count", str(len(lst)))
        self.changed = True
        return len(lst) - 1

    def xf_attrs(self, s: int) -> dict[str, str]:
        xfs = self.root.find(q("cellXfs")) if self.root is not None else None
        if xfs is None or s >= len(xfs):
            return {}
        return dict(xfs[s].attrib)

    def is_date(self, s: int) -> bool:
        n = int(self.xf_attrs(s).get("numFmtId", "0"))
        if n in _BUILTIN_DATE_FMTS:
            return True
        fmts = self.root.find(q("numFmts")) if self.root is not None else None
        for f in fmts if fmts is not None else ():
            if int(f.get("numFmtId", "-1")) == n:
                code = _QUOTED.sub("", f.get("formatCode", ""))
                return bool(re.search("[dy]", code, re.I))
        return False

    def numfmt(self, code: str) -> int:
        fmts = self._list("numFmts", ("fonts",))
        for f in fmts:
            if f.get("formatCode") == code:
                return int(f.get("numFmtId"))
        n = max([163, *(int(f.get("numFmtId", "0")) for f in fmts)]) + 1
        etree.SubElement(fmts, q("numFmt"), numFmtId=str(n), formatCode=code)
        fmts.set("count", str(len(fmts)))
        self.changed = True
        return n

    def xf(self, base: int = 0, numfmt: str | None = None, font: etree._Element | None = None,
           fill: etree._Element | None = None, border: etree._Element | None = None,
           align: Mapping[str, str] | None = None) -> int:
        """A cellXfs index: `base`'s format with the given parts replaced."""
        if self.root is None:
            return 0
        attrs = self.xf_attrs(base) or {"numFmtId": "0", "fontId": "0", "fillId": "0", "borderId": "0"}
        attrs.setdefault("xfId", "0")
        if numfmt is not None:
            attrs.update(numFmtId=str(self.numfmt(numfmt)), applyNumberFormat="1")
        for tag, el, key, apply in (("fonts", font, "fontId", "applyFont"), ("fills", fill, "fillId", "applyFill"),
                                    ("borders", border, "borderId", "applyBorder")):
            if el is not None:
                attrs.update({key: str(self._find_or_add(tag, el)), apply: "1"})
        item = etree.Element(q("xf"), dict(sorted(attrs.items())))
        if align:
            etree.SubElement(item, q("alignment"), dict(sorted(align.items())))
            item.set("applyAlignment", "1")
        elif base:
            old = self.root.find(q("cellXfs"))[base].find(q("alignment"))
            if old is not None:
                item.append(copy.deepcopy(old))
        return self._find_or_add("cellXfs", item)

    def date_xf(self, base: int, with_time: bool = False) -> int:
        """`base` if it already shows a date, else `base` with a dd/mm/yyyy format."""
        key = (base, with_time)
        if key not in self._dates:
            self._dates[key] = (base if self.is_date(base) and not with_time
                                else self.xf(base, numfmt=DATETIME_CODE if with_time else DATE_CODE))
        return self._dates[key]

    def flush(self) -> None:
        if self.changed:
            self.pkg.put("xl/styles.xml", dump(self.root))
            self.changed = False


# ---------------------------------------------------------------------- cells
_CELL_REF = re.compile(r"([A-Z]+)(\d+)$")


def col_index(letters: str) -> int:
    n = 0
    for ch in letters:
        n = n * 26 + ord(ch) - 64
    return n


_VALUE_TAGS = {q("v"), q("is"), q("f")}


def set_value(c: etree._Element, v: Any, styles: Styles) -> None:
    """Give cell element `c` the value `v` as a person's value: text is always text (an
    inline string, never a formula), dates are serials in a date format."""
    for child in list(c):
        if child.tag in _VALUE_TAGS:
            c.remove(child)
    c.attrib.pop("t", None)
    if v is None or (isinstance(v, str) and v == "") or (isinstance(v, float) and v != v):
        return
    base = int(c.get("s", "0"))
    if isinstance(v, (bool, np.bool_)):
        c.set("t", "b")
        _sub(c, "v").text = str(int(v))
    elif isinstance(v, numbers.Real):
        _sub(c, "v").text = num_text(v)
    elif isinstance(v, dt.datetime):
        c.set("s", str(styles.date_xf(base, with_time=True)))
        _sub(c, "v").text = repr(_serial(v))
    elif isinstance(v, dt.date):
        c.set("s", str(styles.date_xf(base)))
        _sub(c, "v").text = str(_serial(v))
    else:
        c.set("t", "inlineStr")
        t = _sub(_sub(c, "is"), "t")
        t.text = _xml_safe(str(v))
        if t.text != t.text.strip() or "\n" in t.text:
            t.set("{http://www.w3.org/XML/1998/namespace}space", "preserve")
    if c.get("s") == "0":
        del c.attrib["s"]


def num_text(v: Any) -> str:
    f = float(v)
    return str(int(f)) if f.is_integer() and abs(f) < 1e15 else repr(f)


def _sub(parent: etree._Element, tag: str) -> etree._Element:
    if not len(parent) or tag == "t":
        return etree.SubElement(parent, _Q[tag])
    el = etree.Element(_Q[tag])
    parent.insert(0, el)  # before any extLst
    return el


_Q = {t: q(t) for t in ("c", "v", "is", "t", "f", "row")}


_BAD_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f]")


def _xml_safe(s: str) -> str:
    return _BAD_XML.sub("", s)


def _serial(v: dt.date) -> float | int:
    if isinstance(v, dt.datetime):
        delta = v - dt.datetime(1899, 12, 30)
        return round(delta.days + delta.seconds / 86400, 8)
    return (v - dt.date(1899, 12, 30)).days


# ---------------------------------------------------------------------- sheets
_ROW_START = re.compile(rb'<(?:\w+:)?row\b(?:[^>]*?\sr="(\d+)")?[^>]*>')
_ROW_NUM = re.compile(rb'\sr="(\d+)"')
_NSDECL = re.compile(rb'\sxmlns(?::\w+)?="[^"]*"')


def row_spans(data: bytes, begin: int, end: int) -> list[tuple[int, int, int]]:
    """(row number, start, end) of the row elements in data[begin:end]. Start tags are found
    by one regex pass; a row ends at the last end tag before the next row starts."""
    out, last = [], 0
    starts = [(m.start(), m.end(), m.group(1)) for m in _ROW_START.finditer(data, begin, end)]
    nexts = [s for s, _, _ in starts[1:]] + [end]
    for (start, tag_end, num), nxt in zip(starts, nexts):
        last = int(num) if num else last + 1
        if data[tag_end - 2:tag_end] == b"/>":
            out.append((last, start, tag_end))
        else:
            out.append((last, start, data.index(b">", data.rindex(b"</", tag_end, nxt)) + 1))
    return out


class SheetXml:
    """One sheet part, edited row by row: rows that hold no edited cell keep their bytes."""

    def __init__(self, data: bytes):
        self.data = data
        m = re.search(rb"<(\w+:)?worksheet\b[^>]*>", data)
        if m is None:
            raise ValueError("not a worksheet part")
        self.nsdecl = b"".join(_NSDECL.findall(m.group(0)))
        self.prefix = (m.group(1) or b"").decode()
        p = m.group(1) or b""
        sd = re.compile(rb"<" + p + rb"sheetData\b[^>]*?(/?)>").search(data, m.end())
        if sd is None:
            raise ValueError("no sheetData")
        self.body_start = sd.end()
        self.empty = sd.group(1) == b"/"
        self.sd_tag = (sd.start(), sd.end())
        self.body_end = sd.end() if self.empty else data.index(b"</" + p + b"sheetData>", sd.end())
        self._rows: list[tuple[int, int, int]] | None = None

    def rows(self) -> list[tuple[int, int, int]]:
        """(row number, start, end) of every row element, in order."""
        if self._rows is None:
            self._rows = row_spans(self.data, self.body_start, self.body_end)
        return self._rows

    def fragment(self, raw: bytes) -> etree._Element:
        """Parse one row under a wrapper declaring the part's namespaces."""
        return parse(b"<w" + self.nsdecl + b">" + raw + b"</w>")[0]

    @staticmethod
    def serialise(el: etree._Element) -> bytes:
        """The rows under `el`'s wrapper, without the wrapper."""
        out = etree.tostring(el.getparent(), encoding="UTF-8", xml_declaration=False)
        return out[out.index(b">") + 1:out.rindex(b"</")]

    def new_row(self, num: int) -> etree._Element:
        return self.fragment(b"<" + self.prefix.encode() + b'row r="' + str(num).encode() + b'"/>')

    def splice(self, replaced: Mapping[int, bytes | None], inserted: Mapping[int, bytes]) -> bytes:
        """The part with rows (by number) replaced (None drops them) and new rows inserted
        in order."""
        rows = self.rows()
        pieces, pos = [], self.body_start
        new_nums = sorted(inserted)
        k = 0
        for num, start, end in rows:
            while k < len(new_nums) and new_nums[k] < num:
                pieces += [self.data[pos:start], inserted[new_nums[k]]]
                pos = start
                k += 1
            if num in replaced:
                pieces.append(self.data[pos:start])
                pieces.append(replaced[num] or b"")
                pos = end
        tail_new = b"".join(inserted[n] for n in new_nums[k:])
        p = self.prefix.encode()
        if self.empty:
            head = self.data[:self.sd_tag[0]] + self.data[self.sd_tag[0]:self.sd_tag[1] - 2] + b">"
            return head + tail_new + b"</" + p + b"sheetData>" + self.data[self.sd_tag[1]:]
        return (self.data[:self.body_start] + b"".join(pieces) + self.data[pos:self.body_end] + tail_new
                + self.data[self.body_end:])


def edit_cells(sheet: SheetXml, cells: Mapping[int, Mapping[int, Any]], styles: Styles,
               protect_formulas: bool = True, shift: int = 0, drop: Iterable[int] = (),
               header_style: int | None = None) -> tuple[bytes, int, list[tuple[int, int]]]:
    """Write `cells` ({row: {col: value}}) into `sheet`; with `drop`, remove those rows and
    move the rows below them up by `shift`. Returns the new part, the cells written and
    the cells skipped because they hold a formula (a person's value)."""
    rows = {num: (start, end) for num, start, end in sheet.rows()}
    drop = set(drop)
    top = max(drop, default=0)
    moved = [n for n in rows if shift and n > top and n not in drop]
    old = sorted(set(moved) | {n for n in cells if n in rows})
    new = sorted(n for n in cells if n not in rows)
    # One parse and one serialisation for all the rows touched, however many.
    wrapper = sheet.fragment(b"".join(sheet.data[rows[n][0]:rows[n][1]] for n in old) or b"<row/>").getparent()
    if not old:
        wrapper.remove(wrapper[0])
    els = dict(zip(old, wrapper))
    for n in new:
        els[n] = etree.SubElement(wrapper, q("row"), r=str(n))
    written, skipped = 0, []
    for num in sorted(cells):
        w, sk = _write_row(els[num], num, cells[num], styles, protect_formulas,
                           header_style if num == 1 else None)
        written += w
        skipped += sk
    for n in moved:
        _renumber(els[n], n - shift)
    out = sheet.serialise(wrapper[0]) if len(wrapper) else b""
    chunks = [out[a:b] for _, a, b in row_spans(out, 0, len(out))]
    if len(chunks) != len(old) + len(new):
        raise ValueError("rows could not be written back")
    replaced: dict[int, bytes | None] = {n: None for n in drop}
    replaced.update(zip(old, chunks[:len(old)]))
    return sheet.splice(replaced, dict(zip(new, chunks[len(old):]))), written, skipped


def _write_row(el: etree._Element, num: int, values: Mapping[int, Any], styles: Styles,
               protect_formulas: bool, header_style: int | None) -> tuple[int, list[tuple[int, int]]]:
    by_col = {}
    for i, c in enumerate(el.findall(q("c")), start=1):
        m = _CELL_REF.match(c.get("r", ""))
        by_col[col_index(m.group(1)) if m else i] = c
    written, skipped = 0, []
    last = max(by_col, default=0)
    for col, value in sorted(values.items()):
        c = by_col.get(col)
        if c is None:
            c = by_col[col] = _new_cell(el, by_col if col < last else {}, num, col)
            last = max(last, col)
        elif protect_formulas and c.find(q("f")) is not None:
            skipped.append((num, col))
            continue
        if header_style is not None:
            c.set("s", str(header_style))
        set_value(c, value, styles)
        written += 1
    _fix_spans(el)
    return written, skipped


def _renumber(row: etree._Element, n: int) -> None:
    row.set("r", str(n))
    for c in row.findall(q("c")):
        m = _CELL_REF.match(c.get("r", ""))
        if m:
            c.set("r", f"{m.group(1)}{n}")


def _new_cell(row: etree._Element, by_col: Mapping[int, etree._Element], num: int, col: int) -> etree._Element:
    """A `c` element for column `col`, in column order (before any extLst)."""
    c = etree.Element(q("c"), r=f"{col_letter(col)}{num}")
    after = [k for k in by_col if k > col]
    if after:
        by_col[min(after)].addprevious(c)
    elif len(row) and not row[-1].tag.endswith("}c") and isinstance(row[-1].tag, str):
        row[-1].addprevious(c)
    else:
        row.append(c)
    return c


def _fix_spans(row: etree._Element) -> None:
    """`spans` is an optional hint; drop it when the row now reaches past it."""
    spans = row.get("spans")
    if not spans or ":" not in spans:
        return
    lo, hi = (int(x) for x in spans.split(":")[:2])
    cols = [col_index(m.group(1)) for c in row.findall(q("c")) if (m := _CELL_REF.match(c.get("r", "")))]
    if cols and (min(cols) < lo or max(cols) > hi):
        del row.attrib["spans"]


def set_dimension(data: bytes, last_row: int, last_col: int) -> bytes:
    """Widen `<dimension ref>` to reach (last_row, last_col); leaves it when it does."""
    m = re.search(rb'(<(?:\w+:)?dimension\b[^>]*\bref=")([^"]*)(")', data[:4096])
    if m is None:
        return data
    ref = m.group(2).decode()
    parts = ref.split(":")
    first = _CELL_REF.match(parts[0])
    last = _CELL_REF.match(parts[-1])
    if not first or not last:
        return data
    r = max(int(last.group(2)), last_row)
    c = max(col_index(last.group(1)), last_col)
    new = f"{parts[0]}:{col_letter(c)}{r}".encode()
    if new == m.group(2):
        return data
    return data[:m.start(2)] + new + data[m.end(2):]


# Children of a worksheet, in the order the format requires.
_ORDER = ("sheetPr", "dimension", "sheetViews", "sheetFormatPr", "cols", "sheetData", "sheetCalcPr",
          "sheetProtection", "protectedRanges", "scenarios", "autoFilter", "sortState", "dataConsolidate",
          "customSheetViews", "mergeCells", "phoneticPr", "conditionalFormatting", "dataValidations",
          "hyperlinks", "printOptions", "pageMargins", "pageSetup", "headerFooter", "rowBreaks", "colBreaks",
          "customProperties", "cellWatches", "ignoredErrors", "smartTags", "drawing", "legacyDrawing",
          "legacyDrawingHF", "drawingHF", "picture", "oleObjects", "controls", "webPublishItems",
          "tableParts", "extLst")


def insert_ordered(root: etree._Element, el: etree._Element) -> etree._Element:
    """Put `el` among the worksheet's children where the format wants it."""
    rank = _ORDER.index(etree.QName(el).localname)
    for i, child in enumerate(root):
        name = etree.QName(child).localname if isinstance(child.tag, str) else ""
        if name in _ORDER and _ORDER.index(name) > rank:
            root.insert(i, el)
            return el
    root.append(el)
    return el


def edit_skeleton(data: bytes, edit: Any) -> bytes:
    """Run `edit(root)` on the sheet part without its rows (cheap for any size); the rows
    are put back byte for byte. `edit` returns False to leave the part as it was."""
    sheet = SheetXml(data)
    p = sheet.prefix.encode()
    start = sheet.sd_tag[0]
    end = sheet.sd_tag[1] if sheet.empty else sheet.body_end + len(b"</" + p + b"sheetData>")
    root = parse(data[:start] + b"<" + p + b"sheetData/>" + data[end:])
    if not edit(root):
        return data
    sd = root.find(q("sheetData"))
    marker = etree.Comment("sheetcrm-rows")
    sd.addprevious(marker)
    root.remove(sd)
    out = dump(root)
    return out.replace(b"<!--sheetcrm-rows-->", data[start:end], 1)


def freeze(root: etree._Element, rows: int) -> bool:
    """Freeze the top `rows` rows unless the sheet already has a pane."""
    views = root.find(q("sheetViews"))
    if views is None:
        views = insert_ordered(root, etree.Element(q("sheetViews")))
    view = views.find(q("sheetView"))
    if view is None:
        view = etree.SubElement(views, q("sheetView"), workbookViewId="0")
    if view.find(q("pane")) is not None:
        return False
    view.insert(0, etree.Element(q("pane"), ySplit=str(rows), topLeftCell=f"A{rows + 1}",
                                 activePane="bottomLeft", state="frozen"))
    for sel in view.findall(q("selection")):
        view.remove(sel)
    etree.SubElement(view, q("selection"), pane="bottomLeft")
    return True


def dropdowns(root: etree._Element, headers: tuple[str, ...],
              wanted: tuple[tuple[str, tuple[str, ...]], ...]) -> int:
    """List validations on the columns of `wanted` that have none; returns how many were
    added. Free text stays allowed (no error message): the list helps, it does not bar."""
    dvs = root.find(q("dataValidations"))
    have = set()
    for dv in dvs if dvs is not None else ():
        for ref in dv.get("sqref", "").split():
            m = re.match(r"([A-Z]+)", ref)
            if m:
                have.add(m.group(1))
    added = 0
    for header, options in wanted:
        if header not in headers:
            continue
        col = col_letter(headers.index(header) + 1)
        if col in have:
            continue
        if dvs is None:
            dvs = insert_ordered(root, etree.Element(q("dataValidations")))
        dv = etree.SubElement(dvs, q("dataValidation"), type="list", allowBlank="1", showErrorMessage="0",
                              sqref=f"{col}2:{col}100000")
        etree.SubElement(dv, q("formula1")).text = '"' + ",".join(options) + '"'
        added += 1
    if dvs is not None:
        dvs.set("count", str(len(dvs)))
    return added
