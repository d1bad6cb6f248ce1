"""``spreadsheets:batchUpdate`` request kinds. Each handler mutates the spreadsheet
and returns its reply; the batch is atomic (rolled back on the first error)."""
from __future__ import annotations

import copy
import re
from collections.abc import Callable

from . import a1, discovery
from .models import MAX_CELL_CHARS, Sheet, SheetsBackend, SheetsError, Spreadsheet, bad_request, cell_too_long
from .sheetjson import mask_paths
from .values import Cell

HANDLERS: dict[str, Callable] = {}


def handler(name):
    def deco(fn):
        HANDLERS[name] = fn
        return fn

    return deco


class Ctx:
    def __init__(self, backend: SheetsBackend, ss: Spreadsheet, index: int, kind: str, counters: dict, user=None):
        self.backend, self.ss, self.index, self.kind, self.counters = backend, ss, index, kind, counters
        self.user = user or ss.owner

    def err(self, msg: str) -> SheetsError:
        return bad_request(f"Invalid requests[{self.index}].{self.kind}: {msg}")

    def sheet(self, sheet_id) -> Sheet:
        sh = self.ss.sheet_by_id(sheet_id if sheet_id is not None else 0)
        if sh is None:
            raise self.err(f"No grid with id: {sheet_id}")
        return sh

    def grid(self, gr: dict):
        return self.backend.grid_range(self.ss, gr or {}, f"requests[{self.index}].{self.kind}")


def apply_batch(backend: SheetsBackend, ss: Spreadsheet, requests: list, counters: dict, user=None) -> list:
    if not isinstance(requests, list) or not requests:
        raise bad_request("Must specify at least one request.")
    saved = ss.snapshot()
    replies = []
    try:
        for i, req in enumerate(requests):
            if not isinstance(req, dict) or len(req) != 1:
                raise bad_request(f"Invalid requests[{i}]: kind not set" if not req else f"Invalid requests[{i}]: only one kind may be set")
            kind, body = next(iter(req.items()))
            fn = HANDLERS.get(kind)
            if fn is None:
                raise SheetsError(501, f"Invalid requests[{i}]: request kind '{kind}' is not implemented by the fake server", "UNIMPLEMENTED")
            ctx = Ctx(backend, ss, i, kind, counters, user)
            body = _drop_nulls(body or {})
            _check_update_mask(ctx, body)
            reply = fn(ctx, body)
            replies.append({kind: _proto_clean(reply)} if reply is not None else {})
    except Exception:
        ss.restore(saved)
        raise
    ss.touch()
    return replies


# The message each kind's ``fields`` mask is relative to (the discovery document
# says so in each field's description; it has no machine-readable form).
MASK_TARGETS = {
    "updateSheetProperties": "SheetProperties",
    "updateSpreadsheetProperties": "SpreadsheetProperties",
    "updateDimensionProperties": "DimensionProperties",
    "updateCells": "CellData",
    "repeatCell": "CellData",
    "appendCells": "CellData",
    "updateNamedRange": "NamedRange",
    "updateProtectedRange": "ProtectedRange",
    "updateFilterView": "FilterView",
    "updateBanding": "BandedRange",
    "updateEmbeddedObjectPosition": "EmbeddedObjectPosition",
    "updateEmbeddedObjectBorder": "EmbeddedObjectBorder",
    "updateDeveloperMetadata": "DeveloperMetadata",
    "updateDimensionGroup": "DimensionGroup",
    "updateSlicerSpec": "SlicerSpec",
}


def _check_update_mask(ctx: Ctx, body: dict):
    """A ``fields`` mask naming a field its message does not have is refused."""
    target = MASK_TARGETS.get(ctx.kind)
    fields = body.get("fields")
    if not target or not fields:
        return
    bad = discovery.mask_unknown("sheets", target, fields)
    if bad is not None:
        raise ctx.err(f"Invalid field mask: {bad}")


def _drop_nulls(obj):
    """JSON nulls mean "unset" in proto3; drop them (a null colour inside a *Style
    stays as an empty message, which clears it)."""
    if isinstance(obj, dict):
        return {k: _drop_nulls(v) for k, v in obj.items() if v is not None}
    if isinstance(obj, list):
        return [_drop_nulls(v) for v in obj]
    return obj


def _proto_clean(obj):
    """Proto3 JSON omits empty lists/messages and a zero sheetId in ranges."""
    if isinstance(obj, dict):
        out = {}
        for k, v in obj.items():
            v = _proto_clean(v)
            if v == [] or v is None:
                continue
            out[k] = v
        return out
    if isinstance(obj, list):
        return [_proto_clean(v) for v in obj]
    return obj


