"""Header binding: names, not positions; case/accent/spacing/NFC-NFD-insensitive; aliases."""

from __future__ import annotations

import unicodedata

import pytest
from helpers_xlsx import CLEAN, LEADS, PERSON_KEYS, bind_leads, grid, schemas

from sheetcrm.errors import HeaderError
from sheetcrm.sync.tables import bind, find_tab


def _nfd(s: str) -> str:
    return unicodedata.normalize("NFD", s)


def test_default_headers_bind_every_key():
    t = bind_leads(grid(CLEAN))
    for i, k in enumerate(PERSON_KEYS, start=1):
        assert t.col_of[k] == i
    assert {c.key for c in t.missing} >= {"issues", "duplicate_of", "recontact_on"}
    assert list(t.frame["row"]) == [2, 3, 4, 5]
    assert list(t.frame["name"]) == [d["name"] for d in CLEAN]


def test_shuffled_nfd_english_and_extra_columns_bind_by_name():
    keys = list(reversed(PERSON_KEYS))
    headers = {
        "name": "Name", "phone": "Phone", "status": "Status", "email": "E-mail",
        "company": _nfd("Công ty"), "owner": _nfd("Người phụ trách"),
        "created_at": "  NGÀY   TẠO ", "last_contact": _nfd("ngày liên hệ cuối"),
        "lead_id": "ma kh", "product": "SAN PHAM QUAN TAM",
    }
    g = grid(CLEAN, keys=keys, headers=headers, extra={"Zalo riêng": ["z1", "z2", "z3", "z4"]})
    assert g[0][keys.index("company")] != "Công ty"  # really decomposed
    t = bind_leads(g)
    for i, k in enumerate(keys, start=1):
        assert t.col_of[k] == i, k
    assert "Zalo riêng" in t.header and len(t.col_of) == len(keys)  # extra column not bound
    assert "Zalo riêng" not in t.frame.columns
    for k in keys:
        assert list(t.frame[k]) == [d.get(k) for d in CLEAN], k


@pytest.mark.parametrize("typed", ["Trạng Thái", "TRANG THAI", "trạng  thái", " Trạng thái ",
                                   _nfd("Trạng thái"), "Status", "stage", "Tình trạng"])
def test_header_variants(typed):
    g = grid(CLEAN, headers={"status": typed})
    assert bind_leads(g).col_of["status"] == PERSON_KEYS.index("status") + 1


def test_missing_required_header_names_tab_header_and_closest():
    g = grid(CLEAN, headers={"phone": "Số điện thoai cũ"})  # typo: does not match
    with pytest.raises(HeaderError) as ei:
        bind_leads(g)
    msg = str(ei.value)
    assert LEADS in msg
    assert "Số điện thoại" in msg
    assert "did you mean 'Số điện thoai cũ'" in msg
    assert ei.value.exit_code == 2


def test_missing_required_header_closest_english():
    g = grid(CLEAN, headers={"status": "Statu"})
    with pytest.raises(HeaderError) as ei:
        bind_leads(g)
    assert "Trạng thái" in str(ei.value) and "'Statu'" in str(ei.value)


def test_missing_header_without_a_close_one_still_names_it():
    keys = [k for k in PERSON_KEYS if k != "name"]
    with pytest.raises(HeaderError) as ei:
        bind_leads(grid(CLEAN, keys=keys))
    assert "Tên khách hàng" in str(ei.value) and LEADS in str(ei.value)


def test_optional_and_sync_columns_may_be_missing():
    keys = ["name", "email", "phone", "status"]
    t = bind_leads(grid(CLEAN, keys=keys))
    assert set(t.col_of) == set(keys)
    assert t.frame["lead_id"].isna().all()


def test_blank_rows_are_dropped_and_rows_keep_sheet_numbers():
    g = grid(CLEAN)
    g.insert(2, [None] * len(g[0]))
    g.insert(3, ["  ", None, ""] + [None] * (len(g[0]) - 3))
    t = bind_leads(g)
    assert list(t.frame["row"]) == [2, 5, 6, 7]
    assert t.last_row == 7


def test_ragged_rows_bind():
    g = grid(CLEAN)
    g[1] = g[1][:5]  # a row shorter than the header
    t = bind_leads(g)
    assert t.frame.loc[0, "phone"] == CLEAN[0]["phone"]
    assert t.frame.loc[0, "status"] is None


def test_duplicate_header_keeps_first():
    g = grid(CLEAN, extra={"Ghi chú": ["a", "b", "c", "d"]})
    t = bind_leads(g)
    assert t.col_of["notes"] == PERSON_KEYS.index("notes") + 1
    assert t.duplicate_headers == ["Ghi chú"]


def test_find_tab_by_title_alias_and_form():
    tab = schemas().tab("leads")
    assert find_tab(["Tổng quan", _nfd(LEADS)], tab) == _nfd(LEADS)
    assert find_tab(["Sheet1", "KHACH HANG"], tab) == "KHACH HANG"
    assert find_tab(["Sheet1", "Leads"], tab) == "Leads"
    assert find_tab(["Sheet1"], tab) is None


def test_missing_tab_binds_empty():
    t = bind(None, None, schemas().tab("history"), required=False)
    assert not t.exists and len(t.frame) == 0


def test_a_team_that_keeps_only_phones_needs_no_email_column():
    t = bind_leads([["Tên khách hàng", "Số điện thoại", "Trạng thái"], ["An", "0912345678", "Mới"]])
    assert "email" not in t.col_of and t.frame.loc[0, "phone"] == "0912345678"


def test_neither_email_nor_phone_stops_the_run():
    with pytest.raises(HeaderError) as ei:
        bind_leads([["Tên khách hàng", "Trạng thái"], ["An", "Mới"]])
    assert "'Email' or 'Số điện thoại'" in str(ei.value)


def test_a_near_miss_for_the_optional_one_is_still_a_typo():
    with pytest.raises(HeaderError) as ei:
        bind_leads([["Tên khách hàng", "Số điện thoại", "Emial", "Trạng thái"], ["An", "0912345678", "a@b.vn", "Mới"]])
    assert "did you mean 'Emial'" in str(ei.value)
