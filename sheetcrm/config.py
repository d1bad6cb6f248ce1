"""`sheetcrm.toml`: where the data lives and how the team works.

Every setting has a default, so a workbook path alone is a complete configuration.
Command-line options override the file.

    backend = "xlsx"                      # or "gsheets"
    workbook = "leads.xlsx"               # xlsx backend
    sheet = "1AbC…"                       # gsheets backend: id or the URL from the browser
    credentials = "service-account.json"  # gsheets; else GOOGLE_APPLICATION_CREDENTIALS / ADC
    timezone = "Asia/Ho_Chi_Minh"
    language = "vi"                       # or "en": issue texts and summary labels
    id_prefix = "KH-"
    id_digits = 6
    default_region = "VN"                 # phone numbers without a country code
    sync_log_keep = 1000
    retention_days = 0  # off; e.g. 730: closed leads inactive 2 years are erased
    open_on = "overview"  # the tab the workbook opens on: overview, agenda, forecast, activity, leads
    scoring_rules = "scoring.toml"        # lead scoring and forecast rules (docs/scoring.md)

    [tabs]        # tab titles, by tab key
    leads = "Khách hàng"

    [headers.leads]   # header names, by column key (the defaults stay accepted)
    phone = "SĐT"

    [rules]       # overrides of schemas/reasons.toml [rules]
    daily_cap = 15
    overdue = "keep"
    extra_days_off = ["2026-12-31"]

    [assignment]  # leads without an owner (docs/intake.md)
    rule = "round_robin"                  # or "by_product", "least_open"
    cutoff = "15:00"                      # created later: first call due the next working day

    [notify]      # the morning digests (docs/notify.md)
    sender = "crm@team.vn"                # From: of the digests
    event_hour = "09:00"                  # calendar events at 9:00; "" (default): all-day
    resend_unknown = false                # a digest cut off after the hand-over is not resent
    webhook = "https://chat.googleapis.com/v1/spaces/…"  # the team's chat, for reps without their own

    [smtp]        # the password comes only from SHEETCRM_SMTP_PASSWORD
    host = "smtp.gmail.com"
    port = 587
    security = "starttls"                 # or "ssl", "none"
    user = "crm@team.vn"

    [nurture]     # sheetcrm nurture (docs/nurture-automation.md)
    sender = "Công ty ABC <cskh@abc.vn>"  # From when the owner has no email in `Nhân viên`
    identity = "Công ty ABC · 12 Lê Lợi, Q.1, TP.HCM · 028 1234 5678"  # in every message
    unsubscribe_email = "huy@abc.vn"      # default: the sender's address
    unsubscribe_url = "https://abc.vn/huy?email={email}"  # optional form link
    subject_prefix = "[QC]"
    send_hours = "08:00-21:00"            # SMTP sends only within these hours
    templates = "mau-email"               # a folder of .txt.j2/.html.j2 templates

    [retry]       # Google API
    attempts = 6
    max_seconds = 120
    timeout = 60
"""

from __future__ import annotations

import datetime as dt
import os
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from .errors import ConfigError

DEFAULT_CONFIG_NAME = "sheetcrm.toml"


@dataclass(frozen=True)
class RetrySettings:
    attempts: int = 6
    max_seconds: float = 120.0
    timeout: float = 60.0


