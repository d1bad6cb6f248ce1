"""The calendar writer: whatever a name or note holds, icalendar reads back the same text,
and no line passes 75 octets (docs/notify.md)."""

from __future__ import annotations

import datetime as dt

import icalendar
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from sheetcrm.notify import ics_events, ics_fold

TEXT = st.text(st.characters(blacklist_categories=("Cs", "Cc"), blacklist_characters="\x00")
               | st.sampled_from(list(",;\\\n:ệữ😀")), max_size=200)


def _calendar(events: bytes) -> icalendar.Calendar:
    return icalendar.Calendar.from_ical(b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//t//EN\r\n" + events
                                        + b"END:VCALENDAR\r\n")


@settings(max_examples=150, deadline=None)
@given(summary=TEXT, description=TEXT, lead=st.from_regex(r"KH-[0-9]{6}", fullmatch=True))
def test_any_text_reads_back_the_same(summary, description, lead):
    dates = pd.Series(pd.to_datetime(["2026-03-14"]))
    raw = ics_events(pd.Series([f"{lead}-recontact@sheetcrm"]), dates, [summary], [description], 3,
                     dt.datetime(2026, 3, 12, 0, 0, tzinfo=dt.UTC), None, 30, "Asia/Ho_Chi_Minh")
    assert all(len(line) <= 75 for line in raw.split(b"\r\n"))
    (ev,) = _calendar(raw).walk("VEVENT")
    assert str(ev["SUMMARY"]) == summary.replace("\r\n", "\n").replace("\r", "\n")
    assert str(ev["DESCRIPTION"]) == description.replace("\r\n", "\n").replace("\r", "\n")
    assert str(ev["UID"]) == f"{lead}-recontact@sheetcrm" and int(ev["SEQUENCE"]) == 3
    assert ev.decoded("DTSTART") == dt.date(2026, 3, 14) and ev.decoded("DTEND") == dt.date(2026, 3, 15)


@given(st.text(max_size=300))
def test_fold_keeps_characters_whole(line):
    folded = ics_fold(line)
    parts = folded.split("\r\n ")
    assert "".join(parts) == line
    assert all(len(p.encode()) <= (75 if i == 0 else 74) for i, p in enumerate(parts)) or len(line.encode()) <= 75