def _set_path(target: dict, path: list, source: dict):
    """Copy ``source`` at ``path`` into ``target`` (a missing source value clears)."""
    src = source
    for p in path:
        src = src.get(p) if isinstance(src, dict) else None
    node = target
    for p in path[:-1]:
        node = node.setdefault(p, {})
    if src is None:
        node.pop(path[-1], None)
    else:
        node[path[-1]] = copy.deepcopy(src)


def _f32(x: float) -> float:
    """Shortest decimal that survives a float32 round trip (Google stores floats)."""
    import struct

    packed = struct.pack("f", x)
    for p in range(1, 10):
        y = float(f"{x:.{p}g}")
        if struct.pack("f", y) == packed:
            return y
    return x


def _quantize_colors(obj):
    """Colour channels are kept as 8-bit values: 0.5 reads back as 0.49803922."""
    import math

    if isinstance(obj, dict):
        for k, v in obj.items():
            if k in ("red", "green", "blue") and isinstance(v, (int, float)) and not isinstance(v, bool):
                q = math.ceil(v * 255 - 0.5 - 1e-9) / 255
                q = _f32(q)
                obj[k] = int(q) if q in (0, 1) else q
            else:
                _quantize_colors(v)
        for k in [k for k in ("red", "green", "blue") if obj.get(k) == 0]:
            del obj[k]  # proto3 omits zero channels
    elif isinstance(obj, list):
        for v in obj:
            _quantize_colors(v)


def _mirror_styles(d: dict):
    _quantize_colors(d)
    """Google fills the *Style twin of a colour field (backgroundColor <->
    backgroundColorStyle.rgbColor) so clients reading either one see the change."""
    for plain, style in (("backgroundColor", "backgroundColorStyle"), ("foregroundColor", "foregroundColorStyle"), ("tabColor", "tabColorStyle")):
        if plain in d and style not in d and isinstance(d[plain], dict):
            d[style] = {"rgbColor": copy.deepcopy(d[plain])}
        elif style in d and plain not in d and isinstance(d[style], dict) and d[style].get("rgbColor") is not None:
            d[plain] = copy.deepcopy(d[style]["rgbColor"])
        if style in d and isinstance(d[style], dict) and not d[style].get("rgbColor") and not d[style].get("themeColor"):
            d.pop(style, None)
            d.pop(plain, None)
    if isinstance(d.get("textFormat"), dict):
        _mirror_styles(d["textFormat"])
    for v in d.values():
        if isinstance(v, dict) and v is not d.get("textFormat"):
            pass


def _strip_empty(d: dict):
    for k in [k for k, v in d.items() if isinstance(v, dict) and not v and k not in ("foregroundColor", "rgbColor")]:
        del d[k]


# ------------------------------------------------------------ sheets

@handler("addSheet")
def add_sheet(ctx: Ctx, body):
    props = dict(body.get("properties") or {})
    ss = ctx.ss
    title = props.get("title")
    if not title:  # proto3: "" is the same as unset
        n = len(ss.sheets) + 1
        while ss.sheet_by_title(f"Sheet{n}"):
            n += 1
        title = f"Sheet{n}"
    if ss.sheet_by_title(title) is not None or any(s.title.lower() == title.lower() for s in ss.sheets):
        raise ctx.err(f'A sheet with the name "{title}" already exists. Please enter another name.')
    sid = props.get("sheetId")
    if sid is None:
        sid = ctx.backend._new_sheet_id(ss)
    elif ss.sheet_by_id(sid) is not None:
        raise ctx.err(f"Sheet with id {sid} already exists.")
    gp = props.get("gridProperties") or {}
    rows, cols = gp.get("rowCount") or 1000, gp.get("columnCount") or 26  # proto3: 0 is unset
    if rows < 0 or cols < 0:
        raise ctx.err("Sheet must have at least one row and one column.")
    if ss.total_cells() + rows * cols > 10_000_000:
        raise ctx.err("This action would increase the number of cells in the workbook above the limit of 10000000 cells.")
    index = max(0, min(props.get("index", len(ss.sheets)), len(ss.sheets)))
    sh = Sheet(sid, title, index, rows, cols)
    for k, v in gp.items():
        if k not in ("rowCount", "columnCount"):
            sh.props["gridProperties"][k] = v
    for k in ("hidden", "tabColor", "tabColorStyle", "rightToLeft"):
        if k in props:
            sh.props[k] = copy.deepcopy(props[k])
    _mirror_styles(sh.props)
    ss.sheets.insert(min(index, len(ss.sheets)), sh)
    ss.reindex()
    return {"properties": copy.deepcopy(sh.props)}


@handler("deleteSheet")
def delete_sheet(ctx: Ctx, body):
    sh = ctx.sheet(body.get("sheetId"))
    if len(ctx.ss.sheets) == 1:
        raise ctx.err("You can't remove all the sheets in a document.")
    ctx.ss.sheets.remove(sh)
    ctx.ss.reindex()
    return None


