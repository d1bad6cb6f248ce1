"""Nurture emails from the content tab and the templates (docs/nurture-automation.md).

A touch (a row of `sync.nurture_touch.TouchPlan.touches`) becomes one `EmailMessage`: the
content item's title and body (the team's own text, rendered in a sandbox so a lead's name
can appear in it) inside the template of the lead's reason category — `<category>.txt.j2`
and `<category>.html.j2` of the configured folder, else the shipped ones in the configured
language (`schemas/nurture_templates/en/` with `language = "en"`, else
`schemas/nurture_templates/`), else `default`. The HTML part is autoescaped.

Every message carries what Vietnamese rules on advertising email ask for: the sender's
identity, the advertising label at the start of the subject, and a working unsubscribe
(`List-Unsubscribe` with a `mailto:` and the form link when configured; RFC 8058
`List-Unsubscribe-Post` when that link is https).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import urllib.parse
from dataclasses import dataclass
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, formataddr, parseaddr
from pathlib import Path
from typing import Any

from markupsafe import Markup, escape

from .errors import ConfigError
from .schema import SCHEMA_DIR

TEMPLATE_DIR = SCHEMA_DIR / "nurture_templates"
DEFAULT_TEMPLATE = "default"
DEFAULT_HOURS = "07:00-22:00"
# The advertising label before the subject and the unsubscribe mail's subject, per language.
SUBJECT_PREFIX = {"vi": "[QC]", "en": "[ADV]"}
UNSUBSCRIBE_SUBJECT = {"vi": "Huy dang ky", "en": "Unsubscribe"}


@dataclass(frozen=True)
class NurtureSettings:
    """`[nurture]` of sheetcrm.toml (sheetcrm/config.py checks each key)."""

    sender: str = ""  # "Công ty ABC <cskh@abc.vn>": From when the owner has no address
    from_owner: bool = True  # send from the owner's address in `Nhân viên` when it has one
    identity: str = ""  # who sends: company, address, phone; in every message
    unsubscribe_email: str = ""  # default: the sender's address
    unsubscribe_url: str = ""  # "https://…?email={email}&id={lead_id}"
    subject_prefix: str | None = None  # None: the language's label (SUBJECT_PREFIX)
    send_hours: str = DEFAULT_HOURS
    templates: str = ""  # the team's folder; the shipped templates fill the gaps
    language: str = "vi"  # the configuration's `language`

    @classmethod
    def from_config(cls, table: dict[str, Any], language: str = "vi") -> NurtureSettings:
        keys = {k: v for k, v in table.items() if k in cls.__dataclass_fields__ and k != "language"}
        return cls(**keys, language="en" if language == "en" else "vi")

    @property
    def prefix(self) -> str:
        p = SUBJECT_PREFIX[self.language] if self.subject_prefix is None else self.subject_prefix
        return (p or "").strip()

    @property
    def sender_name(self) -> str:
        name, addr = parseaddr(self.sender)
        return name or addr

    @property
    def sender_address(self) -> str:
        return parseaddr(self.sender)[1]

    @property
    def unsubscribe_address(self) -> str:
        return parseaddr(self.unsubscribe_email)[1] or self.sender_address

    def check_for_sending(self) -> None:
        """What a run that builds real messages needs (dry runs list touches without them)."""
        missing = [k for k, v in (("sender", self.sender_address), ("identity", self.identity)) if not v]
        if missing:
            raise ConfigError(
                "nurture email needs [nurture] " + " and ".join(missing) + " in sheetcrm.toml: who sends "
                "(sender = \"Company name <its address>\") and the sender's identity shown in every "
                "message (identity = \"Công ty ABC · địa chỉ · điện thoại\"); docs/nurture-automation.md")

    def in_hours(self, now: dt.datetime) -> bool:
        a, b = (x.strip() for x in (self.send_hours or DEFAULT_HOURS).split("-"))
        lo = dt.time.fromisoformat(a)
        hi = dt.time.max if b in ("24:00", "24") else dt.time.fromisoformat(b)
        return lo <= now.time() < hi


def _paragraphs(text: Any) -> Markup:
    """Text → HTML with its line breaks kept, every character escaped."""
    lines = str(text or "").replace("\r\n", "\n").split("\n")
    return Markup("<br>\n").join(escape(line) for line in lines)


class Templates:
    """The team's template folder over the shipped one; `render` gives (text, html). With
    `language = "en"` a name the team's folder lacks is looked up in the shipped `en/` first."""

    def __init__(self, folder: str | Path | None = None, language: str = "vi"):
        from jinja2 import ChoiceLoader, Environment, FileSystemLoader
        from jinja2.sandbox import SandboxedEnvironment

        loaders = []
        own: set[str] = set()
        if folder:
            if not Path(folder).is_dir():
                raise ConfigError(f"[nurture] templates: {folder} is not a folder")
            loaders.append(FileSystemLoader(str(folder)))
            own = set(loaders[0].list_templates())
        loaders.append(FileSystemLoader(str(TEMPLATE_DIR)))
        self.own = own
        self.lang_dir = "en/" if language == "en" else ""
        self.env = Environment(loader=ChoiceLoader(loaders), trim_blocks=True, lstrip_blocks=True,
                               keep_trailing_newline=True,
                               autoescape=lambda name: bool(name) and name.endswith((".html.j2", ".html")))
        self.env.filters["paragraphs"] = _paragraphs
        # The content tab's own texts: a person's text, rendered where it cannot reach Python.
        self.cells = SandboxedEnvironment(autoescape=False)
        self.names = set(self.env.list_templates())

    def _find(self, name: str) -> str | None:
        """`name` as the team's folder has it, else in the language's shipped folder, else shipped."""
        both = lambda n, names: f"{n}.txt.j2" in names and f"{n}.html.j2" in names
        if both(name, self.own):
            return name
        if self.lang_dir and both(self.lang_dir + name, self.names):
            return self.lang_dir + name
        return name if both(name, self.names) else None

    def name_for(self, template: str, reason: str | None) -> tuple[str, str | None]:
        """The template to use and, when the one the content tab names is missing, a warning."""
        # a blank cell can come as NaN: no reason, not a name to look up
        reason = reason.strip() if isinstance(reason, str) and reason.strip() else None
        wanted = (template or "").strip().removesuffix(".txt.j2").removesuffix(".html.j2")
        if wanted:
            found = self._find(wanted)
            if found:
                return found, None
            fallback = self.name_for("", reason)[0]
            return fallback, f"template '{wanted}' not found; used '{fallback}'"
        return (reason and self._find(reason)) or self._find(DEFAULT_TEMPLATE) or DEFAULT_TEMPLATE, None

    def cell(self, text: str, ctx: dict[str, Any]) -> str:
        from jinja2 import TemplateError

        if "{" not in text:
            return text
        try:
            return self.cells.from_string(text).render(ctx)
        except TemplateError:
            return text  # a stray brace in a title is just text

    def render(self, name: str, ctx: dict[str, Any]) -> tuple[str, str]:
        return (self.env.get_template(f"{name}.txt.j2").render(ctx),
                self.env.get_template(f"{name}.html.j2").render(ctx))


