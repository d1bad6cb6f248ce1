"""The exactly-once ledger over the `Thông báo` log tab, and `send_all` (docs/notify.md).

Each attempt to deliver a message is two log rows: the intent ("sending"), written before
the message is handed to a transport, and the answer ("sent" or "failed"), written after.
What a run does with a message follows from its last row:

- sent: nothing (a rerun the same day sends nothing new);
- failed, or no row: send it;
- sending (the run was cut off after the hand-over, before the answer was logged: the
  server may or may not have the message): log "unknown", and send it again only when
  `resend_unknown` is set;
- unknown: the same decision.

To keep writes few, the answer of one message goes out in the same write as the intent of
the next; the last answers are written by `flush()`.
"""

from __future__ import annotations

import datetime as dt
import functools
import tomllib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from ..text import fold
from .message import DeliveryFailed, Outgoing

LEDGER_STATES = ("sending", "sent", "failed", "unknown")


@functools.cache
def _labels() -> dict[str, dict[str, str]]:
    from ..schema import SCHEMA_DIR

    with (SCHEMA_DIR / "notifications.toml").open("rb") as fh:
        return tomllib.load(fh)["states"]


def state_label(state: str, language: str = "vi") -> str:
    """How `state` reads in the log tab, in `language`."""
    return _labels()[state][language]


def state_key(label: Any) -> str | None:
    """The state a log cell names (a label in either language, or a key), else None."""
    f = fold(label)
    for key, names in _labels().items():
        if f == key or f in {fold(n) for n in names.values()}:
            return key
    return None


@dataclass
class Outcome:
    message: Outgoing
    state: str  # "sent" | "failed" | "already_sent" | "unknown_skipped"
    answer: str = ""

    @property
    def delivered(self) -> bool:
        return self.state == "sent"


class Ledger:
    """What the log says about each message id, and the rows this run adds to it.

    `rows`: the tab's existing rows as dicts (keys as in schemas/notifications.toml; the state
    as a label). `write(rows)` appends dicts of the same keys (the state as a label in
    `language`) and must be durable when it returns. `now()` gives the time logged.
    """

    def __init__(self, rows: Iterable[Mapping[str, Any]], write: Callable[[list[dict[str, Any]]], None],
                 now: Callable[[], dt.datetime], language: str = "vi", resend_unknown: bool = False):
        self.write, self.now, self.language, self.resend_unknown = write, now, language, resend_unknown
        self.last: dict[str, str] = {}  # message id -> last state
        self.attempts: dict[str, int] = {}  # message id -> intents logged
        self.history: list[dict[str, Any]] = []
        for r in rows:
            mid = str(r.get("message_id") or "").strip()
            state = state_key(r.get("state"))
            if not mid or state is None:
                continue
            self.last[mid] = state
            if state == "sending":
                self.attempts[mid] = self.attempts.get(mid, 0) + 1
            self.history.append({**r, "state": state, "message_id": mid})
        self.pending: list[dict[str, Any]] = []
        self.rows_written = 0

    # -- questions -----------------------------------------------------------
    def state(self, mid: str) -> str | None:
        """The last state logged for `mid` (None: never tried)."""
        return self.last.get(mid)

    def count(self, predicate: Callable[[dict[str, Any]], bool]) -> int:
        """Rows of the log (as read, states as keys) that `predicate` accepts."""
        return sum(1 for r in self.history if predicate(r))

    # -- rows ----------------------------------------------------------------
    def _row(self, m: Outgoing, state: str, answer: str = "") -> dict[str, Any]:
        attempt = self.attempts.get(m.message_id, 0)
        return {"event_key": f"{m.message_id}#{attempt}#{state}",
                "logged_at": self.now().strftime("%Y-%m-%d %H:%M:%S"), "day": m.day,
                "channel": m.channel, "kind": m.kind, "recipient": m.recipient, "address": m.address,
                "items": m.items, "message_id": m.message_id, "attempt": attempt,
                "state": state_label(state, self.language), "answer": answer[:300]}

    def _add(self, m: Outgoing, state: str, answer: str = "") -> None:
        self.pending.append(self._row(m, state, answer))
        self.last[m.message_id] = state

    def record(self, m: Outgoing, state: str, answer: str = "") -> None:
        """Queue a row for something delivered outside `send_all` (files written, say)."""
        self._add(m, state, answer)

    def flush(self) -> None:
        """Write the rows not written yet (durable when this returns)."""
        if self.pending:
            rows, self.pending = self.pending, []
            self.write(rows)
            self.rows_written += len(rows)

    # -- one message ---------------------------------------------------------
    def should_send(self, m: Outgoing) -> bool:
        """Whether `m` goes out in this run; a cut-off attempt is logged "unknown" here."""
        state = self.last.get(m.message_id)
        if state == "sending":
            self._add(m, "unknown", "cut off after the hand-over, before the answer was logged")
            state = "unknown"
        if state == "sent":
            return False
        if state == "unknown":
            return self.resend_unknown
        return True

    def begin(self, m: Outgoing) -> None:
        """Log the intent, durably, before the message is handed over."""
        self.attempts[m.message_id] = self.attempts.get(m.message_id, 0) + 1
        self._add(m, "sending")
        self.flush()

    def finish(self, m: Outgoing, delivered: bool, answer: str) -> None:
        """Queue the answer; it is written with the next intent or by `flush()`."""
        self._add(m, "sent" if delivered else "failed", answer)


def send_all(messages: Iterable[Outgoing], transports: Any, ledger: Ledger | None) -> list[Outcome]:
    """Deliver each message not delivered yet, in order, through the transport of its channel
    (`transports`: one transport, or a dict channel -> transport), logging each attempt in
    `ledger` (None: log nothing, as a dry run). Returns one `Outcome` per message."""
    outcomes: list[Outcome] = []
    try:
        for m in messages:
            transport = transports.get(m.channel) if isinstance(transports, Mapping) else transports
            if ledger is not None and not ledger.should_send(m):
                kind = "already_sent" if ledger.state(m.message_id) == "sent" else "unknown_skipped"
                outcomes.append(Outcome(m, kind))
                continue
            if transport is None:
                outcomes.append(Outcome(m, "failed", f"no transport for channel {m.channel!r}"))
                if ledger is not None:
                    ledger.begin(m)
                    ledger.finish(m, False, f"no transport for channel {m.channel!r}")
                continue
            if ledger is not None:
                ledger.begin(m)
            try:
                answer = transport.send(m)
            except DeliveryFailed as exc:
                outcomes.append(Outcome(m, "failed", str(exc)))
                if ledger is not None:
                    ledger.finish(m, False, str(exc))
                continue
            outcomes.append(Outcome(m, "sent", answer))
            if ledger is not None:
                ledger.finish(m, True, answer)
    finally:
        if ledger is not None:
            ledger.flush()
    return outcomes
