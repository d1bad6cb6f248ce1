"""The morning digests as messages: templates in, `Outgoing` emails and chat posts out, each
email with its .ics calendar (docs/notify.md). No delivery here (sheetcrm.delivery does
that) and no workbook access (sheetcrm.api reads it): a `DigestPlan` in, messages out."""

from __future__ import annotations

import datetime as dt
import email.policy
import email.utils
from dataclasses import dataclass
from email.message import EmailMessage
from functools import cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pandas as pd

from .delivery import Outgoing, message_id
from .schema import Schemas
from .sync.digest import SECTIONS, DigestPlan, Person
from .text import as_text

TEMPLATES = Path(__file__).resolve().parent / "templates"
# Headers are folded at 998 characters: Python's folding at 78 drops the space between two
# encoded words ("cần liên" arrives as "cầnliên"). Bodies stay base64/quoted-printable.
HEADER_POLICY = email.policy.default.clone(max_line_length=998)


@dataclass(frozen=True)
class NotifySettings:
    """The `[notify]` table of sheetcrm.toml (docs/notify.md)."""

    sender: str = ""  # From: address of the digests; needed to send email
    sender_name: str = "sheetcrm"
    event_hour: str = ""  # "" all-day events; "09:00" timed events at that hour (team time zone)
    event_minutes: int = 30
    max_items: int = 50  # per section of an email; the rest are counted
    stalled_days: int = 14
    resend_unknown: bool = False
    webhook: str = ""  # the team's chat webhook, for reps without their own
    email: bool = True  # send the email digests (false: chat only)


def texts(schemas: Schemas, language: str) -> dict[str, str]:
    base = schemas.messages.get("vi", {})
    return {**base, **(schemas.messages.get(language, {}) if language != "vi" else {})}


@cache
def _env() -> Any:
    import jinja2

    return jinja2.Environment(loader=jinja2.FileSystemLoader(str(TEMPLATES)), keep_trailing_newline=True,
                              autoescape=jinja2.select_autoescape(["html.j2"]), trim_blocks=True,
                              lstrip_blocks=True, undefined=jinja2.StrictUndefined)


def render(name: str, **context: Any) -> str:
    return _env().get_template(name).render(**context)


def row_link(sheet_id: str | None, gid: int | None, row: Any) -> str:
    """The link that opens the lead's row in Google Sheets ('' for a workbook file)."""
    if not sheet_id or gid is None or row is None or pd.isna(row):
        return ""
    return f"https://docs.google.com/spreadsheets/d/{sheet_id}/edit#gid={gid}&range=A{int(row)}"


def ics_text(value: str) -> str:
    """An iCalendar TEXT value (RFC 5545 3.3.11): backslash, semicolon, comma, newline escaped."""
    return (value.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,")
            .replace("\r\n", "\\n").replace("\n", "\\n").replace("\r", "\\n"))


def ics_fold(line: str) -> str:
    """`line` folded at 75 octets (RFC 5545 3.1), never inside a UTF-8 character."""
    data = line.encode("utf-8")
    if len(data) <= 75:
        return line
    out, chunk, size, limit = [], [], 0, 75
    for ch in line:
        n = len(ch.encode("utf-8"))
        if size + n > limit:
            out.append("".join(chunk))
            chunk, size, limit = [], 0, 74  # continuation lines start with a space
        chunk.append(ch)
        size += n
    out.append("".join(chunk))
    return "\r\n ".join(out)


