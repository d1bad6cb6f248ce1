"""A person edits the sheet between the sync's read and its write: nothing of theirs is
lost or overwritten, and every update lands on the row that holds its lead."""

import random

import pytest

from sheetcrm.changes import CellUpdate, ChangeSet

from .fake import backend

HEAD = ["Mã KH", "Tên khách hàng", "Trạng thái", "Ghi chú"]
TAB = "Khách hàng"


def leads(n):
    return [HEAD] + [[f"KH-{i:06d}", f"Khách {i:03d}", "Mới", ""] for i in range(1, n + 1)]


def setup(fake, account, n=5):
    info, keyfile = account
    sid = fake.admin.create_spreadsheet("CRM", tabs={TAB: leads(n)}, owner=info["client_email"])
    return sid, backend(fake, sid, keyfile)


def status_update(grid, lead, value):
    row = next(i + 1 for i, r in enumerate(grid) if r and r[0] == lead)
    return CellUpdate(TAB, row, 3, value, old=grid[row - 1][2], lead_id=lead)


def rows_by_id(fake, sid):
    vals = fake.admin.values(sid, f"'{TAB}'!A1:D200")
    return {r[0]: r for r in vals[1:] if r}


def insert_row(sid, at, values):
    def act(admin):
        admin.person_batch_update(sid, [{"insertDimension": {"range": {"sheetId": 0, "dimension": "ROWS", "startIndex": at - 1, "endIndex": at}}}])
        admin.edit_as_person(sid, f"'{TAB}'!A{at}", [values])
    return act


def test_row_inserted_above(fake, account):
    sid, b = setup(fake, account)
    with b.lock():
        grid = b.read()[TAB].values
        insert_row(sid, 2, ["KH-000099", "Người mới", "Nóng", "typed by a person"])(fake.admin)
        res = b.apply(ChangeSet(updates=[status_update(grid, "KH-000003", "Tiềm năng")]))
    rows = rows_by_id(fake, sid)
    assert rows["KH-000003"][2] == "Tiềm năng"
    assert rows["KH-000099"] == ["KH-000099", "Người mới", "Nóng", "typed by a person"]
    assert rows["KH-000002"][2] == "Mới"  # the row that now sits where KH-000003 was
    assert res.skipped == []


def test_tab_sorted(fake, account):
    sid, b = setup(fake, account)
    with b.lock():
        grid = b.read()[TAB].values
        fake.admin.person_batch_update(sid, [{"sortRange": {
            "range": {"sheetId": 0, "startRowIndex": 1, "endRowIndex": 6, "startColumnIndex": 0, "endColumnIndex": 4},
            "sortSpecs": [{"dimensionIndex": 1, "sortOrder": "DESCENDING"}]}}])
        res = b.apply(ChangeSet(updates=[status_update(grid, "KH-000001", "Nóng"), status_update(grid, "KH-000004", "Chốt")]))
    rows = rows_by_id(fake, sid)
    assert rows["KH-000001"][2] == "Nóng" and rows["KH-000004"][2] == "Chốt"
    assert [rows[f"KH-00000{i}"][2] for i in (2, 3, 5)] == ["Mới", "Mới", "Mới"]
    assert res.skipped == []


def test_target_cell_changed_by_person(fake, account):
    sid, b = setup(fake, account)
    with b.lock():
        grid = b.read()[TAB].values
        fake.admin.edit_as_person(sid, f"'{TAB}'!C3", [["Từ chối"]])
        res = b.apply(ChangeSet(updates=[status_update(grid, "KH-000002", "Tiềm năng")]))
    assert rows_by_id(fake, sid)["KH-000002"][2] == "Từ chối"
    assert len(res.skipped) == 1 and "changed by a person" in res.skipped[0]
    assert res.cells_written == 0


def test_row_deleted(fake, account):
    sid, b = setup(fake, account)
    with b.lock():
        grid = b.read()[TAB].values
        fake.admin.person_batch_update(sid, [{"deleteDimension": {"range": {"sheetId": 0, "dimension": "ROWS", "startIndex": 2, "endIndex": 3}}}])
        res = b.apply(ChangeSet(updates=[status_update(grid, "KH-000002", "Nóng")]))
    rows = rows_by_id(fake, sid)
    assert "KH-000002" not in rows
    assert all(r[2] == "Mới" for r in rows.values())  # nothing written into the row that moved up
    assert "no longer in the tab" in res.skipped[0]


def test_id_less_row_is_not_written_after_it_moved(fake, account):
    info, keyfile = account
    sid = fake.admin.create_spreadsheet("CRM", tabs={TAB: [HEAD, ["", "Mai", "Mới", ""], ["", "Lan", "Mới", ""]]}, owner=info["client_email"])
    b = backend(fake, sid, keyfile)
    with b.lock():
        b.read()
        insert_row(sid, 2, ["", "Hoa", "Mới", ""])(fake.admin)
        res = b.apply(ChangeSet(updates=[CellUpdate(TAB, 2, 1, "KH-000001", old="")]))
    vals = fake.admin.values(sid, f"'{TAB}'!A1:D4")
    assert [r[0] if r else "" for r in vals[1:]] == ["", "", ""]
    assert "changed or moved" in res.skipped[0]


OPS = ("insert", "delete", "sort", "edit_target", "edit_other", "none")


