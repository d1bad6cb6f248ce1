"""Request parsing and response serialisation. Stateless: each function takes the
shared ``FakeState`` and a parsed ``Request``, calls the models, returns (status, body)."""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

from . import batch, discovery
from .models import MAX_CELLS, SPREADSHEET_MIME, SheetsError, bad_request
from .sheetjson import apply_mask, parse_fields, spreadsheet_json


@dataclass
class Request:
    method: str
    path: str
    params: dict[str, list[str]]
    body: bytes
    headers: dict[str, str]
    groups: tuple = ()
    user: str | None = None
    base_url: str = ""
    endpoint: str = ""
    _body: Any = None
    _parsed: bool = False

    def validate(self) -> None:
        """Check query parameters, the ``fields`` mask and the body against the
        discovery document before any state is read or changed."""
        if not self.endpoint:
            return
        self.params = discovery.check_query(self.endpoint, self.params)
        discovery.check_response_mask(self.endpoint, self.param("fields"))
        self.json()

    def param(self, name: str, default=None):
        v = self.params.get(name)
        return v[-1] if v else default

    def flag(self, name: str, default=False) -> bool:
        v = self.param(name)
        return default if v is None else v.lower() == "true"

    def json(self) -> Any:
        if self._parsed:
            return self._body
        body: Any = {}
        if self.body:
            try:
                body = json.loads(self.body)
            except (ValueError, UnicodeDecodeError):
                raise bad_request("Invalid JSON payload received. Unexpected token.") from None
        if self.endpoint:
            try:
                body = discovery.check_body(self.endpoint, body)
            except SheetsError as e:
                raise discovery._for_api(discovery.api_of(self.endpoint), e) from None
        self._body, self._parsed = body, True
        return body


def _enum(req: Request, name: str, allowed: tuple, default: str) -> str:
    v = req.param(name, default)
    if v not in allowed:
        raise bad_request(f"Invalid value at '{re.sub(r'([A-Z])', lambda m: '_' + m.group(1).lower(), name)}' (type.googleapis.com/google.apps.sheets.v4.{name[0].upper() + name[1:]}), \"{v}\"")
    return v


RENDER = ("FORMATTED_VALUE", "UNFORMATTED_VALUE", "FORMULA")
DT_RENDER = ("SERIAL_NUMBER", "FORMATTED_STRING")
MAJOR = ("ROWS", "COLUMNS", "DIMENSION_UNS" "PECIFIED")  # split: see discovery._ZERO


def _major(v):
    return v if v in ("ROWS", "COLUMNS") else "ROWS"


# ------------------------------------------------------------ spreadsheets

def spreadsheet_get(state, req: Request):
    ss = state.backend.get(req.groups[0], req.user)
    body = spreadsheet_json(state.backend, ss, req.params.get("ranges", []), req.flag("includeGridData"), req.param("fields"))
    return 200, body


def spreadsheet_create(state, req: Request):
    body = req.json()
    props = body.get("properties") or {}
    ss = state.backend.create_spreadsheet(props.get("title") or "Untitled spreadsheet", req.user)
    try:
        _fill_new_spreadsheet(state, ss, body, props)
    except BaseException:
        del state.backend.spreadsheets[ss.id]  # a refused create leaves nothing behind
        raise
    return 200, spreadsheet_json(state.backend, ss)


def _fill_new_spreadsheet(state, ss, body: dict, props: dict):
    for k, v in props.items():
        if k != "title":
            ss.props[k] = v
    for i, sh in enumerate(body.get("sheets") or []):
        p = sh.get("properties") or {}
        if i == 0:
            first = ss.sheets[0]
            first.props["title"] = p.get("title") or first.title
            gp = p.get("gridProperties") or {}
            rows, cols = gp.get("rowCount") or first.rows, gp.get("columnCount") or first.cols
            if rows < 1 or cols < 1 or rows * cols > MAX_CELLS:
                raise bad_request("Invalid sheets[0].properties.gridProperties: a sheet needs at least one row and one column, and at most 10000000 cells.")
            first.set_grid(rows, cols)
        else:
            batch.apply_batch(state.backend, ss, [{"addSheet": {"properties": p}}], state.counters)


