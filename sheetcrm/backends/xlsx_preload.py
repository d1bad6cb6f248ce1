"""Load the workbook with openpyxl in a forked child while the parent plans.

A changed sync of a big workbook spends most of its time in openpyxl: loading every
tab, then saving. Planning (validation, dedupe, status chain, summaries) needs only the
fast calamine read and runs meanwhile on the other core: the child is forked as soon as
the sync holds the lock (before the parent imports pandas and the pipeline), loads the
workbook, waits for the parent's change set, applies it and saves to the temporary file
the parent names. The parent keeps every decision: whether to write
at all, the checks before the rename, and the rename itself. Any failure of the child
(or a machine where fork is not safe or there is one core) means the parent does the
load itself, as without this module.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing as mp
import os
import sys
import time
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from ..changes import ChangeSet

log = logging.getLogger("sheetcrm.xlsx")

# Below this size (about 2,500 leads) openpyxl loads in a few tenths of a second: a
# child is not worth its cost.
MIN_BYTES = 256 << 10


def worthwhile(path: Path) -> bool:
    if os.environ.get("SHEETCRM_XLSX_PRELOAD", "1") == "0":  # off: e.g. a box short of memory
        return False
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        cores = os.cpu_count() or 1
    return (sys.platform == "linux" and cores > 1 and path.exists()
            and path.stat().st_size >= MIN_BYTES)


def _child(path: str, conn: Connection) -> None:
    from openpyxl import load_workbook

    from .xlsx import apply_to_workbook

    t = [time.perf_counter()]
    try:
        wb, error = load_workbook(path), None
    except Exception as exc:  # the parent's own load reports it properly
        wb, error = None, repr(exc)
    t.append(time.perf_counter())
    try:
        job = conn.recv()
    except EOFError:
        return
    if job is None:
        return
    t.append(time.perf_counter())
    changes, tmp = job
    if error is not None:
        conn.send(("failed", error))
        return
    try:
        cells, rows = apply_to_workbook(wb, changes)
        t.append(time.perf_counter())
        if not cells and not (changes.trims or changes.replacements):
            conn.send(("nothing", cells, rows))
            return
        wb.save(tmp)
        t.append(time.perf_counter())
        log.debug("workbook loaded beside the plan in %.1f s, waited %.1f s for the changes, "
                  "applied in %.1f s, saved in %.1f s", *(b - a for a, b in zip(t, t[1:])))
        conn.send(("saved", cells, rows))
    except Exception as exc:
        conn.send(("failed", repr(exc)))


class Preload:
    """One child that has (or is) loading `path`; `write()` or `cancel()` it once."""

    def __init__(self, path: Path):
        ctx = mp.get_context("fork")
        self._conn, child_conn = ctx.Pipe()
        self._proc = ctx.Process(target=_child, args=(str(path), child_conn), daemon=True)
        self._proc.start()
        child_conn.close()

    def write(self, changes: ChangeSet, tmp: str) -> tuple[str, int, int] | None:
        """("saved" | "nothing", cells, rows), or None when the child failed."""
        try:
            self._conn.send((changes, tmp))
            answer: Any = self._conn.recv()
        except (EOFError, OSError, BrokenPipeError):
            answer = None
        self._close()
        if not answer or answer[0] == "failed":
            return None
        return answer[0], int(answer[1]), int(answer[2])

    def cancel(self) -> None:
        with contextlib.suppress(OSError, BrokenPipeError):
            self._conn.send(None)
        self._close(kill=True)

    def _close(self, kill: bool = False) -> None:
        if kill and self._proc.is_alive():
            self._proc.kill()
        self._proc.join()
        self._conn.close()