@handler("duplicateSheet")
def duplicate_sheet(ctx: Ctx, body):
    src = ctx.sheet(body.get("sourceSheetId"))
    title = body.get("newSheetName") or f"Copy of {src.title}"
    if any(s.title.lower() == title.lower() for s in ctx.ss.sheets):
        raise ctx.err(f'A sheet with the name "{title}" already exists. Please enter another name.')
    if body.get("newSheetId") and ctx.ss.sheet_by_id(body["newSheetId"]) is not None:
        raise ctx.err(f"Sheet with id {body['newSheetId']} already exists.")
    sh = src.snapshot()
    sh.props["sheetId"] = body.get("newSheetId") or ctx.backend._new_sheet_id(ctx.ss)
    sh.props["title"] = title
    idx = max(0, min(body.get("insertSheetIndex", len(ctx.ss.sheets)), len(ctx.ss.sheets)))
    ctx.ss.sheets.insert(idx, sh)
    ctx.ss.reindex()
    return {"properties": copy.deepcopy(sh.props)}


@handler("updateSheetProperties")
def update_sheet_properties(ctx: Ctx, body):
    props = body.get("properties") or {}
    fields = body.get("fields")
    if not fields:
        raise ctx.err("At least one field must be updated, but none were specified.")
    sh = ctx.sheet(props.get("sheetId"))
    new = copy.deepcopy(sh.props)
    paths = [[k for k in p] for p in mask_paths(fields)]
    if paths == [["*"]]:
        paths = [[k] for k in props if k != "sheetId"]
    for path in paths:
        if path[0] == "sheetId":
            continue
        _set_path(new, path, props)
    if "tabColorStyle" in str(paths) and not (props.get("tabColorStyle") or {}).get("rgbColor"):
        new.pop("tabColor", None)
        new.pop("tabColorStyle", None)
    if ["tabColor"] in paths and not props.get("tabColor"):
        new.pop("tabColorStyle", None)
    _mirror_styles(new)
    title = new.get("title")
    if not title:
        raise ctx.err("Sheet title cannot be empty.")
    if title != sh.title and any(s is not sh and s.title.lower() == str(title).lower() for s in ctx.ss.sheets):
        raise ctx.err(f'A sheet with the name "{title}" already exists. Please enter another name.')
    if new.get("hidden") and all(s.props.get("hidden") or s is sh for s in ctx.ss.sheets):
        raise ctx.err("You can't hide all the sheets in a document.")
    gp = new.setdefault("gridProperties", {})
    rows, cols = gp.get("rowCount", sh.rows), gp.get("columnCount", sh.cols)
    if rows < 1 or cols < 1:
        raise ctx.err("Sheet must have at least one row and one column.")
    if gp.get("frozenRowCount", 0) >= rows and gp.get("frozenRowCount", 0) > 0:
        raise ctx.err("You can't freeze all visible rows on the sheet.")
    if ctx.ss.total_cells(skip=sh) + rows * cols > 10_000_000:
        raise ctx.err("This action would increase the number of cells in the workbook above the limit of 10000000 cells.")
    for k in ("frozenRowCount", "frozenColumnCount"):
        if gp.get(k) == 0:
            gp.pop(k)
    for k in ("hidden", "hideGridlines"):
        if new.get(k) is False:
            new.pop(k)
    if gp.get("hideGridlines") is False:
        gp.pop("hideGridlines")
    if "index" in [p[0] for p in paths]:
        idx = max(0, props.get("index", sh.props["index"]))
        ctx.ss.sheets.remove(sh)
        ctx.ss.sheets.insert(min(idx, len(ctx.ss.sheets)), sh)
    sh.props = new
    sh.set_grid(rows, cols)
    ctx.ss.reindex()
    return None


@handler("updateSpreadsheetProperties")
def update_spreadsheet_properties(ctx: Ctx, body):
    props = body.get("properties") or {}
    fields = body.get("fields") or ",".join(props)
    for path in mask_paths(fields):
        _set_path(ctx.ss.props, path, props)
    return None


# ------------------------------------------------------------ dimensions

def _dim_range(ctx: Ctx, rng: dict):
    sh = ctx.sheet(rng.get("sheetId"))
    dim = rng.get("dimension")
    if dim not in ("ROWS", "COLUMNS"):
        raise ctx.err("dimension must be ROWS or COLUMNS")
    size = sh.rows if dim == "ROWS" else sh.cols
    s, e = rng.get("startIndex", 0), rng.get("endIndex", size)
    if s < 0 or e < s:
        raise ctx.err(f"Invalid range: startIndex {s}, endIndex {e}")
    return sh, dim, s, e, size


