"""Load the declarative schemas in `schemas/` into frozen dataclasses and check them.

Everything a team may want to change (headers, aliases, the status chain, the reason
catalogue, offsets and caps) is data; this module only reads and validates it. A broken
file stops the run with a message naming the file and the field.
"""

from __future__ import annotations

import csv
import datetime as dt
import re
import tomllib
from dataclasses import dataclass, field, replace
from functools import lru_cache
from pathlib import Path
from typing import Any

from .errors import SchemaError
from .text import fold

# An installed wheel carries `schemas/` as `sheetcrm/schemas/` (pyproject.toml maps it);
# a checkout has it beside the package.
SCHEMA_DIR = Path(__file__).resolve().parent / "schemas"
if not SCHEMA_DIR.is_dir():
    SCHEMA_DIR = Path(__file__).resolve().parent.parent / "schemas"

COLUMN_TYPES = {"text", "email", "phone", "date", "status", "reason", "id", "flag"}
WRITERS = {"person", "sync", "both"}
STATUS_KINDS = {"active", "won", "exit"}
CADENCES = {"monthly": 1, "quarterly": 3}
TAB_FILES = {
    "leads": "leads.toml",
    "rejections": "rejections.toml",
    "nurture": "nurture.toml",
    "history": "history.toml",
    "sync_log": "sync_log.toml",
    "intake": "intake.toml",
    "team": "team.toml",
    "privacy": "privacy.toml",
    "suppression": "suppression.toml",
    "notifications": "notifications.toml",
    "nurture_content": "nurture_content.toml",
}
# Tabs that came after teams had copied `schemas/` to a folder of their own: read from
# the shipped files when that folder lacks them.
LATER_TABS = ("intake", "team", "privacy", "suppression", "notifications", "nurture_content")
_OFFSET = re.compile(r"^(\d+)(d|bd|m)$")


@dataclass(frozen=True)
class Column:
    key: str
    header: str
    aliases: tuple[str, ...]
    type: str
    writer: str
    required: bool = False
    optional: bool = False  # never added by sync/init (e.g. a do-not-contact flag)
    # What `forget` writes over a person's data (docs/privacy.md): "" not personal,
    # "tombstone" the `[đã xoá]` mark, "blank" emptied, "category" the reason's category.
    personal: str = ""

    @property
    def names(self) -> tuple[str, ...]:
        return (self.header, *self.aliases)


@dataclass(frozen=True)
class TabSchema:
    key: str
    title: str
    aliases: tuple[str, ...]
    columns: tuple[Column, ...]
    required_any: tuple[tuple[str, ...], ...] = ()  # groups of keys of which one must be present
    title_en: str = ""  # the title with `language = "en"` (blank: `title`)
    on_demand: bool = False  # created by the command that first writes it, never by `init`

    def column(self, key: str) -> Column:
        for c in self.columns:
            if c.key == key:
                return c
        raise KeyError(key)

    @property
    def keys(self) -> tuple[str, ...]:
        return tuple(c.key for c in self.columns)

    @property
    def headers(self) -> tuple[str, ...]:
        return tuple(c.header for c in self.columns)


@dataclass(frozen=True)
class Status:
    key: str
    label: str
    en: str
    aliases: tuple[str, ...]
    kind: str
    order: int | None = None
    terminal: bool = False
    requires_reason: bool = False
    logs_rejection: bool = False
    schedulable: bool = True
    excluded: bool = False

    def display(self, language: str = "vi") -> str:
        return self.en if language == "en" else self.label


@dataclass(frozen=True)
class StatusChain:
    statuses: tuple[Status, ...]
    initial: str
    nurture: str
    unreachable: str

    def get(self, key: str) -> Status:
        for s in self.statuses:
            if s.key == key:
                return s
        raise KeyError(key)

    @property
    def active(self) -> tuple[Status, ...]:
        """The forward chain, won included, in order."""
        chain = [s for s in self.statuses if s.order is not None]
        return tuple(sorted(chain, key=lambda s: s.order))

    def lookup(self) -> dict[str, str]:
        """Folded label/alias/key → status key."""
        table: dict[str, str] = {}
        for s in self.statuses:
            for name in (s.key, s.label, s.en, *s.aliases):
                table.setdefault(fold(name), s.key)
        return table


