"""Lock files that office apps keep beside a workbook a person has open, and whether one is
still live (docs/locks.md).

Saving under a live one would lose the person's edits or ours, so the sync waits (exit 4,
"try later": cron runs again). A crashed LibreOffice or Excel leaves its lock file behind,
which would block every sync forever; such a lock is judged stale by this rule:

- LibreOffice (`.~lock.NAME#`) records user, host and time. Recorded on this host: stale
  when no LibreOffice process runs here. Recorded elsewhere (a shared folder): stale when
  older than `MAX_AGE`.
- Excel (`~$NAME`) records only the user: stale when the file is older than `MAX_AGE`.

A stale lock is ignored, not deleted: it belongs to the office app, which replaces it
when the workbook is next opened.
"""

from __future__ import annotations

import datetime as dt
import os
import socket
from dataclasses import dataclass
from pathlib import Path

MAX_AGE = dt.timedelta(hours=12)
_OFFICE_PROCESSES = ("soffice.bin", "soffice", "oosplash")


@dataclass(frozen=True)
class OfficeLock:
    path: Path
    app: str
    user: str | None
    host: str | None
    since: dt.datetime
    stale: bool
    why: str  # the rule that decided, in words

    def describe(self) -> str:
        who = f" by {self.user}" if self.user else ""
        where = f" on {self.host}" if self.host else ""
        return f"{self.app} lock file {self.path.name}{who}{where} since {self.since:%Y-%m-%d %H:%M}"


def _libreoffice_fields(path: Path) -> tuple[str | None, str | None, dt.datetime | None]:
    """`,User Name,host,07.12.2026 10:15,file:///home/u/.config/libreoffice/4;`"""
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None, None, None
    parts = text.strip().rstrip(";").split(",")
    user = parts[1].strip() or None if len(parts) > 1 else None
    host = parts[2].strip() or None if len(parts) > 2 else None
    since = None
    if len(parts) > 3:
        try:
            since = dt.datetime.strptime(parts[3].strip(), "%d.%m.%Y %H:%M")
        except ValueError:
            since = None
    return user, host, since


def _excel_user(path: Path) -> str | None:
    """Excel's owner file: a length byte, then the user name (padded to 54 bytes)."""
    try:
        data = path.read_bytes()[:55]
    except OSError:
        return None
    if not data:
        return None
    name = data[1:1 + data[0]].decode("latin-1", errors="replace").strip()
    return name or None


def office_running() -> bool:
    """Whether a LibreOffice process runs on this host (Linux: /proc/*/comm)."""
    proc = Path("/proc")
    if not proc.is_dir():
        return True  # cannot tell: assume the lock is live
    for comm in proc.glob("[0-9]*/comm"):
        try:
            if comm.read_text().strip() in _OFFICE_PROCESSES:
                return True
        except OSError:
            continue
    return False


def find_office_lock(workbook: Path, now: dt.datetime | None = None, host: str | None = None,
                     running: bool | None = None) -> OfficeLock | None:
    """The office lock file beside `workbook`, judged live or stale; None when there is none."""
    now = now or dt.datetime.now()
    host = host or socket.gethostname()
    for app, name in (("Excel", f"~${workbook.name}"), ("LibreOffice", f".~lock.{workbook.name}#")):
        path = workbook.with_name(name)
        try:
            mtime = dt.datetime.fromtimestamp(os.stat(path).st_mtime)
        except OSError:
            continue
        if app == "Excel":
            age = now - mtime
            return OfficeLock(path, app, _excel_user(path), None, mtime, age > MAX_AGE,
                              f"Excel records no host; the file is {_hours(age)} old (stale after {_hours(MAX_AGE)})")
        user, lock_host, since = _libreoffice_fields(path)
        since = since or mtime
        if lock_host and lock_host.lower() == host.lower():
            live = office_running() if running is None else running
            why = ("a LibreOffice process runs on this host" if live
                   else "it was written on this host and no LibreOffice process runs here")
            return OfficeLock(path, app, user, lock_host, since, not live, why)
        age = now - since
        return OfficeLock(path, app, user, lock_host, since, age > MAX_AGE,
                          f"written on another host {_hours(age)} ago (stale after {_hours(MAX_AGE)})")
    return None


def _hours(delta: dt.timedelta) -> str:
    return f"{delta.total_seconds() / 3600:.1f} h"