@handler("appendDimension")
def append_dimension(ctx: Ctx, body):
    sh = ctx.sheet(body.get("sheetId"))
    n = body.get("length", 0)
    if n <= 0:
        raise ctx.err("length must be greater than zero.")
    if body.get("dimension") not in ("ROWS", "COLUMNS"):
        raise ctx.err("dimension must be ROWS or COLUMNS")
    rows, cols = (sh.rows + n, sh.cols) if body.get("dimension") == "ROWS" else (sh.rows, sh.cols + n)
    if ctx.ss.total_cells(skip=sh) + rows * cols > 10_000_000:
        raise ctx.err("This action would increase the number of cells in the workbook above the limit of 10000000 cells.")
    sh.set_grid(rows, cols)
    return None


@handler("insertDimension")
def insert_dimension(ctx: Ctx, body):
    sh, dim, s, e, size = _dim_range(ctx, body.get("range") or {})
    if s < 0 or e <= s or s > size:
        raise ctx.err(f"Invalid range: startIndex {s}, endIndex {e}")
    if body.get("inheritFromBefore") and s == 0:
        raise ctx.err("Cannot inherit properties from before if inserting at the beginning.")
    n = e - s
    rows, cols = (sh.rows + n, sh.cols) if dim == "ROWS" else (sh.rows, sh.cols + n)
    if ctx.ss.total_cells(skip=sh) + rows * cols > 10_000_000:
        raise ctx.err("This action would increase the number of cells in the workbook above the limit of 10000000 cells.")
    sh.props["gridProperties"]["rowCount" if dim == "ROWS" else "columnCount"] += n
    ctx.backend._shift(sh, dim, s, n)
    return None


@handler("deleteDimension")
def delete_dimension(ctx: Ctx, body):
    sh, dim, s, e, size = _dim_range(ctx, body.get("range") or {})
    if s < 0 or e <= s or e > size:
        raise ctx.err(f"Invalid range: startIndex {s}, endIndex {e}")
    if dim == "ROWS" and e - s >= sh.rows:
        raise ctx.err("You can't delete all the rows on the sheet.")
    if dim == "COLUMNS" and e - s >= sh.cols:
        raise ctx.err("You can't delete all the columns on the sheet.")
    ctx.backend._shift(sh, dim, s, -(e - s))
    sh.props["gridProperties"]["rowCount" if dim == "ROWS" else "columnCount"] -= e - s
    return None


@handler("updateDimensionProperties")
def update_dimension_properties(ctx: Ctx, body):
    sh, dim, s, e, size = _dim_range(ctx, body.get("range") or {})
    if e > size:
        raise ctx.err(f"Invalid range: endIndex {e} is beyond the grid ({size})")
    props = body.get("properties") or {}
    meta = sh.row_meta if dim == "ROWS" else sh.col_meta
    paths = mask_paths(body.get("fields") or ",".join(props))
    for i in range(s, min(e, size)):
        m = meta.setdefault(i, {})
        for path in paths:
            _set_path(m, path, props)
        if m.get("hiddenByUser") is False:
            m.pop("hiddenByUser")
    return None


def _group_list(sh: Sheet, dim: str):
    return sh.row_groups if dim == "ROWS" else sh.col_groups


def _regroup(groups: list, spans: list[tuple[int, int]], dim, sheet_id):
    # depth = how many spans cover each index; groups are maximal runs of equal depth
    depth: dict[int, int] = {}
    for s, e in spans:
        for i in range(s, e):
            depth[i] = depth.get(i, 0) + 1
    groups.clear()
    maxd = max(depth.values(), default=0)
    for d in range(1, maxd + 1):
        idx = sorted(i for i, v in depth.items() if v >= d)
        start = prev = None
        for i in idx + [None]:
            if start is None:
                start = prev = i
                continue
            if i is not None and i == prev + 1:
                prev = i
                continue
            rng = {"sheetId": sheet_id, "dimension": dim, "startIndex": start, "endIndex": prev + 1}
            if not sheet_id:
                rng.pop("sheetId")
            groups.append({"range": rng, "depth": d})
            start = prev = i
    groups.sort(key=lambda g: (g["range"]["startIndex"], g["depth"]))


def _spans(groups):
    # reconstruct spans from groups (each group at depth d adds one layer)
    return [(g["range"]["startIndex"], g["range"]["endIndex"]) for g in groups]


@handler("addDimensionGroup")
def add_dimension_group(ctx: Ctx, body):
    sh, dim, s, e, size = _dim_range(ctx, body.get("range") or {})
    groups = _group_list(sh, dim)
    sh.props["gridProperties"]["rowGroupControlAfter" if dim == "ROWS" else "columnGroupControlAfter"] = True
    spans = _spans(groups) + [(s, e)]
    _regroup(groups, spans, dim, sh.id)
    return {"dimensionGroups": copy.deepcopy(groups)}


