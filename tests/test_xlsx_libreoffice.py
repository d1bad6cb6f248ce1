"""Workbooks saved by LibreOffice go through a changed sync with their other parts intact,
and what the sync writes reopens in LibreOffice.

tests/fixtures/xlsx/libreoffice-leads.xlsx is the feature workbook of helpers_xlsx saved
by LibreOffice Calc 7.4 (`soffice --headless --convert-to xlsx`). The reopening test needs
`soffice` (Debian: apt-get install libreoffice-calc-nogui) and is skipped without it.
"""

from __future__ import annotations

import csv
import shutil
import subprocess
from pathlib import Path

import pytest
from helpers_xlsx import F_OWNER, F_STATUS, LEADS, TODAY_S, write_feature_workbook
from test_xlsx_features import LEADS_PART, PACKAGE_PARTS, cells, parts, ref, skeleton

from sheetcrm import api
from sheetcrm.a1 import col_letter
from sheetcrm.backends.xlsx import XlsxBackend

FIXTURE = Path(__file__).parent / "fixtures" / "xlsx" / "libreoffice-leads.xlsx"
SOFFICE = shutil.which("soffice") or shutil.which("libreoffice")


def _sync(tmp_path: Path) -> tuple[Path, dict[str, bytes], api.SyncResult]:
    path = tmp_path / "lo.xlsx"
    shutil.copy(FIXTURE, path)
    before = parts(path)
    return path, before, api.sync(workbook=path, today=TODAY_S)


def test_libreoffice_workbook_keeps_what_the_sync_does_not_own(tmp_path):
    path, before, result = _sync(tmp_path)
    assert result.applied.wrote
    titles = set(result.tabs.values())
    import zipfile

    from sheetcrm.backends.xlsx_patch import Package

    with zipfile.ZipFile(path) as z:
        tab_parts = {p for t, p in Package(z).sheet_paths().items() if t in titles}
    after = parts(path)
    kept = [n for n in before if n not in PACKAGE_PARTS | tab_parts]
    assert "xl/sharedStrings.xml" in kept and "xl/comments1.xml" in kept and "xl/tables/table1.xml" in kept
    assert all(after[n] == before[n] for n in kept)
    assert skeleton(after[LEADS_PART]) == skeleton(before[LEADS_PART])
    old, new = cells(before[LEADS_PART]), cells(after[LEADS_PART])
    owned = {ref((u.row, u.col)) for u in result.changes.updates if u.tab == LEADS}
    owned |= {f"{col_letter(a.first_col + i)}1" for a in result.changes.add_columns for i in range(len(a.headers))}
    assert {r for r in old.keys() | new.keys() if old.get(r) != new.get(r)} <= owned
    assert new[ref(F_OWNER)] == old[ref(F_OWNER)] and b"<f" in new[ref(F_OWNER)]
    grid = XlsxBackend(path).read()[LEADS].values
    assert grid[F_OWNER[0] - 1][5] == "Lan"


def _to_csv(files: list[Path], out: Path) -> dict[str, list[list[str]]]:
    """Every tab of every file as csv rows, by '<file stem>-<tab>'."""
    profile = out / "profile"
    cmd = [SOFFICE, f"-env:UserInstallation=file://{profile}", "--headless", "--convert-to",
           'csv:Text - txt - csv (StarCalc):44,34,76,1,,0,false,true,false,false,false,-1',
           "--outdir", str(out), *map(str, files)]
    subprocess.run(cmd, check=True, capture_output=True, timeout=300)
    return {p.stem: list(csv.reader(p.open(encoding="utf-8"))) for p in out.glob("*.csv")}


@pytest.mark.skipif(SOFFICE is None, reason="needs LibreOffice (apt-get install libreoffice-calc-nogui)")
def test_synced_workbooks_reopen_in_libreoffice(tmp_path):
    lo_path, _, _ = _sync(tmp_path)
    feat = write_feature_workbook(tmp_path / "feat.xlsx")
    api.sync(workbook=feat, today=TODAY_S)
    api.sync(workbook=feat, today="2026-03-13")  # a second, next-day sync rewrites the summaries
    tabs = _to_csv([lo_path, feat], tmp_path / "csv")
    for stem in ("lo", "feat"):
        leads = tabs[f"{stem}-{LEADS}"]
        header = leads[0]
        ids = [row[header.index("Mã KH")] for row in leads[1:] if any(row)]
        assert ids[:5] == [f"KH-{n:06d}" for n in range(1, 6)]
        assert "Lỗi dữ liệu" in header
        assert leads[F_STATUS[0] - 1][header.index("Trạng thái")] == "Tiềm năng"  # the formula, calculated
        overview = tabs[f"{stem}-Tổng quan"]
        assert overview[0][0] == "Tổng quan bán hàng"
        assert f"{stem}-Lịch sử" in tabs