def unsubscribe_links(s: NurtureSettings, lead_id: str, email: str) -> tuple[str, str]:
    """(mailto link, form link or '') for one lead."""
    subject = urllib.parse.quote(f"{UNSUBSCRIBE_SUBJECT[s.language]} {lead_id}".strip())
    mailto = f"mailto:{s.unsubscribe_address}?subject={subject}"
    url = ""
    if s.unsubscribe_url:
        url = (s.unsubscribe_url.replace("{email}", urllib.parse.quote(email, safe=""))
               .replace("{lead_id}", urllib.parse.quote(lead_id, safe="")))
    return mailto, url


def nurture_message_id(lead_id: str, content_id: str, domain: str) -> str:
    """One id per lead and content item: the ledger key, so an item reaches a lead once."""
    h = hashlib.blake2b(f"{lead_id}|{content_id}".encode(), digest_size=6).hexdigest()
    safe = ".".join("".join(c if c.isascii() and (c.isalnum() or c == "-") else "-" for c in part)
                    for part in (lead_id, content_id))
    return f"<nurture.{safe}.{h}@{domain}>"


def build_message(touch: dict[str, Any], owner: dict[str, str], s: NurtureSettings, templates: Templates,
                  now: dt.datetime) -> tuple[EmailMessage, str | None]:
    """The email of one touch, and a warning (a missing template) or None."""
    lead_id, email = str(touch["lead_id"]), str(touch["email"])
    mailto, url = unsubscribe_links(s, lead_id, email)
    from_addr = owner.get("email") if s.from_owner and owner.get("email") else s.sender_address
    from_name = (owner.get("name") if from_addr != s.sender_address else "") or s.sender_name
    signature = owner.get("signature") or "\n".join(x for x in (owner.get("name", ""), s.sender_name) if x)
    ctx: dict[str, Any] = {
        "lead": {"id": lead_id, "name": touch.get("name") or "", "company": touch.get("company") or "",
                 "product": touch.get("product") or "", "email": email},
        "owner": {"name": owner.get("name", ""), "email": from_addr, "signature": signature},
        "sender": {"name": s.sender_name, "email": s.sender_address, "identity": s.identity},
        "unsubscribe": {"email": s.unsubscribe_address, "mailto": mailto, "url": url},
        "touch": {"number": int(touch.get("touch_no") or 1), "reason": touch.get("reason_category") or ""},
    }
    title = templates.cell(str(touch.get("title") or ""), ctx)
    body = templates.cell(str(touch.get("body") or ""), ctx)
    ctx["content"] = {"id": touch["content_id"], "title": title, "body": body, "link": touch.get("link") or ""}
    name, warning = templates.name_for(str(touch.get("template") or ""), touch.get("reason_category"))
    text, html = templates.render(name, ctx)
    prefix = s.prefix
    subject = f"{prefix} {title}".strip() if prefix and not title.startswith(prefix) else title
    domain = (s.sender_address.rpartition("@")[2] or "sheetcrm.invalid")
    msg = EmailMessage()
    msg["From"] = formataddr((from_name, from_addr))
    msg["To"] = str(Address(display_name=str(touch.get("name") or ""), addr_spec=email)) if "@" in email else email
    if from_addr != s.sender_address and s.sender_address:
        msg["Sender"] = formataddr((s.sender_name, s.sender_address))
    msg["Subject"] = subject
    msg["Date"] = format_datetime(now.astimezone() if now.tzinfo else now)
    msg["Message-ID"] = nurture_message_id(lead_id, str(touch["content_id"]), domain)
    msg["List-Unsubscribe"] = ", ".join(f"<{u}>" for u in (mailto, url) if u)
    if url.startswith("https://"):
        msg["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    msg["X-Sheetcrm-Lead"] = lead_id
    msg["X-Sheetcrm-Content"] = str(touch["content_id"])
    msg.set_content(text)
    msg.add_alternative(html, subtype="html")
    return msg, warning


def starter_file(language: str) -> str:
    """The shipped starter items of the content tab in `language` (a file of schemas/)."""
    return "nurture_content_en.csv" if language == "en" else "nurture_content.csv"
