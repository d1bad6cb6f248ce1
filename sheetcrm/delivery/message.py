"""One message to deliver, and its stable id (docs/notify.md)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any

from ..text import fold


class DeliveryFailed(Exception):
    """The message could not be delivered (after the transport's retries). `permanent`: the
    server refused it (a 5xx, a 4xx from a webhook), so retrying later will not help."""

    def __init__(self, text: str, permanent: bool = False):
        super().__init__(text)
        self.permanent = permanent


def message_id(kind: str, day: str, recipient: str, domain: str = "sheetcrm.invalid") -> str:
    """`<kind.day.hash@domain>`: the same for the same recipient, day and kind, whichever
    run builds it, so a message sent again is recognised (by the log and by mail clients)."""
    h = hashlib.blake2b(fold(recipient).strip().encode(), digest_size=6).hexdigest()
    safe = "".join(c if c.isalnum() or c in "-_" else "-" for c in kind)
    return f"<{safe}.{day}.{h}@{domain}>"


@dataclass
class Outgoing:
    message_id: str  # the ledger key; for email also the Message-ID header
    channel: str  # "email" | "webhook"
    kind: str  # e.g. "digest", "manager_digest", "nurture"
    recipient: str  # a person's name, as the log shows it
    address: str  # email address, or the webhook's host (never its full URL: it is a secret)
    items: int = 0
    day: str = ""  # the business date, ISO
    email: EmailMessage | None = None
    url: str | None = None  # webhook
    body: dict[str, Any] | None = None  # webhook JSON
    extra: dict[str, Any] = field(default_factory=dict)  # for the caller (e.g. a lead id)
