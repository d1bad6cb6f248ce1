"""A real SMTP server on loopback (aiosmtpd, in-process) for the delivery tests, with
faults: refuse every message with a code, or drop the connection after N messages."""

from __future__ import annotations

import email
import email.policy
import socket
import threading
from dataclasses import dataclass, field

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP


@dataclass
class Handler:
    messages: list = field(default_factory=list)  # email.message.EmailMessage, as received
    refuse: str | None = None  # e.g. "554 5.7.1 rejected": answer to DATA
    drop_after: int | None = None  # accept this many more, then close connections
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_DATA(self, server: SMTP, session, envelope) -> str:
        if self.refuse:
            return self.refuse
        with self.lock:
            if self.drop_after is not None and self.drop_after <= 0:
                server.transport.close()  # the connection goes away mid-transaction
                return "421 4.3.0 going away"
            msg = email.message_from_bytes(envelope.content, policy=email.policy.default)
            self.messages.append(msg)
            if self.drop_after is not None:
                self.drop_after -= 1
        return "250 2.0.0 OK queued"

    def to(self, address: str) -> list:
        return [m for m in self.messages if address in str(m["To"])]


class SmtpServer:
    def __init__(self) -> None:
        self.handler = Handler()
        with socket.socket() as s:  # a free port on loopback
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.controller = Controller(self.handler, hostname="127.0.0.1", port=self.port)

    def __enter__(self) -> SmtpServer:
        self.controller.start()
        return self

    def __exit__(self, *exc) -> None:
        self.controller.stop()
