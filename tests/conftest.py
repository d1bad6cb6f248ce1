"""Test-wide settings."""

import os
import tempfile

from hypothesis import HealthCheck, settings

# CI explores the same examples on every run, so a red build always reproduces; a developer's
# run keeps drawing new ones.
settings.register_profile("ci", derandomize=True, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("dev", deadline=None)
settings.load_profile("ci" if os.environ.get("CI") else "dev")

# The reason classifier's answer cache (docs/reasons-classifier.md) in a folder of this run,
# not the user's: each test process starts cold, and CLI subprocesses inherit it.
os.environ.setdefault("SHEETCRM_CACHE_DIR", tempfile.mkdtemp(prefix="sheetcrm-cache-"))


# Figures a test reports (`record_property("figure", "...")`) are printed at the end of the
# run; pytest-xdist forwards user properties from its workers, unlike their stdout.
_FIGURES: list[str] = []


def pytest_runtest_logreport(report):
    if report.when == "call":
        _FIGURES.extend(str(v) for k, v in report.user_properties if k == "figure")


def pytest_terminal_summary(terminalreporter):
    if _FIGURES:
        terminalreporter.section("figures")
        for line in _FIGURES:
            terminalreporter.write_line(line)
