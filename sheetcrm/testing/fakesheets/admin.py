"""Admin API for tests and benchmarks: direct model access in Python (``Admin``) and
the same operations over HTTP under ``/_admin/`` (``handle``). See README.md."""
from __future__ import annotations

import json
import re
import secrets
from collections.abc import Callable
from typing import Any

from .auth import generate_key
from .models import SheetsError


class Admin:
    """Test-side control of a running fake. Every method takes the store lock."""

    def __init__(self, state):
        self._s = state

    @property
    def base_url(self) -> str:
        return self._s.base_url

    def reset(self) -> None:
        """Forget every spreadsheet, account, token, fault, hook, quota and counter."""
        with self._s.backend.lock:
            self._s.backend.reset()
            self._s.auth.reset()
            self._s.faults.clear()
            self._s.hooks.clear()
            self._s.reset_counters()

    def service_account(self, email: str | None = None, project_id: str = "fake-project") -> dict:
        """Generate an RSA key, register its public half and return a credentials dict
        (the shape of a downloaded key file) whose ``token_uri`` is this fake."""
        email = email or f"sa-{secrets.token_hex(4)}@{project_id}.iam.gserviceaccount.com"
        key, pem = generate_key()
        with self._s.backend.lock:
            key_id = self._s.auth.register(email, key.public_key())
        return {
            "type": "service_account",
            "project_id": project_id,
            "private_key_id": key_id,
            "private_key": pem,
            "client_email": email,
            "client_id": str(secrets.randbelow(10**20)),
            "auth_uri": self._s.base_url + "/auth",
            "token_uri": self._s.base_url + "/token",
            "auth_provider_x509_cert_url": self._s.base_url + "/certs",
            "client_x509_cert_url": self._s.base_url + "/certs/" + email,
            "universe_domain": "googleapis.com",
        }

    def oauth_user(self, email: str) -> dict:
        """OAuth user credentials for a person: the `authorized_user` JSON that
        `gcloud auth application-default login` writes, with `token_uri` on this fake."""
        with self._s.backend.lock:
            entry = self._s.auth.user(email)
        return {"type": "authorized_user", "client_id": entry["client_id"], "client_secret": entry["client_secret"],
                "refresh_token": entry["refresh_token"], "token_uri": self._s.base_url + "/token",
                "universe_domain": "googleapis.com"}

    def revoke_refresh_token(self, refresh_token: str) -> None:
        with self._s.backend.lock:
            self._s.auth.revoke(refresh_token)

    def register_public_key(self, email: str, public_key_pem: str) -> str:
        with self._s.backend.lock:
            return self._s.auth.register(email, public_key_pem)

    def token(self, email: str, ttl: int | None = None) -> str:
        """A bearer token for ``email`` without the JWT round trip."""
        with self._s.backend.lock:
            return self._s.auth.issue_token(email, ttl)

    def create_spreadsheet(self, title: str = "Untitled spreadsheet", tabs: dict | None = None, owner: str | None = None, spreadsheet_id: str | None = None) -> str:
        """Create a spreadsheet whose tabs hold ``values`` typed as a person would
        (USER_ENTERED). ``tabs`` = {"Sheet1": [["a", "b"], [1, 2]]}."""
        with self._s.backend.lock:
            return self._s.backend.create_spreadsheet(title, owner, tabs, spreadsheet_id).id

    def share(self, spreadsheet_id: str, email: str, role: str = "writer") -> None:
        if role not in ("owner", "writer", "reader"):
            raise ValueError("role must be owner, writer or reader")
        with self._s.backend.lock:
            self._s.backend.get(spreadsheet_id, None).permissions[email] = role

    def unshare(self, spreadsheet_id: str, email: str) -> None:
        with self._s.backend.lock:
            self._s.backend.get(spreadsheet_id, None).permissions.pop(email, None)

    def state(self, spreadsheet_id: str) -> dict:
        """Full state: properties, formatted values per tab, every stored cell."""
        with self._s.backend.lock:
            return self._s.backend.state(self._s.backend.get(spreadsheet_id, None))

    def values(self, spreadsheet_id: str, range_a1: str, render: str = "FORMATTED_VALUE") -> list:
        with self._s.backend.lock:
            ss = self._s.backend.get(spreadsheet_id, None)
            return self._s.backend.values_get(ss, range_a1, "ROWS", render).get("values", [])

    def edit_as_person(self, spreadsheet_id: str, range_a1: str, values: list) -> dict:
        """Type ``values`` into the sheet as a person in the browser would
        (USER_ENTERED). Not an API request: no quota, no counters, no hooks."""
        with self._s.backend.lock:
            ss = self._s.backend.get(spreadsheet_id, None)
            res = self._s.backend.write_values(ss, range_a1, values, "USER_ENTERED")
            res.pop("_cells", None)
            return res

    def person_batch_update(self, spreadsheet_id: str, requests: list) -> list:
        """Structural edits as a person (insert/delete/sort rows...), batchUpdate syntax."""
        from .batch import apply_batch

        with self._s.backend.lock:
            ss = self._s.backend.get(spreadsheet_id, None)
            return apply_batch(self._s.backend, ss, requests, {})

    def after_requests(self, n: int, callback: Callable[[Admin], Any]) -> None:
        """Run ``callback(admin)`` right after the n-th API request from now has been
        handled, before the next one is (sheets and drive calls count; token and admin
        calls do not)."""
        with self._s.backend.lock:
            self._s.hooks.append([self._s.api_requests + n, callback])

    def inject_fault(self, match: str | None = None, status: int | None = None, count: int = 1,
                     latency: float = 0.0, drop: bool = False, message: str | None = None,
                     retry_after: int | None = None, lose_answer: bool = False) -> None:
        """Affect the next ``count`` requests (-1: all) whose endpoint name (e.g.
        ``spreadsheets.values.update``) or "METHOD /path" matches the regex ``match``
        (None: any API request): sleep ``latency`` seconds, then answer ``status`` in
        Google's envelope, or drop the connection without answering. ``lose_answer``
        applies the request and then drops the connection: the write happened, the
        client never hears of it."""
        with self._s.backend.lock:
            self._s.faults.append({"match": match, "status": status, "count": count, "latency": latency, "drop": drop, "message": message, "retry_after": retry_after, "lose_answer": lose_answer})

    def clear_faults(self) -> None:
        with self._s.backend.lock:
            self._s.faults.clear()

    def set_quota(self, read_per_minute: int | None = None, write_per_minute: int | None = None) -> None:
        """Per user per minute limits (None = unlimited). Google's defaults are 60/60."""
        with self._s.backend.lock:
            self._s.auth.set_quota(read_per_minute, write_per_minute)

    def counters(self) -> dict:
        """{"requests": {endpoint: n}, "requests_total", "cells_written",
        "bytes_received", "batch_requests": {kind: n}, "statuses": {code: n}}."""
        with self._s.backend.lock:
            return json.loads(json.dumps(self._s.counters))

    def reset_counters(self) -> None:
        with self._s.backend.lock:
            self._s.reset_counters()