def ics_events(uids: pd.Series, dates: pd.Series, summaries: list[str], descriptions: list[str], sequence: int,
               stamp: dt.datetime, hour: dt.time | None, minutes: int, tzid: str) -> bytes:
    """VEVENTs, CRLF-terminated: all-day on `dates`, or at `hour` for `minutes` in `tzid`."""
    day = dates.dt.strftime("%Y%m%d").to_numpy()
    if hour is None:
        end = (dates + pd.Timedelta(days=1)).dt.strftime("%Y%m%d").to_numpy()
        when = [f"DTSTART;VALUE=DATE:{a}\r\nDTEND;VALUE=DATE:{b}\r\nTRANSP:TRANSPARENT" for a, b in zip(day, end)]
    else:
        starts = dates + pd.Timedelta(hours=hour.hour, minutes=hour.minute)
        a = starts.dt.strftime("%Y%m%dT%H%M%S").to_numpy()
        b = (starts + pd.Timedelta(minutes=minutes)).dt.strftime("%Y%m%dT%H%M%S").to_numpy()
        when = [f"DTSTART;TZID={tzid}:{x}\r\nDTEND;TZID={tzid}:{y}" for x, y in zip(a, b)]
    st = stamp.strftime("%Y%m%dT%H%M%SZ")
    out = [
        f"BEGIN:VEVENT\r\nUID:{ics_fold('UID:' + ics_text(u))[4:]}\r\nSEQUENCE:{sequence}\r\nDTSTAMP:{st}\r\n"
        f"{w}\r\n{ics_fold('SUMMARY:' + ics_text(s))}\r\n{ics_fold('DESCRIPTION:' + ics_text(d))}\r\nEND:VEVENT\r\n"
        for u, w, s, d in zip(uids, when, summaries, descriptions)]
    return "".join(out).encode("utf-8")


def _show_date(d: Any) -> str:
    return "" if d is None or pd.isna(d) else pd.Timestamp(d).strftime("%d/%m/%Y")


