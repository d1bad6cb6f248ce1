"""Transports: hand one message over, return the server's answer, or raise DeliveryFailed
after the retries (docs/notify.md). Like Django's mail backends: SMTP, a folder of .eml
files (`--outbox`), memory (dry runs and tests); plus chat webhooks (JSON POST)."""

from __future__ import annotations

import json
import logging
import smtplib
import ssl
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from tenacity import (
    RetryError,
    Retrying,
    retry_if_exception,
    stop_after_attempt,
    wait_exponential,
    wait_random,
)

from .message import DeliveryFailed, Outgoing

log = logging.getLogger("sheetcrm")


class Transport(Protocol):
    def send(self, m: Outgoing) -> str:
        """Deliver `m`; the server's answer, or DeliveryFailed."""

    def close(self) -> None: ...


class _Transient(Exception):
    """A failure worth retrying (a dropped connection, a 4xx from SMTP, a 5xx from a webhook)."""


def _retrying(attempts: int, wait_max: float) -> Retrying:
    return Retrying(stop=stop_after_attempt(max(1, attempts)),
                    wait=wait_exponential(multiplier=min(1.0, wait_max), max=wait_max) + wait_random(0, min(1.0, wait_max)),
                    retry=retry_if_exception(lambda e: isinstance(e, _Transient)), reraise=False)


def _run(attempts: int, wait_max: float, fn) -> str:
    try:
        for attempt in _retrying(attempts, wait_max):
            with attempt:
                return fn()
    except RetryError as exc:
        last = exc.last_attempt.exception()
        raise DeliveryFailed(f"{last} (after {attempts} attempts)") from None
    raise AssertionError("unreachable")  # pragma: no cover


# ---------------------------------------------------------------- SMTP


@dataclass(frozen=True)
class SmtpSettings:
    host: str = "localhost"
    port: int = 587
    security: str = "starttls"  # "starttls" | "ssl" | "none"
    user: str | None = None
    password: str | None = field(default=None, repr=False)  # from SHEETCRM_SMTP_PASSWORD only
    timeout: float = 30.0
    attempts: int = 4
    wait_max: float = 30.0  # seconds between attempts, at most


class SmtpTransport:
    """One connection for the whole batch, opened on first use and again after a drop."""

    def __init__(self, settings: SmtpSettings):
        self.s = settings
        self.conn: smtplib.SMTP | None = None

    def _connect(self) -> smtplib.SMTP:
        s = self.s
        if s.security == "ssl":
            conn: smtplib.SMTP = smtplib.SMTP_SSL(s.host, s.port, timeout=s.timeout,
                                                  context=ssl.create_default_context())
        else:
            conn = smtplib.SMTP(s.host, s.port, timeout=s.timeout)
            if s.security == "starttls":
                conn.starttls(context=ssl.create_default_context())
        if s.user:
            conn.login(s.user, s.password or "")
        return conn

    def _drop(self) -> None:
        if self.conn is not None:
            try:
                self.conn.close()
            except Exception:
                pass
        self.conn = None

    def _once(self, m: Outgoing) -> str:
        assert m.email is not None
        try:
            if self.conn is None:
                self.conn = self._connect()
            refused = self.conn.send_message(m.email)
            if refused:
                raise DeliveryFailed(f"recipients refused: {len(refused)}", permanent=True)
            return "250 accepted"
        except smtplib.SMTPAuthenticationError as exc:
            self._drop()
            # the answer may echo the user name, never the password
            raise DeliveryFailed(f"SMTP login refused ({exc.smtp_code})", permanent=True) from None
        except smtplib.SMTPResponseException as exc:
            code = exc.smtp_code
            text = exc.smtp_error.decode("utf-8", "replace") if isinstance(exc.smtp_error, bytes) else str(exc.smtp_error)
            self._drop()
            if 400 <= code < 500:
                raise _Transient(f"SMTP {code} {text}") from None
            raise DeliveryFailed(f"SMTP {code} {text}", permanent=True) from None
        except smtplib.SMTPRecipientsRefused as exc:
            self._drop()
            codes = sorted({c for c, _ in exc.recipients.values()})
            if all(400 <= c < 500 for c in codes):
                raise _Transient(f"SMTP recipient refused {codes}") from None
            raise DeliveryFailed(f"SMTP recipient refused {codes}", permanent=True) from None
        except (smtplib.SMTPServerDisconnected, smtplib.SMTPConnectError, ConnectionError, TimeoutError, OSError) as exc:
            self._drop()
            raise _Transient(f"SMTP connection to {self.s.host}:{self.s.port}: {type(exc).__name__}: {exc}") from None

    def send(self, m: Outgoing) -> str:
        return _run(self.s.attempts, self.s.wait_max, lambda: self._once(m))

    def close(self) -> None:
        if self.conn is not None:
            try:
                self.conn.quit()
            except Exception:
                pass
        self.conn = None


# ---------------------------------------------------------------- webhooks


class WebhookTransport:
    """POST the message's JSON body to its URL (Google Chat `{"text": …}`, Slack-compatible
    incoming webhooks). 2xx is delivered; 429 and 5xx are retried; other 4xx fail at once."""

    def __init__(self, timeout: float = 30.0, attempts: int = 4, wait_max: float = 30.0):
        import requests

        self.session = requests.Session()
        self.timeout, self.attempts, self.wait_max = timeout, attempts, wait_max

    def _once(self, m: Outgoing) -> str:
        import requests

        try:
            r = self.session.post(m.url or "", data=json.dumps(m.body or {}, ensure_ascii=False).encode(),
                                  headers={"Content-Type": "application/json; charset=utf-8"}, timeout=self.timeout)
        except requests.RequestException as exc:
            raise _Transient(f"webhook {m.address}: {type(exc).__name__}") from None
        if 200 <= r.status_code < 300:
            return f"HTTP {r.status_code}"
        if r.status_code == 429 or r.status_code >= 500:
            raise _Transient(f"webhook {m.address}: HTTP {r.status_code}")
        raise DeliveryFailed(f"webhook {m.address}: HTTP {r.status_code}", permanent=True)

    def send(self, m: Outgoing) -> str:
        return _run(self.attempts, self.wait_max, lambda: self._once(m))

    def close(self) -> None:
        self.session.close()


# ---------------------------------------------------------------- files and memory


def file_name(m: Outgoing) -> str:
    """A file name from the message id: the same message, the same file."""
    core = m.message_id.strip("<>").split("@")[0]
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in core)


class OutboxTransport:
    """Write each email as `<folder>/<message id>.eml` (webhooks as .json) instead of sending."""

    def __init__(self, folder: str | Path):
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.files: list[Path] = []

    def send(self, m: Outgoing) -> str:
        if m.email is not None:
            path = self.folder / f"{file_name(m)}.eml"
            data = m.email.as_bytes()
        else:
            path = self.folder / f"{file_name(m)}.{m.channel}.json"
            data = json.dumps({"url_host": m.address, "body": m.body}, ensure_ascii=False, indent=2).encode()
        tmp = path.with_suffix(path.suffix + ".tmp")
        tmp.write_bytes(data)
        tmp.replace(path)
        self.files.append(path)
        return f"outbox {path.name}"

    def close(self) -> None:
        pass


class MemoryTransport:
    """Keep the messages in `sent` (a dry run shows them; tests look at them)."""

    def __init__(self) -> None:
        self.sent: list[Outgoing] = []

    def send(self, m: Outgoing) -> str:
        self.sent.append(m)
        return "kept in memory"

    def close(self) -> None:
        pass
