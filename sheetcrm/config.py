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

    [tabs]        # tab titles, by tab key
    leads = "Khách hàng"

    [headers.leads]   # header names, by column key (the defaults stay accepted)
    phone = "SĐT"

    [rules]       # overrides of schemas/reasons.toml [rules]
    daily_cap = 15
    overdue = "keep"
    extra_days_off = ["2026-12-31"]

    [retry]       # Google API
    attempts = 6
    max_seconds = 120
    timeout = 60
"""

from __future__ import annotations

import datetime as dt
import os
import tomllib
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
    schemas_dir: str | None = None
    tabs: dict[str, str] = field(default_factory=dict)
    headers: dict[str, dict[str, str]] = field(default_factory=dict)
    rules: dict[str, Any] = field(default_factory=dict)
    retry: RetrySettings = field(default_factory=RetrySettings)
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


_SIMPLE = {
    "backend": str, "workbook": str, "sheet": str, "credentials": str, "api_endpoint": str,
    "timezone": str, "language": str, "id_prefix": str, "id_digits": int,
    "default_region": str, "sync_log_keep": int, "schemas_dir": str,
}


def load_config(path: str | Path | None = None, **overrides: Any) -> Config:
    """Read `path` (or ./sheetcrm.toml when present) and apply non-None overrides."""
    explicit = path is not None
    p = Path(path) if path else Path(DEFAULT_CONFIG_NAME)
    data: dict[str, Any] = {}
    if p.exists():
        try:
            with p.open("rb") as fh:
                data = tomllib.load(fh)
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{p}: not valid TOML: {exc}") from None
        except OSError as exc:
            raise ConfigError(f"{p}: cannot read: {exc.strerror}") from None
    elif explicit:
        raise ConfigError(f"{p}: config file not found")

    kwargs: dict[str, Any] = {}
    for key, value in data.items():
        if key in _SIMPLE:
            if not isinstance(value, _SIMPLE[key]):
                raise ConfigError(f"{p}: '{key}' must be {_SIMPLE[key].__name__}, got {value!r}")
            kwargs[key] = value
        elif key in ("tabs", "rules"):
            if not isinstance(value, dict):
                raise ConfigError(f"{p}: [{key}] must be a table")
            kwargs[key] = dict(value)
        elif key == "headers":
            if not isinstance(value, dict) or not all(isinstance(v, dict) for v in value.values()):
                raise ConfigError(f"{p}: [headers.<tab>] tables expected")
            kwargs[key] = {k: dict(v) for k, v in value.items()}
        elif key == "retry":
            try:
                kwargs[key] = RetrySettings(**value)
            except TypeError as exc:
                raise ConfigError(f"{p}: [retry]: {exc}") from None
        else:
            raise ConfigError(f"{p}: unknown setting '{key}'")
    if "workbook" in kwargs and not Path(kwargs["workbook"]).is_absolute():
        # A relative path in the file means relative to the file, wherever cron runs from.
        kwargs["workbook"] = str((p.parent / kwargs["workbook"]).resolve())
    cfg = Config(**kwargs, source=str(p) if data else None)
    env_endpoint = os.environ.get("SHEETCRM_API_ENDPOINT")
    if env_endpoint and not cfg.api_endpoint:
        cfg = replace(cfg, api_endpoint=env_endpoint)
    cfg = replace(cfg, **{k: v for k, v in overrides.items() if v is not None})
    if cfg.language not in ("vi", "en"):
        raise ConfigError(f"language '{cfg.language}' must be 'vi' or 'en'")
    if cfg.backend not in (None, "xlsx", "gsheets"):
        raise ConfigError(f"backend '{cfg.backend}' must be 'xlsx' or 'gsheets'")
    return cfg