@handler("deleteDimensionGroup")
def delete_dimension_group(ctx: Ctx, body):
    sh, dim, s, e, size = _dim_range(ctx, body.get("range") or {})
    groups = _group_list(sh, dim)
    depth: dict[int, int] = {}
    for a, b in _spans(groups):
        for i in range(a, b):
            depth[i] = depth.get(i, 0) + 1
    if not any(depth.get(i) for i in range(s, e)):
        raise ctx.err("No dimension group found in the given range.")
    for i in range(s, e):
        if depth.get(i):
            depth[i] -= 1
    spans = []
    for i, d in depth.items():
        spans.extend([(i, i + 1)] * d)
    _regroup(groups, spans, dim, sh.id)
    return {"dimensionGroups": copy.deepcopy(groups)}


# ------------------------------------------------------------ cells

def _write_cell_fields(ctx: Ctx, sh: Sheet, r: int, c: int, data: dict, paths: list):
    old = sh.cells.get((r, c))
    cell = old.copy() if old else Cell()
    fmt = copy.deepcopy(cell.format) if cell.format else {}
    if cell.number_format:
        fmt["numberFormat"] = cell.number_format
    for path in paths:
        head = path[0]
        if head == "*":
            path = None
        if path is None or head == "userEnteredValue":
            uev = data.get("userEnteredValue")
            cell.value, cell.formula = None, None
            if uev:
                text = uev.get("stringValue") or uev.get("formulaValue") or ""
                if len(text) > MAX_CELL_CHARS:
                    raise ctx.err(cell_too_long())
                if "formulaValue" in uev:
                    cell.formula = uev["formulaValue"]
                elif "numberValue" in uev:
                    cell.value = float(uev["numberValue"])
                elif "boolValue" in uev:
                    cell.value = bool(uev["boolValue"])
                elif "stringValue" in uev:
                    cell.value = uev["stringValue"]
                elif "errorValue" in uev:
                    cell.value = uev["errorValue"].get("message", "#ERROR!")
                ctx.counters["cells_written"] = ctx.counters.get("cells_written", 0) + 1
        if path is None or head == "userEnteredFormat":
            if path is None or len(path) == 1:
                fmt = copy.deepcopy(data.get("userEnteredFormat") or {})
            else:
                holder = {"userEnteredFormat": fmt}
                _set_path(holder, path, data)
                fmt = holder.get("userEnteredFormat") or {}
        if path is None or head == "note":
            cell.note = data.get("note") or None
        if path is None or head == "dataValidation":
            cell.validation = copy.deepcopy(data.get("dataValidation")) or None
    nf = fmt.pop("numberFormat", None)
    cell.number_format = nf or None
    _mirror_styles(fmt)
    _strip_empty(fmt)
    cell.format = fmt or None
    if cell.is_empty():
        sh.cells.pop((r, c), None)
    else:
        sh.cells[(r, c)] = cell


@handler("updateCells")
def update_cells(ctx: Ctx, body):
    fields = body.get("fields")
    if not fields:
        raise ctx.err("At least one field must be updated, but none were specified.")
    paths = mask_paths(fields)
    rows = body.get("rows") or []
    if "range" in body:
        sh, r1, c1, r2, c2 = ctx.grid(body["range"])
    else:
        start = body.get("start") or {}
        sh = ctx.sheet(start.get("sheetId", 0))
        r1, c1 = start.get("rowIndex", 0), start.get("columnIndex", 0)
        r2 = r1 + len(rows)
        c2 = c1 + max((len(r.get("values") or []) for r in rows), default=0)
        if r2 > sh.rows or c2 > sh.cols:
            raise ctx.err(f"Range ('{sh.title}'!{a1.col_to_letters(c1)}{r1 + 1}:{a1.col_to_letters(c2 - 1)}{r2}) exceeds grid limits. Max rows: {sh.rows}, max columns: {sh.cols}")
    for i, r in enumerate(range(r1, r2)):
        row = (rows[i].get("values") or []) if i < len(rows) else []
        for j, c in enumerate(range(c1, c2)):
            data = row[j] if j < len(row) else {}
            _write_cell_fields(ctx, sh, r, c, data, paths)
    return None


@handler("appendCells")
def append_cells(ctx: Ctx, body):
    """Rows go after the last row holding a value or formula in any column (formats,
    notes and validation alone do not count), growing the grid by the rows needed.
    Cells are written exactly as in updateCells: a stringValue is never parsed."""
    fields = body.get("fields")
    if not fields:
        raise ctx.err("At least one field must be updated, but none were specified.")
    if body.get("tableId"):
        raise SheetsError(501, f"Invalid requests[{ctx.index}].appendCells: tableId is not implemented by the fake server", "UNIMPLEMENTED")
    paths = mask_paths(fields)
    sh = ctx.sheet(body.get("sheetId", 0))
    rows = body.get("rows") or []
    start = 1 + max((r for (r, _c), cell in sh.cells.items() if cell.has_value()), default=-1)
    width = max((len(r.get("values") or []) for r in rows), default=0)
    if width > sh.cols:
        # Google documents row growth only; the fake refuses wider rows rather than guess.
        raise ctx.err(f"Range ('{sh.title}'!A{start + 1}:{a1.col_to_letters(width - 1)}{start + len(rows)}) exceeds grid limits. Max rows: {sh.rows}, max columns: {sh.cols}")
    if start + len(rows) > sh.rows:
        rows_needed = start + len(rows)
        if ctx.ss.total_cells(skip=sh) + rows_needed * sh.cols > 10_000_000:
            raise ctx.err("This action would increase the number of cells in the workbook above the limit of 10000000 cells.")
        sh.set_grid(rows=rows_needed)
    for i, row in enumerate(rows):
        for j, data in enumerate(row.get("values") or []):
            _write_cell_fields(ctx, sh, start + i, j, data or {}, paths)
    return None


