"""Who gets what in the digests (pure: sync/digest.py), on the pipeline's reading of the leads."""

from __future__ import annotations

import datetime as dt

import pandas as pd
from helpers_xlsx import TODAY
from hypothesis import given, settings
from hypothesis import strategies as st
from notify_helpers import DNC, ERASED, EXPECTED, leads_grid, team_grid

from sheetcrm.schema import load_schemas
from sheetcrm.sync.digest import SECTIONS, plan_digests, sequence_numbers, team_people
from sheetcrm.sync.pipeline import Settings, plan_sync

SCHEMAS = load_schemas()


def plan(grid=None, team=None, nurture=None, day=TODAY, auto=()):
    sheets = {"Khách hàng": grid or leads_grid(), "Nhân viên": team or team_grid()}
    if nurture:
        sheets["Nuôi dưỡng"] = nurture
    p = plan_sync(sheets, SCHEMAS, Settings(summaries=False), day)
    return plan_digests(p.leads, p.tables["nurture"].frame, p.tables["team"].frame, SCHEMAS, day, auto_email=auto)


def test_sections_per_rep_and_never_a_blocked_lead():
    d = plan()
    lan = d.rep_items("lan")
    assert dict(zip(lan["lead_id"], lan["section"].map(dict(enumerate(SECTIONS))))) == {
        "KH-000001": "new", "KH-000002": "overdue", "KH-000003": "today", "KH-000004": "closing"}
    assert set(d.rep_items("minh")["lead_id"]) == EXPECTED["Minh"]
    everything = set(d.items["lead_id"]) | set(d.calendar["lead_id"]) | set(d.stalled["lead_id"])
    assert DNC not in everything and ERASED not in everything
    assert set(d.rep_calendar("lan")["lead_id"]) == {f"KH-00000{i}" for i in range(1, 6)}
    assert d.counts.loc["lan", "total"] == 4 and d.counts.loc["hung", "today"] == 1


def test_people_inactive_and_managers():
    people = {p.name: p for p in team_people(pd.DataFrame(
        [dict(zip(["name", "email", "role", "active", "webhook"], r)) for r in team_grid()[1:]]))}
    assert set(people) == {"Lan", "Minh", "Hùng", "Thảo"}  # Vy is not working
    assert people["Thảo"].manager and not people["Lan"].manager


def test_owner_typed_differently_still_matches_the_rep():
    g = leads_grid()
    owner = g[0].index("Người phụ trách")
    g[1][owner] = "  lan "  # KH-000001
    g[2][owner] = "LAN"
    assert {"KH-000001", "KH-000002"} <= set(plan(grid=g).rep_items("lan")["lead_id"])


def test_nurture_touches_due_go_to_the_owner():
    header = ["Mã KH", "Tên khách hàng", "Người phụ trách", "Nhóm lý do", "Lần chăm sóc tới", "Tình trạng nuôi dưỡng"]
    nurture = [header, ["KH-000005", "Khách 05", "Lan", "Chưa cần ngay", TODAY - dt.timedelta(days=1), ""],
               ["KH-000007", "Khách 07", "Minh", "Chưa cần ngay", TODAY + dt.timedelta(days=3), ""],
               [DNC, "Khách 08", "Lan", "Chưa cần ngay", TODAY, ""]]
    d = plan(nurture=nurture)
    due = d.items[d.items["section"] == SECTIONS.index("nurture")]
    assert list(due["lead_id"]) == ["KH-000005"] and list(due["owner_key"]) == ["lan"]
    assert due["reason"].iloc[0] == "not_now"
    assert not d.items["auto"].any()  # nothing emailed by the nurture run unless it says so
    marked = plan(nurture=nurture, auto={"KH-000005", "KH-000001"})
    # only the nurture touch is marked: KH-000001's recontact stays the rep's
    assert set(marked.items.loc[marked.items["auto"], "lead_id"]) == {"KH-000005"}


@settings(max_examples=25, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["Lan", "Minh", "Hùng", "Tú", ""]), st.integers(-45, 45),
                          st.sampled_from(["Mới", "Tiềm năng", "Nóng", "Chốt", "Sai đối tượng"]), st.booleans()),
                min_size=1, max_size=30))
def test_each_lead_is_in_one_section_of_its_owner_only(rows):
    header = ["Mã KH", "Tên khách hàng", "Số điện thoại", "Người phụ trách", "Trạng thái", "Ngày liên hệ lại",
              "Không liên hệ"]
    g = [header] + [[f"KH-{i:06d}", f"Khách {i}", f"0912{i:06d}", o, s, TODAY + dt.timedelta(days=off),
                     "x" if dnc else None] for i, (o, off, s, dnc) in enumerate(rows, start=1)]
    d = plan(grid=g)
    assert not d.items.duplicated("lead_id").any()
    by_id = {f"KH-{i:06d}": r for i, r in enumerate(rows, start=1)}
    for lid, key, sec in zip(d.items["lead_id"], d.items["owner_key"], d.items["section"]):
        owner, off, status, dnc = by_id[lid]
        assert not dnc and status not in ("Chốt", "Sai đối tượng")
        assert key == {"Lan": "lan", "Minh": "minh", "Hùng": "hung", "Tú": "tu", "": ""}[owner]
        assert (sec == SECTIONS.index("overdue")) == (off < 0 and status != "Mới")
    assert set(d.calendar["lead_id"]) == {lid for lid, (o, off, s, dnc) in by_id.items()
                                          if off <= 30 and not dnc and s not in ("Chốt", "Sai đối tượng")}


