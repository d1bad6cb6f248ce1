"""One class per input kind: `detect(headers)` says whether a table is of that kind,
`records(table)` turns it into canonical rows (docs/intake.md). `SOURCES` is the
registry `sheetcrm import` walks, most specific first.

Canonical rows: `line` (the file line, for messages), `external_id` (the channel's lead
id), `submitted_at` (naive, in the team's time zone), the leads tab's person fields
(name, company, email, phone, owner, product, status), `source` (the `Nguồn` text),
`notes` (answers with no column of their own) and `created_raw` (a date column of a
generic CSV, parsed later).
"""

from __future__ import annotations

import hashlib
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar
from zoneinfo import ZoneInfo

import pandas as pd

from ..schema import TabSchema
from ..text import fold
from .read import IntakeError, RawTable

CANONICAL = ("line", "external_id", "submitted_at", "name", "company", "email", "phone", "owner",
             "product", "status", "source", "notes", "created_raw", "consent", "lead_ref", "unsubscribe")
PERSON = ("name", "company", "email", "phone", "owner", "product", "status")

# Facebook Lead Ads' own columns (the form's questions come after them).
FACEBOOK_HEADERS = ("id", "created_time", "ad_id", "ad_name", "adset_id", "adset_name", "campaign_id",
                    "campaign_name", "form_id", "form_name", "is_organic", "platform")
FACEBOOK_FIELDS = {"full_name": "name", "first_name": "first_name", "last_name": "last_name",
                   "phone_number": "phone", "email": "email", "company_name": "company",
                   "job_title": None, "city": None}
FORMS_TIMESTAMP = ("dau thoi gian", "timestamp", "thoi gian")

# Question wording → leads field, for form questions that are not a header's exact name.
_KEYWORDS = (
    ("phone", ("so dien thoai", "dien thoai", "sdt", "phone", "zalo", "di dong", "mobile")),
    ("email", ("email", "e-mail", "thu dien tu")),
    ("company", ("cong ty", "company", "doanh nghiep", "ten cua hang", "cua hang")),
    ("product", ("san pham", "product", "goi dich vu", "dich vu quan tam", "quan tam")),
    ("name", ("ho va ten", "ho ten", "ten cua ban", "ten khach", "full name", "name", "ten")),
)


# A form question asking for consent to marketing email (its answer fills `Đồng ý nhận
# email`), and a question or header that makes a form an unsubscribe form (folded words).
CONSENT_WORDS = ("dong y nhan", "nhan email", "nhan thong tin", "nhan tin", "dang ky nhan", "consent",
                 "opt in", "marketing", "dong y lien he")
UNSUBSCRIBE_WORDS = ("huy dang ky", "unsubscribe", "ngung nhan", "huy nhan", "khong muon nhan", "opt out of")


def _has(header: str, words: tuple[str, ...]) -> bool:
    f = f" {_fold_header(header)} "
    return any(f" {w} " in f for w in words)


def consent_column(headers: list[str], leads: TabSchema) -> int | None:
    """The column answering the consent question (the leads tab's consent header or a
    question that asks for it), if any."""
    names = {fold(n) for n in leads.column("email_consent").names} if "email_consent" in leads.keys else set()
    for i, h in enumerate(headers):
        if _fold_header(h) in names or (_has(h, CONSENT_WORDS) and not _has(h, UNSUBSCRIBE_WORDS)):
            return i
    return None


def _consent(df: pd.DataFrame, out: pd.DataFrame, col: int | None) -> None:
    if col is not None:
        out["consent"] = df[col].str.strip().to_numpy()


@dataclass
class Context:
    """What every source needs: the leads tab's names and aliases, the team's time zone."""

    leads: TabSchema
    zone: ZoneInfo


def _fold_header(h: str) -> str:
    return fold(h.replace("_", " ").rstrip("?:*").strip())


