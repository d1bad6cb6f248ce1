"""The recontact agenda: who is on it, in which section, in what order, exactly once."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sheetcrm.schema import load_schemas
from sheetcrm.sync.agenda import build_agenda
from sheetcrm.sync.summary import labels

SCHEMAS = load_schemas()
TODAY = dt.date(2025, 6, 18)  # Wednesday; Sunday is 22/06
L = labels("vi")
D = dt.date


def make_leads(rows):
    """rows: (lead_id, owner, status, recontact_on, reason_raw, do_not_contact, duplicate_of)"""
    return pd.DataFrame(
        {
            "row": range(2, len(rows) + 2),
            "lead_id": [r[0] for r in rows],
            "name": [f"Khách {r[0]}" for r in rows],
            "company": [f"Cty {r[0]}" for r in rows],
            "email": [f"{r[0].lower()}@example.vn" for r in rows],
            "phone": [f"0912{i:06d}" for i in range(len(rows))],
            "owner": [r[1] for r in rows],
            "status": [r[2] for r in rows],
            "recontact_on": pd.to_datetime([r[3] for r in rows]),
            "reason_raw": [r[4] for r in rows],
            "do_not_contact": [r[5] for r in rows],
            "duplicate_of": [r[6] for r in rows],
        }
    )


ROWS = [
    ("KH-1", "An", "rejected", D(2025, 5, 1), "Giá quá cao", False, ""),  # overdue
    ("KH-2", "An", "nurture", D(2025, 6, 18), "chưa cần ngay", False, ""),  # today
    ("KH-3", "An", "hot", D(2025, 6, 22), "", False, ""),  # this week (Sunday)
    ("KH-4", "An", "not_closed", D(2025, 7, 18), "đắt quá", False, ""),  # day 30: in
    ("KH-5", "An", "rejected", D(2025, 7, 19), "Giá quá cao", False, ""),  # day 31: out
    ("KH-6", "Bình", "won", D(2025, 6, 20), "", False, ""),  # won: not schedulable
    ("KH-7", "Bình", "disqualified", D(2025, 6, 20), "", False, ""),  # excluded
    ("KH-8", "Bình", "rejected", D(2025, 6, 19), "Giá quá cao", True, ""),  # do not contact
    ("KH-9", "Bình", "rejected", D(2025, 6, 19), "dùng bên khác rồi", False, ""),  # this week
    ("KH-10", "Bình", "rejected", D(2025, 6, 19), "Giá quá cao", False, "KH-9"),  # duplicate record
    ("KH-11", "Bình", "new", None, "", False, ""),  # no date
    ("KH-12", "", "researched", D(2025, 6, 23), "", False, ""),  # next week, no owner
    ("KH-13", "An", "rejected", D(2025, 6, 10), "Giá quá cao", False, ""),  # overdue, later date
    ("KH-14", "An", "unreachable", D(2025, 6, 19), "", False, ""),  # not schedulable
]


def detail_rows(layout):
    """(owner, section, row values) for every lead line of the agenda."""
    out = []
    owner = section = None
    sec_names = [L["agenda_overdue"], L["agenda_today"], L["agenda_week"], L["agenda_month"]]
    for row in layout.cells:
        a = row[0]
        if isinstance(a, str) and a.startswith(L["agenda_owner_row"] + ": "):
            owner = a[len(L["agenda_owner_row"]) + 2 :].rsplit(" (", 1)[0]
            section = None
        elif isinstance(a, str) and any(a.startswith(s + " (") for s in sec_names):
            section = a.rsplit(" (", 1)[0]
        elif isinstance(a, dt.date) and owner is not None:
            out.append((owner, section, row))
    return out


@pytest.fixture(scope="module")
def agenda():
    return build_agenda(make_leads(ROWS), SCHEMAS, TODAY)


def test_who_is_on_the_agenda(agenda):
    ids = [r[2][1] for r in detail_rows(agenda)]
    assert sorted(ids) == sorted(["KH-1", "KH-2", "KH-3", "KH-4", "KH-9", "KH-12", "KH-13"])


def test_sections_and_order(agenda):
    rows = detail_rows(agenda)
    where = {r[2][1]: (r[0], r[1]) for r in rows}
    assert where["KH-1"] == ("An", L["agenda_overdue"])
    assert where["KH-13"] == ("An", L["agenda_overdue"])
    assert where["KH-2"] == ("An", L["agenda_today"])
    assert where["KH-3"] == ("An", L["agenda_week"])
    assert where["KH-4"] == ("An", L["agenda_month"])
    assert where["KH-9"] == ("Bình", L["agenda_week"])
    assert where["KH-12"] == (L["no_owner"], L["agenda_month"])
    # owners alphabetical, the unassigned last; dates ascending inside an owner
    assert [r[2][1] for r in rows] == ["KH-1", "KH-13", "KH-2", "KH-3", "KH-4", "KH-9", "KH-12"]


def test_row_contents_and_recommended_action(agenda):
    rows = {r[2][1]: r[2] for r in detail_rows(agenda)}
    price = SCHEMAS.reasons.get("price")
    row = rows["KH-1"]
    assert row[0] == D(2025, 5, 1)
    assert row[2:6] == ("Khách KH-1", "Cty KH-1", "09120000" + "00", "kh-1@example.vn")
    assert row[6] == "Từ chối"
    assert row[7] == price.label
    assert row[8] == price.action
    # free text mapped to its category: "đắt quá" is price, "dùng bên khác rồi" a competitor
    assert rows["KH-4"][7] == price.label
    assert rows["KH-9"][7] == SCHEMAS.reasons.get("competitor").label
    assert rows["KH-2"][8] == SCHEMAS.reasons.get("not_now").action
    assert rows["KH-3"][7] == "" and rows["KH-3"][8] == ""
    styles = {(r, c): s for r, c, s in agenda.styles}
    first = next(i for i, line in enumerate(agenda.cells, start=1) if line[1] == "KH-1")
    assert styles[(first, 1)] == "date"


def test_owner_summary_counts(agenda):
    start = next(i for i, line in enumerate(agenda.cells) if line[0] == L["agenda_summary_title"])
    header = agenda.cells[start + 1][:6]
    assert header == (L["owner_col"], L["agenda_overdue"], L["agenda_today"], L["agenda_week"], L["agenda_month"], L["total"])
    table = {line[0]: line[1:6] for line in agenda.cells[start + 2 : start + 6]}
    assert table["An"] == (2, 1, 1, 1, 5)
    assert table["Bình"] == (0, 0, 1, 0, 1)
    assert table[L["no_owner"]] == (0, 0, 0, 1, 1)
    assert table[L["total"]] == (2, 1, 2, 2, 7)


def test_english_actions():
    lay = build_agenda(make_leads(ROWS), SCHEMAS, TODAY, language="en")
    en = labels("en")
    rows = [line for line in lay.cells if line[1] == "KH-1"]
    assert rows[0][8] == SCHEMAS.reasons.get("price").action_en
    assert rows[0][6] == "Rejected"
    assert any(line[0] == en["agenda_summary_title"] for line in lay.cells)


def test_empty_agenda():
    lay = build_agenda(make_leads(ROWS[5:8]), SCHEMAS, TODAY)
    assert any(line[0] == L["agenda_empty"] for line in lay.cells)


def test_sunday_has_no_rest_of_week():
    sunday = D(2025, 6, 22)
    lay = build_agenda(make_leads([("KH-1", "An", "hot", D(2025, 6, 23), "", False, "")]), SCHEMAS, sunday)
    assert detail_rows(lay)[0][1] == L["agenda_month"]


STATUSES = [s.key for s in SCHEMAS.chain.statuses] + [None]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["An", "Bình", "", "Chi"]),
            st.sampled_from(STATUSES),
            st.one_of(st.none(), st.integers(-400, 60)),
            st.booleans(),
        ),
        max_size=40,
    ),
    st.dates(dt.date(2024, 1, 1), dt.date(2026, 12, 31)),
)
def test_every_due_lead_exactly_once(specs, today):
    rows = [
        (f"KH-{i}", owner, status, (today + dt.timedelta(days=off)) if off is not None else None, "", dnc, "")
        for i, (owner, status, off, dnc) in enumerate(specs)
    ]
    blocked = {s.key for s in SCHEMAS.chain.statuses if not s.schedulable or s.excluded}
    expected = {
        r[0]
        for r in rows
        if r[3] is not None and r[3] <= today + dt.timedelta(days=30) and r[2] not in blocked and not r[5]
    }
    got = [r[2][1] for r in detail_rows(build_agenda(make_leads(rows), SCHEMAS, today))]
    assert sorted(got) == sorted(expected)
    assert len(got) == len(set(got))
    # the section matches the date
    sunday = today + dt.timedelta(days=6 - today.weekday())
    names = {L["agenda_overdue"]: lambda d: d < today, L["agenda_today"]: lambda d: d == today,
             L["agenda_week"]: lambda d: today < d <= sunday, L["agenda_month"]: lambda d: d > sunday}
    for owner, section, row in detail_rows(build_agenda(make_leads(rows), SCHEMAS, today)):
        assert names[section](row[0])


def test_agenda_shows_a_number_the_rep_can_dial():
    from sheetcrm.sync.agenda import dialable_phone

    frame = pd.DataFrame({
        "phone": ["0168 912 3456", "+44 20 7946 0958", "12345"],
        "phone_e164": ["+84389123456", "+442079460958", None],
    })
    # The old 11-digit Viettel number is shown as dialled today; a broken one as typed.
    assert dialable_phone(frame).tolist() == ["0389123456", "+442079460958", "12345"]


def test_new_uncontacted_leads_come_first_in_their_section():
    import datetime as _dt

    import pandas as _pd

    from sheetcrm.schema import load_schemas
    from sheetcrm.sync.agenda import agenda_frame

    day = _dt.date(2026, 12, 4)
    leads = _pd.DataFrame({
        "lead_id": ["KH-1", "KH-2", "KH-3"], "owner": ["Lan"] * 3,
        "status": ["hot", "new", "new"],
        "recontact_on": _pd.to_datetime(["2026-12-01", "2026-12-03", "2026-12-02"]),
        "last_contact": _pd.to_datetime([None, None, "2026-11-30"]),
        "duplicate_of": [""] * 3,
    })
    a = agenda_frame(leads, load_schemas(), day)
    assert a["lead_id"].tolist() == ["KH-2", "KH-1", "KH-3"]
