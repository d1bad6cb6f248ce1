"""The delivery machinery alone: the exactly-once ledger, SMTP against a real server on
loopback (aiosmtpd), webhooks against a local HTTP server, the outbox."""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import json
import threading
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from smtp_helpers import SmtpServer

from sheetcrm.delivery import (
    DeliveryFailed,
    Ledger,
    MemoryTransport,
    OutboxTransport,
    Outgoing,
    SmtpSettings,
    SmtpTransport,
    WebhookTransport,
    message_id,
    send_all,
    state_key,
)

NOW = dt.datetime(2026, 3, 12, 7, 0)


def mail(n: int) -> Outgoing:
    mid = message_id("digest", "2026-03-12", f"rep{n}")
    e = EmailMessage()
    e["From"], e["To"], e["Subject"], e["Message-ID"] = "crm@team.vn", f"rep{n}@team.vn", f"Việc hôm nay {n}", mid
    e.set_content(f"xin chào {n}")
    return Outgoing(mid, "email", "digest", f"Rep {n}", f"rep{n}@team.vn", n, "2026-03-12", email=e)


class Log:
    """The log tab as a list of rows; `writes` counts durable writes."""

    def __init__(self) -> None:
        self.rows: list[dict] = []
        self.writes = 0

    def write(self, rows: list[dict]) -> None:
        self.rows.extend(rows)
        self.writes += 1

    def ledger(self, **kw) -> Ledger:
        return Ledger(list(self.rows), self.write, lambda: NOW, **kw)

    def states(self, mid: str) -> list[str]:
        return [state_key(r["state"]) for r in self.rows if r["message_id"] == mid]


def test_message_id_is_stable_and_differs_by_recipient_day_and_kind():
    a = message_id("digest", "2026-03-12", "Nguyễn Lan")
    assert a == message_id("digest", "2026-03-12", "nguyen lan")  # folded, as names are matched
    assert len({a, message_id("digest", "2026-03-13", "Nguyễn Lan"), message_id("manager", "2026-03-12", "Nguyễn Lan"),
                message_id("digest", "2026-03-12", "Trần Minh")}) == 4


def test_intent_before_send_answer_after_and_rerun_sends_nothing():
    log = Log()
    seen_rows_at_send: list[int] = []

    class Spy(MemoryTransport):
        def send(self, m):
            seen_rows_at_send.append(len(log.rows))  # the intent is durable before the hand-over
            return super().send(m)

    msgs = [mail(i) for i in range(3)]
    out = send_all(msgs, Spy(), log.ledger())
    assert [o.state for o in out] == ["sent"] * 3
    assert seen_rows_at_send == [1, 3, 5]  # intent; answer+intent; answer+intent
    assert log.writes == 4  # three intents (each with the previous answer) and the last answer
    assert log.states(msgs[0].message_id) == ["sending", "sent"]
    again = MemoryTransport()
    out = send_all(msgs, again, log.ledger())
    assert again.sent == [] and [o.state for o in out] == ["already_sent"] * 3


def test_failed_is_resent_and_attempts_are_counted():
    log = Log()

    class Flaky(MemoryTransport):
        def send(self, m):
            if m.items == 1:
                raise DeliveryFailed("SMTP 451 try later")
            return super().send(m)

    msgs = [mail(0), mail(1)]
    out = send_all(msgs, Flaky(), log.ledger())
    assert [o.state for o in out] == ["sent", "failed"]
    t = MemoryTransport()
    send_all(msgs, t, log.ledger())
    assert [m.items for m in t.sent] == [1]
    rows = [r for r in log.rows if r["message_id"] == msgs[1].message_id]
    assert [(state_key(r["state"]), r["attempt"]) for r in rows] == [("sending", 1), ("failed", 1), ("sending", 2),
                                                                      ("sent", 2)]
    assert len({r["event_key"] for r in log.rows}) == len(log.rows)  # every row has its own key


