"""The HTTP layer: a threaded loopback server speaking Sheets v4 / Drive v3 /
OAuth token / admin on one port. ``FakeSheetsServer`` starts and stops it."""
from __future__ import annotations

import json
import re
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

from . import admin as admin_mod
from . import discovery, urls
from .auth import Auth, OAuthError
from .models import SheetsBackend, SheetsError
from .responses import Request


class FakeState:
    """Everything the handlers share; guarded by ``backend.lock``."""

    def __init__(self):
        self.backend = SheetsBackend()
        self.auth = Auth()
        self.faults: list[dict] = []
        self.hooks: list[list] = []
        self.base_url = ""
        self.reset_counters()

    def reset_counters(self):
        self.api_requests = 0
        self.counters = {
            "requests": {},
            "requests_total": 0,
            "cells_written": 0,
            "bytes_received": 0,
            "batch_requests": {},
            "statuses": {},
        }

    def take_fault(self, name: str, method: str, path: str) -> dict | None:
        for f in self.faults:
            m = f["match"]
            if m is None or re.search(m, name) or re.search(m, f"{method} {path}"):
                if f["count"] == 0:
                    continue
                if f["count"] > 0:
                    f["count"] -= 1
                if f["count"] == 0:
                    self.faults.remove(f)
                return dict(f)
        return None


def _atomic(state: FakeState, handler, req: Request, kind: str | None):
    """A write that fails, however it fails, leaves its spreadsheet as it was."""
    ss = state.backend.spreadsheets.get(req.groups[0]) if kind == "write" and req.groups else None
    snap = ss.snapshot() if ss is not None else None
    try:
        return handler(state, req)
    except BaseException:
        if snap is not None:
            ss.restore(snap)
        raise


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "ESF"
    sys_version = ""

    def setup(self):
        super().setup()
        # One small response = headers + body in two writes; without TCP_NODELAY
        # Nagle and delayed ACKs add ~40 ms to every request.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, fmt, *args):  # quiet: tests read counters instead
        pass

    def _send(self, code: int, body, headers: dict | None = None):
        data = b"" if body is None else json.dumps(body, ensure_ascii=False, indent=2).encode("utf-8")
        self.send_response(code)
        if body is not None:
            self.send_header("Content-Type", "application/json; charset=UTF-8")
        self.send_header("Content-Length", str(len(data)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        if data:
            self.wfile.write(data)

    def _dispatch(self):
        state: FakeState = self.server.state
        n = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(n) if n else b""
        parts = urlsplit(self.path)
        path = parts.path
        params = parse_qs(parts.query, keep_blank_values=True)
        if path.startswith("/_admin"):
            return self._admin(state, path, raw)
        if path == "/token" and self.command == "POST":
            return self._token(state, raw)
        route = urls.match(self.command, path)
        if route is None or route == "405":
            err = SheetsError(404 if route is None else 405, f"The requested URL {path} was not found on this server." if route is None else "Method not allowed.", "NOT_FOUND" if route is None else "METHOD_NOT_ALLOWED")
            return self._send(err.code, err.body())
        handler, name, kind, groups = route
        with state.backend.lock:
            fault = state.take_fault(name, self.command, path)
        if fault and fault["latency"]:
            time.sleep(fault["latency"])
        if fault and fault["drop"]:
            self.close_connection = True
            with state.backend.lock:
                self._count(state, name, raw, "dropped")
            return
        with state.backend.lock:
            self._count(state, name, raw, None)
            try:
                if fault and fault["status"]:
                    e = SheetsError(fault["status"], fault.get("message"))
                    extra = {"Retry-After": str(fault["retry_after"])} if fault.get("retry_after") is not None else None
                    code, body, hdrs = e.code, e.body(), extra
                else:
                    user = state.auth.authenticate(self.headers.get("Authorization"))
                    if kind:
                        state.auth.charge(user, kind)
                    req = Request(self.command, path, params, raw, dict(self.headers), groups, user, state.base_url, name)
                    req.validate()
                    code, body = _atomic(state, handler, req, kind)
                    hdrs = None
            except SheetsError as e:
                code, body, hdrs = e.code, e.body(), None
            except Exception as e:  # a bug in the fake must look like Google's 500
                import traceback

                traceback.print_exc()
                err = SheetsError(500, f"Internal error encountered. ({type(e).__name__}: {e})")
                code, body, hdrs = 500, err.body(), None
            st = state.counters["statuses"]
            st[str(code)] = st.get(str(code), 0) + 1
            self._run_hooks(state)
        if fault and fault.get("lose_answer"):
            self.close_connection = True
            return
        self._send(code, body, hdrs)

    def _count(self, state, name, raw, _):
        c = state.counters
        c["requests"][name] = c["requests"].get(name, 0) + 1
        c["requests_total"] += 1
        c["bytes_received"] += len(raw)
        state.api_requests += 1

    def _run_hooks(self, state):
        due = [h for h in state.hooks if h[0] <= state.api_requests]
        for h in due:
            state.hooks.remove(h)
            h[1](self.server.admin)

    def _token(self, state, raw):
        form = {k: v[-1] for k, v in parse_qs(raw.decode("utf-8"), keep_blank_values=True).items()}
        with state.backend.lock:
            state.counters["requests"]["oauth2.token"] = state.counters["requests"].get("oauth2.token", 0) + 1
            try:
                return self._send(200, state.auth.exchange(form, state.base_url + "/token"))
            except OAuthError as e:
                return self._send(e.code, e.body())

    def _admin(self, state, path, raw):
        try:
            body = json.loads(raw) if raw else {}
            code, out = admin_mod.handle(self.server.admin, self.command, path, body)
        except SheetsError as e:
            code, out = e.code, e.body()
        except (KeyError, ValueError, TypeError) as e:
            err = SheetsError(400, f"Bad admin request: {e}")
            code, out = 400, err.body()
        self._send(code, out)

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = _dispatch


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True


class FakeSheetsServer:
    """A fake Sheets API on loopback. ``with FakeSheetsServer() as fake:`` starts it on
    a free port; ``fake.url`` is the base URL; ``fake.admin`` controls it."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0):
        self.host, self.port = host, port
        self.state = FakeState()
        self.admin = admin_mod.Admin(self.state)
        self._httpd: _Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return self.state.base_url

    @property
    def token_uri(self) -> str:
        return self.url + "/token"

    def start(self) -> FakeSheetsServer:
        # Requests are validated against Google's discovery documents: fail here,
        # clearly, when google-api-python-client (which ships them) is missing.
        discovery.document("sheets")
        discovery.document("drive")
        self._httpd = _Server((self.host, self.port), _Handler)
        self._httpd.state = self.state
        self._httpd.admin = self.admin
        self.port = self._httpd.server_address[1]
        self.state.base_url = f"http://{self.host}:{self.port}"
        self._thread = threading.Thread(target=self._httpd.serve_forever, name=f"fakesheets:{self.port}", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def serve_forever(self) -> None:
        """Run in the foreground (the ``python -m`` entry point)."""
        self.start()
        try:
            self._thread.join()
        except KeyboardInterrupt:
            pass
        finally:
            self.stop()

    def __enter__(self) -> FakeSheetsServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
