"""What users install: the wheel and the sdist carry every file the package reads, and a
workbook written by the previous release syncs under this one without loss."""

from __future__ import annotations

import datetime as dt
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from python_calamine import CalamineWorkbook

from sheetcrm import __version__, api
from sheetcrm.schema import load_schemas
from sheetcrm.sync.tables import bind, find_tab

REPO = Path(__file__).resolve().parent.parent
FIXTURE = REPO / "tests" / "fixtures" / "upgrade" / "sheetcrm-0.1.0.xlsx"
MADE_ON = dt.date(2026, 12, 7)


def _tracked(*folders: str) -> list[str]:
    out = subprocess.run(["git", "ls-files", *folders], cwd=REPO, capture_output=True, text=True)
    if out.returncode != 0:
        pytest.skip("not a git checkout")
    return [p for p in out.stdout.split() if "__pycache__" not in p]


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    out = tmp_path_factory.mktemp("dist")
    # --no-isolation: the test extra brings setuptools and wheel, so no download is needed.
    r = subprocess.run([sys.executable, "-m", "build", "--no-isolation", "--outdir", str(out), str(REPO)],
                       capture_output=True, text=True)
    if r.returncode != 0:
        pytest.fail(f"building the wheel failed:\n{r.stdout[-2000:]}\n{r.stderr[-2000:]}")
    (wheel,), (sdist,) = out.glob("*.whl"), out.glob("*.tar.gz")
    return wheel, sdist


def test_wheel_holds_every_module_and_data_file(built):
    names = set(zipfile.ZipFile(built[0]).namelist())
    need = [p for p in _tracked("sheetcrm") if not p.endswith(".gitignore")]
    need += ["sheetcrm/schemas/" + p.removeprefix("schemas/") for p in _tracked("schemas")]
    assert need and sorted(set(need) - names) == []
    # The package opens its schemas from inside itself once installed.
    assert "sheetcrm/schemas/leads.toml" in names and "sheetcrm/testing/fakesheets/README.md" in names
    # notify renders its digests from templates inside the package
    assert {"sheetcrm/templates/digest.html.j2", "sheetcrm/schemas/notifications.toml"} <= names


def test_sdist_holds_sources_schemas_and_tests(built):
    import tarfile

    with tarfile.open(built[1]) as tar:
        names = {n.split("/", 1)[1] for n in tar.getnames() if "/" in n}
    for p in ("pyproject.toml", "README.md", "schemas/leads.toml", "sheetcrm/cli.py"):
        assert p in names


def test_version_comes_from_the_package_metadata():
    from importlib.metadata import version

    assert __version__ == version("sheetcrm") and __version__[0].isdigit()


# ------------------------------------------------------------------ upgrades

def _tabs(path: Path) -> dict[str, list[list]]:
    wb = CalamineWorkbook.from_path(str(path))
    return {n: wb.get_sheet_by_name(n).to_python(skip_empty_area=False) for n in wb.sheet_names}


def test_every_header_the_previous_release_wrote_is_still_recognised():
    """A header renamed in schemas/ must keep its old name as an alias, or the column a
    team already has would be read as missing and its values ignored."""
    schemas = load_schemas()
    sheets = _tabs(FIXTURE)
    for key in ("leads", "rejections", "nurture", "history", "sync_log"):
        schema = schemas.tab(key)
        title = find_tab(list(sheets), schema)
        assert title is not None, f"tab of {key!r} not found by its old title"
        table = bind(sheets[title], title, schema, required=False)
        header = [h for h in sheets[title][0] if h]
        assert len(table.col_of) == len(header), (
            f"{title}: headers not recognised: {sorted(set(header) - {header[c - 1] for c in table.col_of.values()})}")


def test_a_workbook_of_the_previous_release_syncs_without_loss(tmp_path):
    wb = tmp_path / "leads.xlsx"
    shutil.copy(FIXTURE, wb)
    before = _tabs(wb)
    schemas = load_schemas()
    titles = {k: schemas.tab(k).title for k in ("leads", "rejections", "nurture", "history", "sync_log")}
    api.sync(workbook=wb, today=MADE_ON)
    after = _tabs(wb)
    leads_b, leads_a = before[titles["leads"]], after[titles["leads"]]
    assert leads_a[0][:len(leads_b[0])] == leads_b[0], "leads header changed or columns moved"
    person = [i for i, h in enumerate(leads_b[0]) if h not in ("Ngày liên hệ lại", "Trùng với", "Lỗi dữ liệu")]
    assert [[r[i] for i in person] for r in leads_a[1:]] == [[r[i] for i in person] for r in leads_b[1:]]
    for key in ("rejections", "nurture", "history"):  # same day, nothing new: nothing logged twice
        assert after[titles[key]][:len(before[titles[key]])] == before[titles[key]]
        assert len(after[titles[key]]) == len(before[titles[key]]), key
    log_b, log_a = before[titles["sync_log"]], after[titles["sync_log"]]
    assert len(log_a) == len(log_b) + 1 and log_a[:len(log_b)] == log_b
    version_col = log_a[0].index("Phiên bản")
    assert log_b[-1][version_col] == "0.1.0" and log_a[-1][version_col] == __version__
    # And the next day's cron run works on it as on any workbook.
    result = api.sync(workbook=wb, today=MADE_ON + dt.timedelta(days=1))
    ids = [r[0] for r in _tabs(wb)[titles["leads"]][1:]]
    assert ids == [r[0] for r in leads_b[1:]] and result.report.rows_read == len(leads_b) - 1
