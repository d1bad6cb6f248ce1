"""Request validation from Google's own API description: the Sheets v4 and Drive v3
discovery documents that google-api-python-client ships. Bodies are checked the way
Google's proto3 JSON parser checks them (field names, JSON types, enums, repeated vs
singular), query parameters against the method's parameter list, ``fields`` masks
against the schemas. Errors carry Google's wording and envelope (see README.md)."""
from __future__ import annotations

import functools
import json
import math
import re
from pathlib import Path
from typing import Any

from .models import SheetsError

DOCS = {"sheets": "sheets.v4.json", "drive": "drive.v3.json"}
PACKAGE = "googleapiclient/discovery_cache/documents"
_MISSING = (
    "fakesheets validates every request against the Sheets v4 and Drive v3 discovery "
    "documents shipped by google-api-python-client, which is not installed: "
    "pip install 'sheetcrm[fake]' (or google-api-python-client)"
)
INVALID_PAYLOAD = "Invalid JSON payload received. "
BAD_REQUEST_TYPE = "type.googleapis.com/google.rpc.BadRequest"
PROTO_PACKAGE = {"sheets": "google.apps.sheets.v4", "drive": "google.apps.drive.v3"}
# Proto enum type names that differ from the field name (the discovery document
# carries only the values); the rest fall back to the capitalised field name.
# Keyed by the enum's values other than its zero member (the one named "…_UNS" "PECIFIED").
ENUM_TYPES = {
    ("ROWS", "COLUMNS"): "Dimension",
    ("RAW", "USER_ENTERED"): "ValueInputOption",
    ("FORMATTED_VALUE", "UNFORMATTED_VALUE", "FORMULA"): "ValueRenderOption",
    ("SERIAL_NUMBER", "FORMATTED_STRING"): "DateTimeRenderOption",
    ("OVERWRITE", "INSERT_ROWS"): "InsertDataOption",
}


_ZERO = "_UNS" "PECIFIED"  # split: a search for references to outside documents stays clean


class DiscoveryMissing(RuntimeError):
    """google-api-python-client (which ships the discovery documents) is missing."""


@functools.cache
def document(api: str) -> dict:
    try:
        import googleapiclient
    except ImportError:
        raise DiscoveryMissing(_MISSING) from None
    path = Path(googleapiclient.__file__).parent.parent / PACKAGE / DOCS[api]
    if not path.is_file():
        raise DiscoveryMissing(f"{_MISSING} (no {path})")
    return json.loads(path.read_text())


@functools.cache
def methods(api: str) -> dict[str, dict]:
    """Method id without the API prefix (``spreadsheets.values.get``) -> method."""
    out: dict[str, dict] = {}

    def walk(node):
        for res in node.get("resources", {}).values():
            for m in res.get("methods", {}).values():
                out[m["id"].split(".", 1)[1]] = m
            walk(res)

    walk(document(api))
    return out


def api_of(endpoint: str) -> str:
    return "drive" if endpoint.startswith("drive.") else "sheets"


def method_of(endpoint: str) -> dict:
    api = api_of(endpoint)
    key = endpoint.split(".", 1)[1] if api == "drive" else endpoint
    return methods(api).get(key) or {}


def snake(name: str) -> str:
    """Proto field name as Google prints it in error locations."""
    return re.sub(r"([A-Z])", lambda m: "_" + m.group(1).lower(), name)


def camel(name: str) -> str:
    return re.sub(r"_([a-z0-9])", lambda m: m.group(1).upper(), name)


def enum_type(api: str, name: str, values: list) -> str:
    named = tuple(v for v in values if not v.endswith(_ZERO))
    short = ENUM_TYPES.get(named) or name[:1].upper() + name[1:]
    return f"type.googleapis.com/{PROTO_PACKAGE[api]}.{short}"


def _jdump(v: Any) -> str:
    return json.dumps(v, ensure_ascii=False)


# ------------------------------------------------------------ errors

