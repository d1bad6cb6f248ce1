"""The openpyxl load in a forked child while the sync plans: the same workbook comes out
as with the load done in the sync's own process, and a failing or unused child changes
nothing."""

from __future__ import annotations

import multiprocessing as mp
import shutil

import pytest
from helpers_xlsx import TODAY, snapshot

from sheetcrm import api
from sheetcrm.backends import xlsx_preload
from sheetcrm.demo import write_demo_workbook

pytestmark = pytest.mark.skipif("fork" not in mp.get_all_start_methods(), reason="fork is needed")


@pytest.fixture
def pair(tmp_path):
    a = write_demo_workbook(tmp_path / "a.xlsx", 300, seed=4, today=TODAY)
    b = tmp_path / "b.xlsx"
    shutil.copy(a, b)
    return a, b


def _children():
    return [p for p in mp.active_children() if p.is_alive()]


def test_preloaded_write_equals_the_plain_one(pair, monkeypatch):
    a, b = pair
    used = []
    real = xlsx_preload.Preload.write
    monkeypatch.setattr(xlsx_preload.Preload, "write",
                        lambda self, *x: used.append(1) or real(self, *x))
    monkeypatch.setattr(xlsx_preload, "MIN_BYTES", 1 << 40)  # off
    plain = api.sync(a, today=TODAY)
    assert not used
    monkeypatch.setattr(xlsx_preload, "MIN_BYTES", 0)  # on for any file
    pre = api.sync(b, today=TODAY)
    assert used == [1], "the child did the write"
    assert pre.cells_written == plain.cells_written > 0
    sa, sb = snapshot(a), snapshot(b)
    log = "Nhật ký đồng bộ"
    for tab in sa:
        if tab != log:  # the log row holds the run's own time and duration
            if tab in ("Tổng quan", "Lịch liên hệ lại"):  # B2: the sync's own time
                assert sa[tab].pop((2, 2))[1] == sb[tab].pop((2, 2))[1] == "d"
            assert sa[tab] == sb[tab], tab
    assert not _children()


def test_failed_child_falls_back_to_loading_here(pair, monkeypatch):
    a, b = pair
    plain = api.sync(a, today=TODAY)  # small file: no child
    monkeypatch.setattr(xlsx_preload, "MIN_BYTES", 0)

    def failing(path, conn):
        conn.recv()
        conn.send(("failed", "boom"))

    monkeypatch.setattr(xlsx_preload, "_child", failing)
    used = []
    real = xlsx_preload.Preload.write
    monkeypatch.setattr(xlsx_preload.Preload, "write",
                        lambda self, *x: used.append(real(self, *x)) or used[-1])
    res = api.sync(b, today=TODAY)
    assert used == [None]  # asked, failed, and the sync loaded the workbook itself
    assert res.cells_written == plain.cells_written > 0
    assert snapshot(b)["Khách hàng"] == snapshot(a)["Khách hàng"]
    assert not list(b.parent.glob("*.tmp")) and not _children()


def test_unused_child_is_stopped(pair, monkeypatch):
    _, b = pair
    monkeypatch.setattr(xlsx_preload, "MIN_BYTES", 0)
    api.sync(b, today=TODAY)
    started = []
    real = xlsx_preload.Preload.__init__
    monkeypatch.setattr(xlsx_preload.Preload, "__init__",
                        lambda self, p: started.append(p) or real(self, p))
    # Nothing changed since: the run may still read and plan, then writes its log row
    # by patching the package (or nothing); a child it started must not outlive it.
    api.sync(b, today=TODAY)
    api.sync(b, today="2026-03-13")
    assert started  # the next day's run did plan, with a child beside it
    assert not _children()
    assert not list(b.parent.glob("*.tmp"))