def field_of(header: str, leads: TabSchema, keywords: bool = True) -> str | None:
    """The leads field a header (or a form question) stands for, if any."""
    f = _fold_header(header)
    for c in leads.columns:
        if c.key in PERSON and f in {fold(n) for n in c.names}:
            return c.key
    if keywords:
        words = f" {f} "
        for key, needles in _KEYWORDS:
            if any(f" {n} " in words for n in needles):
                return key
    return None


def _frame(table: RawTable) -> pd.DataFrame:
    width = len(table.headers)
    rows = [r[:width] + [""] * (width - len(r)) if len(r) != width else r for r in table.rows]
    # Cells are stripped where they are used (`_take`, `_notes`): most columns are not.
    return pd.DataFrame(rows, columns=range(width), dtype=object).fillna("")


def _canonical(n: int, lines: list[int]) -> pd.DataFrame:
    out = pd.DataFrame({k: pd.Series([""] * n, dtype=object) for k in CANONICAL})
    out["line"] = lines
    out["submitted_at"] = pd.Series(pd.NaT, index=out.index, dtype="datetime64[ns]")
    return out


def _notes(df: pd.DataFrame, cols: list[int], headers: list[str]) -> pd.Series:
    """'Question: answer' of the given columns, joined with '; ', blanks left out."""
    out = pd.Series([""] * len(df), index=df.index, dtype=object)
    for c in cols:
        v = df[c].str.strip()
        part = (headers[c].replace("_", " ").strip() + ": " + v).where(v.ne(""), "")
        out = (out + "; " + part).where(out.ne("") & part.ne(""), out + part)
    return out


def _take(df: pd.DataFrame, out: pd.DataFrame, fields: dict[int, str]) -> list[int]:
    """Copy mapped columns into `out` (the first column of a field wins; later ones go
    to notes); return the columns left for notes."""
    used: set[str] = set()
    rest = []
    for c in df.columns:
        key = fields.get(c)
        if key and key not in used:
            out[key] = df[c].str.strip().to_numpy()
            used.add(key)
        elif key != "skip":
            rest.append(c)
    return rest


def _to_zone(stamps: pd.Series, zone: ZoneInfo) -> pd.Series:
    """Aware timestamps → naive local time of `zone` (datetime64[ns])."""
    return stamps.dt.tz_convert(zone).dt.tz_localize(None).astype("datetime64[ns]")


def _digest(*parts: pd.Series) -> pd.Series:
    joined = parts[0].astype(str)
    for p in parts[1:]:
        joined = joined + "\x1f" + p.astype(str)
    return joined.map(lambda s: hashlib.blake2b(s.encode(), digest_size=8).hexdigest())


class Source:
    name: ClassVar[str]

    def detect(self, headers: list[str], ctx: Context) -> bool:
        raise NotImplementedError

    def records(self, table: RawTable, ctx: Context) -> pd.DataFrame:
        raise NotImplementedError


