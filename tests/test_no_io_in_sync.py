"""The pipeline is pure: importing every module of `sheetcrm.sync` pulls in no I/O library."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

FORBIDDEN = ("openpyxl", "gspread", "click", "requests", "python_calamine")

SCRIPT = textwrap.dedent("""
    import importlib, json, pkgutil, sys
    import sheetcrm.sync as pkg
    names = []
    for m in pkgutil.walk_packages(pkg.__path__, pkg.__name__ + "."):
        importlib.import_module(m.name)
        names.append(m.name)
    loaded = sorted({n.split(".")[0] for n in sys.modules})
    print(json.dumps({"modules": names, "loaded": loaded}))
""")


def test_sync_modules_import_no_io_libraries():
    out = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout.strip().splitlines()[-1])
    # the walk really covered the pipeline
    assert {"sheetcrm.sync.pipeline", "sheetcrm.sync.validate", "sheetcrm.sync.tables",
            "sheetcrm.sync.dates"} <= set(data["modules"])
    bad = sorted(set(FORBIDDEN) & set(data["loaded"]))
    assert not bad, f"sheetcrm.sync imports I/O libraries: {bad}"


def test_the_check_can_see_a_forbidden_import():
    # guard against a vacuous test: the same probe notices openpyxl when it is imported
    script = "import sys, openpyxl, json; print(json.dumps(sorted({n.split('.')[0] for n in sys.modules})))"
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert "openpyxl" in json.loads(out.stdout)