def test_sequence_counts_calendars_delivered_before():
    log = pd.DataFrame({"recipient": ["Lan", "lan", "Lan", "Minh", "Lan"],
                        "channel": ["email", "calendar", "email", "email", "webhook"],
                        "state": ["sent", "sent", "failed", "sending", "sent"]})
    assert sequence_numbers(log) == {"lan": 2}


def test_html_digest_escapes_what_people_typed():
    from zoneinfo import ZoneInfo

    from sheetcrm.notify import Builder, NotifySettings

    g = leads_grid()
    g[1][1] = '<script>alert("x")</script>'  # KH-000001's name, as typed in the sheet
    g[1][2] = "=HYPERLINK(\"http://evil\")"
    d = plan(grid=g)
    b = Builder(d, SCHEMAS, "vi", ZoneInfo("Asia/Ho_Chi_Minh"), NotifySettings(sender="crm@team.vn"))
    lan = next(m for m in b.messages() if m.recipient == "Lan")
    html = lan.email.get_body(("html",)).get_content()
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert '<script>alert("x")</script>' in lan.email.get_body(("plain",)).get_content()  # text stays as typed


def _with_expected_close(rows):
    """notify_helpers' workbook plus a `Ngày dự kiến chốt` column and extra leads:
    (lead id, owner, status, last contact, recontact on, expected close)."""
    g = leads_grid()
    g[0] = [*g[0], "Ngày dự kiến chốt"]
    g[1:] = [[*r, None] for r in g[1:]]
    width = len(g[0])
    col = {h: i for i, h in enumerate(g[0])}
    for lid, owner, status, last, when, close in rows:
        line = [None] * width
        n = int(lid[-2:])
        line[col["Mã KH"]], line[col["Tên khách hàng"]], line[col["Người phụ trách"]] = lid, f"Khách {lid[-2:]}", owner
        line[col["Số điện thoại"]], line[col["Trạng thái"]], line[col["Ngày liên hệ cuối"]] = f"09877766{n:02d}", status, last
        line[col["Ngày tạo"]], line[col["Ngày liên hệ lại"]], line[col["Ngày dự kiến chốt"]] = TODAY - dt.timedelta(days=60), when, close
        g.append(line)
    return g


def test_closing_this_week_follows_the_expected_close_date():
    D = lambda n: TODAY + dt.timedelta(days=n)  # TODAY is a Thursday: Sunday is D(3)
    g = _with_expected_close([
        ("KH-000021", "Lan", "Tiềm năng", D(-3), D(20), D(3)),    # recontact next month, closes Sunday
        ("KH-000022", "Lan", "Đã tìm hiểu", D(-3), None, D(1)),   # no recontact at all, closes tomorrow
        ("KH-000023", "Lan", "Nóng", D(-3), D(2), D(30)),         # last stage, due this week, closes next month
        ("KH-000024", "Lan", "Tiềm năng", D(-9), D(-2), D(2)),    # overdue recontact: listed as overdue
        ("KH-000025", "Lan", "Nóng", D(-3), D(20), D(-2)),        # its close date has passed
        ("KH-000026", "Lan", "Nóng", D(-3), D(20), D(4)),         # closes next Monday
        ("KH-000027", "Lan", "Chốt", D(-3), None, D(1)),          # already won
    ])
    d = plan(grid=g)
    lan = d.rep_items("lan")
    got = dict(zip(lan["lead_id"], lan["section"].map(dict(enumerate(SECTIONS)))))
    assert {k: v for k, v in got.items() if v == "closing"} == {
        "KH-000004": "closing",  # no close date: the last stage with a recontact this week, as before
        "KH-000021": "closing", "KH-000022": "closing"}
    assert got["KH-000023"] == "week" and got["KH-000024"] == "overdue"
    assert not {"KH-000025", "KH-000026", "KH-000027"} & set(got)
    closing = lan[lan["section"] == SECTIONS.index("closing")].set_index("lead_id")
    # dated by the expected close, in date order
    assert closing.loc["KH-000021", "date"] == pd.Timestamp(D(3)) and closing.loc["KH-000022", "date"] == pd.Timestamp(D(1))
    assert list(closing.index) == ["KH-000022", "KH-000004", "KH-000021"]
    assert closing.loc["KH-000022", "phone"] != "" and closing.loc["KH-000022", "row"] == 13  # its sheet row
    assert not d.items.duplicated("lead_id").any()
    assert d.counts.loc["lan", "closing"] == 3
    # the email lists them under "closing this week" with their close date
    from zoneinfo import ZoneInfo

    from sheetcrm.notify import Builder, NotifySettings

    b = Builder(d, SCHEMAS, "vi", ZoneInfo("Asia/Ho_Chi_Minh"), NotifySettings(sender="crm@team.vn"))
    text = next(m for m in b.messages() if m.recipient == "Lan").email.get_body(("plain",)).get_content()
    part = text.split(SCHEMAS.messages["vi"]["notify_closing"], 1)[1]
    assert "Khách 22" in part and D(1).strftime("%d/%m/%Y") in part
