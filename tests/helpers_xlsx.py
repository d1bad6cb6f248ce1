"""Shared helpers for the xlsx / validation / CLI tests (imported, not a conftest).

Workbooks are written with openpyxl in normal mode so that cell types are exactly what a
person would leave: text stays text (a phone keeps its leading 0, a formula-looking note is
a text cell), dates are real dates.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import os
import shutil
import subprocess
import sys
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from openpyxl import Workbook, load_workbook

from sheetcrm.schema import Schemas, load_schemas
from sheetcrm.sync.tables import Table, bind

TODAY = dt.date(2026, 3, 12)
TODAY_S = TODAY.isoformat()
LEADS = "Khách hàng"
SYNC_LOG = "Nhật ký đồng bộ"
REPO = Path(__file__).resolve().parent.parent
SCHEMAS_DIR = REPO / "schemas"
SHEETCRM = str(Path(sys.executable).with_name("sheetcrm"))

# Default Vietnamese headers by column key (schemas/leads.toml).
H = {
    "lead_id": "Mã KH",
    "name": "Tên khách hàng",
    "company": "Công ty",
    "email": "Email",
    "phone": "Số điện thoại",
    "owner": "Người phụ trách",
    "product": "Sản phẩm quan tâm",
    "source": "Nguồn",
    "status": "Trạng thái",
    "created_at": "Ngày tạo",
    "last_contact": "Ngày liên hệ cuối",
    "reason": "Lý do",
    "notes": "Ghi chú",
    "recontact_on": "Ngày liên hệ lại",
    "duplicate_of": "Trùng với",
    "issues": "Lỗi dữ liệu",
}
# The person-typed columns a rep's sheet starts with, in template order.
PERSON_KEYS = ["lead_id", "name", "company", "email", "phone", "owner", "product", "source",
               "status", "created_at", "last_contact", "reason", "notes"]


@functools.cache
def schemas() -> Schemas:
    return load_schemas()


# A few clean, distinct leads (no duplicates, no automatic status moves).
CLEAN = [
    dict(lead_id="KH-000001", name="Nguyễn Văn An", company="Công ty TNHH Minh Phát",
         email="an.nguyen@minhphat.vn", phone="0912345678", owner="Lan", product="Gói Cơ bản",
         source="Facebook", status="Mới", created_at=dt.date(2026, 1, 5),
         last_contact=dt.date(2026, 1, 6), notes="Gọi lại sau 14h"),
    dict(lead_id="KH-000002", name="Trần Thị Bình", company="Cty CP Sao Mai",
         email="binh.tran@saomai.com.vn", phone="0987654321", owner="Minh",
         product="Gói Chuyên nghiệp", source="Zalo", status="Tiềm năng",
         created_at=dt.date(2026, 2, 1), last_contact=dt.date(2026, 2, 3)),
    dict(lead_id="KH-000003", name="Lê Hoàng Cường", company=None, email=None,
         phone="0903 111 222", owner="Hùng", product="Gói Doanh nghiệp", source="Website",
         status="Nóng", created_at=dt.date(2026, 2, 10), last_contact=dt.date(2026, 3, 1)),
    dict(lead_id="KH-000004", name="Phạm Minh Dũng", company="Hoàng Long JSC",
         email="dung.pham@hoanglong.vn", phone=None, owner="Thảo", product="Gói Cơ bản",
         source="Giới thiệu", status="Đã tìm hiểu", created_at=dt.date(2025, 12, 20),
         last_contact=None),
]


def lead(**kw: Any) -> dict[str, Any]:
    """A clean lead with overrides (a fresh, distinct person unless told otherwise)."""
    base = dict(name="Võ Thanh Hải", email="hai.vo@example.vn", phone="0935123456",
                owner="Vy", status="Mới", created_at=dt.date(2026, 3, 1))
    base.update(kw)
    return base


def grid(leads: Sequence[Mapping[str, Any]], keys: Sequence[str] = PERSON_KEYS,
         headers: Mapping[str, str] | None = None,
         extra: Mapping[str, Sequence[Any]] | None = None) -> list[list[Any]]:
    """Leads → raw grid (header row first) in the column order `keys`; `headers` renames
    columns by key; `extra` adds unknown columns (header → values) at the end."""
    hdr = [(headers or {}).get(k, H[k]) for k in keys]
    rows = [[d.get(k) for k in keys] for d in leads]
    if extra:
        for h, values in extra.items():
            hdr.append(h)
            for r, v in zip(rows, values):
                r.append(v)
    return [hdr, *rows]


def bind_leads(g: list[list[Any]], title: str = LEADS) -> Table:
    return bind(g, title, schemas().tab("leads"))


def write_workbook(path: Path, tabs: Mapping[str, list[list[Any]]]) -> Path:
    """Write `tabs` (title → grid) as an .xlsx; strings are always text cells, dates get a
    dd/mm/yyyy format."""
    wb = Workbook()
    wb.remove(wb.active)
    for title, g in tabs.items():
        ws = wb.create_sheet(title)
        for r, row in enumerate(g, start=1):
            for c, v in enumerate(row, start=1):
                if v is None:
                    continue
                cell = ws.cell(row=r, column=c)
                cell.value = v
                if isinstance(v, str):
                    cell.data_type = "s"  # '=...' typed by a person is text, not a formula
                elif isinstance(v, (dt.date, dt.datetime)):
                    cell.number_format = "dd/mm/yyyy"
    path.parent.mkdir(parents=True, exist_ok=True)
    wb.save(path)
    return path


def write_leads(path: Path, leads: Sequence[Mapping[str, Any]] = CLEAN, **kw: Any) -> Path:
    return write_workbook(path, {LEADS: grid(leads, **kw)})


Snapshot = dict[str, dict[tuple[int, int], tuple[Any, str]]]


def snapshot(path: Path) -> Snapshot:
    """Every non-empty cell of every tab: (row, col) → (value, data_type)."""
    wb = load_workbook(path)
    out: Snapshot = {}
    for ws in wb.worksheets:
        cells = {}
        for row in ws.iter_rows():
            for c in row:
                if c.value is not None:
                    cells[(c.row, c.column)] = (c.value, c.data_type)
        out[ws.title] = cells
    wb.close()
    return out


def header_cols(path: Path, tab: str = LEADS) -> dict[str, int]:
    """Header text → 1-based column of a tab."""
    wb = load_workbook(path, read_only=True)
    ws = wb[tab]
    first = next(ws.iter_rows(min_row=1, max_row=1, values_only=True))
    wb.close()
    return {h: i for i, h in enumerate(first, start=1) if h is not None}


def column_values(path: Path, header: str, tab: str = LEADS) -> list[Any]:
    """Values of one column (by header text) from row 2 down to the last row."""
    wb = load_workbook(path)
    ws = wb[tab]
    col = None
    for c in ws[1]:
        if c.value == header:
            col = c.column
    assert col is not None, f"no header {header!r} in {tab}: {[c.value for c in ws[1]]}"
    out = [ws.cell(row=r, column=col).value for r in range(2, ws.max_row + 1)]
    wb.close()
    return out


def set_cell(path: Path, tab: str, row: int, header: str, value: Any) -> None:
    """Edit one cell as a person would (openpyxl load/save)."""
    wb = load_workbook(path)
    ws = wb[tab]
    col = next(c.column for c in ws[1] if c.value == header)
    cell = ws.cell(row=row, column=col)
    cell.value = value
    if isinstance(value, str):
        cell.data_type = "s"
    wb.save(path)


def sha(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def run_cli(*args: str, cwd: Path | None = None, timeout: float = 120,
            env: Mapping[str, str] | None = None) -> subprocess.CompletedProcess:
    """Run the installed `sheetcrm` console script in a subprocess."""
    e = dict(os.environ)
    e.update(env or {})
    return subprocess.run([SHEETCRM, *args], cwd=cwd, capture_output=True, text=True,
                          timeout=timeout, env=e)


def copy_schemas(dest: Path) -> Path:
    shutil.copytree(SCHEMAS_DIR, dest)
    return dest


def write_config(path: Path, **settings: Any) -> Path:
    lines = []
    for k, v in settings.items():
        lines.append(f"{k} = {v!r}" if not isinstance(v, str) else f'{k} = "{v}"')
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def data_rows(snap_tab: Mapping[tuple[int, int], Any]) -> set[int]:
    return {r for (r, _c) in snap_tab if r > 1}


def iter_cells(snap_tab: Mapping[tuple[int, int], Any], cols: Iterable[int]) -> dict:
    cols = set(cols)
    return {k: v for k, v in snap_tab.items() if k[1] in cols}


# ---------------------------------------------------------------------- a workbook with every feature
MAIN_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
FEATURE_ROWS = [  # (name, email, phone, owner, status, created)
    ("Nguyễn Văn An", "an.nguyen@minhphat.vn", "0912345678", "Lan", "Mới", dt.date(2026, 1, 5)),
    ("Trần Thị Bình", "BINH.TRAN@SAOMAI.COM.VN", "0987654321", "Minh", "Tiềm năng", dt.date(2026, 2, 1)),
    ("Lê Hoàng Cường", "cuong.le@gmail.com", "0903111222", "Hùng", "Nóng", dt.date(2026, 2, 10)),
    ("Phạm Minh Dũng", "dung.pham@hoanglong.vn", "0908222333", "Thảo", "Đã tìm hiểu", dt.date(2025, 12, 20)),
    ("Võ Thanh Hải", "hai.vo@example.vn", "0935123456", "Vy", "Mới", None),
    ("Đỗ Thị Én", "en.do@example.vn", "0988123123", "Lan", "Tiềm năng", dt.date(2026, 3, 1)),
]
# Cells (row, col) of the features: the status of row 3 is =IF(...) (cached 'Tiềm năng'),
# the owner of row 2 is ="Lan", the email of row 3 is =LOWER(...), column P is the team's
# own shared formula, the email of row 7 is a formula with no cached value.
F_STATUS, F_OWNER, F_EMAIL, F_UNCACHED = (3, 9), (2, 6), (3, 4), (7, 4)


def write_feature_workbook(path: Path) -> Path:
    """A leads workbook with what office files carry: shared and inline strings, rich text,
    formulas with cached values (and one without), a shared formula, a table object over
    the leads, comments, data validations, conditional formats, defined names, an x14
    sparkline group, a pivot cache and company properties. openpyxl writes the base; the
    parts it cannot write are then set as the published format describes them."""
    from openpyxl.comments import Comment
    from openpyxl.formatting.rule import CellIsRule
    from openpyxl.styles import PatternFill
    from openpyxl.workbook.defined_name import DefinedName
    from openpyxl.worksheet.datavalidation import DataValidation
    from openpyxl.worksheet.table import Table as XlTable

    keys = ["lead_id", "name", "company", "email", "phone", "owner", "product", "source", "status",
            "created_at", "last_contact", "reason", "notes"]
    wb = Workbook()
    ws = wb.active
    ws.title = LEADS
    ws.append([H[k] for k in keys] + ["Dài tên"])
    for i, (name, email, phone, owner, status, created) in enumerate(FEATURE_ROWS, start=2):
        ws.append([None, name, "Cty " + name.split()[-1], email, phone, owner, "Gói Cơ bản", "Zalo", status,
                   created, None, None, "ghi chú " + name.split()[-1], f"=LEN(B{i})"])
        ws.cell(row=i, column=5).data_type = "s"
        if created:
            ws.cell(row=i, column=10).number_format = "dd/mm/yyyy"
    ws["B2"].comment = Comment("Khách quen của chị Lan", "Lan", width=300, height=120)
    dv = DataValidation(type="list", formula1='"Mới,Tiềm năng,Nóng"', allow_blank=True)
    dv.add("I2:I100")
    ws.add_data_validation(dv)
    ws.conditional_formatting.add("I2:I100", CellIsRule(operator="equal", formula=['"Nóng"'],
                                                        fill=PatternFill("solid", fgColor="FFC7CE")))
    ws.add_table(XlTable(displayName="Leads", ref=f"A1:N{len(FEATURE_ROWS) + 1}"))
    wb.defined_names["Team"] = DefinedName("Team", attr_text=f"'{LEADS}'!$F$2:$F$100")
    wb.create_sheet("Pivot").append(["Người phụ trách", "Số lead"])
    path.parent.mkdir(parents=True, exist_ok=True)
    wb.save(path)
    _add_office_features(path)
    return path


def _add_office_features(path: Path) -> None:
    import zipfile

    from lxml import etree

    with zipfile.ZipFile(path) as z:
        parts = {n: z.read(n) for n in z.namelist()}
    sheet = etree.fromstring(parts["xl/worksheets/sheet1.xml"])
    ns = {"m": MAIN_NS}

    def cell(ref: str) -> Any:
        return sheet.find(f".//m:c[@r='{ref}']", ns)

    def formula(ref: str, f: str | None, cached: str | None, t: str = "str",
                attrs: dict[str, str] | None = None) -> None:
        c = cell(ref)
        for child in list(c):
            c.remove(child)
        if t:
            c.set("t", t)
        else:
            c.attrib.pop("t", None)
        fe = etree.SubElement(c, f"{{{MAIN_NS}}}f", attrs or {})
        fe.text = f
        if cached is not None:
            etree.SubElement(c, f"{{{MAIN_NS}}}v").text = cached

    formula("I3", 'IF(J3<DATE(2026,1,1),"Mới","Tiềm năng")', "Tiềm năng")
    formula("F2", '"Lan"', "Lan")
    formula("D3", 'LOWER("BINH.TRAN@SAOMAI.COM.VN")', "binh.tran@saomai.com.vn")
    formula("D7", 'LOWER("en.do@example.vn")', None)
    # the team's column: one shared formula over N2:N7, with cached lengths
    for i, (name, *_rest) in enumerate(FEATURE_ROWS, start=2):
        attrs = {"t": "shared", "si": "0", **({"ref": f"N2:N{len(FEATURE_ROWS) + 1}"} if i == 2 else {})}
        formula(f"N{i}", f"LEN(B{i})" if i == 2 else None, str(len(name)), t="", attrs=attrs)
    _shared_strings(sheet, parts)
    sheet.append(etree.fromstring(_SPARKLINE_EXT.format(tab=LEADS)))
    parts["xl/worksheets/sheet1.xml"] = etree.tostring(sheet, xml_declaration=True, encoding="UTF-8",
                                                        standalone=True)
    _pivot_cache(parts)
    parts["docProps/app.xml"] = parts["docProps/app.xml"].replace(
        b"</Properties>", "<Manager>Chị Lan</Manager><Company>Cty TNHH Minh Phát</Company></Properties>".encode())
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in parts.items():
            z.writestr(name, data)


_SPARKLINE_EXT = (
    '<extLst xmlns="' + MAIN_NS + '"><ext uri="{{05C60535-1F16-4fd2-B633-F4F36F0B64E0}}" '
    'xmlns:x14="http://schemas.microsoft.com/office/spreadsheetml/2009/9/main">'
    '<x14:sparklineGroups xmlns:xm="http://schemas.microsoft.com/office/excel/2006/main">'
    '<x14:sparklineGroup displayEmptyCellsAs="gap"><x14:colorSeries rgb="FF376092"/>'
    "<x14:sparklines><x14:sparkline><xm:f>'{tab}'!N2:N7</xm:f><xm:sqref>Z2</xm:sqref>"
    "</x14:sparkline></x14:sparklines></x14:sparklineGroup></x14:sparklineGroups></ext></extLst>")


def _shared_strings(sheet: Any, parts: dict[str, bytes]) -> None:
    """Text cells go to a shared-strings table, as office programs keep them; row 2's note
    becomes rich text (a bold run). H4 stays an inline string."""
    from lxml import etree

    m = f"{{{MAIN_NS}}}"
    sst = etree.Element(m + "sst", nsmap={None: MAIN_NS})
    for c in sheet.iter(m + "c"):
        if c.get("t") != "inlineStr" or c.get("r") == "H4":
            continue
        text = c.find(f"{m}is/{m}t").text
        si = etree.SubElement(sst, m + "si")
        if c.get("r") == "M2":
            r = etree.SubElement(si, m + "r")
            etree.SubElement(etree.SubElement(r, m + "rPr"), m + "b")
            etree.SubElement(r, m + "t").text = text.split()[0] + " " + text.split()[1]
            r2 = etree.SubElement(etree.SubElement(si, m + "r"), m + "t")
            r2.text = " " + " ".join(text.split()[2:])
            r2.set("{http://www.w3.org/XML/1998/namespace}space", "preserve")
        else:
            etree.SubElement(si, m + "t").text = text
        for child in list(c):
            c.remove(child)
        c.set("t", "s")
        etree.SubElement(c, m + "v").text = str(len(sst) - 1)
    sst.set("count", str(len(sst)))
    sst.set("uniqueCount", str(len(sst)))
    parts["xl/sharedStrings.xml"] = etree.tostring(sst, xml_declaration=True, encoding="UTF-8", standalone=True)
    parts["xl/_rels/workbook.xml.rels"] = parts["xl/_rels/workbook.xml.rels"].replace(b"</Relationships>", (
        b'<Relationship Id="rIdSst" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
        b'sharedStrings" Target="sharedStrings.xml"/></Relationships>'))
    parts["[Content_Types].xml"] = parts["[Content_Types].xml"].replace(b"</Types>", (
        b'<Override PartName="/xl/sharedStrings.xml" ContentType="application/vnd.openxmlformats-officedocument.'
        b'spreadsheetml.sharedStrings+xml"/></Types>'))


def _pivot_cache(parts: dict[str, bytes]) -> None:
    """A pivot cache over the owners (definition + records), as Excel keeps one."""
    rel = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/pivotCacheDefinition"
    parts["xl/pivotCache/pivotCacheDefinition1.xml"] = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        f'<pivotCacheDefinition xmlns="{MAIN_NS}" xmlns:r="http://schemas.openxmlformats.org/officeDocument/'
        '2006/relationships" r:id="rId1" refreshOnLoad="1" recordCount="0">'
        f"<cacheSource type=\"worksheet\"><worksheetSource ref=\"F1:F7\" sheet=\"{LEADS}\"/></cacheSource>"
        '<cacheFields count="1"><cacheField name="Người phụ trách" numFmtId="0"><sharedItems/></cacheField>'
        "</cacheFields></pivotCacheDefinition>").encode()
    parts["xl/pivotCache/pivotCacheRecords1.xml"] = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        f'<pivotCacheRecords xmlns="{MAIN_NS}" count="0"/>').encode()
    parts["xl/pivotCache/_rels/pivotCacheDefinition1.xml.rels"] = (
        b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        b'<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        b'<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
        b'pivotCacheRecords" Target="pivotCacheRecords1.xml"/></Relationships>')
    rels = parts["xl/_rels/workbook.xml.rels"].decode()
    parts["xl/_rels/workbook.xml.rels"] = rels.replace(
        "</Relationships>", f'<Relationship Id="rIdPivot1" Type="{rel}" '
        'Target="pivotCache/pivotCacheDefinition1.xml"/></Relationships>').encode()
    wb = parts["xl/workbook.xml"].decode()
    pivot = ('<pivotCaches><pivotCache cacheId="1" xmlns:r="http://schemas.openxmlformats.org/'
             'officeDocument/2006/relationships" r:id="rIdPivot1"/></pivotCaches>')
    wb = wb.replace("<calcPr", pivot + "<calcPr") if "<calcPr" in wb else wb.replace("</workbook>", pivot + "</workbook>")
    parts["xl/workbook.xml"] = wb.encode()
    ct = parts["[Content_Types].xml"].decode()
    kind = "application/vnd.openxmlformats-officedocument.spreadsheetml.pivotCache"
    parts["[Content_Types].xml"] = ct.replace("</Types>", (
        f'<Override PartName="/xl/pivotCache/pivotCacheDefinition1.xml" ContentType="{kind}Definition+xml"/>'
        f'<Override PartName="/xl/pivotCache/pivotCacheRecords1.xml" ContentType="{kind}Records+xml"/>'
        "</Types>")).encode()