@pytest.mark.parametrize("seed", [0])
def test_randomized_person_edits(fake, account, seed):
    """200 trials: random person edits between read and write never get overwritten, and
    the sync's values land only on rows holding their lead."""
    rng = random.Random(seed)
    info, keyfile = account
    sid = fake.admin.create_spreadsheet("CRM", tabs={TAB: leads(8)}, owner=info["client_email"])
    b = backend(fake, sid, keyfile)
    for trial in range(200):
        n = 8
        fake.admin.edit_as_person(sid, f"'{TAB}'!A1:D30", leads(n) + [[""] * 4] * (30 - n - 1))
        grid = b.read()[TAB].values
        targets = rng.sample(range(1, n + 1), 3)
        updates = [status_update(grid, f"KH-{t:06d}", f"S{trial}-{t}") for t in targets]
        person: dict[str, str] = {}  # lead -> status a person typed
        deleted: set[str] = set()
        for _ in range(rng.randint(1, 3)):
            op = rng.choice(OPS)
            cur = fake.admin.values(sid, f"'{TAB}'!A1:D40")
            live = [i + 1 for i, r in enumerate(cur) if i and r and r[0]]
            if op == "insert":
                at = rng.randint(2, len(cur) + 1)
                lid = f"KH-9{trial:03d}{at:02d}"
                insert_row(sid, at, [lid, "P", "Nóng", ""])(fake.admin)
                person[lid] = "Nóng"
            elif op == "delete" and live:
                r = rng.choice(live)
                deleted.add(cur[r - 1][0])
                fake.admin.person_batch_update(sid, [{"deleteDimension": {"range": {"sheetId": 0, "dimension": "ROWS", "startIndex": r - 1, "endIndex": r}}}])
            elif op == "sort":
                fake.admin.person_batch_update(sid, [{"sortRange": {
                    "range": {"sheetId": 0, "startRowIndex": 1, "endRowIndex": len(cur), "startColumnIndex": 0, "endColumnIndex": 4},
                    "sortSpecs": [{"dimensionIndex": rng.choice([0, 1, 2]), "sortOrder": rng.choice(["ASCENDING", "DESCENDING"])}]}}])
            elif op in ("edit_target", "edit_other") and live:
                r = rng.choice(live)
                lid = cur[r - 1][0]
                if op == "edit_target" and any(u.lead_id == lid for u in updates) or op == "edit_other":
                    fake.admin.edit_as_person(sid, f"'{TAB}'!C{r}", [[f"P{trial}"]])
                    person[lid] = f"P{trial}"
        res = b.apply(ChangeSet(updates=updates))
        after = rows_by_id(fake, sid)
        for lid, val in person.items():
            if lid not in deleted:
                assert after[lid][2] == val, (trial, lid)
        for u in updates:
            if u.lead_id in deleted:
                assert u.lead_id not in after
            elif u.lead_id in person:
                assert after[u.lead_id][2] == person[u.lead_id]
            else:
                assert after[u.lead_id][2] == u.value, (trial, u.lead_id, res.skipped)
        # Nothing else carries a sync value.
        for lid, r in after.items():
            if r[2].startswith("S"):
                assert any(u.lead_id == lid and u.value == r[2] for u in updates)


def test_new_id_fill_lands_when_nothing_moved(fake, account):
    """The sync names a new lead's row by the id it is about to write: that id is not in
    the sheet yet, so the row is checked by its content instead."""
    info, keyfile = account
    sid = fake.admin.create_spreadsheet("CRM", tabs={TAB: [HEAD, ["KH-000001", "An", "Mới", ""], ["", "Lan", "Mới", ""]]}, owner=info["client_email"])
    b = backend(fake, sid, keyfile)
    with b.lock():
        b.read()
        res = b.apply(ChangeSet(updates=[CellUpdate(TAB, 3, 1, "KH-000002", old="", lead_id="KH-000002"),
                                         CellUpdate(TAB, 2, 3, "Nóng", old="Mới", lead_id="KH-000001")]))
    assert res.skipped == []
    assert fake.admin.values(sid, f"'{TAB}'!A2:C3") == [["KH-000001", "An", "Nóng"], ["KH-000002", "Lan", "Mới"]]


def test_log_row_a_person_adds_between_read_and_write_survives(fake, account):
    """Log rows go with appendCells: Sheets puts them after whatever is last when the
    write lands, so a row typed into the log meanwhile is kept, and a retried event is
    not logged twice."""
    from sheetcrm.changes import AppendRows

    info, keyfile = account
    log = [["Khóa", "Sự kiện"], ["ev-1", "cũ"]]
    sid = fake.admin.create_spreadsheet("CRM", tabs={TAB: leads(2), "Lịch sử": log}, owner=info["client_email"])
    b = backend(fake, sid, keyfile)
    # After lock, read and re-read: the person types two rows right under the log.
    fake.admin.after_requests(3, lambda a: a.edit_as_person(sid, "'Lịch sử'!A3:B4", [["", "ghi tay"], ["tay-2", "=1+1"]]))
    with b.lock():
        b.read()
        res = b.apply(ChangeSet(appends=[AppendRows("Lịch sử", (("ev-1", "lặp"), ("ev-2", "mới"), ("ev-3", "=A1")), key_col=0)]))
    assert res.rows_appended == 2
    assert fake.admin.values(sid, "'Lịch sử'!A1:B10", "FORMULA") == [
        ["Khóa", "Sự kiện"], ["ev-1", "cũ"], ["", "ghi tay"], ["tay-2", "=1+1"], ["ev-2", "mới"], ["ev-3", "=A1"]]
    assert "formula" not in fake.admin.state(sid)["sheets"][1]["cells"]["B6"]  # text, not a formula