class FacebookLeadAds(Source):
    """Meta's Lead Ads export (CSV, or UTF-16 TSV): `p:+84…` phones, ISO times with an offset."""

    name = "facebook"

    def detect(self, headers, ctx):
        have = {h.strip().lower() for h in headers}
        return {"id", "created_time", "form_id"} <= have and bool(have & {"full_name", "phone_number", "email",
                                                                          "first_name"})

    def records(self, table, ctx):
        df = _frame(table)
        heads = [h.strip().lower() for h in table.headers]
        col = {h: i for i, h in reversed(list(enumerate(heads)))}
        out = _canonical(len(df), table.lines)
        get = lambda h: df[col[h]] if h in col else pd.Series([""] * len(df), index=df.index, dtype=object)
        out["external_id"] = ("fb:" + get("id").str.removeprefix("l:")).where(get("id").ne(""), "")
        stamps = pd.to_datetime(get("created_time").where(get("created_time").ne("")), utc=True,
                                errors="coerce", format="ISO8601")
        out["submitted_at"] = _to_zone(stamps, ctx.zone).to_numpy()
        fields: dict[int, str] = {i: "skip" for h, i in col.items() if h in FACEBOOK_HEADERS}
        consent = consent_column(table.headers, ctx.leads)
        if consent is not None:
            fields[consent] = "skip"
            _consent(df, out, consent)
        for h, i in col.items():
            if h in FACEBOOK_FIELDS:
                fields[i] = FACEBOOK_FIELDS[h] or "notes"
        for i, h in enumerate(table.headers):
            if i not in fields:
                key = field_of(h, ctx.leads)
                if key:
                    fields[i] = key
        rest = _take(df, out, {i: k for i, k in fields.items() if k in PERSON or k == "skip"})
        if "first_name" in col and not (out["name"] != "").any():
            out["name"] = (get("first_name") + " " + get("last_name")).str.strip().to_numpy()
        rest = [c for c in rest if fields.get(c) not in ("first_name", "last_name")]
        # Meta writes a choice as `may_lanh_inverter`: the words back, for the rep to read.
        for c in rest:
            df[c] = _unsnake(df[c])
        out["product"] = _unsnake(out["product"]).to_numpy()
        # A phone as Meta writes it: "p:+84912345678".
        out["phone"] = out["phone"].str.replace(r"^p:", "", regex=True)
        channel = get("platform").str.lower().map({"ig": "Instagram", "fb": "Facebook"}).fillna("Facebook")
        campaign = get("campaign_name").where(get("campaign_name").ne(""), get("form_name"))
        form = get("form_name").where(get("form_name").ne(campaign), "")
        label = (campaign + " / " + form).str.strip(" /")
        out["source"] = (channel + " · " + label).where(label.ne(""), channel).to_numpy()
        out["notes"] = _notes(df, rest, table.headers).to_numpy()
        return out


def _unsnake(values: pd.Series) -> pd.Series:
    snake = values.str.contains("_", regex=False) & ~values.str.contains(" ", regex=False)
    return values.where(~snake, values.str.replace("_", " ", regex=False))


class GoogleForms(Source):
    """A Google Forms responses CSV (or a responses tab): a timestamp, then the questions."""

    name = "google-forms"

    def detect(self, headers, ctx):
        return bool(headers) and _fold_header(headers[0]) in FORMS_TIMESTAMP

    def records(self, table, ctx):
        df = _frame(table)
        out = _canonical(len(df), table.lines)
        first = table.headers[0]
        day_first = _fold_header(first) != "timestamp"  # the English UI writes m/d/yyyy
        out["submitted_at"] = parse_form_times(df[0], day_first).to_numpy()
        fields = {0: "skip"}
        consent = consent_column(table.headers, ctx.leads)
        if consent is not None:
            fields[consent] = "skip"
            _consent(df, out, consent)
        for i, h in enumerate(table.headers[1:], start=1):
            key = field_of(h, ctx.leads)
            if key and i not in fields:
                fields[i] = key
        rest = _take(df, out, fields)
        # A response has no id; its time and answers are the same in every later download.
        answers = [df[c] for c in df.columns]
        out["external_id"] = ("form:" + _digest(*answers)).where(df[0].ne(""), "").to_numpy()
        title = re.sub(r"\s*\((Responses|Câu trả lời|Câu trả lời biểu mẫu \d+)\)\s*$", "", table.path.stem)
        label = table.sheet or title
        out["source"] = f"Google Forms · {label}" if label else "Google Forms"
        out["notes"] = _notes(df, rest, table.headers).to_numpy()
        return out


_FORM_TIME = re.compile(
    r"^\s*(\d{1,4})[/.-](\d{1,2})[/.-](\d{1,4})(?:[ T]+(\d{1,2}):(\d{2})(?::(\d{2}))?)?\s*"
    r"(AM|PM|SA|CH)?\s*(?:GMT([+-]\d{1,2})(?::?(\d{2}))?)?\s*$", re.I)


_SERIAL = re.compile(r"^\s*\d{4,5}(?:\.\d+)?\s*$")