def spreadsheet_batch_update(state, req: Request):
    ss = state.backend.get(req.groups[0], req.user, write=True)
    body = req.json()
    requests = body.get("requests") or []
    for r in requests if isinstance(requests, list) else []:
        if isinstance(r, dict):
            for k in r:
                state.counters["batch_requests"][k] = state.counters["batch_requests"].get(k, 0) + 1
    replies = batch.apply_batch(state.backend, ss, requests, state.counters, req.user)
    out: dict[str, Any] = {"spreadsheetId": ss.id, "replies": replies}
    if body.get("includeSpreadsheetInResponse"):
        out["updatedSpreadsheet"] = spreadsheet_json(state.backend, ss, body.get("responseRanges") or [], body.get("responseIncludeGridData", False))
    return 200, out


# ------------------------------------------------------------ values

def _range_arg(req: Request) -> str:
    return unquote(req.groups[1])


def values_get(state, req: Request):
    ss = state.backend.get(req.groups[0], req.user)
    res = state.backend.values_get(
        ss,
        _range_arg(req),
        _major(_enum(req, "majorDimension", MAJOR, "ROWS")),
        _enum(req, "valueRenderOption", RENDER, "FORMATTED_VALUE"),
        _enum(req, "dateTimeRenderOption", DT_RENDER, "SERIAL_NUMBER"),
    )
    return 200, res


def values_batch_get(state, req: Request):
    ss = state.backend.get(req.groups[0], req.user)
    major = _major(_enum(req, "majorDimension", MAJOR, "ROWS"))
    ro = _enum(req, "valueRenderOption", RENDER, "FORMATTED_VALUE")
    dt = _enum(req, "dateTimeRenderOption", DT_RENDER, "SERIAL_NUMBER")
    out = [state.backend.values_get(ss, r, major, ro, dt) for r in req.params.get("ranges", [])]
    return 200, {"spreadsheetId": ss.id, "valueRanges": out}


def _include_values(state, ss, res, req_or_body, range_text, get_param):
    if get_param("includeValuesInResponse"):
        ro = get_param("responseValueRenderOption") or "FORMATTED_VALUE"
        dt = get_param("responseDateTimeRenderOption") or "SERIAL_NUMBER"
        got = state.backend.values_get(ss, res.get("updatedRange", range_text), "ROWS", ro, dt)
        res["updatedData"] = got


def values_update(state, req: Request):
    ss = state.backend.get(req.groups[0], req.user, write=True)
    body = req.json()
    text = _range_arg(req)
    if body.get("range") and _strip_quotes(body["range"]) != _strip_quotes(text):
        raise bad_request(f"Requested writing within range [{text}], but tried writing to [{body['range']}]")
    res = state.backend.write_values(ss, text, body.get("values"), req.param("valueInputOption"), _major(body.get("majorDimension")), counters=state.counters)
    res.pop("_cells", None)
    if req.flag("includeValuesInResponse"):
        _include_values(state, ss, res, req, text, lambda n: req.flag(n) if n == "includeValuesInResponse" else req.param(n))
    return 200, res


def _strip_quotes(s: str) -> str:
    return s.replace("'", "")


def values_append(state, req: Request):
    ss = state.backend.get(req.groups[0], req.user, write=True)
    body = req.json()
    text = _range_arg(req)
    iod = req.param("insertDataOption", "OVERWRITE")
    if iod not in ("OVERWRITE", "INSERT_ROWS"):
        raise bad_request(f"Invalid value at 'insert_data_option', \"{iod}\"")
    res = state.backend.write_values(
        ss, text, body.get("values"), req.param("valueInputOption"), _major(body.get("majorDimension")),
        append_mode=True, counters=state.counters, insert_rows=iod == "INSERT_ROWS",
    )
    res["updates"].pop("_cells", None)
    if req.flag("includeValuesInResponse"):
        up = res["updates"]
        up["updatedData"] = state.backend.values_get(ss, up["updatedRange"], "ROWS", req.param("responseValueRenderOption") or "FORMATTED_VALUE", req.param("responseDateTimeRenderOption") or "SERIAL_NUMBER")
    return 200, res


