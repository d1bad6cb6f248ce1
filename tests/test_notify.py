"""`sheetcrm notify` and `calendar` on an .xlsx workbook, against a real SMTP server on
loopback (aiosmtpd) and a local chat webhook: the right leads per rep, parseable messages
and calendars, exactly once across reruns, cut-offs and refusals (docs/notify.md)."""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import icalendar
import pytest
from click.testing import CliRunner
from helpers_xlsx import TODAY, write_workbook
from notify_helpers import DNC, ERASED, EXPECTED, D, tabs
from python_calamine import CalamineWorkbook
from smtp_helpers import SmtpServer

from sheetcrm import api
from sheetcrm.cli import main
from sheetcrm.delivery import DeliveryFailed, SmtpSettings, SmtpTransport, state_key
from sheetcrm.errors import ConfigError

LOG = "Thông báo"


@pytest.fixture
def smtp():
    with SmtpServer() as srv:
        yield srv


def setup(tmp_path: Path, port: int, hook: str | None = None, extra: str = "") -> tuple[Path, Path]:
    wb = write_workbook(tmp_path / "team.xlsx", tabs(hook))
    cfg = tmp_path / "sheetcrm.toml"
    cfg.write_text(f'workbook = "team.xlsx"\n{extra}\n[notify]\nsender = "crm@team.vn"\n'
                   f'[smtp]\nhost = "127.0.0.1"\nport = {port}\nsecurity = "none"\nattempts = 2\nwait_max = 0.01\n',
                   encoding="utf-8")
    return wb, cfg


def log_rows(wb: Path) -> list[dict]:
    book = CalamineWorkbook.from_path(str(wb))
    if LOG not in book.sheet_names:
        return []
    grid = book.get_sheet_by_name(LOG).to_python()
    return [dict(zip(grid[0], r)) for r in grid[1:]]


def lead_ids(msg) -> set[str]:
    text = msg.get_body(("plain",)).get_content()
    return {w for w in text.split() if w.startswith("KH-")}


def run(cfg: Path, *args: str):
    return CliRunner().invoke(main, ["notify", "-c", str(cfg), "--today", TODAY.isoformat(), *args])


def test_each_rep_gets_their_leads_with_a_calendar_and_a_rerun_sends_nothing(tmp_path, smtp):
    wb, cfg = setup(tmp_path, smtp.port)
    r = run(cfg)
    assert r.exit_code == 0, r.output
    got = smtp.handler.messages
    assert sorted(str(m["To"]) for m in got) == ["Lan <lan@team.vn>", "Minh <minh@team.vn>", "Thảo <thao@team.vn>"]
    for rep, ids in EXPECTED.items():
        (msg,) = smtp.handler.to(f"{rep.lower()}@team.vn")
        assert lead_ids(msg) == ids  # nobody else's leads, none marked do-not-contact, none erased
        assert msg["Subject"] == f"Việc hôm nay 12/03/2026: {len(ids)} khách cần liên hệ"
        assert msg["Message-ID"].endswith("@team.vn>") and msg["From"] == "sheetcrm <crm@team.vn>"
        html = msg.get_body(("html",)).get_content()
        assert all(i in html for i in ids) and DNC not in html and ERASED not in html
    lan = smtp.handler.to("lan@team.vn")[0]
    text = lan.get_body(("plain",)).get_content()
    assert "Nên làm: Truyền đạt rõ giá trị sản phẩm" in text  # the price reason's action
    (ics,) = [p for p in lan.iter_attachments() if p.get_content_type() == "text/calendar"]
    cal = icalendar.Calendar.from_ical(ics.get_content())
    events = {str(e["UID"]): e for e in cal.walk("VEVENT")}
    assert set(events) == {f"KH-00000{i}-recontact@sheetcrm" for i in range(1, 6)}  # 30 days ahead, Lan's
    assert events["KH-000002-recontact@sheetcrm"].decoded("DTSTART") == TODAY  # overdue: today
    assert events["KH-000004-recontact@sheetcrm"].decoded("DTSTART") == D(2)
    assert events["KH-000005-recontact@sheetcrm"].decoded("DTSTART") == D(10)
    assert {int(e["SEQUENCE"]) for e in events.values()} == {0}
    manager = smtp.handler.to("thao@team.vn")[0]
    mtext = manager.get_body(("plain",)).get_content()
    assert "- Lan: 1 / 1 / 1 / 1 / 0 / 0 / 4" in mtext and "KH-000010" in mtext  # stalled 40 days
    rows = log_rows(wb)
    assert [state_key(r["Trạng thái"]) for r in rows] == ["sending", "sent"] * 3
    assert {r["Message-ID"] for r in rows} == {m["Message-ID"] for m in got}

    again = run(cfg)
    assert again.exit_code == 0 and "already sent: 3" in again.output
    assert len(smtp.handler.messages) == 3 and len(log_rows(wb)) == 6