@handler("repeatCell")
def repeat_cell(ctx: Ctx, body):
    fields = body.get("fields")
    if not fields:
        raise ctx.err("At least one field must be updated, but none were specified.")
    sh, r1, c1, r2, c2 = ctx.grid(body.get("range"))
    paths = mask_paths(fields)
    data = body.get("cell") or {}
    for r in range(r1, r2):
        for c in range(c1, c2):
            _write_cell_fields(ctx, sh, r, c, data, paths)
    return None


@handler("setDataValidation")
def set_data_validation(ctx: Ctx, body):
    sh, r1, c1, r2, c2 = ctx.grid(body.get("range"))
    rule = body.get("rule")
    if rule is not None:
        cond = rule.get("condition") or {}
        if not cond.get("type"):
            raise ctx.err("Invalid BooleanCondition: condition type must be set.")
        if cond["type"] == "ONE_OF_LIST" and not cond.get("values"):
            raise ctx.err("Invalid ConditionValue: ONE_OF_LIST requires at least one value.")
    for r in range(r1, r2):
        for c in range(c1, c2):
            _write_cell_fields(ctx, sh, r, c, {"dataValidation": rule} if rule else {}, [["dataValidation"]])
    return None


@handler("updateBorders")
def update_borders(ctx: Ctx, body):
    sh, r1, c1, r2, c2 = ctx.grid(body.get("range"))
    borders = {k: body[k] for k in ("top", "bottom", "left", "right") if k in body}
    for r in range(r1, r2):
        for c in range(c1, c2):
            b = {}
            if r == r1 and "top" in borders:
                b["top"] = borders["top"]
            if r == r2 - 1 and "bottom" in borders:
                b["bottom"] = borders["bottom"]
            if c == c1 and "left" in borders:
                b["left"] = borders["left"]
            if c == c2 - 1 and "right" in borders:
                b["right"] = borders["right"]
            if b:
                _write_cell_fields(ctx, sh, r, c, {"userEnteredFormat": {"borders": b}}, [["userEnteredFormat", "borders", k] for k in b])
    return None


@handler("mergeCells")
def merge_cells(ctx: Ctx, body):
    sh, r1, c1, r2, c2 = ctx.grid(body.get("range"))
    mt = body.get("mergeType", "MERGE_ALL")
    if mt == "MERGE_ALL":
        spans = [(r1, c1, r2, c2)]
    elif mt == "MERGE_ROWS":
        spans = [(r, c1, r + 1, c2) for r in range(r1, r2)]
    else:
        spans = [(r1, c, r2, c + 1) for c in range(c1, c2)]
    for (a, b, cc, d) in spans:
        # merges inside the new one are absorbed; a partial overlap is refused
        sh.merges = [m for m in sh.merges if not (a <= m["startRowIndex"] and m["endRowIndex"] <= cc and b <= m["startColumnIndex"] and m["endColumnIndex"] <= d)]
        for m in sh.merges:
            if a < m["endRowIndex"] and m["startRowIndex"] < cc and b < m["endColumnIndex"] and m["startColumnIndex"] < d:
                raise ctx.err("You can't merge cells that overlap an existing merge.")
        sh.merges.append(_norm_range(sh, a, b, cc, d))
        # merging keeps only the top-left value
        for key in [k for k in sh.cells if a <= k[0] < cc and b <= k[1] < d and k != (a, b)]:
            del sh.cells[key]
    return None


@handler("unmergeCells")
def unmerge_cells(ctx: Ctx, body):
    sh, r1, c1, r2, c2 = ctx.grid(body.get("range"))
    sh.merges = [
        m for m in sh.merges
        if not (r1 <= m["startRowIndex"] and m["endRowIndex"] <= r2 and c1 <= m["startColumnIndex"] and m["endColumnIndex"] <= c2)
    ]
    return None


