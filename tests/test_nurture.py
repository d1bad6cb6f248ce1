"""`sheetcrm nurture` on an .xlsx workbook against a real SMTP server on loopback
(docs/nurture-automation.md): exactly the due touches, each lead its next unseen item,
nothing to do-not-contact / unconsented / unsubscribed leads, a rerun sends nothing, an
unsubscribe imported between runs stops the next touch, the nurture tab records it all."""

from __future__ import annotations

import datetime as dt
import email
import email.policy

import pytest
from helpers_xlsx import column_values, header_cols, set_cell, write_workbook
from nurture_helpers import NOW, PEOPLE, SENDABLE_FIRST, T0, TEAM, UNSUB_CSV, leads_grid, write_config
from openpyxl import load_workbook
from smtp_helpers import SmtpServer

from sheetcrm import api
from sheetcrm.delivery import SmtpSettings
from sheetcrm.delivery.ledger import state_key

NURTURE = "Nuôi dưỡng"


def _rows(path, tab):
    wb = load_workbook(path, read_only=True)
    rows = [list(r) for r in wb[tab].iter_rows(values_only=True)]
    wb.close()
    head = rows[0]
    return [dict(zip(head, r)) for r in rows[1:] if any(v is not None for v in r)]


def _by_lead(path):
    return {r["Mã KH"]: r for r in _rows(path, NURTURE)}


def _day(v):
    return v.date() if isinstance(v, dt.datetime) else v


@pytest.fixture()
def book(tmp_path):
    path = write_workbook(tmp_path / "crm.xlsx", {"Khách hàng": leads_grid(), "Nhân viên": TEAM})
    api.sync(workbook=path, today=T0)
    cfg = write_config(tmp_path / "sheetcrm.toml")
    return path, cfg


def _run(path, cfg, server, day, now=None):
    smtp = SmtpSettings(host="127.0.0.1", port=server.port, security="none", attempts=1, wait_max=0.01)
    when = now or dt.datetime.combine(day, NOW.time())
    return api.nurture(workbook=path, config=cfg, today=day, now=when, smtp=smtp)


