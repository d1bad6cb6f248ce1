"""Render the overview and the agenda of generated demo data to PNG, as a manager sees
them printed: openpyxl workbook -> LibreOffice PDF -> pdftoppm PNG.

    PYTHONPATH=. python bench/render_overview.py [--leads 600] [--out docs] [--all-pages]

Needs `libreoffice` (libreoffice-calc) and `pdftoppm` (poppler-utils). Writes
`<out>/overview.png` and `<out>/agenda.png` (first page of each); `--all-pages` also
keeps every page as `<out>/<tab>-<n>.png` for review.
"""

from __future__ import annotations

import argparse
import datetime as dt
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from openpyxl import Workbook

from bench.summary import make_frames
from sheetcrm.backends.xlsx_layout import render_layout
from sheetcrm.schema import load_schemas
from sheetcrm.sync.agenda import build_agenda
from sheetcrm.sync.summary import build_overview


def to_png(layout, workdir: Path, stem: str, dpi: int) -> list[Path]:
    wb = Workbook()
    ws = wb.active
    ws.title = layout.tab
    render_layout(ws, layout)
    xlsx = workdir / f"{stem}.xlsx"
    wb.save(xlsx)
    profile = workdir / "lo-profile"  # a private profile: no clash with a running office
    subprocess.run(
        ["libreoffice", f"-env:UserInstallation=file://{profile}", "--headless", "--convert-to", "pdf", "--outdir", str(workdir), str(xlsx)],
        check=True, capture_output=True, timeout=180,
    )
    subprocess.run(["pdftoppm", "-png", "-r", str(dpi), str(workdir / f"{stem}.pdf"), str(workdir / stem)], check=True, timeout=120)
    return sorted(workdir.glob(f"{stem}-*.png"))


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--leads", type=int, default=600)
    ap.add_argument("--out", default="docs")
    ap.add_argument("--dpi", type=int, default=80)
    ap.add_argument("--language", default="vi")
    ap.add_argument("--all-pages", action="store_true")
    args = ap.parse_args()
    for tool in ("libreoffice", "pdftoppm"):
        if not shutil.which(tool):
            print(f"{tool} not found: apt-get install -y libreoffice-calc poppler-utils", file=sys.stderr)
            return 2
    today = dt.date(2025, 6, 18)
    now = dt.datetime(2025, 6, 18, 9, 30)
    schemas = load_schemas()
    leads, history, rejections, nurture, quality = make_frames(args.leads, today=today)
    layouts = {
        "overview": build_overview(leads, history, rejections, nurture, quality, schemas, today, now, args.language),
        "agenda": build_agenda(leads, schemas, today, args.language, now=now),
    }
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        for stem, layout in layouts.items():
            pages = to_png(layout, Path(tmp), stem, args.dpi)
            shutil.copy(pages[0], out / f"{stem}.png")
            print(f"{out / f'{stem}.png'} (page 1 of {len(pages)})")
            if args.all_pages:
                for i, p in enumerate(pages, start=1):
                    shutil.copy(p, out / f"{stem}-{i}.png")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