@pytest.mark.parametrize("resend", [False, True])
def test_cut_off_after_the_hand_over_is_unknown_and_the_setting_decides(resend):
    log = Log()

    class Dies(MemoryTransport):
        def send(self, m):
            super().send(m)
            if m.items == 1:
                raise SystemExit("killed after the server accepted")
            return "250"

    msgs = [mail(0), mail(1), mail(2)]
    with pytest.raises(SystemExit):
        send_all(msgs, Dies(), log.ledger())
    assert log.states(msgs[0].message_id) == ["sending", "sent"]
    assert log.states(msgs[1].message_id) == ["sending"]
    assert log.states(msgs[2].message_id) == []
    t = MemoryTransport()
    out = send_all(msgs, t, log.ledger(resend_unknown=resend))
    assert log.states(msgs[1].message_id)[:2] == ["sending", "unknown"]
    assert [m.items for m in t.sent] == ([1, 2] if resend else [2])
    assert [o.state for o in out] == ["already_sent", "sent" if resend else "unknown_skipped", "sent"]
    assert any(r["state"] == "không rõ" for r in log.rows)  # as the tab shows it


def test_dry_run_logs_nothing():
    t = MemoryTransport()
    out = send_all([mail(0)], t, None)
    assert out[0].state == "sent" and len(t.sent) == 1


def test_smtp_delivers_retries_a_drop_and_fails_on_5xx():
    with SmtpServer() as srv:
        t = SmtpTransport(SmtpSettings(host="127.0.0.1", port=srv.port, security="none", attempts=3, wait_max=0.01))
        assert t.send(mail(0)).startswith("250")
        got = srv.handler.messages[0]
        assert got["Subject"] == "Việc hôm nay 0" and got.get_content().strip() == "xin chào 0"
        srv.handler.drop_after = 0  # drops once, then is back: the retry reconnects
        original = srv.handler.handle_DATA

        async def once(server, session, envelope):
            srv.handler.handle_DATA = original
            server.transport.close()
            return "421 bye"

        srv.handler.handle_DATA = once
        srv.handler.drop_after = None
        assert t.send(mail(1)).startswith("250")
        assert len(srv.handler.messages) == 2
        srv.handler.refuse = "554 5.7.1 Rejected by policy"
        with pytest.raises(DeliveryFailed) as exc:
            t.send(mail(2))
        assert exc.value.permanent and "554" in str(exc.value)
        assert len(srv.handler.messages) == 2
        t.close()


class _Hook(BaseHTTPRequestHandler):
    bodies: list = []
    status = [200]

    def do_POST(self):
        n = int(self.headers["Content-Length"])
        type(self).bodies.append(json.loads(self.rfile.read(n)))
        code = type(self).status.pop(0) if len(type(self).status) > 1 else type(self).status[0]
        self.send_response(code)
        self.end_headers()

    def log_message(self, *a):
        pass


@pytest.fixture
def hook():
    _Hook.bodies, _Hook.status = [], [200]
    srv = ThreadingHTTPServer(("127.0.0.1", 0), _Hook)
    th = threading.Thread(target=srv.serve_forever, daemon=True)
    th.start()
    yield srv, _Hook
    srv.shutdown()
    srv.server_close()


def test_webhook_posts_json_retries_5xx_and_fails_on_4xx(hook):
    srv, h = hook
    url = f"http://127.0.0.1:{srv.server_port}/hook?token=secret"
    m = Outgoing("<w1@x>", "webhook", "digest", "Lan", "127.0.0.1", 2, "2026-03-12", url=url,
                 body={"text": "Việc hôm nay: 2"})
    t = WebhookTransport(timeout=5, attempts=3, wait_max=0.01)
    h.status = [503, 200]
    assert t.send(m) == "HTTP 200"
    assert h.bodies == [{"text": "Việc hôm nay: 2"}] * 2
    h.status = [404]
    with pytest.raises(DeliveryFailed) as exc:
        t.send(m)
    assert exc.value.permanent and "secret" not in str(exc.value)


def test_outbox_writes_one_eml_per_message_id(tmp_path):
    t = OutboxTransport(tmp_path)
    t.send(mail(0))
    t.send(mail(0))
    t.send(mail(1))
    files = sorted(tmp_path.glob("*.eml"))
    assert len(files) == 2
    parsed = email.message_from_bytes(files[0].read_bytes(), policy=email.policy.default)
    assert parsed["Message-ID"] == mail(0).message_id
