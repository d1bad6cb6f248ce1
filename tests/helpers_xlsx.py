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
