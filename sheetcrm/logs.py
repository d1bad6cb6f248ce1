"""Logging for people (text) and for cron (one JSON object per line).

Every record passes a redaction filter: email addresses and phone numbers are masked,
bearer tokens and private keys removed, whatever the code that logged them. Only what
parses as a phone number is masked, so dates, ids and counts stay readable. Service-account
addresses (`…@….iam.gserviceaccount.com`) are configuration, not a person's data, and stay
whole: a user must see whom to share a spreadsheet with.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
import sys
from zoneinfo import ZoneInfo

log = logging.getLogger("sheetcrm")

_EMAIL = re.compile(r"([A-Za-z0-9._%+-])[A-Za-z0-9._%+-]*@([A-Za-z0-9.-]+\.[A-Za-z]{2,})")
_PHONE = re.compile(r"(?<![\w.:/-])(\+?\(?\d[\d ().-]{6,}\d)(?![\w-])")
# Shapes that look like digit runs but are not phone numbers: dates and times.
_NOT_PHONE = re.compile(r"^\d{4}-\d{1,2}-\d{1,2}$|^\d{1,2}[./-]\d{1,2}[./-]\d{2,4}$|^\d{4}[./]\d{1,2}[./]\d{1,2}$")
_SERVICE_ACCOUNT = re.compile(r"\.gserviceaccount\.com$", re.I)
_BEARER = re.compile(r"(?i)(bearer\s+|access_token[\"'=:\s]+|ya29\.)[A-Za-z0-9._~+/=-]+")
_KEY = re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----.*?-----END [A-Z ]*PRIVATE KEY-----", re.S)


def redact(text: str) -> str:
    text = _KEY.sub("[private key removed]", text)
    text = _BEARER.sub(lambda m: m.group(1) + "[token removed]", text)
    text = _EMAIL.sub(_mask_email, text)
    return _PHONE.sub(lambda m: _mask_phone(m.group(1)), text)


def _mask_email(m: re.Match) -> str:
    if _SERVICE_ACCOUNT.search(m.group(0)):
        return m.group(0)
    return f"{m.group(1)}***@{m.group(2)}"


def _is_phone(s: str) -> bool:
    if _NOT_PHONE.match(s.strip()):
        return False
    import phonenumbers

    try:
        number = phonenumbers.parse(s, None if s.startswith("+") else "VN")
    except phonenumbers.NumberParseException:
        return False
    return phonenumbers.is_possible_number(number)


def _mask_phone(s: str) -> str:
    digits = re.sub(r"\D", "", s)
    if len(digits) < 8 or not _is_phone(s):
        return s
    return "*" * (len(digits) - 3) + digits[-3:]


class RedactingFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = redact(record.getMessage())
        record.args = ()
        return True


_zone = ZoneInfo("Asia/Ho_Chi_Minh")


def use_timezone(zone: ZoneInfo) -> None:
    """Write log times in the team's time zone (the zone that says what 'today' is)."""
    global _zone
    _zone = zone


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        data = {
            # ISO 8601 with the offset, in the team's zone: cron hosts often run in UTC.
            "time": dt.datetime.fromtimestamp(record.created, _zone).isoformat(timespec="seconds"),
            "level": record.levelname.lower(),
            "message": record.getMessage(),
        }
        extra = getattr(record, "data", None)
        if isinstance(extra, dict):
            data.update(extra)
        return json.dumps(data, ensure_ascii=False, default=str)


def setup(fmt: str = "text", verbosity: int = 0) -> None:
    # Text output already prints a summary on stdout; cron's JSON gets one record per run.
    # -q silences the text summary, not cron's JSON record.
    if fmt == "json":
        level = logging.DEBUG if verbosity > 0 else logging.INFO
    else:
        level = {-1: logging.ERROR, 0: logging.WARNING, 1: logging.INFO}.get(max(-1, min(verbosity, 2)), logging.DEBUG)
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(RedactingFilter())
    handler.setFormatter(JsonFormatter() if fmt == "json" else logging.Formatter("%(message)s"))
    log.handlers[:] = [handler]
    log.setLevel(level)
    log.propagate = False