@handler("sortRange")
def sort_range(ctx: Ctx, body):
    sh, r1, c1, r2, c2 = ctx.grid(body.get("range"))
    specs = body.get("sortSpecs") or []
    rows = [{c: sh.cells.get((r, c)) for c in range(c1, c2)} for r in range(r1, r2)]
    cache: dict = {}
    eff = {}
    for i, r in enumerate(range(r1, r2)):
        for c in range(c1, c2):
            eff[(i, c)] = ctx.backend.effective(sh, r, c, cache)

    for spec in specs:
        if not c1 <= spec.get("dimensionIndex", 0) < c2:
            raise ctx.err(f"The sort column {spec.get('dimensionIndex', 0)} is outside the range to sort.")

    def key_for(spec):
        col = spec.get("dimensionIndex", 0)

        def k(i):
            v = eff[(i, col)]
            # numbers < text < booleans, empty last (like Sheets)
            if v is None or v == "":
                return (1, 0, 0)
            if isinstance(v, bool):
                return (0, 2, v)
            if isinstance(v, float):
                return (0, 0, v)
            return (0, 1, str(v).lower())

        return k

    order = list(range(len(rows)))
    for spec in reversed(specs):
        k = key_for(spec)
        desc = spec.get("sortOrder") == "DESCENDING"
        empties = [i for i in order if k(i)[0] == 1]
        full = sorted([i for i in order if k(i)[0] == 0], key=k, reverse=desc)
        order = full + empties
    for i, src in enumerate(order):
        for c in range(c1, c2):
            cell = rows[src][c]
            if cell is None:
                sh.cells.pop((r1 + i, c), None)
            else:
                sh.cells[(r1 + i, c)] = cell
    return None


@handler("findReplace")
def find_replace(ctx: Ctx, body):
    find, repl = body.get("find", ""), body.get("replacement", "")
    sheets = ctx.ss.sheets if body.get("allSheets") else [ctx.sheet(body.get("sheetId", 0))]
    changed = 0
    for sh in sheets:
        for k, cell in list(sh.cells.items()):
            if isinstance(cell.value, str) and find and find in cell.value:
                new = cell.copy()
                new.value = cell.value.replace(find, repl)
                sh.cells[k] = new
                changed += 1
    return {"valuesChanged": changed, "occurrencesChanged": changed, "rowsChanged": changed, "sheetsChanged": len(sheets) if changed else 0}


# ------------------------------------------------------------ filters, ranges, charts

@handler("setBasicFilter")
def set_basic_filter(ctx: Ctx, body):
    f = copy.deepcopy(body.get("filter") or {})
    sh, r1, c1, r2, c2 = ctx.grid(f.get("range"))
    f["range"] = {"sheetId": sh.id, "startRowIndex": r1, "endRowIndex": r2, "startColumnIndex": c1, "endColumnIndex": c2}
    if sh.id == 0:
        f["range"].pop("sheetId")
    sh.basic_filter = f
    return None


@handler("clearBasicFilter")
def clear_basic_filter(ctx: Ctx, body):
    ctx.sheet(body.get("sheetId", 0)).basic_filter = None
    return None


def _norm_range(sh: Sheet, r1, c1, r2, c2) -> dict:
    d = {"sheetId": sh.id, "startRowIndex": r1, "endRowIndex": r2, "startColumnIndex": c1, "endColumnIndex": c2}
    if sh.id == 0:
        d.pop("sheetId")
    return d


@handler("addNamedRange")
def add_named_range(ctx: Ctx, body):
    nr = copy.deepcopy(body.get("namedRange") or {})
    name = nr.get("name", "")
    _check_range_name(ctx, name, None)
    sh, *b = ctx.grid(nr.get("range"))
    nr["range"] = _norm_range(sh, *b)
    nr.setdefault("namedRangeId", str(ctx.backend.rng.randint(10**8, 2**31 - 1)))
    ctx.ss.named_ranges.append(nr)
    return {"namedRange": copy.deepcopy(nr)}


_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,249}")
_CELL_LIKE = re.compile(r"[A-Za-z]{1,3}\d+|[Rr]\d*([Cc]\d*)?|[Cc]\d*")


def _check_range_name(ctx: Ctx, name: str, keep_id):
    """Google's naming rule for named ranges (see the fakesheets README), and
    names are unique regardless of case."""
    if not name:
        raise ctx.err("Named range name must be set.")
    if not _NAME.fullmatch(name) or _CELL_LIKE.fullmatch(name) or name.lower() in ("true", "false"):
        raise ctx.err(f"Invalid name: {name}. A named range name may contain only letters, numbers and underscores, may not start with a number, may not be TRUE or FALSE and may not look like a cell reference (A1 or R1C1).")
    if any(n["name"].lower() == name.lower() and n.get("namedRangeId") != keep_id for n in ctx.ss.named_ranges):
        raise ctx.err(f"Named range with name {name} already exists.")


def _rand_id(ctx) -> str:
    import string as _s

    return "".join(ctx.backend.rng.choice(_s.ascii_lowercase + _s.digits) for _ in range(12))