def test_dry_run_and_outbox(tmp_path, smtp):
    wb, cfg = setup(tmp_path, smtp.port)
    r = run(cfg, "--dry-run")
    assert r.exit_code == 0 and "Would send 3" in r.output
    assert smtp.handler.messages == [] and log_rows(wb) == []
    out = tmp_path / "outbox"
    assert run(cfg, "--outbox", str(out)).exit_code == 0
    files = sorted(out.glob("*.eml"))
    assert len(files) == 3 and smtp.handler.messages == []
    parsed = [email.message_from_bytes(f.read_bytes(), policy=email.policy.default) for f in files]
    assert {str(p["To"]) for p in parsed} == {"Lan <lan@team.vn>", "Minh <minh@team.vn>", "Thảo <thao@team.vn>"}
    assert run(cfg, "--outbox", str(out)).exit_code == 0 and len(list(out.glob("*.eml"))) == 3


def test_a_dropped_connection_then_a_rerun_delivers_each_digest_once(tmp_path, smtp):
    wb, cfg = setup(tmp_path, smtp.port)
    smtp.handler.drop_after = 1  # one message gets through, then every connection is dropped
    r = run(cfg)
    assert r.exit_code == 3, r.output
    assert "could not be delivered" in r.output
    assert len(smtp.handler.messages) == 1
    states = [state_key(x["Trạng thái"]) for x in log_rows(wb)]
    assert states.count("sent") == 1 and states.count("failed") == 2
    smtp.handler.drop_after = None
    assert run(cfg).exit_code == 0
    assert sorted(str(m["To"]) for m in smtp.handler.messages) == [
        "Lan <lan@team.vn>", "Minh <minh@team.vn>", "Thảo <thao@team.vn>"]  # each exactly once
    assert run(cfg).exit_code == 0 and len(smtp.handler.messages) == 3


def test_a_5xx_exits_3_and_is_logged(tmp_path, smtp):
    wb, cfg = setup(tmp_path, smtp.port)
    smtp.handler.refuse = "554 5.7.1 Message rejected by policy"
    r = run(cfg)
    assert r.exit_code == 3
    rows = log_rows(wb)
    failed = [x for x in rows if state_key(x["Trạng thái"]) == "failed"]
    assert len(failed) == 3 and all("554" in x["Phản hồi"] for x in failed)
    assert all(x["Trạng thái"] == "lỗi" for x in failed)


def test_cut_off_after_the_server_accepted_is_logged_unknown_and_not_resent(tmp_path, smtp):
    wb, cfg = setup(tmp_path, smtp.port)

    class DiesAfterSecond(SmtpTransport):
        n = 0

        def send(self, m):
            answer = super().send(m)
            type(self).n += 1
            if type(self).n == 2:
                raise KeyboardInterrupt  # the process ends before the answer is logged
            return answer

    t = DiesAfterSecond(SmtpSettings("127.0.0.1", smtp.port, "none", attempts=1))
    with pytest.raises(KeyboardInterrupt):
        api.notify(config=cfg, today=TODAY, transports={"email": t})
    assert len(smtp.handler.messages) == 2
    result = api.notify(config=cfg, today=TODAY)
    assert [o.state for o in result.outcomes] == ["already_sent", "unknown_skipped", "sent"]
    assert len(smtp.handler.messages) == 3  # the cut-off one is not sent twice
    assert "không rõ" in [x["Trạng thái"] for x in log_rows(wb)]
    # resend_unknown = true: a later run sends it again
    text = cfg.read_text(encoding="utf-8").replace("[notify]\n", "[notify]\nresend_unknown = true\n")
    cfg.write_text(text, encoding="utf-8")
    result = api.notify(config=cfg, today=TODAY)
    assert [o.state for o in result.outcomes] == ["already_sent", "sent", "already_sent"]


class _Hook(BaseHTTPRequestHandler):
    bodies: list = []

    def do_POST(self):
        type(self).bodies.append((self.path, json.loads(self.rfile.read(int(self.headers["Content-Length"])))))
        self.send_response(200)
        self.end_headers()

    def log_message(self, *a):
        pass


@pytest.fixture
def hook():
    _Hook.bodies = []
    srv = ThreadingHTTPServer(("127.0.0.1", 0), _Hook)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    yield srv, _Hook
    srv.shutdown()
    srv.server_close()


