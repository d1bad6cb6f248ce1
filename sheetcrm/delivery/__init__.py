"""Delivering messages exactly once: email over SMTP, chat webhooks, an outbox folder.

Messages are built elsewhere (pure code); this package only hands them over and keeps the
`Thông báo` (notifications) log that makes each one go out once (docs/notify.md):

    from sheetcrm.delivery import Ledger, Outgoing, SmtpTransport, send_all

    ledger = Ledger(rows, write=append_rows, now=clock)  # rows: the log tab's rows, as dicts
    outcomes = send_all(messages, {"email": SmtpTransport(settings)}, ledger)
    failed = [o for o in outcomes if o.state == "failed"]

- `Outgoing`: one message — its stable `message_id` (the ledger key), channel ("email" or
  "webhook"), recipient, kind, item count, and the payload (an `email.message.EmailMessage`,
  or a JSON body and URL).
- `Ledger`: reads what the log says about each message id and appends rows through `write`
  (a list of dicts keyed like the log tab's columns). The intent row ("sending") is written
  before a message is handed over, the answer ("sent" / "failed") after; a message whose last
  row is an intent was cut off between the two and is logged "unknown"; `resend_unknown`
  decides whether it goes out again.
- Transports: `SmtpTransport`, `WebhookTransport`, `OutboxTransport` (.eml files),
  `MemoryTransport` (keeps them in a list: dry runs and tests). Each has `send(msg) -> str`
  (the server's answer) and raises `DeliveryFailed` once its retries are spent.
- `send_all(messages, transports, ledger) -> list[Outcome]`.
"""

from .ledger import LEDGER_STATES, Ledger, Outcome, send_all, state_key, state_label
from .message import DeliveryFailed, Outgoing, message_id
from .transports import (
    MemoryTransport,
    OutboxTransport,
    SmtpSettings,
    SmtpTransport,
    Transport,
    WebhookTransport,
)

__all__ = [
    "LEDGER_STATES", "DeliveryFailed", "Ledger", "MemoryTransport", "Outcome", "OutboxTransport",
    "Outgoing", "SmtpSettings", "SmtpTransport", "Transport", "WebhookTransport", "message_id",
    "send_all", "state_key", "state_label",
]