def _form_time(text: str, day_first: bool) -> pd.Timestamp:
    if _SERIAL.match(text):  # a responses tab read unformatted: a spreadsheet serial number
        return (pd.Timestamp(1899, 12, 30) + pd.Timedelta(days=float(text))).round("s")
    m = _FORM_TIME.match(text)
    if not m:
        return pd.NaT
    a, b, c, hh, mm, ss, ampm, _tz, _tzm = m.groups()
    if len(a) == 4:
        y, mo, d = int(a), int(b), int(c)
    else:
        y = int(c) + (2000 if len(c) == 2 else 0)
        d, mo = (int(a), int(b)) if day_first else (int(b), int(a))
    h = int(hh or 0)
    if ampm and ampm.upper() in ("PM", "CH") and h < 12:
        h += 12
    elif ampm and ampm.upper() in ("AM", "SA") and h == 12:
        h = 0
    try:
        return pd.Timestamp(y, mo, d, h, int(mm or 0), int(ss or 0))
    except ValueError:
        return pd.NaT


def parse_form_times(values: pd.Series, day_first: bool = True) -> pd.Series:
    """Google Forms timestamps (`01/12/2026 9:15:02`, `12/1/2026 9:15:02 AM`,
    `2026/12/01 9:15:02 SA GMT+7`) → naive local times. The form's own time zone is
    the team's: a GMT suffix is dropped, not converted."""
    from ..text import map_distinct

    return pd.to_datetime(map_distinct(values, lambda v: _form_time(str(v), day_first)),
                          errors="coerce").astype("datetime64[ns]")


class LeadsTable(Source):
    """Any CSV or workbook whose headers are the leads tab's names or aliases."""

    name = "csv"

    def detect(self, headers, ctx):
        keys = {field_of(h, ctx.leads, keywords=False) for h in headers}
        return "name" in keys and bool(keys & {"email", "phone"})

    def records(self, table, ctx, fields: dict[int, str] | None = None, source: str | None = None):
        df = _frame(table)
        out = _canonical(len(df), table.lines)
        if fields is None:
            fields = {}
            consent = consent_column(table.headers, ctx.leads)
            if consent is not None:
                fields[consent] = "skip"
                _consent(df, out, consent)
            for i, h in enumerate(table.headers):
                key = field_of(h, ctx.leads, keywords=False) or _other_field(h, ctx.leads)
                if key and i not in fields:
                    fields[i] = key
        extra = {i: k for i, k in fields.items() if k in ("external_id", "created_raw", "source", "notes",
                                                          "submitted_at")}
        rest = _take(df, out, {i: k for i, k in fields.items() if k in PERSON})
        rest = [c for c in rest if c not in extra]
        for i, key in extra.items():
            if key == "submitted_at":
                out["created_raw"] = df[i].to_numpy()
            elif key != "notes":  # the file's own notes come first, below
                out[key] = df[i].to_numpy()
        ext = out["external_id"]
        out["external_id"] = (f"{self.name}:" + ext).where(ext.ne(""), "").to_numpy()
        given = out["source"]
        default = source or f"Nhập từ {table.name}"
        out["source"] = given.where(given.ne(""), default).to_numpy()
        notes = _notes(df, [c for c in rest if fields.get(c) != "skip"], table.headers)
        own = df[[i for i, k in fields.items() if k == "notes"][0]] if "notes" in fields.values() else None
        if own is not None:
            notes = own.where(notes.eq(""), (own + "; " + notes).str.strip("; "))
        out["notes"] = notes.to_numpy()
        return out


def _other_field(header: str, leads: TabSchema) -> str | None:
    """Leads columns other than the person fields that a generic file may carry."""
    f = _fold_header(header)
    for key, target in (("lead_id", "external_id"), ("created_at", "created_raw"), ("source", "source"),
                        ("notes", "notes")):
        if f in {fold(n) for n in leads.column(key).names}:
            return target
    return None