def values_batch_update(state, req: Request):
    ss = state.backend.get(req.groups[0], req.user, write=True)
    body = req.json()
    vio = body.get("valueInputOption")
    responses = []
    sheets = set()
    cells = set()
    data = body.get("data") or []
    # validate everything before writing: the batch is all-or-nothing
    snap = [s.snapshot() for s in ss.sheets]
    try:
        for vr in data:
            res = state.backend.write_values(ss, vr.get("range", ""), vr.get("values"), vio, _major(vr.get("majorDimension")), counters=state.counters)
            if body.get("includeValuesInResponse") and "updatedRange" in res:
                res["updatedData"] = state.backend.values_get(ss, res["updatedRange"], "ROWS", body.get("responseValueRenderOption") or "FORMATTED_VALUE", body.get("responseDateTimeRenderOption") or "SERIAL_NUMBER")
            responses.append(res)
            cells |= {(res["updatedRange"].rsplit("!", 1)[0],) + k for k in res.pop("_cells", set())}
            if res.get("updatedCells"):
                sheets.add(res["updatedRange"].rsplit("!", 1)[0])
    except SheetsError:
        ss.sheets = snap
        raise
    out: dict[str, Any] = {"spreadsheetId": ss.id}
    if any(r.get("updatedCells") for r in responses):
        out.update(
            totalUpdatedRows=len({(t, r) for t, r, c in cells}),
            totalUpdatedColumns=len({(t, c) for t, r, c in cells}),
            totalUpdatedCells=len(cells),
            totalUpdatedSheets=len(sheets),
        )
    out["responses"] = responses
    return 200, out


def values_clear(state, req: Request):
    ss = state.backend.get(req.groups[0], req.user, write=True)
    return 200, state.backend.values_clear(ss, _range_arg(req))


def values_batch_clear(state, req: Request):
    ss = state.backend.get(req.groups[0], req.user, write=True)
    body = req.json()
    cleared = [state.backend.values_clear(ss, r)["clearedRange"] for r in body.get("ranges") or []]
    return 200, {"spreadsheetId": ss.id, "clearedRanges": cleared}


# ------------------------------------------------------------ drive

def _drive_file(ss, full=False) -> dict:
    d = {"kind": "drive#file", "id": ss.id, "name": ss.title, "mimeType": SPREADSHEET_MIME}
    if full:
        d.update(createdTime=ss.created, modifiedTime=ss.modified)
    return d


def _drive_fields(d: dict, fields: str | None) -> dict:
    if not fields:
        return d
    return apply_mask(d, parse_fields(fields))


def _drive_answer(ss, req: Request) -> dict:
    """A Drive file as Drive answers: its `fields`, or the four default ones."""
    d = _drive_file(ss, full=True)
    if not req.param("fields"):
        d = {k: d[k] for k in ("kind", "id", "name", "mimeType")}
    return _drive_fields(d, req.param("fields"))


def drive_create(state, req: Request):
    body = req.json()
    mime = body.get("mimeType")
    if mime != SPREADSHEET_MIME:
        raise SheetsError(400, f"The fake server only creates spreadsheets (mimeType {mime!r}).", drive={"domain": "global", "reason": "badRequest"})
    ss = state.backend.create_spreadsheet(body.get("name") or "Untitled spreadsheet", req.user)
    return 200, _drive_answer(ss, req)


_Q_TERM = re.compile(r"""\s*(\w+)\s*(=|!=|contains)\s*(?:'((?:[^'\\]|\\.)*)'|"((?:[^"\\]|\\.)*)")\s*""")


def _query_ok(ss, q: str | None) -> bool:
    if not q:
        return True
    for term in re.split(r"\s+and\s+", q):
        term = term.strip()
        if term in ("trashed = false", "trashed=false"):
            continue
        m = _Q_TERM.fullmatch(term)
        if not m:
            raise SheetsError(400, "Invalid Value", drive={"domain": "global", "reason": "invalid", "location": "q", "locationType": "parameter"})
        key, op, v1, v2 = m.groups()
        val = (v1 if v1 is not None else v2).replace("\\'", "'")
        actual = {"mimeType": SPREADSHEET_MIME, "name": ss.title}.get(key)
        if actual is None:
            continue
        if op == "=" and actual != val or op == "!=" and actual == val or op == "contains" and val not in actual:
            return False
    return True