@dataclass(frozen=True)
class Config:
    backend: str | None = None
    workbook: str | None = None
    sheet: str | None = None
    credentials: str | None = None
    api_endpoint: str | None = None
    timezone: str = "Asia/Ho_Chi_Minh"
    language: str = "vi"
    id_prefix: str = "KH-"
    id_digits: int = 6
    default_region: str = "VN"
    sync_log_keep: int = 1000
    retention_days: int = 0  # 0: off; closed leads inactive this long are erased (docs/privacy.md)
    open_on: str = ""  # a tab key: the workbook opens on that tab; "": as people leave it
    schemas_dir: str | None = None
    scoring_rules: str | None = None  # a scoring.toml of the team's (docs/scoring.md)
    tabs: dict[str, str] = field(default_factory=dict)
    headers: dict[str, dict[str, str]] = field(default_factory=dict)
    rules: dict[str, Any] = field(default_factory=dict)
    assignment: dict[str, Any] = field(default_factory=dict)
    retry: RetrySettings = field(default_factory=RetrySettings)
    notify: dict[str, Any] = field(default_factory=dict)  # [notify], checked (docs/notify.md)
    smtp: dict[str, Any] = field(default_factory=dict)  # [smtp], checked; never a password
    nurture: dict[str, Any] = field(default_factory=dict)
    source: str | None = None  # the file it came from, for messages

    def resolved_backend(self) -> str:
        if self.backend:
            return self.backend
        if self.sheet:
            return "gsheets"
        if self.workbook:
            return "xlsx"
        raise ConfigError(
            "No data source: pass --workbook PATH.xlsx or --sheet ID_OR_URL, "
            f"or set workbook/sheet in {DEFAULT_CONFIG_NAME}."
        )

    def today(self, override: str | dt.date | None = None) -> dt.date:
        """'Today' in the team's time zone, or the fixed date given by --today."""
        if isinstance(override, dt.date):
            return override
        if override:
            try:
                return dt.date.fromisoformat(str(override))
            except ValueError:
                raise ConfigError(f"--today '{override}' is not a date like 2026-03-12") from None
        return dt.datetime.now(self.zone).date()

    def now(self) -> dt.datetime:
        return dt.datetime.now(self.zone).replace(microsecond=0, tzinfo=None)

    @property
    def zone(self) -> ZoneInfo:
        try:
            return ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise ConfigError(f"timezone '{self.timezone}' is not a known time zone") from None


# ---------------------------------------------------------------- the config schema
# Every key of sheetcrm.toml: its type and the values it may take. A wrong one stops the
# run with the file and the key named (exit 2), before anything is read or written.

_TAB_TITLE_BAD = set('[]:*?/\\')


def _choice(*allowed: str) -> Callable[[Any], str | None]:
    return lambda v: None if v in allowed else "must be one of " + ", ".join(repr(a) for a in allowed)


def _range(lo: float, hi: float) -> Callable[[Any], str | None]:
    return lambda v: None if lo <= v <= hi else f"must be between {lo:g} and {hi:g}"


def _non_empty(v: str) -> str | None:
    return None if v.strip() else "must not be empty"


def _zone(v: str) -> str | None:
    try:
        ZoneInfo(v)
    except (ZoneInfoNotFoundError, ValueError):
        return "is not a known time zone (e.g. 'Asia/Ho_Chi_Minh')"
    return None


def _region(v: str) -> str | None:
    import phonenumbers

    return None if v.upper() in phonenumbers.SUPPORTED_REGIONS else "is not a country code like 'VN'"


def _url(v: str) -> str | None:
    return None if v.startswith(("http://", "https://")) else "must be an http:// or https:// URL"


def _tab_title(v: str) -> str | None:
    if not v.strip():
        return "must not be empty"
    if len(v) > 31 or _TAB_TITLE_BAD & set(v):
        return "must be at most 31 characters, without [ ] : * ? / \\"
    return None


def _dates(v: list) -> str | None:
    for d in v:
        if isinstance(d, dt.date) and not isinstance(d, dt.datetime):
            continue
        try:
            dt.date.fromisoformat(str(d))
        except ValueError:
            return f"must be dates like 2026-12-31; {d!r} is not one"
    return None


@dataclass(frozen=True)
class Setting:
    kind: type | tuple[type, ...]
    check: Callable[[Any], str | None] | None = None
    item: type | tuple[type, ...] | None = None  # for lists: the type of each item


_INT, _NUM, _STR = (int,), (int, float), (str,)
TOP_LEVEL: dict[str, Setting] = {
    "backend": Setting(_STR, _choice("xlsx", "gsheets")),
    "workbook": Setting(_STR, _non_empty),
    "sheet": Setting(_STR, _non_empty),
    "credentials": Setting(_STR, _non_empty),
    "api_endpoint": Setting(_STR, _url),
    "timezone": Setting(_STR, _zone),
    "language": Setting(_STR, _choice("vi", "en")),
    "id_prefix": Setting(_STR, lambda v: None if len(v) <= 10 and not v[-1:].isdigit()
                         else "must be at most 10 characters and not end in a digit"),
    "id_digits": Setting(_INT, _range(1, 12)),
    "default_region": Setting(_STR, _region),
    "sync_log_keep": Setting(_INT, _range(1, 100_000)),
    "retention_days": Setting(_INT, _range(0, 36_500)),
    "open_on": Setting(_STR, _choice("", "overview", "agenda", "forecast", "activity", "leads")),
    "schemas_dir": Setting(_STR, _non_empty),
    "scoring_rules": Setting(_STR, _non_empty),
}
RULES: dict[str, Setting] = {
    "daily_cap": Setting(_INT, _range(1, 1000)),
    "overdue": Setting(_STR, _choice("keep", "spread")),
    "extra_days_off": Setting((list,), _dates, item=(str, dt.date)),
    "other": Setting(_STR, _non_empty),
}
def _clock(v: str) -> str | None:
    try:
        dt.time.fromisoformat(v)
    except ValueError:
        return "must be a time like '15:00'"
    return None