# ------------------------------------------------------------ HTTP

def handle(admin: Admin, method: str, path: str, body: dict) -> tuple[int, Any]:
    """Serve ``/_admin/...``. Errors use Google's envelope."""
    p = path[len("/_admin"):]
    if method == "POST" and p == "/reset":
        admin.reset()
        return 200, {}
    if method == "POST" and p == "/service_accounts":
        if body.get("public_key_pem"):
            key_id = admin.register_public_key(body["email"], body["public_key_pem"])
            return 200, {"client_email": body["email"], "private_key_id": key_id, "token_uri": admin.base_url + "/token"}
        return 200, admin.service_account(body.get("email"), body.get("project_id", "fake-project"))
    if method == "POST" and p == "/oauth_users":
        return 200, admin.oauth_user(body["email"])
    if method == "POST" and p == "/tokens":
        return 200, {"access_token": admin.token(body["email"], body.get("ttl"))}
    if method == "POST" and p == "/spreadsheets":
        sid = admin.create_spreadsheet(body.get("title", "Untitled spreadsheet"), body.get("tabs"), body.get("owner"), body.get("spreadsheetId"))
        return 200, {"spreadsheetId": sid}
    m = re.fullmatch(r"/spreadsheets/([^/]+)(/share|/unshare|/edit|/batchUpdate)?", p)
    if m:
        sid, action = m.group(1), m.group(2)
        if method == "GET" and not action:
            return 200, admin.state(sid)
        if method == "POST" and action == "/share":
            admin.share(sid, body["email"], body.get("role", "writer"))
            return 200, {}
        if method == "POST" and action == "/unshare":
            admin.unshare(sid, body["email"])
            return 200, {}
        if method == "POST" and action == "/edit":
            if body.get("after_requests"):
                rng, vals = body["range"], body["values"]
                admin.after_requests(int(body["after_requests"]), lambda a: a.edit_as_person(sid, rng, vals))
                return 200, {"scheduled": True}
            return 200, admin.edit_as_person(sid, body["range"], body["values"])
        if method == "POST" and action == "/batchUpdate":
            return 200, {"replies": admin.person_batch_update(sid, body.get("requests", []))}
    if p == "/faults":
        if method == "POST":
            admin.inject_fault(body.get("match"), body.get("status"), body.get("count", 1), body.get("latency", 0.0), body.get("drop", False), body.get("message"), body.get("retry_after"), body.get("lose_answer", False))
            return 200, {}
        if method == "DELETE":
            admin.clear_faults()
            return 200, {}
    if method == "POST" and p == "/quota":
        admin.set_quota(body.get("read_per_minute"), body.get("write_per_minute"))
        return 200, {}
    if p == "/counters":
        if method == "GET":
            return 200, admin.counters()
        if method == "DELETE":
            admin.reset_counters()
            return 200, {}
    raise SheetsError(404, f"No admin endpoint {method} {path}")