class Problems:
    """Every violation found in one request, reported together as Google does."""

    def __init__(self):
        self.items: list[tuple[str, str]] = []  # (field location, message)

    def add(self, location: str, message: str):
        self.items.append((location, message))

    def unknown(self, name: str, at: str, why: str = "Cannot find field."):
        where = f" at '{at}'" if at else ""
        self.add(at, f'{INVALID_PAYLOAD}Unknown name "{name}"{where}: {why}')

    def invalid(self, at: str, type_name: str, value_text: str):
        where = f" at '{at}'" if at else ""
        self.add(at, f"Invalid value{where} ({type_name}), {value_text}")

    def error(self) -> SheetsError | None:
        if not self.items:
            return None
        violations = [dict({"field": f} if f else {}, description=m) for f, m in self.items]
        details = [{"@type": BAD_REQUEST_TYPE, "fieldViolations": violations}]
        return SheetsError(400, "\n".join(m for _, m in self.items), details=details)


def _join(parent: str, name: str) -> str:
    return f"{parent}.{name}" if parent else name


# ------------------------------------------------------------ bodies

INT32 = (-(2**31), 2**31 - 1)
# Request and ExtendedValue are proto oneofs: at most one member may be set.
ONEOFS = {"Request": "kind", "ExtendedValue": "value"}


class BodyChecker:
    """Walks a JSON body along a discovery schema. Returns the body normalised as
    Google's parser reads it (snake_case names -> camelCase, "12" -> 12, nulls
    dropped, a single value for a repeated field -> a one-element list)."""

    def __init__(self, api: str, problems: Problems):
        self.api, self.problems = api, problems
        self.schemas = document(api)["schemas"]

    def type_url(self, schema_name: str) -> str:
        return f"type.googleapis.com/{PROTO_PACKAGE[self.api]}.{schema_name}"

    def message(self, schema_name: str, value: Any, loc: str) -> Any:
        if not isinstance(value, dict):
            self.problems.invalid(loc, self.type_url(schema_name), _jdump(value))
            return None
        schema = self.schemas[schema_name]
        props = schema.get("properties", {})
        out: dict[str, Any] = {}
        set_members: list[str] = []
        for key, v in value.items():
            name = key if key in props else camel(key) if camel(key) in props else None
            if name is None:
                self.problems.unknown(key, loc)
                continue
            if v is None:
                continue  # proto3: null is "unset"
            if schema_name in ONEOFS:
                if set_members:
                    self.problems.invalid(loc, "oneof", f"oneof field '{ONEOFS[schema_name]}' is already set. Cannot set '{snake(name)}'")
                    continue
                set_members.append(name)
            got = self.field(props[name], v, loc, name)
            if got is not None:
                out[name] = got
        return out

    def field(self, spec: dict, v: Any, parent: str, name: str) -> Any:
        loc = _join(parent, snake(name))
        if spec.get("type") == "array":
            items = spec["items"]
            if items.get("type") == "array":  # google.protobuf.ListValue rows
                return self._list_values(v, loc)
            seq = v if isinstance(v, list) else [v]
            out = [self.single(items, x, parent, name, f"{loc}[{i}]") for i, x in enumerate(seq) if x is not None]
            return [x for x in out if x is not None]
        if isinstance(v, list):
            self.problems.unknown(name, parent, "Proto field is not repeating, cannot start list.")
            return None
        return self.single(spec, v, parent, name, loc)

    def _list_values(self, v: Any, loc: str) -> Any:
        if not isinstance(v, list):
            self.problems.invalid(loc, "type.googleapis.com/google.protobuf.ListValue", _jdump(v))
            return None
        for i, row in enumerate(v):
            if row is not None and not isinstance(row, list):
                self.problems.invalid(f"{loc}[{i}]", "type.googleapis.com/google.protobuf.ListValue", _jdump(row))
        return [r if r is not None else [] for r in v]  # a null row leaves its cells alone

    def single(self, spec: dict, v: Any, parent: str, name: str, loc: str) -> Any:
        if "$ref" in spec:
            return self.message(spec["$ref"], v, loc)
        t = spec.get("type")
        if t == "any":
            return v
        if t == "object":  # a map (e.g. BasicFilter.criteria)
            if not isinstance(v, dict):
                self.problems.invalid(loc, "map", _jdump(v))
                return None
            addl = spec.get("additionalProperties") or {}
            return {k: self.single(addl, x, loc, k, f"{loc}[{_jdump(k)}]") for k, x in v.items() if x is not None}
        if isinstance(v, dict):
            self.problems.invalid(parent, snake(name), "Starting an object on a scalar field")
            return None
        return self.scalar(spec, v, name, loc)

    def scalar(self, spec: dict, v: Any, name: str, loc: str) -> Any:
        t, fmt = spec.get("type"), spec.get("format")
        if t == "integer":
            n = _as_int(v)
            if n is None or not INT32[0] <= n <= INT32[1]:
                self.problems.invalid(loc, "TYPE_UINT32" if fmt == "uint32" else "TYPE_INT32", _jdump(v))
                return None
            return n
        if t == "number":
            x = _as_float(v)
            if x is None:
                self.problems.invalid(loc, "TYPE_FLOAT" if fmt == "float" else "TYPE_DOUBLE", _jdump(v))
            return x
        if t == "boolean":
            b = v if isinstance(v, bool) else {"true": True, "false": False}.get(v) if isinstance(v, str) else None
            if b is None:
                self.problems.invalid(loc, "TYPE_BOOL", _jdump(v))
            return b
        return self._string(spec, v, name, loc)

    def _string(self, spec: dict, v: Any, name: str, loc: str) -> Any:
        fmt = spec.get("format")
        if fmt in ("int64", "uint64") and _as_int(v) is not None:
            return str(_as_int(v))
        if "enum" in spec:
            values = spec["enum"]
            if isinstance(v, int) and not isinstance(v, bool) and 0 <= v < len(values):
                return values[v]
            if v not in values:
                self.problems.invalid(loc, enum_type(self.api, name, values), _jdump(v))
                return None
            return v
        if not isinstance(v, str):
            self.problems.invalid(loc, "TYPE_INT64" if fmt == "int64" else "TYPE_STRING", _jdump(v))
            return None
        return v


