"""docs/ stays true: its examples run, and it names every rule, block, tab and column."""

from __future__ import annotations

import doctest
import re
import subprocess
import sys
from pathlib import Path

import pytest

from sheetcrm.schema import load_schemas
from sheetcrm.sync.status import RULES
from sheetcrm.sync.summary import OVERVIEW_BLOCKS
from sheetcrm.sync.summary_tabs import SUMMARY_TABS

DOCS = Path(__file__).resolve().parent.parent / "docs"
WITH_EXAMPLES = sorted(p.name for p in DOCS.glob("*.md") if ">>> " in p.read_text(encoding="utf-8"))


def read(name: str) -> str:
    return (DOCS / name).read_text(encoding="utf-8")


@pytest.mark.parametrize("name", WITH_EXAMPLES)
def test_examples_run(name, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = doctest.testfile(str(DOCS / name), module_relative=False, verbose=False, report=True)
    assert result.attempted and not result.failed, name


def test_pages_with_examples():
    assert {"api.md", "status-chain.md", "reasons.md", "scheduling.md"} <= set(WITH_EXAMPLES)


def test_status_chain_page_names_every_rule_in_order():
    text = read("status-chain.md")
    at = [text.find(f"**`{rule.__name__}`**") for rule in RULES]
    assert -1 not in at, [r.__name__ for r, i in zip(RULES, at) if i < 0]
    assert at == sorted(at)


def test_tabs_page_names_every_tab_column_and_status():
    text = read("tabs.md")
    s = load_schemas()
    for key, tab in s.tabs.items():
        assert f"`{key}`" in text and tab.title in text and tab.title_en in text, key
        for c in tab.columns:
            assert f"`{c.key}`" in text, (key, c.key)
    for key in SUMMARY_TABS:
        assert s.summary_title(key) in text and s.summary_title(key, "en") in text, key
    chain = read("status-chain.md")
    for st in s.chain.statuses:
        assert f"`{st.key}`" in chain and st.label in chain, st.key
    reasons = read("reasons.md")
    for r in s.reasons.reasons:
        assert f"`{r.key}`" in reasons and r.label in reasons, r.key


def test_architecture_names_the_layers_and_every_recipe():
    text = read("architecture.md")
    for name in ("Add a status", "Add a rule", "Add a summary block", "Add a summary tab",
                 "Add a command", "Add a backend"):
        assert f"### {name}" in text, name
    assert "OVERVIEW_BLOCKS" in text and len(OVERVIEW_BLOCKS) > 1
    assert re.search(r"cli\.py.*\n.*\n.*api\.py.*\n.*\n.*sync/.*\n(.*\n)*.*backends/", text)


def test_mkdocs_builds_strict(tmp_path):
    pytest.importorskip("mkdocstrings")
    out = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "-q", "-d", str(tmp_path / "site")],
                         cwd=DOCS.parent, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert (tmp_path / "site" / "api" / "index.html").read_text(encoding="utf-8").count("sheetcrm.api.sync") >= 1


def test_code_points_at_these_docs_not_at_outside_documents():
    """Comments cite `docs/` pages; a product contract or domain note that is not in the
    repository cannot be followed by whoever maintains it."""
    pattern = re.compile(r"SPEC|seed 0")
    hits = [f"{p}:{i}" for p in sorted((DOCS.parent / "sheetcrm").rglob("*.py"))
            for i, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1) if pattern.search(line)]
    assert hits == []