ASSIGNMENT: dict[str, Setting] = {
    "rule": Setting(_STR, _choice("round_robin", "by_product", "least_open")),
    "cutoff": Setting(_STR, _clock),
}
def _hours(v: str) -> str | None:
    try:
        a, b = (x.strip() for x in v.split("-"))
        lo, hi = dt.time.fromisoformat(a), (dt.time.max if b in ("24:00", "24") else dt.time.fromisoformat(b))
    except ValueError:
        return "must be hours like '07:00-22:00'"
    return None if lo < hi else "must start before it ends"


def _address(v: str) -> str | None:
    from email.utils import parseaddr

    return None if "@" in parseaddr(v)[1] else "must be an email address, e.g. 'Công ty ABC <cskh@abc.vn>'"


NURTURE: dict[str, Setting] = {
    "sender": Setting(_STR, _address),
    "from_owner": Setting((bool,)),
    "identity": Setting(_STR, _non_empty),
    "unsubscribe_email": Setting(_STR, _address),
    "unsubscribe_url": Setting(_STR, _url),
    "subject_prefix": Setting(_STR),
    "send_hours": Setting(_STR, _hours),
    "templates": Setting(_STR, _non_empty),
}
RETRY: dict[str, Setting] = {
    "attempts": Setting(_INT, _range(1, 50)),
    "max_seconds": Setting(_NUM, _range(0.001, 3600)),
    "timeout": Setting(_NUM, _range(0.001, 600)),
}
def _email(v: str) -> str | None:
    return None if "@" in v.strip()[1:-1] and " " not in v.strip() else "must be an email address like crm@team.vn"


def _hour(v: str) -> str | None:
    return None if v == "" else _clock(v)


NOTIFY: dict[str, Setting] = {
    "sender": Setting(_STR, _email),
    "sender_name": Setting(_STR, _non_empty),
    "event_hour": Setting(_STR, _hour),
    "event_minutes": Setting(_INT, _range(5, 24 * 60)),
    "max_items": Setting(_INT, _range(1, 10_000)),
    "stalled_days": Setting(_INT, _range(1, 3650)),
    "resend_unknown": Setting((bool,)),
    "webhook": Setting(_STR, _url),
    "email": Setting((bool,)),
}
SMTP: dict[str, Setting] = {
    "host": Setting(_STR, _non_empty),
    "port": Setting(_INT, _range(1, 65535)),
    "security": Setting(_STR, _choice("starttls", "ssl", "none")),
    "user": Setting(_STR, _non_empty),
    "timeout": Setting(_NUM, _range(0.1, 600)),
    "attempts": Setting(_INT, _range(1, 20)),
    "wait_max": Setting(_NUM, _range(0.0, 600)),
}
TABLES = ("tabs", "headers", "rules", "assignment", "retry", "notify", "smtp", "nurture")
_TYPE_NAMES = {int: "a whole number", float: "a number", str: "text", list: "a list", dict: "a table",
               dt.date: "a date"}


def _kind_name(kind: tuple[type, ...]) -> str:
    return " or ".join(dict.fromkeys(_TYPE_NAMES.get(k, k.__name__) for k in kind))


def check_value(where: str, key: str, value: Any, setting: Setting) -> Any:
    """`value` of `key` if it fits `setting`, else ConfigError naming `where` and `key`."""
    kind = setting.kind
    ok = isinstance(value, kind) and not (isinstance(value, bool) and bool not in kind)
    if ok and setting.item is not None:
        ok = all(isinstance(v, setting.item) and not isinstance(v, bool) for v in value)
    if not ok:
        raise ConfigError(f"{where}{key}: must be {_kind_name(kind)}, got {value!r}")
    problem = setting.check(value) if setting.check else None
    if problem:
        raise ConfigError(f"{where}{key}: {problem}, got {value!r}")
    return value