def test_a_nurture_run_sends_exactly_the_due_touches_and_records_them(book, tmp_path):
    path, cfg = book
    rows = _by_lead(path)
    assert set(rows) == set(PEOPLE)  # every "not now" lead got a nurture row from the sync
    t1 = _day(rows["KH-000001"]["Lần chăm sóc tới"])
    assert t1 == dt.date(2026, 4, 13)  # a month on, moved off Sunday 12/04
    assert _day(rows["KH-000002"]["Lần chăm sóc tới"]) > t1  # quarterly: not due on t1
    # Giang had the first item already (typed by a rep): she gets the next one.
    set_cell(path, NURTURE, list(rows).index("KH-000007") + 2, "Nội dung đã gửi", "ND-001")

    with SmtpServer() as server:
        first = _run(path, cfg, server, t1)
        got = {m["X-Sheetcrm-Lead"]: m for m in server.handler.messages}
        assert set(got) == SENDABLE_FIRST  # not Bình (not due), Cường (said no), Dũng (blank), Em (DNC)
        assert first.sent == 3 and first.failed == 0 and first.recorded == 3
        c = first.plan.counts
        assert (c["skipped_do_not_contact"], c["skipped_unsubscribed"], c["skipped_no_consent"]) == (1, 1, 1)
        assert {k: m["X-Sheetcrm-Content"] for k, m in got.items()} == {
            "KH-000001": "ND-001", "KH-000006": "ND-001", "KH-000007": "ND-002"}
        an = got["KH-000001"]
        assert an["To"].addresses[0].addr_spec == "an@minhphat.vn"
        assert an["Subject"].startswith("[QC] ")
        assert "mailto:huy@minhphat.vn?subject=" in an["List-Unsubscribe"]
        assert "https://minhphat.vn/huy?email=an%40minhphat.vn" in an["List-Unsubscribe"]
        assert an["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        assert an["From"].addresses[0].addr_spec == "cskh@minhphat.vn"  # Minh has no address: the sender's
        assert got["KH-000006"]["From"].addresses[0].addr_spec == "lan@team.vn"  # Lan's own
        text = an.get_body(("plain",)).get_content()
        assert "Nguyễn Văn An" in text and "Công ty Minh Phát · 12 Lê Lợi" in text and "huy@minhphat.vn" in text
        assert "Tư vấn viên" in got["KH-000006"].get_body(("plain",)).get_content()  # Lan's signature

        again = _run(path, cfg, server, t1)
        assert again.sent == 0 and len(server.handler.messages) == 3  # the same day: nothing new

        rows = _by_lead(path)
        t2 = _day(rows["KH-000001"]["Lần chăm sóc tới"])
        assert t2 == dt.date(2026, 5, 13)
        for lid in SENDABLE_FIRST:
            assert str(rows[lid]["Số lần đã chăm sóc"]) == "1"
            assert _day(rows[lid]["Ngày chăm sóc gần nhất"]) == t1
        assert rows["KH-000007"]["Nội dung đã gửi"] == "ND-001, ND-002"
        for lid in set(PEOPLE) - SENDABLE_FIRST:
            assert rows[lid]["Số lần đã chăm sóc"] in (None, "")

        # Phương unsubscribes through the form; the import logs it against her lead.
        csv = tmp_path / "huy-dang-ky.csv"
        csv.write_text(UNSUB_CSV, encoding="utf-8")
        imp = api.import_leads([csv], workbook=path, today=dt.date(2026, 4, 20))
        assert imp.plan.counts.get("unsubscribed") == 1
        assert len(column_values(path, "Mã KH")) == len(PEOPLE)  # nobody added to the leads tab

        second = _run(path, cfg, server, t2)
        later = {m["X-Sheetcrm-Lead"]: m["X-Sheetcrm-Content"] for m in server.handler.messages[3:]}
        assert later == {"KH-000001": "ND-002", "KH-000007": "ND-003"}
        assert second.plan.counts["skipped_unsubscribed"] == 2  # Cường (said no) and Phương
    rows = _by_lead(path)
    assert str(rows["KH-000001"]["Số lần đã chăm sóc"]) == "2"
    assert rows["KH-000001"]["Nội dung đã gửi"] == "ND-001, ND-002"
    log = _rows(path, "Thông báo")
    sent = [r for r in log if state_key(r["Trạng thái"]) == "sent"]
    assert len(sent) == 5 and len(log) == 10  # an intent and an answer per message
    assert {r["Loại"] for r in log} == {"nurture"}
    # The content tab was created with the starter items, for the team to edit.
    assert "Nội dung nuôi dưỡng" in load_workbook(path, read_only=True).sheetnames


def test_a_person_typed_touch_count_is_left_alone_and_a_recorded_touch_holds_off_the_next(book):
    path, cfg = book
    rows = _by_lead(path)
    t1 = _day(rows["KH-000001"]["Lần chăm sóc tới"])
    row_an = list(rows).index("KH-000001") + 2
    row_giang = list(rows).index("KH-000007") + 2
    set_cell(path, NURTURE, row_an, "Số lần đã chăm sóc", "gọi 2 lần")  # a person's words, not a count
    # Giang was called yesterday: the touch stands, no email today.
    set_cell(path, NURTURE, row_giang, "Ngày chăm sóc gần nhất", t1 - dt.timedelta(days=3))
    with SmtpServer() as server:
        res = _run(path, cfg, server, t1)
        assert {m["X-Sheetcrm-Lead"] for m in server.handler.messages} == {"KH-000001", "KH-000006"}
    rows = _by_lead(path)
    assert rows["KH-000001"]["Số lần đã chăm sóc"] == "gọi 2 lần"
    assert _day(rows["KH-000001"]["Ngày chăm sóc gần nhất"]) == t1
    assert res.plan.counts["not_yet"] >= 1


def test_outside_the_sending_hours_nothing_goes_out(book):
    path, cfg = book
    t1 = _day(_by_lead(path)["KH-000001"]["Lần chăm sóc tới"])
    with SmtpServer() as server:
        res = _run(path, cfg, server, t1, now=dt.datetime.combine(t1, dt.time(22, 30)))
        assert res.outside_hours and not server.handler.messages
    assert all(r["Số lần đã chăm sóc"] in (None, "") for r in _by_lead(path).values())


def test_outbox_and_dry_run_write_messages_to_read_and_record_nothing(book, tmp_path):
    path, cfg = book
    t1 = _day(_by_lead(path)["KH-000001"]["Lần chăm sóc tới"])
    before = _rows(path, NURTURE)
    dry = api.nurture(workbook=path, config=cfg, today=t1, dry_run=True)
    assert set(dry.plan.touches["lead_id"]) == SENDABLE_FIRST and not dry.outcomes
    res = api.nurture(workbook=path, config=cfg, today=t1, outbox=tmp_path / "outbox")
    assert len(res.files) == 3 and not res.outcomes
    msg = email.message_from_bytes(res.files[0].read_bytes(), policy=email.policy.default)
    assert msg["List-Unsubscribe"] and msg.get_body(("html",)) is not None
    assert _rows(path, NURTURE) == before  # nothing recorded: the real run sends them
    assert "Thông báo" not in load_workbook(path, read_only=True).sheetnames


def test_a_failed_send_is_not_recorded_and_is_tried_again(book):
    path, cfg = book
    t1 = _day(_by_lead(path)["KH-000001"]["Lần chăm sóc tới"])
    with SmtpServer() as server:
        server.handler.refuse = "554 5.7.1 rejected"
        res = _run(path, cfg, server, t1)
        assert res.failed == 3 and res.recorded == 0
        assert all(r["Số lần đã chăm sóc"] in (None, "") for r in _by_lead(path).values())
        server.handler.refuse = None
        again = _run(path, cfg, server, t1)
        assert again.sent == 3 and again.recorded == 3


def test_header_columns_are_found_by_alias(book):
    path, _ = book
    cols = header_cols(path, NURTURE)
    assert "Nội dung đã gửi" in cols  # the sync writes the nurture tab with the new column


def _table_after(path, tab, title):
    rows = [list(r) for r in load_workbook(path, read_only=True)[tab].iter_rows(values_only=True)]
    top = next(i for i, r in enumerate(rows) if r and r[0] == title)
    out = []
    for r in rows[top + 2:]:
        if not r or r[0] in (None, ""):
            break
        out.append(r)
    return out


def test_reactivation_by_reason_cadence_and_content_reconciles_with_the_history(book):
    path, cfg = book
    rows = _by_lead(path)
    t1 = _day(rows["KH-000001"]["Lần chăm sóc tới"])
    with SmtpServer() as server:
        _run(path, cfg, server, t1)
    # An answers the email: her rep moves her back into the chain; Cường (never emailed) too.
    leads = {r["Mã KH"]: i + 2 for i, r in enumerate(_rows(path, "Khách hàng"))}
    set_cell(path, "Khách hàng", leads["KH-000001"], "Trạng thái", "Nóng")
    set_cell(path, "Khách hàng", leads["KH-000003"], "Trạng thái", "Tiềm năng")
    api.sync(workbook=path, today=t1 + dt.timedelta(days=2))

    history = _rows(path, "Lịch sử")
    came_back = {r["Mã KH"] for r in history if r["Từ trạng thái"] == "Nuôi dưỡng"
                 and r["Sang trạng thái"] in ("Mới", "Đã tìm hiểu", "Tiềm năng", "Nóng", "Chốt")}
    assert came_back == {"KH-000001", "KH-000003"}
    by_reason = {r[0]: r[1:5] for r in _table_after(path, "Tổng quan", "Kích hoạt lại theo lý do")}
    assert by_reason["Chưa cần ngay"][:2] == [6, 2] and by_reason["Ngân sách chưa cho phép"][:2] == [1, 0]
    assert by_reason["Chưa cần ngay"][2] == pytest.approx(2 / 6, abs=1e-3)
    assert by_reason["Ngân sách chưa cho phép"][3] == "ít dữ liệu (1 lượt)"  # a rate over 1 stay says so
    total = by_reason.pop("Tổng")
    assert total[:2] == [7, len(came_back)] == [sum(v[0] for v in by_reason.values()),
                                                sum(v[1] for v in by_reason.values())]
    by_cadence = {r[0]: r[1:3] for r in _table_after(path, "Tổng quan", "Kích hoạt lại theo tần suất chăm sóc")}
    assert by_cadence == {"Hàng tháng": [6, 2], "Hàng quý": [1, 0]}
    by_item = {r[0]: r[1:4] for r in _table_after(path, "Tổng quan", "Kích hoạt lại theo nội dung gửi cuối")}
    # received, was the last item, came back after it
    assert by_item["ND-001"] == [3, 3, 1]  # An, Phương and Giang got it; An came back
    assert "ND-002" not in by_item
    assert by_item["(chưa gửi nội dung)"] == [4, 4, 1]  # Bình, Cường, Dũng, Em: Cường came back unmailed


def test_forget_erases_the_lead_from_the_notifications_log_too(book):
    path, cfg = book
    t1 = _day(_by_lead(path)["KH-000001"]["Lần chăm sóc tới"])
    with SmtpServer() as server:
        _run(path, cfg, server, t1)
    assert any(r["Địa chỉ"] == "an@minhphat.vn" for r in _rows(path, "Thông báo"))
    api.forget(email="an@minhphat.vn", workbook=path)
    log = _rows(path, "Thông báo")
    assert not any("an@minhphat.vn" in str(v) for r in log for v in r.values())
    assert sum(1 for r in log if r["Địa chỉ"] == "[đã xoá]") == 2  # her intent and answer rows
    with SmtpServer() as server:  # and she is never emailed again
        res = _run(path, cfg, server, dt.date(2026, 5, 13))
        assert "KH-000001" not in {m["X-Sheetcrm-Lead"] for m in server.handler.messages}
        assert res.plan.counts["skipped_erased"] == 1


def test_cli_dry_run_then_send_then_a_refused_send_exits_3(book, tmp_path):
    from click.testing import CliRunner

    from sheetcrm.cli import main

    path, _ = book
    t1 = _day(_by_lead(path)["KH-000001"]["Lần chăm sóc tới"])
    runner = CliRunner()
    with SmtpServer() as server:
        cfg = write_config(tmp_path / "cli.toml", send_hours="00:00-24:00")
        cfg.write_text(cfg.read_text(encoding="utf-8")
                       + f'\n[smtp]\nhost = "127.0.0.1"\nport = {server.port}\nsecurity = "none"\nattempts = 1\n'
                       + "wait_max = 0.01\n", encoding="utf-8")
        args = ["nurture", "--workbook", str(path), "--config", str(cfg), "--today", t1.isoformat()]
        dry = runner.invoke(main, [*args, "--dry-run"])
        assert dry.exit_code == 0, dry.output
        assert "7 active, 6 due, 3 to send" in dry.output
        assert "not sent: do not contact: 1; unsubscribed: 1; no email consent: 1" in dry.output
        assert "KH-000007 (Minh): ND-001" in dry.output and not server.handler.messages
        server.handler.refuse = "554 5.7.1 rejected"
        bad = runner.invoke(main, args)
        assert bad.exit_code == 3 and "failed: 3" in bad.output
        server.handler.refuse = None
        ok = runner.invoke(main, args)
        assert ok.exit_code == 0 and "sent: 3; recorded: 3; failed: 0" in ok.output
        assert len(server.handler.messages) == 3


def test_a_run_cut_off_after_sending_records_the_touch_without_sending_again(book):
    """The ledger holds the messages as sent but the nurture cells were never written (the
    run stopped in between): the rerun picks the same items, sends nothing, records them."""
    path, cfg = book
    rows = _by_lead(path)
    t1 = _day(rows["KH-000001"]["Lần chăm sóc tới"])
    order = list(rows)
    with SmtpServer() as server:
        _run(path, cfg, server, t1)
        assert len(server.handler.messages) == 3
        for lid in SENDABLE_FIRST:  # undo the recording, as if it had never been written
            r = order.index(lid) + 2
            for header, value in (("Số lần đã chăm sóc", ""), ("Ngày chăm sóc gần nhất", None),
                                  ("Lần chăm sóc tới", t1), ("Nội dung đã gửi", "")):
                set_cell(path, NURTURE, r, header, value)
        again = _run(path, cfg, server, t1)
        assert len(server.handler.messages) == 3  # nothing twice
        assert {o.state for o in again.outcomes} == {"already_sent"} and again.recorded == 3
    rows = _by_lead(path)
    assert {rows[lid]["Nội dung đã gửi"] for lid in SENDABLE_FIRST} == {"ND-001"}
    assert all(str(rows[lid]["Số lần đã chăm sóc"]) == "1" for lid in SENDABLE_FIRST)


def test_without_a_sender_and_identity_nothing_is_built_and_the_cli_exits_2(book, tmp_path):
    from click.testing import CliRunner

    from sheetcrm.cli import main

    path, _ = book
    empty = tmp_path / "empty.toml"
    empty.write_text("", encoding="utf-8")
    res = CliRunner().invoke(main, ["nurture", "--workbook", str(path), "--config", str(empty), "--outbox",
                                    str(tmp_path / "ob")])
    assert res.exit_code == 2 and "[nurture] sender and identity" in res.output
    dry = CliRunner().invoke(main, ["nurture", "--workbook", str(path), "--config", str(empty), "--dry-run",
                                    "--today", "2026-04-13"])
    assert dry.exit_code == 0 and "3 to send" in dry.output  # a dry run needs neither


def _outbox(res):
    return {m["X-Sheetcrm-Lead"]: m for m in
            (email.message_from_bytes(f.read_bytes(), policy=email.policy.default) for f in res.files)}


def test_with_language_en_the_emails_and_the_content_tab_are_english(book, tmp_path):
    path, cfg = book
    t1 = _day(_by_lead(path)["KH-000001"]["Lần chăm sóc tới"])
    en = tmp_path / "en.toml"
    en.write_text('language = "en"\n' + cfg.read_text(encoding="utf-8"), encoding="utf-8")
    res = api.nurture(workbook=path, config=en, today=t1, outbox=tmp_path / "outbox")
    got = _outbox(res)
    assert set(got) == SENDABLE_FIRST
    an = got["KH-000001"]
    assert an["Subject"] == "[ADV] Industry trends this month"  # the English label and starter item
    assert "mailto:huy@minhphat.vn?subject=Unsubscribe%20KH-000001" in an["List-Unsubscribe"]
    text = an.get_body(("plain",)).get_content()
    assert text.startswith("Dear Nguyễn Văn An,")
    assert "You told us you did not need Gói Cơ bản just yet" in text  # the "not now" opening
    assert 'To stop receiving these emails: reply with the subject "Unsubscribe"' in text
    assert "https://minhphat.vn/huy?email=" in text and "Công ty Minh Phát · 12 Lê Lợi" in text
    html = an.get_body(("html",)).get_content()
    assert '<html lang="en">' in html and "unsubscribe by email" in html and "open the unsubscribe page" in html
    for m in got.values():
        body = m.get_body(("plain",)).get_content()
        assert "Kính gửi" not in body and "Hủy đăng ký" not in body and not m["Subject"].startswith("[QC]")
    assert "Nurture content" not in load_workbook(path, read_only=True).sheetnames  # an outbox writes nothing
    # The content tab the first sending run creates: English title and starter items.
    with SmtpServer() as server:
        smtp = SmtpSettings(host="127.0.0.1", port=server.port, security="none", attempts=1, wait_max=0.01)
        sent = api.nurture(workbook=path, config=en, today=t1, now=dt.datetime.combine(t1, NOW.time()), smtp=smtp)
        assert sent.sent == 3 and {m["Subject"] for m in server.handler.messages} == {an["Subject"]}
    assert "Nurture content" in load_workbook(path, read_only=True).sheetnames
    items = _rows(path, "Nurture content")
    assert [r["Tiêu đề"] for r in items][:2] == ["Industry trends this month",
                                                  '5 tips to get more out of {{ lead.product or "the product" }}']
    assert items[0]["Nhóm lý do"] == "Not needed now, Not a fit for current needs, Other"
    assert {r["Đang dùng"] for r in items} == {"yes"}


def test_the_vietnamese_default_is_unchanged(book, tmp_path):
    path, cfg = book
    t1 = _day(_by_lead(path)["KH-000001"]["Lần chăm sóc tới"])
    an = _outbox(api.nurture(workbook=path, config=cfg, today=t1, outbox=tmp_path / "outbox"))["KH-000001"]
    assert an["Subject"] == "[QC] Xu hướng ngành tháng này"
    assert "subject=Huy%20dang%20ky%20KH-000001" in an["List-Unsubscribe"]
    text = an.get_body(("plain",)).get_content()
    assert text.startswith("Kính gửi Nguyễn Văn An,") and "Không muốn nhận thư nữa" in text
    assert '<html lang="vi">' in an.get_body(("html",)).get_content()


def test_a_teams_folder_overrides_the_english_templates_too(tmp_path):
    from sheetcrm.nurture_mail import NurtureSettings, Templates, build_message

    (tmp_path / "price.txt.j2").write_text("Hi {{ lead.name }}: {{ content.title }}\n", encoding="utf-8")
    (tmp_path / "price.html.j2").write_text("<p>Hi {{ lead.name }}</p>", encoding="utf-8")
    s = NurtureSettings.from_config({"sender": "x@abc.vn", "identity": "ABC"}, "en")
    t = Templates(tmp_path, "en")
    touch = {"lead_id": "KH-1", "email": "a@b.vn", "name": "An", "title": "News", "content_id": "ND-1",
             "reason_category": "price"}
    msg, _ = build_message(touch, {}, s, t, dt.datetime(2026, 4, 13, 9))
    assert msg.get_body(("plain",)).get_content().strip() == "Hi An: News"
    other, warn = build_message({**touch, "reason_category": "budget", "template": "nope"}, {}, s, t,
                                dt.datetime(2026, 4, 13, 9))
    assert warn == "template 'nope' not found; used 'en/budget'"
    assert "the budget does not allow it yet" in other.get_body(("plain",)).get_content()
    assert NurtureSettings.from_config({"subject_prefix": ""}, "en").prefix == ""  # "" turns the label off
