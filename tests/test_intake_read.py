"""Reading exports: encodings, delimiters, timestamps (hypothesis) and source detection."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from zoneinfo import ZoneInfo

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sheetcrm.intake.read import IntakeError, decode, read_file
from sheetcrm.intake.sample import FACEBOOK_COLUMNS, QUESTIONS, facebook_rows, facebook_text
from sheetcrm.intake.sources import SOURCES, Context, choose, field_of, parse_form_times
from sheetcrm.schema import load_schemas

SCHEMAS = load_schemas()
CTX = Context(SCHEMAS.tab("leads"), ZoneInfo("Asia/Ho_Chi_Minh"))
TEXT = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=60)


@settings(max_examples=150, deadline=None)
@given(TEXT, st.sampled_from(["utf-8", "utf-8-sig", "utf-16"]))
def test_decode_round_trips_every_text(text, encoding):
    data = text.encode(encoding)
    if encoding == "utf-8" and data[:3] == b"\xef\xbb\xbf":
        return  # a text starting with U+FEFF is a BOM, by definition
    got, _ = decode(data, "x.csv")
    assert got == text


@settings(max_examples=200, deadline=None)
@given(st.datetimes(min_value=dt.datetime(2000, 1, 1), max_value=dt.datetime(2099, 12, 31)).map(
    lambda d: d.replace(microsecond=0)), st.sampled_from(["dmy", "mdy", "ymd", "ampm", "gmt"]))
def test_form_timestamps_parse_in_every_layout(stamp, layout):
    h12 = stamp.hour % 12 or 12
    text = {
        "dmy": f"{stamp.day:02d}/{stamp.month:02d}/{stamp.year} {stamp:%H:%M:%S}",
        "mdy": f"{stamp.month}/{stamp.day}/{stamp.year} {stamp:%H:%M:%S}",
        "ymd": f"{stamp.year}/{stamp.month:02d}/{stamp.day:02d} {stamp:%H:%M:%S}",
        "ampm": f"{stamp.month}/{stamp.day}/{stamp.year} {h12}:{stamp:%M:%S} {'PM' if stamp.hour >= 12 else 'AM'}",
        "gmt": f"{stamp.year}/{stamp.month:02d}/{stamp.day:02d} {h12}:{stamp:%M:%S} "
               f"{'CH' if stamp.hour >= 12 else 'SA'} GMT+7",
    }[layout]
    got = parse_form_times(pd.Series([text]), day_first=layout not in ("mdy", "ampm")).iloc[0]
    assert got == pd.Timestamp(stamp)


def test_a_responses_tab_read_unformatted_gives_serial_numbers():
    serial = (dt.datetime(2026, 12, 1, 9, 15, 2) - dt.datetime(1899, 12, 30)).total_seconds() / 86400
    assert parse_form_times(pd.Series([str(serial)])).iloc[0] == pd.Timestamp(2026, 12, 1, 9, 15, 2)


def test_form_timestamps_that_are_not_dates_are_nat():
    assert parse_form_times(pd.Series(["31/02/2026 10:00:00", "hôm qua", ""])).isna().all()


def test_detection_walks_the_registry_most_specific_first():
    fb = [*FACEBOOK_COLUMNS, "full_name", "phone_number", "email", *QUESTIONS]
    names = {tuple(h): choose(_table(h), "auto", CTX).name for h in (
        fb, ["Dấu thời gian", "Họ và tên", "Số điện thoại"], ["Timestamp", "Name", "Email"],
        ["Name", "Phone", "Status"], ["Tên khách hàng", "SĐT"],
        ["Dấu thời gian", "Email", "Bạn muốn hủy đăng ký nhận email?"])}
    assert list(names.values()) == ["facebook", "google-forms", "google-forms", "csv", "csv", "unsubscribe"]
    assert [s.name for s in SOURCES] == ["facebook", "unsubscribe", "google-forms", "csv"]
    with pytest.raises(IntakeError, match="line 1: cannot tell"):
        choose(_table(["a", "b"]), "auto", CTX)
    with pytest.raises(IntakeError, match="do not look like a facebook export"):
        choose(_table(["Name", "Phone"]), "facebook", CTX)


def test_form_questions_map_to_lead_fields():
    got = {q: field_of(q, SCHEMAS.tab("leads")) for q in (
        "Họ và tên của bạn?", "Số điện thoại (Zalo)", "Địa chỉ email", "Tên công ty", "bạn_quan_tâm_sản_phẩm_nào?",
        "Bạn biết chúng tôi qua đâu?")}
    assert got == {"Họ và tên của bạn?": "name", "Số điện thoại (Zalo)": "phone", "Địa chỉ email": "email",
                   "Tên công ty": "company", "bạn_quan_tâm_sản_phẩm_nào?": "product",
                   "Bạn biết chúng tôi qua đâu?": None}


def test_facebook_records_keep_the_number_as_text_and_times_in_the_team_zone(tmp_path):
    rows = facebook_rows(2, start=dt.datetime(2026, 12, 1, 8))
    rows[1][1] = "2026-12-01T02:00:00+00:00"  # UTC from another ad account: 09:00 in Hanoi
    p = tmp_path / "fb.csv"
    p.write_text(facebook_text(rows), encoding="utf-8")
    t = read_file(p)
    out = choose(t, "auto", CTX).records(t, CTX)
    assert out["phone"].tolist() == [r[13][2:] for r in rows]
    assert out["submitted_at"].iloc[1] == pd.Timestamp(2026, 12, 1, 9)
    assert out["line"].tolist() == [2, 3]


def test_a_quoted_newline_keeps_line_numbers_right(tmp_path):
    p = tmp_path / "x.csv"
    p.write_text('Name,Phone,Notes\nAn,0912345678,"two\nlines"\nBình,0987654321,\n', encoding="utf-8")
    assert read_file(p).lines == [2, 4]


def _table(headers):
    from sheetcrm.intake.read import RawTable

    return RawTable(Path("t.csv"), list(headers), [], [])