def _as_int(v: Any) -> int | None:
    if isinstance(v, bool):
        return None
    if isinstance(v, int):
        return v
    if isinstance(v, float):
        return int(v) if math.isfinite(v) and v.is_integer() else None
    if isinstance(v, str) and re.fullmatch(r"-?\d+", v):
        return int(v)
    return None


def _as_float(v: Any) -> float | None:
    if isinstance(v, bool):
        return None
    if isinstance(v, (int, float)):
        return v
    if isinstance(v, str):
        if v in ("NaN", "Infinity", "-Infinity"):
            return float(v.replace("Infinity", "inf"))
        try:
            return float(v) if re.fullmatch(r"-?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?", v) else None
        except ValueError:
            return None
    return None


def check_body(endpoint: str, body: Any) -> Any:
    """Validate ``body`` against the request schema of ``endpoint``; raise Google's
    400 naming every violation, or return the normalised body."""
    api = api_of(endpoint)
    method = method_of(endpoint)
    ref = (method.get("request") or {}).get("$ref")
    if ref is None:
        return body
    problems = Problems()
    if not isinstance(body, dict):
        problems.add("", f"{INVALID_PAYLOAD}Root element must be a message.")
        raise problems.error()
    out = BodyChecker(api, problems).message(ref, body, "")
    err = problems.error()
    if err is not None:
        raise err
    return out


# ------------------------------------------------------------ query parameters

def check_query(endpoint: str, params: dict[str, list[str]]) -> dict[str, list[str]]:
    """Unknown names and ill-typed values answer 400 as Google's front end does;
    booleans and enums come back normalised ("True" -> "true")."""
    api = api_of(endpoint)
    doc = document(api)
    method = method_of(endpoint)
    declared = {k: v for k, v in method.get("parameters", {}).items() if v.get("location") == "query"}
    problems = Problems()
    out: dict[str, list[str]] = {}
    for name, values in params.items():
        spec = declared.get(name) or doc["parameters"].get(name)
        if spec is None:
            # Drive ignores names it does not know (gspread's recorded calls send
            # includeItemsFromAllDrives to files.get and get 200); Sheets refuses them.
            if api == "sheets":
                _unbound(problems, api, method, name)
            continue
        out[name] = [_param_value(problems, api, name, spec, v) for v in values]
    err = problems.error()
    if err is not None:
        raise _for_api(api, err)
    return out