@dataclass(frozen=True)
class Offset:
    amount: int
    unit: str  # "d" days, "bd" working days, "m" calendar months

    @classmethod
    def parse(cls, text: str) -> Offset:
        m = _OFFSET.match(str(text).strip())
        if not m:
            raise ValueError(f"'{text}' is not an offset like 30d, 3m or 3bd")
        return cls(int(m.group(1)), m.group(2))

    def __str__(self) -> str:
        return f"{self.amount}{self.unit}"


@dataclass(frozen=True)
class Reason:
    key: str
    label: str
    en: str
    aliases: tuple[str, ...]
    keywords: tuple[str, ...]
    recontact: Offset
    action: str
    action_en: str
    nurture: bool = False
    cadence: str | None = None
    max_attempts: int | None = None
    requires_detail: bool = False

    def display(self, language: str = "vi") -> str:
        return self.en if language == "en" else self.label


@dataclass(frozen=True)
class ReasonCatalogue:
    reasons: tuple[Reason, ...]
    other: str
    daily_cap: int
    overdue: str
    extra_days_off: tuple[str, ...]
    # Free-text matching: shorthand → words (folded), and words that negate the next keyword.
    abbreviations: dict[str, str] = field(default_factory=dict)
    negations: tuple[str, ...] = ()
    # The classifier (docs/reasons-classifier.md): labelled phrasings (text, key) from
    # `reason_examples.csv`, the least confidence it needs, and a team correction's weight.
    examples: tuple[tuple[str, str], ...] = ()
    min_confidence: float = 0.5
    team_weight: float = 20.0

    def lookup(self) -> dict[str, str]:
        """Folded label/English name/alias/key → reason key."""
        table: dict[str, str] = {}
        for r in self.reasons:
            for name in (r.key, r.label, r.en, *r.aliases):
                table.setdefault(fold(name), r.key)
        return table

    def get(self, key: str) -> Reason:
        for r in self.reasons:
            if r.key == key:
                return r
        raise KeyError(key)


@dataclass(frozen=True)
class Schemas:
    tabs: dict[str, TabSchema]
    chain: StatusChain
    reasons: ReasonCatalogue
    dedupe: dict[str, Any] = field(default_factory=dict)
    messages: dict[str, dict[str, str]] = field(default_factory=dict)
    labels: dict[str, dict[str, str]] = field(default_factory=dict)  # summary tab texts by language
    summary_titles: dict[str, str] = field(default_factory=dict)  # configured titles of summary tabs
    scoring: Any = None  # sync.scoring.ScoringRules from scoring.toml (docs/scoring.md)

    def tab(self, key: str) -> TabSchema:
        return self.tabs[key]

    def with_titles(self, titles: dict[str, str], headers: dict[str, dict[str, str]],
                    language: str = "vi") -> Schemas:
        """Tab titles in `language`, then the configured tab titles and header names.

        Every title a data tab had stays an alias, so a workbook keeps using the tabs it has
        whatever the language or a rename. Other keys of `titles` name summary tabs
        (sync/summary_tabs.py; `summary_tab_title` finds them under either language's title).
        """
        tabs = {}
        for key, tab in self.tabs.items():
            if language == "en" and tab.title_en and fold(tab.title_en) != fold(tab.title):
                tab = replace(tab, title=tab.title_en, aliases=(tab.title, *tab.aliases))
            cols = []
            for c in tab.columns:
                new = headers.get(key, {}).get(c.key)
                cols.append(replace(c, header=new, aliases=(c.header, *c.aliases)) if new else c)
            title = titles.get(key)
            tabs[key] = replace(
                tab,
                title=title or tab.title,
                aliases=((tab.title, *tab.aliases) if title else tab.aliases),
                columns=tuple(cols),
            )
        summary = {k: v for k, v in titles.items() if k not in self.tabs and v}
        return replace(self, tabs=tabs, summary_titles={**self.summary_titles, **summary})

    def summary_title(self, key: str, language: str = "vi") -> str:
        """The title of summary tab `key` ("overview", "agenda", ...): configured, else the
        `<key>_tab` label in `language`."""
        if self.summary_titles.get(key):
            return self.summary_titles[key]
        lang = "en" if language == "en" else "vi"
        title = (self.labels.get(lang) or {}).get(f"{key}_tab")
        return title if isinstance(title, str) and title else default_tab_title(key, lang)