def _table(where: str, name: str, value: Any, settings: dict[str, Setting] | None) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ConfigError(f"{where}[{name}] must be a table, got {value!r}")
    out = {}
    for key, v in value.items():
        if settings is None:  # [tabs]: key -> title
            out[key] = check_value(f"{where}[{name}] ", key, v, Setting(_STR, _tab_title))
        elif key not in settings:
            raise ConfigError(f"{where}[{name}] unknown setting '{key}' (known: {', '.join(settings)})")
        else:
            out[key] = check_value(f"{where}[{name}] ", key, v, settings[key])
    return out


def _headers(where: str, value: Any) -> dict[str, dict[str, str]]:
    if not isinstance(value, dict) or not all(isinstance(v, dict) for v in value.values()):
        raise ConfigError(f"{where}[headers.<tab>] tables expected, got {value!r}")
    return {tab: {k: check_value(f"{where}[headers.{tab}] ", k, v, Setting(_STR, _non_empty))
                  for k, v in cols.items()} for tab, cols in value.items()}


def parse_settings(data: dict[str, Any], where: str) -> dict[str, Any]:
    """The keyword arguments of Config for the parsed TOML `data`, every key checked."""
    kwargs: dict[str, Any] = {}
    for key, value in data.items():
        if key in TOP_LEVEL:
            kwargs[key] = check_value(where, key, value, TOP_LEVEL[key])
        elif key == "tabs":
            kwargs[key] = _table(where, key, value, None)
        elif key == "headers":
            kwargs[key] = _headers(where, value)
        elif key == "rules":
            rules = _table(where, key, value, RULES)
            if "extra_days_off" in rules:
                rules["extra_days_off"] = [str(d) for d in rules["extra_days_off"]]
            kwargs[key] = rules
        elif key == "assignment":
            kwargs[key] = _table(where, key, value, ASSIGNMENT)
        elif key == "nurture":
            kwargs[key] = _table(where, key, value, NURTURE)
        elif key in ("notify", "smtp"):
            if key == "smtp" and isinstance(value, dict) and "password" in value:
                raise ConfigError(f"{where}[smtp] password: is not read from the config file; "
                                  "set the environment variable SHEETCRM_SMTP_PASSWORD")
            kwargs[key] = _table(where, key, value, NOTIFY if key == "notify" else SMTP)
        elif key == "retry":
            kwargs[key] = RetrySettings(**{k: float(v) if k != "attempts" else v
                                           for k, v in _table(where, key, value, RETRY).items()})
        else:
            raise ConfigError(f"{where}unknown setting '{key}' (known: {', '.join([*TOP_LEVEL, *TABLES])})")
    return kwargs


def load_config(path: str | Path | None = None, **overrides: Any) -> Config:
    """Read `path` (or ./sheetcrm.toml when present) and apply non-None overrides."""
    explicit = path is not None
    p = Path(path) if path else Path(DEFAULT_CONFIG_NAME)
    data: dict[str, Any] = {}
    if p.is_dir():
        raise ConfigError(f"{p}: is a folder, not a config file")
    if p.exists():
        try:
            with p.open("rb") as fh:
                data = tomllib.load(fh)
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{p}: not valid TOML: {exc}") from None
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(f"{p}: cannot read: {getattr(exc, 'strerror', None) or exc}") from None
    elif explicit:
        raise ConfigError(f"{p}: config file not found")

    kwargs = parse_settings(data, f"{p}: ")
    if "workbook" in kwargs and not Path(kwargs["workbook"]).is_absolute():
        # A relative path in the file means relative to the file, wherever cron runs from.
        kwargs["workbook"] = str((p.parent / kwargs["workbook"]).resolve())
    folder = kwargs.get("nurture", {}).get("templates")
    if folder and not Path(folder).is_absolute():
        kwargs["nurture"]["templates"] = str((p.parent / folder).resolve())
    if "scoring_rules" in kwargs and not Path(kwargs["scoring_rules"]).is_absolute():
        kwargs["scoring_rules"] = str((p.parent / kwargs["scoring_rules"]).resolve())
    cfg = Config(**kwargs, source=str(p) if data else None)
    env_endpoint = os.environ.get("SHEETCRM_API_ENDPOINT")
    if env_endpoint and not cfg.api_endpoint:
        cfg = replace(cfg, api_endpoint=env_endpoint)
    cfg = replace(cfg, **{k: v for k, v in overrides.items() if v is not None})
    for key in ("language", "backend"):  # options given on the command line are checked too
        value = getattr(cfg, key)
        if value is not None:
            check_value("", key, value, TOP_LEVEL[key])
    return cfg
