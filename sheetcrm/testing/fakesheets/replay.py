"""Replay recorded Sheets/Drive interactions (vcrpy cassettes) against the fake and
compare status codes and JSON bodies.

Ids are remapped both ways: spreadsheet ids learnt from Drive ``files.create``
replies, sheet/named-range/protected-range/chart ids learnt from batchUpdate replies.
Ignored as volatile (they differ between any two runs against Google too):
  * ``createdTime`` / ``modifiedTime`` (wall clock of the recording);
  * the service account's e-mail address (the recording account vs the replay
    account, e.g. in protected-range editors): both become ``<service-account>``;
  * response headers (the fake sends only Content-Type/Length);
  * key order and JSON whitespace (bodies are compared parsed).
Everything else in the body must be equal, including error messages."""
from __future__ import annotations

import json
import re
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import requests

from . import urls
from .server import FakeSheetsServer

VOLATILE_KEYS = {"createdTime", "modifiedTime"}
ID_KINDS = {"sheetId", "namedRangeId", "protectedRangeId", "chartId"}
HOSTS = ("https://sheets.googleapis.com", "https://www.googleapis.com")


@dataclass
class Outcome:
    cassette: str
    index: int
    method: str
    endpoint: str
    kinds: list
    implemented: bool
    matched: bool
    diff: str = ""


@dataclass
class Report:
    outcomes: list = field(default_factory=list)

    def by(self, key) -> dict:
        agg: dict = defaultdict(lambda: [0, 0, 0])  # matched, implemented, total
        for o in self.outcomes:
            for k in key(o):
                a = agg[k]
                a[2] += 1
                if o.implemented:
                    a[1] += 1
                    a[0] += o.matched
        return dict(agg)

    def per_endpoint(self) -> dict:
        return self.by(lambda o: [o.endpoint])

    def per_kind(self) -> dict:
        return self.by(lambda o: o.kinds)

    def totals(self) -> tuple[int, int, int]:
        imp = [o for o in self.outcomes if o.implemented]
        return sum(o.matched for o in imp), len(imp), len(self.outcomes)

    def failures(self):
        return [o for o in self.outcomes if o.implemented and not o.matched]


class _Ids:
    def __init__(self):
        self.fwd: dict = {}  # recorded -> fake
        self.rev: dict = {}

    def add(self, rec, fake):
        if rec is None or fake is None:
            return
        self.fwd[rec] = fake
        self.rev[fake] = rec


def _walk_ids(rec: Any, fake: Any, ids: _Ids):
    """Learn id pairs from a recorded reply and the fake's reply to the same request."""
    if isinstance(rec, dict) and isinstance(fake, dict):
        for k, v in rec.items():
            if k in ID_KINDS and k in fake and v != fake[k]:
                ids.add(v, fake[k])
            elif k in fake:
                _walk_ids(v, fake[k], ids)
    elif isinstance(rec, list) and isinstance(fake, list):
        for a, b in zip(rec, fake):
            _walk_ids(a, b, ids)


def _map(obj: Any, strings: dict, numbers: dict, key: str | None = None) -> Any:
    if isinstance(obj, dict):
        return {k: _map(v, strings, numbers, k) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_map(v, strings, numbers, key) for v in obj]
    if key in ID_KINDS | {"sourceSheetId"} and not isinstance(obj, bool):
        return numbers.get(obj, obj)
    if isinstance(obj, str):
        for a, b in strings.items():
            if a in obj:
                obj = obj.replace(a, b)
        return obj
    if key in ID_KINDS | {"sourceSheetId"} and not isinstance(obj, bool):
        return numbers.get(obj, obj)
    return obj


_ACCOUNT = re.compile(r"[\w.+-]+@[\w-]+\.iam\.gserviceaccount\.com")


def _strip(obj: Any) -> Any:
    if isinstance(obj, str):
        return _ACCOUNT.sub("<service-account>", obj)
    if isinstance(obj, dict):
        return {k: _strip(v) for k, v in obj.items() if k not in VOLATILE_KEYS}
    if isinstance(obj, list):
        return [_strip(v) for v in obj]
    return obj


def _diff(a: Any, b: Any, path: str = "") -> str:
    if type(a) is not type(b) and not (isinstance(a, (int, float)) and isinstance(b, (int, float))):
        return f"{path or '/'}: recorded {json.dumps(a, ensure_ascii=False)[:200]} != fake {json.dumps(b, ensure_ascii=False)[:200]}"
    if isinstance(a, dict):
        for k in sorted(set(a) | set(b)):
            if k not in a or k not in b:
                return f"{path}/{k}: " + ("missing in fake" if k not in b else "extra in fake") + f" ({json.dumps(a.get(k, b.get(k)), ensure_ascii=False)[:200]})"
            d = _diff(a[k], b[k], f"{path}/{k}")
            if d:
                return d
        return ""
    if isinstance(a, list):
        if len(a) != len(b):
            return f"{path}: list length {len(a)} != {len(b)}: recorded {json.dumps(a, ensure_ascii=False)[:200]} fake {json.dumps(b, ensure_ascii=False)[:200]}"
        for i, (x, y) in enumerate(zip(a, b)):
            d = _diff(x, y, f"{path}[{i}]")
            if d:
                return d
        return ""
    return "" if a == b else f"{path or '/'}: recorded {a!r} != fake {b!r}"


def _endpoint(method: str, path: str) -> tuple[str, bool]:
    r = urls.match(method, path)
    if r and r != "405":
        return r[1], True
    # name unimplemented calls after their path, e.g. drive.files.export
    p = re.sub(r"/files/[^/]+", "/files/{id}", path)
    p = re.sub(r"/spreadsheets/[^/:]+", "/spreadsheets/{id}", p)
    return f"{method} {p}", False


