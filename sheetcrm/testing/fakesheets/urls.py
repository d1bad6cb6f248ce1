"""URL table: (HTTP method, path regex on the raw path, handler, endpoint name, quota
kind). Quota kind is "read", "write" or None (Drive calls have their own quotas at
Google; the fake does not meter them)."""
from __future__ import annotations

import re

from . import responses as r

_SS = r"/v4/spreadsheets/([^/:?]+)"

API_ROUTES = [
    ("GET", _SS + r"$", r.spreadsheet_get, "spreadsheets.get", "read"),
    ("POST", r"/v4/spreadsheets$", r.spreadsheet_create, "spreadsheets.create", "write"),
    ("POST", _SS + r":batchUpdate$", r.spreadsheet_batch_update, "spreadsheets.batchUpdate", "write"),
    ("GET", _SS + r"/values:batchGet$", r.values_batch_get, "spreadsheets.values.batchGet", "read"),
    ("POST", _SS + r"/values:batchUpdate$", r.values_batch_update, "spreadsheets.values.batchUpdate", "write"),
    ("POST", _SS + r"/values:batchClear$", r.values_batch_clear, "spreadsheets.values.batchClear", "write"),
    ("POST", _SS + r"/values/(.+):append$", r.values_append, "spreadsheets.values.append", "write"),
    ("POST", _SS + r"/values/(.+):clear$", r.values_clear, "spreadsheets.values.clear", "write"),
    ("GET", _SS + r"/values/([^:]+|.+![^:]*:[^:]*)$", r.values_get, "spreadsheets.values.get", "read"),
    ("PUT", _SS + r"/values/(.+)$", r.values_update, "spreadsheets.values.update", "write"),
    ("POST", r"/drive/v3/files$", r.drive_create, "drive.files.create", None),
    ("GET", r"/drive/v3/files$", r.drive_list, "drive.files.list", None),
    ("GET", r"/drive/v3/files/([^/]+)$", r.drive_get, "drive.files.get", None),
    ("POST", r"/drive/v3/files/([^/]+)/copy$", r.drive_copy, "drive.files.copy", None),
    ("DELETE", r"/drive/v3/files/([^/]+)$", r.drive_delete, "drive.files.delete", None),
    ("POST", r"/drive/v3/files/([^/]+)/permissions$", r.drive_permission_create, "drive.permissions.create", None),
    ("GET", r"/drive/v3/files/([^/]+)/permissions$", r.drive_permission_list, "drive.permissions.list", None),
    ("DELETE", r"/drive/v3/files/([^/]+)/permissions/([^/]+)$", r.drive_permission_delete, "drive.permissions.delete", None),
]

COMPILED = [(m, re.compile("^" + p.lstrip("^")), h, name, kind) for m, p, h, name, kind in API_ROUTES]


def match(method: str, path: str):
    """-> (handler, endpoint name, quota kind, groups) or None; ("405", ...) when
    the path exists with another method."""
    seen_path = False
    for m, rx, h, name, kind in COMPILED:
        mo = rx.match(path)
        if mo:
            seen_path = True
            if m == method:
                return h, name, kind, mo.groups()
    return ("405" if seen_path else None)