def test_a_rep_webhook_gets_a_chat_message_once(tmp_path, smtp, hook):
    srv, h = hook
    url = f"http://127.0.0.1:{srv.server_port}/v1/spaces/AAA/messages?key=secret-token"
    wb, cfg = setup(tmp_path, smtp.port, hook=url)
    assert run(cfg).exit_code == 0
    assert len(h.bodies) == 1
    path, body = h.bodies[0]
    assert set(body) == {"text"} and "KH-000010" not in body["text"] and "Khách 10" in body["text"]
    rows = [x for x in log_rows(wb) if x["Kênh"] == "webhook"]
    assert [state_key(x["Trạng thái"]) for x in rows] == ["sending", "sent"]
    assert all("secret-token" not in str(v) for x in log_rows(wb) for v in x.values())  # the URL is a secret
    assert run(cfg).exit_code == 0 and len(h.bodies) == 1


def test_english_digest(tmp_path, smtp):
    wb, cfg = setup(tmp_path, smtp.port, extra='language = "en"')
    assert run(cfg).exit_code == 0
    lan = smtp.handler.to("lan@team.vn")[0]
    assert lan["Subject"] == "Today 12/03/2026: 4 leads to contact"
    assert "Recommended: Communicate the value" in lan.get_body(("plain",)).get_content()
    book = CalamineWorkbook.from_path(str(wb))
    assert "Notifications" in book.sheet_names
    assert {r[10] for r in book.get_sheet_by_name("Notifications").to_python()[1:]} == {"sending", "sent"}


def test_calendar_files_keep_uids_and_raise_the_sequence(tmp_path, smtp):
    wb, cfg = setup(tmp_path, smtp.port, extra="")
    cfg.write_text(cfg.read_text(encoding="utf-8").replace("[notify]\n", '[notify]\nevent_hour = "09:30"\n'),
                   encoding="utf-8")
    out = tmp_path / "cal"
    r = CliRunner().invoke(main, ["calendar", "-c", str(cfg), "--today", TODAY.isoformat(), "--out", str(out)])
    assert r.exit_code == 0, r.output
    assert sorted(p.name for p in out.glob("*.ics")) == ["hung.ics", "lan.ics", "minh.ics"]

    def events(name):
        cal = icalendar.Calendar.from_ical((out / name).read_bytes())
        return {str(e["UID"]): e for e in cal.walk("VEVENT")}

    first = events("minh.ics")
    start = first["KH-000007-recontact@sheetcrm"].decoded("DTSTART")
    assert start.replace(tzinfo=None) == dt.datetime.combine(D(1), dt.time(9, 30))
    assert start.utcoffset() == dt.timedelta(hours=7)  # the team's time zone
    assert {int(e["SEQUENCE"]) for e in first.values()} == {0}
    CliRunner().invoke(main, ["calendar", "-c", str(cfg), "--today", TODAY.isoformat(), "--out", str(out)])
    second = events("minh.ics")
    assert set(second) == set(first) and {int(e["SEQUENCE"]) for e in second.values()} == {1}
    assert run(cfg).exit_code == 0  # the digest's calendar comes next: sequence 2
    (ics,) = [p for p in smtp.handler.to("minh@team.vn")[0].iter_attachments()]
    assert {int(e["SEQUENCE"]) for e in icalendar.Calendar.from_ical(ics.get_content()).walk("VEVENT")} == {2}


def test_config_errors_name_the_key(tmp_path, smtp, monkeypatch):
    wb, cfg = setup(tmp_path, smtp.port)
    cfg.write_text(cfg.read_text(encoding="utf-8") + 'password = "hunter2"\n', encoding="utf-8")
    r = run(cfg)
    assert r.exit_code == 2 and "[smtp] password" in r.output and "SHEETCRM_SMTP_PASSWORD" in r.output
    assert "hunter2" not in r.output
    wb, cfg = setup(tmp_path, smtp.port)
    cfg.write_text(cfg.read_text(encoding="utf-8").replace('sender = "crm@team.vn"', 'sender = "nobody"'),
                   encoding="utf-8")
    r = run(cfg)
    assert r.exit_code == 2 and "[notify] sender" in r.output
    wb, cfg = setup(tmp_path, smtp.port)
    cfg.write_text(cfg.read_text(encoding="utf-8").replace('security = "none"', 'security = "none"\nuser = "crm"'),
                   encoding="utf-8")
    monkeypatch.delenv("SHEETCRM_SMTP_PASSWORD", raising=False)
    with pytest.raises(ConfigError, match="SHEETCRM_SMTP_PASSWORD"):
        api.notify(config=cfg, today=TODAY)
    assert smtp.handler.messages == []


