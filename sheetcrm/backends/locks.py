"""One sync at a time: a local file lock for the cron host, and a lock kept in the
spreadsheet itself for syncs started from different hosts.

The spreadsheet lock is a named range called `sheetcrm_lock`. Sheets refuses a second
named range with the same name (and a second one with the same id), and a batchUpdate is
all-or-nothing, so `addNamedRange` is a compare-and-set: exactly one of two racing syncs
gets it. Its id carries the expiry (`lk-<unix expiry>-<token>`), so a crashed run blocks
the next one only until then; taking over an expired lock deletes *that* id and adds a new
one in one batch, which fails if someone else took it over first.

Trade-off: acquiring costs one `:batchUpdate`, but that call also returns the spreadsheet
metadata (`includeSpreadsheetInResponse`), so it replaces the metadata GET a sync needs
anyway; releasing costs one small `:batchUpdate` at the end. The named range is visible
under Data > Named ranges while a sync runs.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import secrets
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass

import filelock

from ..errors import LockHeldError

LOCK_NAME = "sheetcrm_lock"
_ID = re.compile(r"^lk-(\d+)-([0-9a-f]+)$")


@dataclass(frozen=True)
class SheetLock:
    id: str
    expires: float

    @classmethod
    def new(cls, ttl: float, now: float | None = None) -> SheetLock:
        expires = int((time.time() if now is None else now) + ttl)
        return cls(f"lk-{expires}-{secrets.token_hex(4)}", float(expires))

    @classmethod
    def parse(cls, named_range_id: str) -> SheetLock:
        m = _ID.match(named_range_id or "")
        # An id we cannot read was not written by us: treat it as expired long ago.
        return cls(named_range_id, float(m.group(1)) if m else 0.0)

    def expired(self, now: float | None = None) -> bool:
        return (time.time() if now is None else now) >= self.expires

    def until(self) -> str:
        return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(self.expires))


def find_lock(metadata: dict) -> SheetLock | None:
    for nr in metadata.get("namedRanges", []) or []:
        if nr.get("name") == LOCK_NAME:
            return SheetLock.parse(nr.get("namedRangeId", ""))
    return None


def add_request(lock: SheetLock, sheet_id: int | None) -> dict:
    rng: dict = {"startRowIndex": 0, "endRowIndex": 1, "startColumnIndex": 0, "endColumnIndex": 1}
    if sheet_id is not None:
        rng["sheetId"] = sheet_id
    return {"addNamedRange": {"namedRange": {"namedRangeId": lock.id, "name": LOCK_NAME, "range": rng}}}


def delete_request(lock: SheetLock) -> dict:
    return {"deleteNamedRange": {"namedRangeId": lock.id}}


def lock_path(key: str) -> str:
    base = os.environ.get("XDG_RUNTIME_DIR") or tempfile.gettempdir()
    return os.path.join(base, f"sheetcrm-{hashlib.sha1(key.encode()).hexdigest()[:16]}.lock")


@contextlib.contextmanager
def local_lock(key: str, what: str) -> Iterator[None]:
    """Hold a non-blocking file lock for `key` on this host; LockHeldError when held."""
    lock = filelock.FileLock(lock_path(key), timeout=0)
    try:
        lock.acquire()
    except filelock.Timeout:
        raise LockHeldError(f"Another sync of {what} is running on this host (lock file {lock.lock_file}).") from None
    try:
        yield
    finally:
        lock.release()
