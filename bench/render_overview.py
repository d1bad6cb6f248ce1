"""Render the overview and the agenda of generated demo data to PNG, as a manager sees
them printed: openpyxl workbook -> LibreOffice PDF -> pdftoppm PNG.

    PYTHONPATH=. python bench/render_overview.py [--leads 600] [--out docs] [--all-pages]
    PYTHONPATH=. python bench/render_overview.py --demo [--today YYYY-MM-DD]

`--demo` renders the tabs of the real demo workbook (`api.demo`: ten months of replayed
syncs) instead of layouts built from bench frames: a copy of the workbook per tab, every
other tab deleted (charts kept), converted as is.

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
    return _convert(xlsx, workdir, stem, dpi)


def _convert(xlsx: Path, workdir: Path, stem: str, dpi: int, first_only: bool = False) -> list[Path]:
    profile = workdir / "lo-profile"  # a private profile: no clash with a running office
    subprocess.run(
        ["libreoffice", f"-env:UserInstallation=file://{profile}", "--headless", "--convert-to", "pdf", "--outdir", str(workdir), str(xlsx)],
        check=True, capture_output=True, timeout=180,
    )
    pages = ["-f", "1", "-l", "1"] if first_only else []
    subprocess.run(["pdftoppm", "-png", "-r", str(dpi), *pages, str(workdir / f"{stem}.pdf"), str(workdir / stem)],
                   check=True, timeout=120)
    return sorted(workdir.glob(f"{stem}-*.png"))


def demo_pages(workdir: Path, leads: int, today: dt.date, language: str, dpi: int,
               first_only: bool = True) -> dict[str, list[Path]]:
    """PNG pages of the demo workbook's overview and agenda tabs."""
    from openpyxl import load_workbook

    from sheetcrm import api
    from sheetcrm.sync.agenda import AGENDA_TAB
    from sheetcrm.sync.summary import OVERVIEW_TAB

    path, _ = api.demo(workdir / "demo", rows=leads, today=today, language=language)
    out = {}
    for stem, tab in (("overview", OVERVIEW_TAB), ("agenda", AGENDA_TAB)):
        wb = load_workbook(path)  # openpyxl keeps the charts of the tab it keeps
        for name in wb.sheetnames:
            if name != tab:
                del wb[name]
        xlsx = workdir / f"{stem}.xlsx"
        wb.save(xlsx)
        out[stem] = _convert(xlsx, workdir, stem, dpi, first_only)
    return out


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--leads", type=int, default=600)
    ap.add_argument("--out", default="docs")
    ap.add_argument("--dpi", type=int, default=80)
    ap.add_argument("--language", default="vi")
    ap.add_argument("--all-pages", action="store_true")
    ap.add_argument("--demo", action="store_true", help="render the real demo workbook (api.demo)")
    # The sync stamps the wall-clock time, so the demo's today defaults to the real one.
    ap.add_argument("--today", default=None, help="the demo's today, YYYY-MM-DD (with --demo)")
    args = ap.parse_args()
    for tool in ("libreoffice", "pdftoppm"):
        if not shutil.which(tool):
            print(f"{tool} not found: apt-get install -y libreoffice-calc poppler-utils", file=sys.stderr)
            return 2
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        if args.demo:
            rendered = demo_pages(Path(tmp), args.leads, dt.date.fromisoformat(args.today) if args.today else dt.date.today(), args.language, args.dpi,
                                  first_only=not args.all_pages)
        else:
            today = dt.date(2025, 6, 18)
            now = dt.datetime(2025, 6, 18, 9, 30)
            schemas = load_schemas()
            leads, history, rejections, nurture, quality = make_frames(args.leads, today=today)
            layouts = {
                "overview": build_overview(leads, history, rejections, nurture, quality, schemas, today, now, args.language),
                "agenda": build_agenda(leads, schemas, today, args.language, now=now),
            }
            rendered = {stem: to_png(layout, Path(tmp), stem, args.dpi) for stem, layout in layouts.items()}
        for stem, pages in rendered.items():
            shutil.copy(pages[0], out / f"{stem}.png")
            print(f"{out / f'{stem}.png'} (page 1 of {len(pages)})")
            if args.all_pages:
                for i, p in enumerate(pages, start=1):
                    shutil.copy(p, out / f"{stem}-{i}.png")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