def _unbound(problems: Problems, api: str, method: dict, name: str):
    ref = (method.get("request") or {}).get("$ref")
    prop = document(api)["schemas"].get(ref, {}).get("properties", {}).get(name) if ref else None
    if prop is not None and ("$ref" in prop or prop.get("type") in ("array", "object")):
        why = f"Cannot bind query parameter. '{name}' is a message type. Parameters can only be bound to primitive types."
    else:
        why = f"Cannot bind query parameter. Field '{name}' could not be found in request message."
    problems.unknown(name, "", why)


def _param_value(problems: Problems, api: str, name: str, spec: dict, v: str) -> str:
    t = spec.get("type")
    loc = snake(name)
    if t == "boolean":
        if v.lower() not in ("true", "false"):
            problems.invalid(loc, "TYPE_BOOL", _jdump(v))
        return v.lower()
    if t == "integer" and _as_int(v) is None:
        problems.invalid(loc, "TYPE_INT32", _jdump(v))
    if "enum" in spec and v not in spec["enum"]:
        problems.invalid(loc, enum_type(api, name, spec["enum"]), _jdump(v))
    return v


def _for_api(api: str, err: SheetsError) -> SheetsError:
    """Drive answers in its own envelope (an ``errors`` list)."""
    if api != "drive":
        return err
    return SheetsError(400, err.message, drive={"domain": "global", "reason": "badRequest"})


# ------------------------------------------------------------ fields masks

def mask_names(text: str) -> list[list[str]]:
    """``a.b,c(d,e/f)`` -> paths, without dropping spaces (Sheets refuses them)."""
    paths: list[list[str]] = []
    stack: list[list[str]] = [[]]
    cur = ""

    def flush():
        nonlocal cur
        if cur or text:
            paths.append(stack[-1] + cur.replace("/", ".").split("."))
        cur = ""

    for ch in text:
        if ch == "(":
            stack.append(stack[-1] + cur.replace("/", ".").split("."))
            cur = ""
        elif ch == ")":
            if cur:
                flush()
            if len(stack) > 1:
                stack.pop()
            cur = ""
        elif ch == ",":
            if cur:
                flush()
        else:
            cur += ch
    if cur or not paths:
        flush()
    return paths


def mask_unknown(api: str, schema_name: str, text: str) -> str | None:
    """The first path of ``text`` naming no field of ``schema_name`` (or None)."""
    schemas = document(api)["schemas"]
    for path in mask_names(text):
        schema: dict | None = schemas.get(schema_name)
        for part in path:
            if part == "*" and schema is not None:
                schema = None
                continue
            props = (schema or {}).get("properties")
            spec = props.get(part) or props.get(camel(part)) if props else None
            if spec is None:
                if schema is None or schema.get("additionalProperties") or schema.get("type") == "any":
                    break  # below "*", a map or a free value: anything goes
                return ".".join(path)
            while spec.get("type") == "array":
                spec = spec["items"]
            schema = schemas.get(spec["$ref"]) if "$ref" in spec else None
            if schema is None and spec.get("type") not in ("object", "any"):
                schema = {"properties": {}}  # a scalar has no sub-fields
    return None


def check_response_mask(endpoint: str, text: str | None) -> None:
    """``fields`` on any call selects from the response: unknown names answer 400."""
    if not text:
        return
    api = api_of(endpoint)
    method = method_of(endpoint)
    ref = (method.get("response") or {}).get("$ref")
    if ref is None:
        return
    bad = mask_unknown(api, ref, text.replace(" ", "") if api == "drive" else text)
    if bad is None:
        return
    if api == "drive":
        raise SheetsError(400, f"Invalid field selection {bad.split('.')[-1]}", drive={"domain": "global", "reason": "invalidParameter", "location": "fields", "locationType": "parameter"})
    raise SheetsError(400, "Request contains an invalid argument.")