# ---------------------------------------------------------------- loading and checks


def _read(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError:
        raise SchemaError(str(path), "(file)", "file not found") from None
    except tomllib.TOMLDecodeError as exc:
        raise SchemaError(str(path), "(syntax)", str(exc)) from None


def _need(d: dict, key: str, kind: type | tuple, file: str, where: str) -> Any:
    if key not in d:
        raise SchemaError(file, f"{where}.{key}", "is missing")
    value = d[key]
    if not isinstance(value, kind):
        name = kind.__name__ if isinstance(kind, type) else "/".join(k.__name__ for k in kind)
        raise SchemaError(file, f"{where}.{key}", f"must be {name}, got {value!r}")
    return value


def _opt(d: dict, key: str, kind: type | tuple, default: Any, file: str, where: str) -> Any:
    return _need(d, key, kind, file, where) if key in d else default


def _strings(d: dict, key: str, file: str, where: str) -> tuple[str, ...]:
    values = _opt(d, key, list, [], file, where)
    for i, v in enumerate(values):
        if not isinstance(v, str):
            raise SchemaError(file, f"{where}.{key}[{i}]", f"must be text, got {v!r}")
    return tuple(values)


PERSONAL = {"blank", "category"}


def _personal(raw: dict, file: str, where: str) -> str:
    value = _opt(raw, "personal", (bool, str), False, file, where)
    if value is True:
        return "tombstone"
    if value is False:
        return ""
    if value not in PERSONAL:
        raise SchemaError(file, f"{where}.personal", f"must be true, false, or one of {sorted(PERSONAL)}")
    return value


def load_tab(path: Path) -> TabSchema:
    file = str(path)
    data = _read(path)
    tab = _need(data, "tab", dict, file, "")
    where = "tab"
    columns = _need(data, "columns", list, file, "")
    cols: list[Column] = []
    seen_keys: set[str] = set()
    seen_names: dict[str, str] = {}
    for i, raw in enumerate(columns):
        w = f"columns[{i}]"
        if not isinstance(raw, dict):
            raise SchemaError(file, w, "must be a table")
        col = Column(
            key=_need(raw, "key", str, file, w),
            header=_need(raw, "header", str, file, w),
            aliases=_strings(raw, "aliases", file, w),
            type=_need(raw, "type", str, file, w),
            writer=_need(raw, "writer", str, file, w),
            required=_opt(raw, "required", bool, False, file, w),
            optional=_opt(raw, "optional", bool, False, file, w),
            personal=_personal(raw, file, w),
        )
        if col.type not in COLUMN_TYPES:
            raise SchemaError(file, f"{w}.type", f"'{col.type}' is not one of {sorted(COLUMN_TYPES)}")
        if col.writer not in WRITERS:
            raise SchemaError(file, f"{w}.writer", f"'{col.writer}' is not one of {sorted(WRITERS)}")
        if col.key in seen_keys:
            raise SchemaError(file, f"{w}.key", f"'{col.key}' is used twice")
        seen_keys.add(col.key)
        for name in (col.header, *col.aliases):
            other = seen_names.setdefault(fold(name), col.key)
            if other != col.key:
                raise SchemaError(file, f"{w}.aliases", f"'{name}' also names column '{other}'")
        cols.append(col)
    if not cols:
        raise SchemaError(file, "columns", "no columns")
    groups = []
    for i, group in enumerate(_opt(tab, "required_any", list, [], file, where)):
        if not isinstance(group, list) or not group or any(k not in seen_keys for k in group):
            raise SchemaError(file, f"tab.required_any[{i}]", "must be a list of column keys of this tab")
        groups.append(tuple(group))
    return TabSchema(
        key=_need(tab, "key", str, file, where),
        title=_need(tab, "title", str, file, where),
        aliases=_strings(tab, "aliases", file, where),
        columns=tuple(cols),
        required_any=tuple(groups),
        title_en=_opt(tab, "title_en", str, "", file, where),
        on_demand=_opt(tab, "on_demand", bool, False, file, where),
    )


def load_chain(path: Path) -> StatusChain:
    file = str(path)
    data = _read(path)
    rules = _need(data, "rules", dict, file, "")
    statuses = []
    for i, raw in enumerate(_need(data, "status", list, file, "")):
        w = f"status[{i}]"
        s = Status(
            key=_need(raw, "key", str, file, w),
            label=_need(raw, "label", str, file, w),
            en=_need(raw, "en", str, file, w),
            aliases=_strings(raw, "aliases", file, w),
            kind=_need(raw, "kind", str, file, w),
            order=_opt(raw, "order", int, None, file, w),
            terminal=_opt(raw, "terminal", bool, False, file, w),
            requires_reason=_opt(raw, "requires_reason", bool, False, file, w),
            logs_rejection=_opt(raw, "logs_rejection", bool, False, file, w),
            schedulable=_opt(raw, "schedulable", bool, True, file, w),
            excluded=_opt(raw, "excluded", bool, False, file, w),
        )
        if s.kind not in STATUS_KINDS:
            raise SchemaError(file, f"{w}.kind", f"'{s.kind}' is not one of {sorted(STATUS_KINDS)}")
        if s.kind in ("active", "won") and s.order is None:
            raise SchemaError(file, f"{w}.order", "the chain's statuses need an order")
        statuses.append(s)
    keys = [s.key for s in statuses]
    if len(set(keys)) != len(keys):
        raise SchemaError(file, "status.key", "a key is used twice")
    orders = [s.order for s in statuses if s.order is not None]
    if len(set(orders)) != len(orders):
        raise SchemaError(file, "status.order", "an order is used twice")
    chain = StatusChain(
        tuple(statuses),
        initial=_need(rules, "initial", str, file, "rules"),
        nurture=_need(rules, "nurture", str, file, "rules"),
        unreachable=_need(rules, "unreachable", str, file, "rules"),
    )
    for name in ("initial", "nurture", "unreachable"):
        if getattr(chain, name) not in keys:
            raise SchemaError(file, f"rules.{name}", f"'{getattr(chain, name)}' is not a status key")
    lookup: dict[str, str] = {}
    for s in statuses:
        for name in (s.key, s.label, s.en, *s.aliases):
            other = lookup.setdefault(fold(name), s.key)
            if other != s.key:
                raise SchemaError(file, f"status '{s.key}'.aliases", f"'{name}' also names status '{other}'")
    return chain


def load_reasons(path: Path) -> ReasonCatalogue:
    file = str(path)
    data = _read(path)
    rules = _need(data, "rules", dict, file, "")
    reasons = []
    for i, raw in enumerate(_need(data, "reason", list, file, "")):
        w = f"reason[{i}]"
        try:
            offset = Offset.parse(_need(raw, "recontact", str, file, w))
        except ValueError as exc:
            raise SchemaError(file, f"{w}.recontact", str(exc)) from None
        r = Reason(
            key=_need(raw, "key", str, file, w),
            label=_need(raw, "label", str, file, w),
            en=_need(raw, "en", str, file, w),
            aliases=_strings(raw, "aliases", file, w),
            keywords=_strings(raw, "keywords", file, w),
            recontact=offset,
            action=_need(raw, "action", str, file, w),
            action_en=_opt(raw, "action_en", str, "", file, w),
            nurture=_opt(raw, "nurture", bool, False, file, w),
            cadence=_opt(raw, "cadence", str, None, file, w),
            max_attempts=_opt(raw, "max_attempts", int, None, file, w),
            requires_detail=_opt(raw, "requires_detail", bool, False, file, w),
        )
        if r.nurture and r.cadence not in CADENCES:
            raise SchemaError(file, f"{w}.cadence", f"a nurture reason needs cadence in {sorted(CADENCES)}")
        reasons.append(r)
    keys = [r.key for r in reasons]
    if len(set(keys)) != len(keys):
        raise SchemaError(file, "reason.key", "a key is used twice")
    cat = ReasonCatalogue(
        tuple(reasons),
        other=_need(rules, "other", str, file, "rules"),
        daily_cap=_need(rules, "daily_cap", int, file, "rules"),
        overdue=_opt(rules, "overdue", str, "keep", file, "rules"),
        extra_days_off=_strings(rules, "extra_days_off", file, "rules"),
        abbreviations=_abbreviations(data, file),
        negations=_strings(rules, "negations", file, "rules"),
        examples=_examples(path.parent / EXAMPLES_FILE, set(keys)),
        min_confidence=float(_opt(rules, "min_confidence", (int, float), 0.5, file, "rules")),
        team_weight=float(_opt(rules, "team_weight", (int, float), 20.0, file, "rules")),
    )
    if not 0 <= cat.min_confidence < 1:
        raise SchemaError(file, "rules.min_confidence", "must be at least 0 and below 1")
    if cat.team_weight <= 0:
        raise SchemaError(file, "rules.team_weight", "must be above 0")
    if cat.other not in keys:
        raise SchemaError(file, "rules.other", f"'{cat.other}' is not a reason key")
    if cat.daily_cap < 1:
        raise SchemaError(file, "rules.daily_cap", "must be at least 1")
    if cat.overdue not in ("keep", "spread"):
        raise SchemaError(file, "rules.overdue", "must be 'keep' or 'spread'")
    for day in cat.extra_days_off:
        try:
            dt.date.fromisoformat(day)
        except ValueError:
            raise SchemaError(file, "rules.extra_days_off", f"{day!r} is not a date like 2026-12-31") from None
    return cat


EXAMPLES_FILE = "reason_examples.csv"


def _examples(path: Path, keys: set[str]) -> tuple[tuple[str, str], ...]:
    """Labelled phrasings `text,category` (a reason key); none when the file is absent."""
    if not path.exists():
        return ()
    out = []
    with path.open(encoding="utf-8", newline="") as fh:
        reader = csv.DictReader(fh)
        if reader.fieldnames != ["text", "category"]:
            raise SchemaError(str(path), "header", "must be 'text,category'")
        for line, row in enumerate(reader, start=2):
            text, key = (row.get("text") or "").strip(), (row.get("category") or "").strip()
            if not text or key not in keys:
                raise SchemaError(str(path), f"line {line}", f"needs a text and a reason key, got {key!r}")
            out.append((text, key))
    return tuple(out)


def _abbreviations(data: dict, file: str) -> dict[str, str]:
    table = _opt(data, "abbreviations", dict, {}, file, "")
    for k, v in table.items():
        if not isinstance(v, str):
            raise SchemaError(file, f"abbreviations.{k}", f"must be text, got {v!r}")
    return {fold(k): fold(v) for k, v in table.items()}


def load_schemas(directory: Path | str | None = None) -> Schemas:
    """Load and check every schema file in `directory` (default: the shipped `schemas/`)."""
    d = Path(directory) if directory else SCHEMA_DIR
    tabs = {}
    for key, name in TAB_FILES.items():
        path = d / name
        if key in LATER_TABS and not path.exists():
            path = SCHEMA_DIR / name
        tab = load_tab(path)
        if tab.key != key:
            raise SchemaError(str(d / name), "tab.key", f"must be '{key}'")
        tabs[key] = tab
    dedupe = _read(d / "dedupe.toml") if (d / "dedupe.toml").exists() else {}
    messages = _read(d / "messages.toml") if (d / "messages.toml").exists() else {}
    labels = _read(d / "summary_labels.toml") if (d / "summary_labels.toml").exists() else {}
    chain = load_chain(d / "status_chain.toml")
    # Came after teams had copied `schemas/`: the shipped rules when the folder has none.
    scoring_path = d / "scoring.toml" if (d / "scoring.toml").exists() else SCHEMA_DIR / "scoring.toml"
    return Schemas(
        tabs=tabs,
        chain=chain,
        reasons=load_reasons(d / "reasons.toml"),
        dedupe=dedupe,
        messages=messages,
        labels=labels,
        scoring=load_scoring(scoring_path, chain),
    )


def load_scoring(path: Path | str, chain: StatusChain | None = None) -> Any:
    """The scoring rules of `path` (docs/scoring.md), checked against the status chain."""
    from .sync.scoring import ScoringRules

    path = Path(path)
    keys = [s.key for s in chain.statuses] if chain is not None else None
    return ScoringRules.from_dict(_read(path), str(path), keys)


@lru_cache(maxsize=4)
def default_tab_title(key: str, language: str = "vi") -> str:
    """The shipped title of summary tab `key` in `language` (summary_labels.toml)."""
    labels = _read(SCHEMA_DIR / "summary_labels.toml")
    return labels["en" if language == "en" else "vi"][f"{key}_tab"]