def test_smtp_failure_and_settings_never_show_the_password():
    from email.message import EmailMessage

    from sheetcrm.delivery import Outgoing

    settings = SmtpSettings("127.0.0.1", 9, "none", user="crm", password="hunter2", attempts=1, timeout=1)
    assert "hunter2" not in repr(settings)
    e = EmailMessage()
    e["To"], e["From"], e["Subject"] = "a@team.vn", "b@team.vn", "x"
    e.set_content("x")
    with pytest.raises(DeliveryFailed) as exc:  # nothing listens on port 9
        SmtpTransport(settings).send(Outgoing("<x@y>", "email", "digest", "A", "a@team.vn", email=e))
    assert "hunter2" not in str(exc.value) and "127.0.0.1:9" in str(exc.value)


def test_the_team_webhook_serves_reps_without_their_own(tmp_path, smtp, hook):
    srv, h = hook
    wb, cfg = setup(tmp_path, smtp.port)
    text = cfg.read_text(encoding="utf-8").replace(
        "[notify]\n", f'[notify]\nwebhook = "http://127.0.0.1:{srv.server_port}/team"\nemail = false\n')
    cfg.write_text(text, encoding="utf-8")
    assert run(cfg).exit_code == 0
    assert smtp.handler.messages == []  # email = false: chat only
    texts = sorted(b["text"] for _, b in h.bodies)
    assert len(texts) == 3  # Lan, Minh and Hùng each have items; the manager is not a rep
    assert {p for p, _ in h.bodies} == {"/team"}
    assert run(cfg).exit_code == 0 and len(h.bodies) == 3


def _nurture_blocks(msg, title):
    """Lead id → its lines in the digest's nurture section (plain text)."""
    text = msg.get_body(("plain",)).get_content()
    part = text.split(f"== {title} (", 1)[1].split("\n== ", 1)[0].split("\n-- \n", 1)[0]
    out: dict[str, str] = {}
    for block in part.split("\n- ")[1:]:
        ids = [w for w in block.split() if w.startswith("KH-")]
        out[ids[0]] = block
    return out


@pytest.mark.parametrize("language", ["vi", "en"])
def test_the_digest_marks_the_nurture_touches_the_nurture_run_emails_itself(tmp_path, language):
    from nurture_helpers import T0, TEAM, leads_grid, write_config

    team = [row[:] for row in TEAM]
    team[2][1] = "minh@team.vn"  # both reps get a digest
    wb = write_workbook(tmp_path / "crm.xlsx", {"Khách hàng": leads_grid(), "Nhân viên": team})
    api.sync(workbook=wb, today=T0)
    cfg = write_config(tmp_path / "sheetcrm.toml")
    cfg.write_text(f'language = "{language}"\n' + cfg.read_text(encoding="utf-8")
                   + '[notify]\nsender = "crm@team.vn"\n', encoding="utf-8")
    day = dt.date(2026, 4, 13)
    auto_ids = set(api.nurture(workbook=wb, config=cfg, today=day, dry_run=True).plan.touches["lead_id"])
    assert auto_ids == {"KH-000001", "KH-000006", "KH-000007"}  # the selection the digest reuses
    twin = tmp_path / "twin.xlsx"  # the same workbook, for a second morning's first digest
    twin.write_bytes(wb.read_bytes())

    def digests(config, book):
        api.notify(workbook=book, config=config, today=day, outbox=tmp_path / f"out-{config.stem}")
        msgs = [email.message_from_bytes(p.read_bytes(), policy=email.policy.default)
                for p in sorted((tmp_path / f"out-{config.stem}").rglob("*.eml"))]
        return {m["To"].addresses[0].addr_spec: m for m in msgs}

    title = "Nurture touches due" if language == "en" else "Đến lượt chăm sóc (nuôi dưỡng)"
    auto = "sent automatically" if language == "en" else "email tự động"
    manual = "call or message by hand" if language == "en" else "gọi hoặc nhắn tin cho khách"
    got = digests(cfg, wb)
    blocks = {**_nurture_blocks(got["lan@team.vn"], title), **_nurture_blocks(got["minh@team.vn"], title)}
    # Due: An, Cường (said no), Dũng (no consent), Phương, Giang; Em is do-not-contact: in no digest.
    assert set(blocks) == {"KH-000001", "KH-000003", "KH-000004", "KH-000006", "KH-000007"}
    for lid, block in blocks.items():
        if lid in auto_ids:
            assert auto in block and manual not in block, block
        else:
            assert manual in block and auto not in block, block
    assert "KH-000005" not in got["minh@team.vn"].get_body(("plain",)).get_content()

    # Without the [nurture] settings the nurture run needs to send, every touch is the rep's.
    bare = tmp_path / "bare.toml"
    bare.write_text(f'language = "{language}"\n[notify]\nsender = "crm@team.vn"\n', encoding="utf-8")
    got = digests(bare, twin)
    blocks = {**_nurture_blocks(got["lan@team.vn"], title), **_nurture_blocks(got["minh@team.vn"], title)}
    assert len(blocks) == 5 and all(manual in b and auto not in b for b in blocks.values())
