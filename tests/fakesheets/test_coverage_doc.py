"""COVERAGE.md is what the implementation and the cassette replay say today."""
from pathlib import Path

import pytest

from sheetcrm.testing.fakesheets import batch, coverage
from sheetcrm.testing.fakesheets.replay import replay_cassettes

CASSETTES = Path(__file__).resolve().parents[2].parent / "shared" / "sheets-cassettes"


@pytest.mark.skipif(not CASSETTES.is_dir(), reason=f"recorded cassettes not found at {CASSETTES}")
def test_coverage_md_is_up_to_date(fake_sheets, tmp_path):
    fresh = coverage.write(replay_cassettes(CASSETTES, server=fake_sheets), tmp_path / "COVERAGE.md").read_text()
    assert (coverage.HERE / "COVERAGE.md").read_text() == fresh, "regenerate it: python bench/fakesheets_replay.py"


def test_every_handler_is_listed():
    text = (coverage.HERE / "COVERAGE.md").read_text()
    for kind in batch.HANDLERS:
        assert f"| `{kind}` | implemented |" in text or f"| `{kind}` | partly |" in text, kind