@handler("deleteNamedRange")
def delete_named_range(ctx: Ctx, body):
    nid = body.get("namedRangeId")
    before = len(ctx.ss.named_ranges)
    ctx.ss.named_ranges = [n for n in ctx.ss.named_ranges if n.get("namedRangeId") != nid]
    if len(ctx.ss.named_ranges) == before:
        raise ctx.err(f"No namedRange with id: {nid}")
    return None


@handler("updateNamedRange")
def update_named_range(ctx: Ctx, body):
    src = body.get("namedRange") or {}
    for nr in ctx.ss.named_ranges:
        if nr.get("namedRangeId") == src.get("namedRangeId"):
            for path in mask_paths(body.get("fields") or "*"):
                if path == ["*"]:
                    nr.update({k: copy.deepcopy(v) for k, v in src.items()})
                else:
                    _set_path(nr, path, src)
            _check_range_name(ctx, nr.get("name", ""), nr.get("namedRangeId"))
            sh, *b = ctx.grid(nr.get("range") or {})
            nr["range"] = _norm_range(sh, *b)
            return None
    raise ctx.err(f"No namedRange with id: {src.get('namedRangeId')}")


@handler("addProtectedRange")
def add_protected_range(ctx: Ctx, body):
    pr = copy.deepcopy(body.get("protectedRange") or {})
    sh, *b = ctx.grid(pr.get("range"))
    pr["range"] = _norm_range(sh, *b)
    pr["protectedRangeId"] = pr.get("protectedRangeId") or ctx.ss.next_protected_id
    ctx.ss.next_protected_id += 1
    if not pr.get("warningOnly"):
        pr.pop("warningOnly", None)
    pr["requestingUserCanEdit"] = True  # the requester always keeps edit rights
    pr["editors"] = _proto_clean(pr.get("editors") or {})
    reply = copy.deepcopy(pr)
    # Google adds the requesting user to the editors it stores, not to the reply.
    users = pr["editors"].setdefault("users", [])
    if ctx.user and ctx.user not in users:
        users.insert(0, ctx.user)
    if not users:
        pr["editors"].pop("users")
    sh.protected.append(pr)
    return {"protectedRange": reply}


@handler("deleteProtectedRange")
def delete_protected_range(ctx: Ctx, body):
    pid = body.get("protectedRangeId")
    for sh in ctx.ss.sheets:
        for pr in sh.protected:
            if pr["protectedRangeId"] == pid:
                sh.protected.remove(pr)
                return None
    raise ctx.err(f"No protected range with id: {pid}")


@handler("addChart")
def add_chart(ctx: Ctx, body):
    chart = copy.deepcopy(body.get("chart") or {})
    if not chart.get("spec"):
        raise ctx.err("Chart spec must be set.")
    pos = chart.get("position") or {}
    sheet_id = pos.get("sheetId")
    if sheet_id is None:
        sheet_id = ((pos.get("overlayPosition") or {}).get("anchorCell") or {}).get("sheetId", 0)
    if pos.get("newSheet"):
        rep = add_sheet(Ctx(ctx.backend, ctx.ss, ctx.index, "addChart", ctx.counters), {"properties": {"title": f"Chart{len(ctx.ss.sheets) + 1}"}})
        sheet_id = rep["properties"]["sheetId"]
        chart["position"] = {"sheetId": sheet_id}
    sh = ctx.sheet(sheet_id)
    chart["chartId"] = chart.get("chartId") or ctx.backend.rng.randint(1, 2**31 - 1)
    sh.charts.append(chart)
    return {"chart": copy.deepcopy(chart)}


@handler("deleteEmbeddedObject")
def delete_embedded_object(ctx: Ctx, body):
    oid = body.get("objectId")
    for sh in ctx.ss.sheets:
        for ch in sh.charts:
            if ch["chartId"] == oid:
                sh.charts.remove(ch)
                return None
    raise ctx.err(f"No embedded object with id: {oid}")


@handler("addConditionalFormatRule")
def add_conditional_format_rule(ctx: Ctx, body):
    rule = copy.deepcopy(body.get("rule") or {})
    ranges = rule.get("ranges") or []
    if not ranges:
        raise ctx.err("A conditional format rule must have at least one range.")
    sh = None
    for gr in ranges:
        sh, *_ = ctx.grid(gr)
    idx = max(0, min(body.get("index", 0), len(sh.conditional_formats)))
    sh.conditional_formats.insert(idx, rule)
    return None


@handler("deleteConditionalFormatRule")
def delete_conditional_format_rule(ctx: Ctx, body):
    sh = ctx.sheet(body.get("sheetId", 0))
    idx = body.get("index", 0)
    if not 0 <= idx < len(sh.conditional_formats):
        raise ctx.err(f"No conditional format on sheet {sh.id} at index {idx}")
    return {"rule": sh.conditional_formats.pop(idx)}


from . import paste  # noqa: E402,F401  (registers copyPaste, cutPaste, autoResizeDimensions)