def replay_cassettes(directory: Path, server: FakeSheetsServer | None = None) -> Report:
    own = server is None
    fake = server or FakeSheetsServer().start()
    try:
        email = "replay@fake-project.iam.gserviceaccount.com"
        fake.admin.service_account(email)
        token = fake.admin.token(email, ttl=10**6)
        s = requests.Session()
        s.headers["Authorization"] = f"Bearer {token}"
        report = Report()
        for f in sorted(Path(directory).glob("*.json")):
            _replay_file(f, fake, s, report, email)
        return report
    finally:
        if own:
            fake.stop()


def _seed_preexisting(data: dict, fake, email: str) -> dict:
    """Spreadsheets the recorded account already held (listed by Drive but never
    created in this cassette) are created with the same id, name and times."""
    created = set()
    seeded: dict = {}
    for it in data.get("interactions", []):
        req, resp = it["request"], it["response"]
        text = (resp.get("body") or {}).get("string") or ""
        if req["method"] == "POST" and urlsplit(req["uri"]).path.endswith("/drive/v3/files"):
            try:
                created.add(json.loads(text)["id"])
            except (ValueError, KeyError):
                pass
        if req["method"] == "GET" and urlsplit(req["uri"]).path.endswith("/drive/v3/files"):
            try:
                files = json.loads(text).get("files", [])
            except ValueError:
                continue
            for f in files:
                if f["id"] not in created and f["id"] not in seeded:
                    seeded[f["id"]] = f
    backend = fake.state.backend
    with backend.lock:
        for fid, f in seeded.items():
            ss = backend.create_spreadsheet(f.get("name", "Untitled spreadsheet"), email, sid=fid)
            ss.created = f.get("createdTime", ss.created)
            ss.modified = f.get("modifiedTime", ss.modified)
    return {fid: fid for fid in seeded}


def _replay_file(path: Path, fake, s: requests.Session, report: Report, email: str):
    data = json.loads(path.read_text())
    with fake.state.backend.lock:
        fake.state.backend.reset()  # each cassette starts from an empty account
    ss_ids: dict = _seed_preexisting(data, fake, email)  # recorded spreadsheet id -> fake id
    num = _Ids()
    for i, it in enumerate(data.get("interactions", [])):
        req, resp = it["request"], it["response"]
        method = req["method"].upper()
        uri = req["uri"]
        host = next((h for h in HOSTS if uri.startswith(h)), None)
        parts = urlsplit(uri)
        endpoint, implemented = _endpoint(method, parts.path)
        body = req.get("body")
        kinds = []
        if endpoint == "spreadsheets.batchUpdate" and body:
            try:
                kinds = [k for r in json.loads(body).get("requests", []) for k in r]
            except ValueError:
                pass
        # Rewrite the request: fake host, fake ids (longest ids first).
        fwd = dict(sorted(ss_ids.items(), key=lambda kv: -len(kv[0])))
        url = fake.url + uri[len(host):] if host else uri
        for a, b in fwd.items():
            url = url.replace(a, b)
        send_body = None
        if body:
            try:
                send_body = json.dumps(_map(json.loads(body), fwd, num.fwd)).encode()
            except ValueError:
                send_body = body.encode() if isinstance(body, str) else body
        headers = {"Content-Type": "application/json"} if send_body else {}
        r = s.request(method, url, data=send_body, headers=headers)
        rec_code = resp["status"]["code"]
        rec_text = (resp.get("body") or {}).get("string") or ""
        try:
            rec_json = json.loads(rec_text) if rec_text else None
        except ValueError:
            rec_json = rec_text
        try:
            fake_json = r.json() if r.content else None
        except ValueError:
            fake_json = r.text
        if endpoint in ("drive.files.create", "drive.files.copy") and rec_code == 200 and isinstance(fake_json, dict) and "id" in fake_json:
            ss_ids[rec_json["id"]] = fake_json["id"]
        if r.status_code == 501:
            implemented = False
        if not implemented:
            report.outcomes.append(Outcome(path.stem, i, method, endpoint, kinds, False, False, f"not implemented ({r.status_code})"))
            continue
        _walk_ids(rec_json, fake_json, num)
        rev = {b: a for a, b in ss_ids.items()}
        mapped = _strip(_map(fake_json, rev, num.rev))
        expected = _strip(rec_json)
        diff = ""
        if r.status_code != rec_code:
            diff = f"status recorded {rec_code} != fake {r.status_code}: {json.dumps(fake_json, ensure_ascii=False)[:300]}"
        else:
            diff = _diff(expected, mapped)
        report.outcomes.append(Outcome(path.stem, i, method, endpoint, kinds, True, not diff, diff))


def format_report(report: Report) -> str:
    lines = []
    m, n, total = report.totals()
    lines.append(f"interactions: {total}; on implemented endpoints: {n}; matched: {m} ({100.0 * m / max(n, 1):.1f}%)")
    lines.append("")
    lines.append(f"{'endpoint':45s} {'matched':>8s} {'impl':>6s} {'total':>6s} {'rate':>7s}")
    for k, (a, b, c) in sorted(report.per_endpoint().items()):
        lines.append(f"{k:45s} {a:8d} {b:6d} {c:6d} {(100.0 * a / b if b else 0):6.1f}%")
    lines.append("")
    lines.append(f"{'batchUpdate request kind':45s} {'matched':>8s} {'impl':>6s} {'total':>6s} {'rate':>7s}")
    for k, (a, b, c) in sorted(report.per_kind().items()):
        lines.append(f"{k:45s} {a:8d} {b:6d} {c:6d} {(100.0 * a / b if b else 0):6.1f}%")
    return "\n".join(lines)
