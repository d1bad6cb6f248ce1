"""Consent and unsubscribes through `sheetcrm import` (docs/nurture-automation.md): a form's
consent question fills `Đồng ý nhận email`; an unsubscribe form adds no lead and names the
lead whose emails stop. And the pure parts: consent answers, the content tab, the email."""

from __future__ import annotations

import csv
import datetime as dt
import io

import pandas as pd
from helpers_xlsx import write_workbook
from hypothesis import given
from hypothesis import strategies as st
from intake_helpers import TODAY, leads_grid
from openpyxl import load_workbook

from sheetcrm import api
from sheetcrm.intake.sample import FACEBOOK_COLUMNS
from sheetcrm.nurture_mail import NurtureSettings, Templates, build_message
from sheetcrm.schema import load_schemas
from sheetcrm.sync.nurture_touch import consent_of, parse_content, unsubscribed_leads
from sheetcrm.sync.tables import bind

LEADS, LOG = "Khách hàng", "Nhập liệu"
SCHEMAS = load_schemas()


def rows_of(path, tab):
    ws = load_workbook(path)[tab]
    header = [c.value for c in ws[1]]
    return [dict(zip(header, r)) for r in ws.iter_rows(min_row=2, values_only=True) if any(v is not None for v in r)]


def _csv(path, header, rows):
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(header)
    w.writerows(rows)
    path.write_text(buf.getvalue(), encoding="utf-8")
    return path


def test_facebook_consent_question_fills_the_consent_column_of_new_leads(tmp_path):
    book = write_workbook(tmp_path / "crm.xlsx", {LEADS: leads_grid()})
    header = [*FACEBOOK_COLUMNS, "full_name", "phone_number", "email", "bạn_có_đồng_ý_nhận_email_tư_vấn?"]

    def row(i, name, phone, answer):
        return [f"l:{100 + i}", f"2026-12-04T09:0{i}:00+07:00", "ag:1", "Ad", "as:1", "Nhóm", "c:1", "Camp",
                "f:1", "Form", "false", "fb", name, phone, f"p{i}@mail.vn", answer]

    f = _csv(tmp_path / "fb.csv", header, [row(1, "Ngô Văn Khoa", "p:+84901000001", "yes"),
                                           row(2, "Mai Thị Linh", "p:+84901000002", "no"),
                                           row(3, "Đặng Hữu Nam", "p:+84901000003", "")])
    res = api.import_leads([f], workbook=book, today=TODAY)
    assert res.plan.counts == {"new": 3}
    new = {r["Tên khách hàng"]: r for r in rows_of(book, LEADS)}
    assert new["Ngô Văn Khoa"]["Đồng ý nhận email"] == "có"
    assert new["Mai Thị Linh"]["Đồng ý nhận email"] == "không"
    assert new["Đặng Hữu Nam"]["Đồng ý nhận email"] in (None, "")
    assert "đồng ý" not in (new["Ngô Văn Khoa"]["Ghi chú"] or "")  # the answer has its own column


def test_an_unsubscribe_form_adds_no_lead_and_logs_the_lead_it_names(tmp_path):
    book = write_workbook(tmp_path / "crm.xlsx", {LEADS: leads_grid()})
    f = _csv(tmp_path / "Hủy đăng ký.csv", ["Dấu thời gian", "Email", "Số điện thoại", "Hủy đăng ký nhận email"], [
        ["05/12/2026 08:00:00", "LAN@example.com ", "", "Có"],   # KH-000001 by email
        ["05/12/2026 08:05:00", "", "0987 654 321", ""],          # KH-000002 by phone, a blank answer
        ["05/12/2026 08:10:00", "ai@khac.vn", "", "Đồng ý"],      # nobody
        ["05/12/2026 08:15:00", "lan@example.com", "", "Không"],  # said no: not an unsubscribe
    ])
    before = [(r["Mã KH"], r["Tên khách hàng"], r["Email"]) for r in rows_of(book, LEADS)]
    res = api.import_leads([f], workbook=book, today=TODAY)
    assert res.plan.counts == {"unsubscribed": 3, "skipped": 1}
    assert [(r["Mã KH"], r["Tên khách hàng"], r["Email"]) for r in rows_of(book, LEADS)] == before
    log = rows_of(book, LOG)
    assert [(r["Kết quả"], r["Mã KH"] or "") for r in log] == [
        ("hủy nhận email", "KH-000001"), ("hủy nhận email", "KH-000002"), ("hủy nhận email", ""), ("bỏ qua", "")]
    assert log[2]["Chi tiết"] == "không tìm thấy khách hàng"
    table = bind([list(load_workbook(book)[LOG].values)[0], *[list(r.values()) for r in log]], LOG,
                 SCHEMAS.tab("intake"))
    assert unsubscribed_leads(table) == {"KH-000001", "KH-000002"}
    again = api.import_leads([f], workbook=book, today=TODAY)  # the same file again: nothing new
    assert again.plan.counts == {"already_imported": 4}