class Builder:
    """Turns a DigestPlan into messages, for one language and one workbook."""

    def __init__(self, plan: DigestPlan, schemas: Schemas, language: str, zone: ZoneInfo,
                 settings: NotifySettings, sheet_id: str | None = None, gid: int | None = None,
                 sequences: dict[str, int] | None = None, agenda_tab: str = "Lịch liên hệ lại",
                 now: dt.datetime | None = None):
        self.plan, self.schemas, self.language, self.zone, self.s = plan, schemas, language, zone, settings
        self.sheet_id, self.gid, self.sequences, self.agenda_tab = sheet_id, gid, sequences or {}, agenda_tab
        self.t = texts(schemas, language)
        self.now = now or dt.datetime.now(dt.UTC)
        self.status_name = {s.key: s.display(language) for s in schemas.chain.statuses}
        self.reason_name = {r.key: r.display(language) for r in schemas.reasons.reasons}
        self.action = {r.key: (r.action_en or r.action) if language == "en" else r.action
                       for r in schemas.reasons.reasons}
        self.day = plan.day.isoformat()
        self.shown_day = plan.day.strftime("%d/%m/%Y")

    # -- items as the templates see them --------------------------------------
    def _records(self, items: pd.DataFrame) -> list[dict[str, Any]]:
        if not len(items):
            return []
        reason = items["reason"].astype(object)
        action = reason.map(self.action).fillna("").astype(object)
        # A nurture touch the nurture run emails today needs nothing from the rep; the
        # others are theirs to call or message.
        nurture = items["section"].to_numpy() == SECTIONS.index("nurture")
        auto = nurture & items["auto"].fillna(False).astype(bool).to_numpy()
        manual = action.map(lambda a: self.t["notify_nurture_manual"] + (f": {a}" if a else ""))
        action = action.where(~nurture, manual).where(~auto, self.t["notify_nurture_auto"])
        frame = pd.DataFrame({
            "date": items["date"].dt.strftime("%d/%m/%Y").fillna(""),
            "lead_id": as_text(items["lead_id"]), "name": as_text(items["name"]),
            "company": as_text(items["company"]), "phone": as_text(items["phone"]),
            "email": as_text(items["email"]),
            "status": items["status"].map(self.status_name).fillna(""),
            "reason": reason.map(self.reason_name).fillna(""),
            "action": action,
            "link": [row_link(self.sheet_id, self.gid, r) for r in items["row"].to_numpy()],
        })
        return frame.to_dict("records")

    def sections(self, person: Person) -> list[dict[str, Any]]:
        items = self.plan.rep_items(person.key)
        out = []
        for i, key in enumerate(SECTIONS):
            part = items[items["section"].to_numpy() == i]
            if not len(part):
                continue
            shown = part.iloc[: self.s.max_items]
            out.append({"key": key, "title": self.t[f"notify_{key}"], "count": len(part),
                        "rows": self._records(shown), "more": len(part) - len(shown)})
        return out

    # -- calendars -------------------------------------------------------------
    def calendar(self, person: Person, rows: pd.DataFrame | None = None) -> bytes:
        """One VEVENT per recontact of `person` in the next 30 days (overdue ones today), UID
        from lead id and kind, SEQUENCE from the log (see sequence_numbers). The calendar, its
        properties and the VTIMEZONE come from icalendar; the events, thousands for a busy
        team, are written by `ics_events` (icalendar takes ~0.5 ms an event)."""
        import icalendar

        rows = self.plan.rep_calendar(person.key) if rows is None else rows
        cal = icalendar.Calendar()
        cal.add("prodid", "-//sheetcrm//notify//EN")
        cal.add("version", "2.0")
        cal.add("method", "PUBLISH")
        cal.add("x-wr-calname", f"sheetcrm — {person.name}")
        cal.add("x-wr-timezone", str(self.zone))
        hour = dt.time.fromisoformat(self.s.event_hour) if self.s.event_hour else None
        if hour is not None and len(rows):
            first = self.plan.day - dt.timedelta(days=1)
            cal.add_component(icalendar.Timezone.from_tzid(
                str(self.zone), first_date=first, last_date=first + dt.timedelta(days=60)))
        today = pd.Timestamp(self.plan.day)
        dates = rows["date"].where(rows["date"] >= today, today)
        name = as_text(rows["name"])
        company = as_text(rows["company"])
        summary = [self.t["notify_event"].format(name=n) + (f" ({c})" if c else "") for n, c in zip(name, company)]
        reason = rows["reason"].astype(object)
        parts = [as_text(rows["lead_id"]), as_text(rows["phone"]), as_text(rows["email"]),
                 reason.map(self.action).fillna("").astype(object),
                 pd.Series([row_link(self.sheet_id, self.gid, r) for r in rows["row"].to_numpy()], index=rows.index)]
        description = ["\n".join(x for x in xs if x) for xs in zip(*parts)]
        stamp = self.now.astimezone(dt.UTC) if self.now.tzinfo else self.now.replace(tzinfo=dt.UTC)
        events = ics_events(as_text(rows["lead_id"]) + "-" + as_text(rows["kind"]) + "@sheetcrm", dates, summary,
                            description, self.sequences.get(person.key, 0), stamp, hour, self.s.event_minutes,
                            str(self.zone))
        head, _, tail = cal.to_ical().rpartition(b"END:VCALENDAR")
        return head + events + b"END:VCALENDAR" + tail

    # -- messages --------------------------------------------------------------
    def _email(self, person: Person, kind: str, subject: str, text: str, html: str,
               ics: bytes | None, items: int) -> Outgoing:
        mid = message_id(kind, self.day, person.name, self.s.sender.rpartition("@")[2] or "sheetcrm.invalid")
        m = EmailMessage()
        m["From"] = email.utils.formataddr((self.s.sender_name, self.s.sender))
        m["To"] = email.utils.formataddr((person.name, person.email))
        m["Subject"] = subject
        m["Date"] = email.utils.format_datetime(self.now if self.now.tzinfo else self.now.replace(tzinfo=dt.UTC))
        m["Message-ID"] = mid
        m["Content-Language"] = self.language
        m["Auto-Submitted"] = "auto-generated"
        m.set_content(text)
        m.add_alternative(html, subtype="html")
        if ics is not None:
            m.add_attachment(ics.decode("utf-8"), subtype="calendar", filename=f"sheetcrm-{self.day}.ics",
                             params={"method": "PUBLISH"})
        m.policy = HEADER_POLICY
        return Outgoing(mid, "email", kind, person.name, person.email, items, self.day, email=m,
                        extra={"person": person.key})

    def rep_messages(self, person: Person) -> list[Outgoing]:
        sections = self.sections(person)
        count = sum(s["count"] for s in sections)
        cal_rows = self.plan.rep_calendar(person.key)
        if not count and not len(cal_rows):
            return []
        subject = self.t["notify_subject"].format(date=self.shown_day, count=count)
        ctx = dict(t=self.t, person=person, date=self.shown_day, sections=sections, subject=subject,
                   language=self.language, agenda_tab=self.agenda_tab, calendar=bool(len(cal_rows)))
        out = []
        if person.email and self.s.email:
            out.append(self._email(person, "digest", subject, render("digest.txt.j2", **ctx),
                                   render("digest.html.j2", **ctx), self.calendar(person, cal_rows) if len(cal_rows) else None,
                                   count))
        hook = person.webhook or self.s.webhook
        if hook and count:
            out.append(self.chat(person, hook, render("chat.txt.j2", **ctx), count))
        return out

    def chat(self, person: Person, url: str, text: str, items: int) -> Outgoing:
        from urllib.parse import urlsplit

        mid = message_id("chat-digest", self.day, person.name)
        # {"text": ...} is what Google Chat and Slack-compatible incoming webhooks take
        return Outgoing(mid, "webhook", "digest", person.name, urlsplit(url).hostname or "", items, self.day,
                        url=url, body={"text": text.strip()}, extra={"person": person.key})

    def manager_message(self, person: Person) -> list[Outgoing]:
        if not person.email or not self.s.email:
            return []
        counts = self.plan.counts
        names = {p.key: p.name for p in self.plan.people}
        reps = [{"name": names.get(k) or (k or self.t["notify_unassigned"]),
                 "counts": [int(v) for v in counts.loc[k]]} for k in counts.index]
        reps.sort(key=lambda r: (r["name"] == self.t["notify_unassigned"], r["name"]))
        totals = [int(v) for v in counts.sum()] if len(counts) else [0] * (len(SECTIONS) + 1)
        stalled = self.plan.stalled
        shown = stalled.iloc[: self.s.max_items]
        recs = [{"owner": o or self.t["notify_unassigned"], "lead_id": i, "name": n, "company": c,
                 "status": self.status_name.get(s, s or ""), "days": int(d), "link": row_link(self.sheet_id, self.gid, r)}
                for o, i, n, c, s, d, r in zip(*(shown[k].to_numpy() for k in
                                                 ("owner", "lead_id", "name", "company", "status", "days", "row")))]
        headers = [self.t[f"notify_{k}"] for k in SECTIONS] + [self.t["notify_total"]]
        total = totals[-1]
        if not total and not len(stalled):
            return []
        overdue = totals[SECTIONS.index("overdue")]
        subject = self.t["notify_subject_manager"].format(date=self.shown_day, count=total, overdue=overdue)
        ctx = dict(t=self.t, person=person, date=self.shown_day, reps=reps, totals=totals, headers=headers,
                   stalled=recs, stalled_count=len(stalled), stalled_more=len(stalled) - len(shown),
                   subject=subject, language=self.language, agenda_tab=self.agenda_tab)
        return [self._email(person, "manager_digest", subject, render("manager.txt.j2", **ctx),
                            render("manager.html.j2", **ctx), None, total + len(stalled))]

    def messages(self) -> list[Outgoing]:
        out: list[Outgoing] = []
        for p in self.plan.people:
            out.extend(self.manager_message(p) if p.manager else self.rep_messages(p))
        return out