class Mapped(LeadsTable):
    """A file described by a mapping (`--map MAP.toml`): `[columns]` field = "Header"."""

    name = "map"
    FIELDS = (*PERSON, "external_id", "submitted_at", "source", "notes")

    def __init__(self, path: str | Path):
        p = Path(path)
        try:
            data = tomllib.loads(p.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise IntakeError(f"{p}: mapping file not found") from None
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise IntakeError(f"{p}: not a valid mapping file: {exc}") from None
        cols = data.get("columns")
        if not isinstance(cols, dict) or not cols:
            raise IntakeError(f"{p}: needs a [columns] table, e.g. name = \"Họ tên\"")
        for k, v in cols.items():
            if k not in self.FIELDS or not isinstance(v, str):
                raise IntakeError(f"{p}: [columns] {k}: must be one of {', '.join(self.FIELDS)} "
                                  "with a header name as text")
        self.path, self.columns = p, cols
        self.source = data.get("source") if isinstance(data.get("source"), str) else None

    def detect(self, headers, ctx):
        return True

    def records(self, table, ctx, fields=None, source=None):
        folded = {fold(h): i for i, h in reversed(list(enumerate(table.headers)))}
        fields = {}
        for key, header in self.columns.items():
            if fold(header) not in folded:
                raise IntakeError(f"{table.name}: line 1: no column '{header}' (named in {self.path.name} "
                                  f"for {key}); columns: {', '.join(table.headers)}")
            fields[folded[fold(header)]] = key
        return super().records(table, ctx, fields, self.source)


class Unsubscribes(Source):
    """An unsubscribe form's responses (a Google Forms CSV or responses tab, or any table): a
    question or header saying unsubscribe ("Hủy đăng ký", "Ngừng nhận email"), and the
    person's email or phone (a lead id column too, if the form asks for it). Nothing is
    added to the leads tab: each row stops the nurture emails of the lead it names
    (docs/nurture-automation.md). An answer that says no ("Không") is not an unsubscribe."""

    name = "unsubscribe"

    def detect(self, headers, ctx):
        keys = {field_of(h, ctx.leads) for h in headers}
        return any(_has(h, UNSUBSCRIBE_WORDS) for h in headers) and bool(keys & {"email", "phone"})

    def records(self, table, ctx):
        df = _frame(table)
        out = _canonical(len(df), table.lines)
        first = table.headers[0] if table.headers else ""
        if _fold_header(first) in FORMS_TIMESTAMP:
            out["submitted_at"] = parse_form_times(df[0], _fold_header(first) != "timestamp").to_numpy()
        lead_names = {fold(n) for n in ctx.leads.column("lead_id").names}
        for i, h in enumerate(table.headers):
            key = field_of(h, ctx.leads)
            if _has(h, UNSUBSCRIBE_WORDS):
                out["unsubscribe"] = df[i].str.strip().to_numpy()
            elif _fold_header(h) in lead_names:
                out["lead_ref"] = df[i].str.strip().to_numpy()
            elif key in ("email", "phone", "name") and not (out[key] != "").any():
                out[key] = df[i].str.strip().to_numpy()
        out["phone"] = out["phone"].str.replace(r"^p:", "", regex=True)
        answers = [df[c] for c in df.columns]
        out["external_id"] = "unsub:" + _digest(*answers)
        out["source"] = table.sheet or table.path.stem
        return out


SOURCES: tuple[Source, ...] = (FacebookLeadAds(), Unsubscribes(), GoogleForms(), LeadsTable())
BY_NAME = {s.name: s for s in SOURCES}


def choose(table: RawTable, kind: str, ctx: Context, mapping: Mapped | None = None) -> Source:
    """The source for `table`: the mapping, the one named, or the first that detects it."""
    if mapping is not None:
        return mapping
    if kind != "auto":
        source = BY_NAME[kind]
        if not source.detect(table.headers, ctx):
            raise IntakeError(f"{table.name}: line 1: headers do not look like a {kind} export "
                              f"({', '.join(table.headers[:6])}…)")
        return source
    for source in SOURCES:
        if source.detect(table.headers, ctx):
            return source
    raise IntakeError(f"{table.name}: line 1: cannot tell what kind of export this is (headers: "
                      f"{', '.join(table.headers[:8])}); name the columns with --map MAP.toml")
