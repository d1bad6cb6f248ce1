"""docs/architecture.md's "Add a summary tab" recipe, followed as written on a scratch copy.

Each code block of the recipe is preceded by a marker the rendered page does not show:
`<!-- recipe: new PATH -->` (the block is a new file) or `<!-- recipe: after PATH :: LINE -->`
(the block goes right after the first line equal to LINE). The copy then runs a real sync.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
DOC = REPO / "docs" / "architecture.md"
STEP = re.compile(r"<!-- recipe: (new|after) (\S+)(?: :: (.+?))? -->\n```\w*\n(.*?)```", re.S)


def recipe(title: str) -> list[tuple[str, str, str | None, str]]:
    text = DOC.read_text(encoding="utf-8")
    start = text.index(f"### {title}")
    end = text.find("\n### ", start + 1)
    return [m.groups() for m in STEP.finditer(text[start:end if end > 0 else None])]


def follow(steps, root: Path) -> None:
    for kind, rel, anchor, body in steps:
        path = root / rel
        if kind == "new":
            assert not path.exists(), rel
            path.write_text(body, encoding="utf-8")
            continue
        lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
        at = next((i for i, line in enumerate(lines) if line.strip() == anchor.strip()), None)
        assert at is not None, f"{rel}: no line {anchor!r}"
        lines[at + 1:at + 1] = [body]
        path.write_text("".join(lines), encoding="utf-8")


RUN = textwrap.dedent("""
    import json, sys
    from datetime import date
    from pathlib import Path
    from openpyxl import load_workbook
    import sheetcrm
    from sheetcrm import api
    from sheetcrm.demo import write_demo_workbook

    assert sheetcrm.__file__.startswith(sys.argv[1]), sheetcrm.__file__
    out = {}
    for lang, toml in (("vi", ""), ("en", ""), ("vi", '[tabs]\\nowner_load = "Phụ trách"\\n')):
        folder = Path(sys.argv[2]) / f"{lang}{len(toml)}"
        folder.mkdir()
        path = write_demo_workbook(folder / "w.xlsx", 60, 5, today=date(2026, 3, 12))
        (folder / "sheetcrm.toml").write_text(toml + f'language = "{lang}"\\n', encoding="utf-8")
        cfg = str(folder / "sheetcrm.toml")
        api.sync(workbook=path, config=cfg, today="2026-03-12")
        wb = load_workbook(path)
        tabs = wb.sheetnames
        new = [t for t in tabs if t in ("Theo người phụ trách", "By owner", "Phụ trách")]
        rows = [list(r) for r in wb[new[0]].iter_rows(values_only=True)] if new else []
        out[f"{lang}{len(toml)}"] = {"tabs": tabs, "new": new, "rows": rows}
    print(json.dumps(out, ensure_ascii=False, default=str))
""")


@pytest.fixture(scope="module")
def scratch(tmp_path_factory):
    root = tmp_path_factory.mktemp("repo")
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for part in ("sheetcrm", "schemas"):
        shutil.copytree(REPO / part, root / part, ignore=ignore)
    return root


def test_the_recipe_has_its_steps():
    kinds = [(k, rel) for k, rel, _, _ in recipe("Add a summary tab")]
    assert ("new", "sheetcrm/sync/owner_load.py") in kinds
    assert {rel for _, rel in kinds} == {"sheetcrm/sync/owner_load.py", "schemas/summary_labels.toml",
                                         "sheetcrm/sync/summary_tabs.py"}


def test_add_a_summary_tab_as_written(scratch, tmp_path):
    follow(recipe("Add a summary tab"), scratch)
    out = subprocess.run([sys.executable, "-c", RUN, str(scratch), str(tmp_path)], capture_output=True,
                         text=True, timeout=300, cwd=tmp_path, env={"PYTHONPATH": str(scratch), "PATH": ""})
    assert out.returncode == 0, out.stderr
    res = json.loads(out.stdout.strip().splitlines()[-1])
    vi, en, renamed = res["vi0"], res["en0"], next(v for k, v in res.items() if k not in ("vi0", "en0"))
    assert vi["new"] == ["Theo người phụ trách"]
    assert en["new"] == ["By owner"]
    assert renamed["new"] == ["Phụ trách"]
    # written after the other summaries, headed by its title, one row per owner with the counts
    assert vi["tabs"][-1] == "Theo người phụ trách"
    rows = [r for r in vi["rows"] if any(v is not None for v in r)]
    assert rows[0][0] == "Theo người phụ trách"
    assert rows[2][:2] == ["Người phụ trách", "Số khách hàng"]
    counts = [r[1] for r in rows[3:]]
    assert counts == sorted(counts, reverse=True) and all(isinstance(n, int) for n in counts)
    assert len(counts) >= 3 and 50 <= sum(counts) <= 60  # 60 rows, a few of them duplicate records
