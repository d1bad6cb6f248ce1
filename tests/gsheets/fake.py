"""Shared helpers: a fake server, a shared service account, a backend talking to it."""

from __future__ import annotations

import json
from pathlib import Path

from sheetcrm.backends.gsheets import GSheetsBackend
from sheetcrm.backends.retry import RetryPolicy

FAST = RetryPolicy(attempts=6, max_seconds=10, initial=0.01, max_wait=0.05)


def key_file(tmp_path: Path, info: dict) -> str:
    p = tmp_path / "sa.json"
    p.write_text(json.dumps(info))
    return str(p)


def backend(fake, sid: str, keyfile: str, policy: RetryPolicy = FAST, timeout: float = 5.0) -> GSheetsBackend:
    return GSheetsBackend.from_options(sid, keyfile, fake.url, policy, timeout)


def requests_by_endpoint(fake) -> dict:
    return fake.admin.counters()["requests"]