@given(st.text(max_size=30))
def test_consent_reads_any_text_as_yes_no_or_unknown(text):
    v = consent_of(pd.Series([text])).iloc[0]
    assert v in (True, False, None)
    if not text.strip():
        assert v is None


def test_consent_words():
    got = consent_of(pd.Series(["có", "Yes", "x", "Tôi đồng ý nhận email", "không", "No", "Không đồng ý",
                                "hủy", "", "có thể"])).tolist()
    assert got == [True, True, True, True, False, False, False, False, None, None]


def _content(rows):
    schema = SCHEMAS.tab("nurture_content")
    return parse_content(bind([list(schema.headers), *rows], schema.title, schema, required=False), SCHEMAS)


def test_content_ids_fill_in_order_categories_parse_and_retired_items_drop():
    c = _content([
        ["ND-004", "Bốn", "", "b", "", "Chưa cần ngay, budget", "2", "có"],
        ["", "Không mã", "", "", "", "", "1", ""],
        ["ND-009", "Đã ngừng", "", "", "", "", "0", "không"],
        ["", "", "", "", "", "", "", ""],  # an empty row is no item
        ["ND-010", "Lạ", "", "", "", "Không có nhóm này", "", ""],
    ])
    assert list(c.items["content_id"]) == ["ND-011", "ND-004", "ND-010"]  # by order; blank order last
    assert c.items.set_index("content_id").loc["ND-004", "cats"] == ("not_now", "budget")
    assert c.items.set_index("content_id").loc["ND-011", "cats"] == ()  # blank: every category
    assert c.unknown_categories == ["Không có nhóm này"]
    assert list(c.ids_to_fill) == ["ND-011"]


def test_the_html_part_escapes_what_the_workbook_holds_and_the_subject_is_labelled():
    s = NurtureSettings(sender="Công ty ABC <cskh@abc.vn>", identity="Công ty ABC · Hà Nội",
                        unsubscribe_url="http://abc.vn/huy?e={email}")
    touch = {"lead_id": "KH-000009", "email": "hai@x.vn", "name": "<b>Hải</b> & Co", "company": "",
             "product": "Gói <i>Pro</i>", "title": "Ưu đãi cho {{ lead.name }}", "body": "Dòng 1\n<script>x</script>",
             "link": "", "template": "", "reason_category": "price", "content_id": "ND-001", "touch_no": 1}
    msg, warning = build_message(touch, {"name": "Lan"}, s, Templates(), dt.datetime(2026, 4, 13, 9, 0))
    assert warning is None
    html = msg.get_body(("html",)).get_content()
    assert "<b>Hải</b>" not in html and "&lt;b&gt;Hải&lt;/b&gt; &amp; Co" in html
    assert "<script>" not in html and "Dòng 1<br>" in html
    assert "Gói &lt;i&gt;Pro&lt;/i&gt;" in html  # the price template's opening names the product
    text = msg.get_body(("plain",)).get_content()
    assert "<b>Hải</b> & Co" in text  # plain text stays as typed
    assert msg["Subject"] == "[QC] Ưu đãi cho <b>Hải</b> & Co"
    assert "List-Unsubscribe-Post" not in msg  # one-click needs an https link
    assert msg["Message-ID"].startswith("<nurture.KH-000009.ND-001.") and msg["Message-ID"].endswith("@abc.vn>")
    other, warn = build_message({**touch, "template": "khong-co"}, {}, s, Templates(), dt.datetime(2026, 4, 13, 9))
    assert warn == "template 'khong-co' not found; used 'price'"
    assert other["Message-ID"] == msg["Message-ID"]  # one id per lead and item


def test_a_teams_template_folder_overrides_one_category(tmp_path):
    (tmp_path / "not_now.txt.j2").write_text("Chào {{ lead.name }}! {{ content.title }}\n", encoding="utf-8")
    (tmp_path / "not_now.html.j2").write_text("<p>Chào {{ lead.name }}</p>", encoding="utf-8")
    s = NurtureSettings(sender="x@abc.vn", identity="ABC")
    t = Templates(tmp_path)
    touch = {"lead_id": "KH-1", "email": "a@b.vn", "name": "An", "title": "Tin mới", "content_id": "ND-1",
             "reason_category": "not_now"}
    msg, _ = build_message(touch, {}, s, t, dt.datetime(2026, 4, 13, 9))
    assert msg.get_body(("plain",)).get_content().strip() == "Chào An! Tin mới"
    price, _ = build_message({**touch, "reason_category": "price"}, {}, s, t, dt.datetime(2026, 4, 13, 9))
    assert "chi phí" in price.get_body(("plain",)).get_content()  # the shipped one still