def drive_list(state, req: Request):
    q = req.param("q")
    files = [
        _drive_file(ss, full=True)
        for ss in state.backend.spreadsheets.values()
        if ss.role(req.user) is not None and _query_ok(ss, q)
    ]
    files.sort(key=lambda f: f["modifiedTime"], reverse=True)
    page = int(req.param("pageSize", "100"))
    token = req.param("pageToken", "0") or "0"
    if not token.isdigit() or not 1 <= page <= 1000:
        where = "pageToken" if not token.isdigit() else "pageSize"
        raise SheetsError(400, "Invalid Value", drive={"domain": "global", "reason": "invalid", "location": where, "locationType": "parameter"})
    start = int(token)
    chunk = files[start : start + page]
    out: dict[str, Any] = {"kind": "drive#fileList"}
    if start + page < len(files):
        out["nextPageToken"] = str(start + page)
    out["incompleteSearch"] = False
    out["files"] = chunk
    if not req.param("fields"):
        out["files"] = [{k: f[k] for k in ("kind", "id", "name", "mimeType")} for f in chunk]
    return 200, _drive_fields(out, req.param("fields"))


def drive_get(state, req: Request):
    ss = state.backend.get(req.groups[0], req.user, drive=True)
    return 200, _drive_answer(ss, req)


def drive_copy(state, req: Request):
    import copy as _copy

    src = state.backend.get(req.groups[0], req.user, drive=True)
    body = req.json()
    name = body.get("name") or f"Copy of {src.title}"
    ss = state.backend.create_spreadsheet(name, req.user)
    ss.props = _copy.deepcopy(src.props)
    ss.props["title"] = name
    ss.sheets = [sh.snapshot() for sh in src.sheets]
    ss.named_ranges = _copy.deepcopy(src.named_ranges)
    return 200, _drive_answer(ss, req)


def drive_delete(state, req: Request):
    ss = state.backend.get(req.groups[0], req.user, drive=True)
    if ss.role(req.user) != "owner":
        raise SheetsError(403, "The user does not have sufficient permissions for this file.", drive={"domain": "global", "reason": "insufficientFilePermissions"})
    del state.backend.spreadsheets[ss.id]
    return 204, None


def drive_permission_create(state, req: Request):
    ss = state.backend.get(req.groups[0], req.user, drive=True)
    if ss.role(req.user) not in ("owner", "writer"):
        raise SheetsError(403, "The user does not have sufficient permissions for this file.", drive={"domain": "global", "reason": "insufficientFilePermissions"})
    body = req.json()
    role = body.get("role")
    if role not in ("owner", "writer", "commenter", "reader"):
        raise SheetsError(400, "Invalid role.", drive={"domain": "global", "reason": "invalid", "location": "permission.role", "locationType": "other"})
    role = "reader" if role == "commenter" else role
    if body.get("type") == "anyone":
        ss.anyone = role
        return 200, {"kind": "drive#permission", "id": "anyoneWithLink", "type": "anyone", "role": body.get("role")}
    email = body.get("emailAddress")
    if not email:
        raise SheetsError(400, "The permission emailAddress field is required.", drive={"domain": "global", "reason": "required"})
    ss.permissions[email] = role
    return 200, {"kind": "drive#permission", "id": _perm_id(email), "type": body.get("type", "user"), "role": body.get("role")}


def _perm_id(email: str) -> str:
    return str(abs(hash(email)) % 10**20)


def drive_permission_list(state, req: Request):
    ss = state.backend.get(req.groups[0], req.user, drive=True)
    perms = [
        {"kind": "drive#permission", "id": _perm_id(e), "type": "user", "emailAddress": e, "role": r}
        for e, r in ss.permissions.items()
    ]
    return 200, {"kind": "drive#permissionList", "permissions": perms}


def drive_permission_delete(state, req: Request):
    ss = state.backend.get(req.groups[0], req.user, drive=True)
    for e in list(ss.permissions):
        if _perm_id(e) == req.groups[1] and ss.permissions[e] != "owner":
            del ss.permissions[e]
            return 204, None
    raise SheetsError(404, f"Permission not found: {req.groups[1]}.", drive={"domain": "global", "reason": "notFound", "location": "permissionId", "locationType": "parameter"})
