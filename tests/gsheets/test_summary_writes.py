"""Summary and agenda tabs on Google: a changing sync writes what changed, not the tabs."""

from __future__ import annotations

import random

import pytest

from sheetcrm import api
from sheetcrm.backends.gsheets_plan import align_rows, changed_cells
from sheetcrm.config import load_config
from sheetcrm.demo import generate_leads

from .test_soak import TODAY, exact_grid_sheet

AGENDA, OVERVIEW, LEADS = "Lịch liên hệ lại", "Tổng quan", "Khách hàng"


def cells(fake, sid) -> dict[tuple[str, str], object]:
    return {(sh["properties"]["title"], a1): c.get("value") for sh in fake.admin.state(sid)["sheets"]
            for a1, c in sh["cells"].items() if c.get("value") not in (None, "")}


def looks(fake, sid, tab) -> tuple:
    """What a person sees of a tab: values with their formats, and the merges."""
    sh = next(s for s in fake.admin.state(sid)["sheets"] if s["properties"]["title"] == tab)
    shown = {a1: (c.get("value"), repr(c.get("format")), repr(c.get("numberFormat")))
             for a1, c in sh["cells"].items() if c.get("value") not in (None, "")}
    return shown, sorted(map(repr, sh["merges"]))


@pytest.fixture
def synced(fake, account):
    info, keyfile = account
    sid = exact_grid_sheet(fake, info, generate_leads(600, seed=21, today=TODAY))
    cfg = load_config(None, sheet=sid, credentials=keyfile, api_endpoint=fake.url)
    api.sync(config=cfg, today=TODAY)
    return sid, cfg


def edit_statuses(fake, sid, n, seed=3):
    """`n` leads on the agenda closed: each leaves it, and the rows below move up."""
    grid = fake.admin.values(sid, f"'{LEADS}'")
    col = grid[0].index("Trạng thái")
    on_agenda = {r[1] for r in fake.admin.values(sid, f"'{AGENDA}'") if len(r) > 1}
    rows = [i + 1 for i, r in enumerate(grid) if i and r and r[0] in on_agenda]
    for r in random.Random(seed).sample(rows, n):
        fake.admin.edit_as_person(sid, f"'{LEADS}'!{chr(65 + col)}{r}", [["Chốt"]])


def test_changing_sync_writes_little_more_than_the_changed_cells(fake, synced):
    sid, cfg = synced
    edit_statuses(fake, sid, 6)
    before = cells(fake, sid)
    fake.admin.reset_counters()
    api.sync(config=cfg, today=TODAY)
    after = cells(fake, sid)
    changed = sum(1 for k in before.keys() | after.keys() if before.get(k) != after.get(k))
    written = fake.admin.counters()["cells_written"]
    print(f"cells written {written}, cells whose value changed {changed}")
    assert written <= 1.1 * changed, (written, changed)
    assert written < 40 * 6 + 60, written  # bounded by the edits, not by the 600 leads


def test_incremental_formats_match_a_full_rewrite(fake, synced):
    sid, cfg = synced
    for seed in (1, 2):
        edit_statuses(fake, sid, 8, seed)
        api.sync(config=cfg, today=TODAY)
    incremental = {t: looks(fake, sid, t) for t in (AGENDA, OVERVIEW)}
    # Without the layout markers the next sync sets every format again.
    markers = [n for n in fake.admin.state(sid)["namedRanges"] if n["name"].startswith("sheetcrm_") and n["name"] != "sheetcrm_lock"]
    fake.admin.person_batch_update(sid, [{"deleteNamedRange": {"namedRangeId": n["namedRangeId"]}} for n in markers])
    api.sync(config=cfg, today=TODAY)
    full = {t: looks(fake, sid, t) for t in (AGENDA, OVERVIEW)}
    for t in (AGENDA, OVERVIEW):
        assert incremental[t][1] == full[t][1], f"{t}: merges differ"
        diff = {k for k in incremental[t][0].keys() | full[t][0].keys()
                if incremental[t][0].get(k) != full[t][0].get(k) and not k.startswith("B2")}
        assert not diff, f"{t}: {sorted(diff)[:5]}"


def test_align_rows_keeps_moved_rows_in_place():
    old = [["title"], ["a", 1], ["b", 2], ["c", 3], ["d", 4]]
    new = [["title"], ["a", 1], ["c", 3], ["x", 9], ["d", 4], ["e", 5]]
    edits = align_rows(old, new)
    sheet = [list(r) for r in old]
    for kind, start, count in edits.ops:  # as Sheets applies them, in order
        sheet[start:start + (count if kind == "delete" else 0)] = [] if kind == "delete" else [[]] * count
    for r, c, v in changed_cells(old, new, edits.was):
        row = sheet[r - 1] = list(sheet[r - 1]) + [""] * (c - len(sheet[r - 1]))
        row[c - 1] = v
    assert sheet == new
    assert len(changed_cells(old, new, edits.was)) == 4  # only x and e are written
