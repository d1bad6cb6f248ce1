"""Serialising a spreadsheet as ``spreadsheets.get`` returns it, including grid data
(``CellData``) and partial responses (the ``fields`` mask)."""
from __future__ import annotations

import copy
from typing import Any

from .models import DEFAULT_FORMAT, Sheet, SheetsBackend, Spreadsheet
from .values import ErrorValue, formatted, json_number

# ------------------------------------------------------------ field masks

def parse_fields(text: str) -> dict:
    """``a.b,c(d,e/f)`` -> nested dict; an empty dict means "everything below"."""
    text = text.replace("/", ".").replace(" ", "")
    pos = 0

    def parse_list(end_char):
        nonlocal pos
        tree: dict = {}
        while pos < len(text):
            if text[pos] == end_char:
                pos += 1
                return tree
            if text[pos] == ",":
                pos += 1
                continue
            path = []
            name = ""
            while pos < len(text) and text[pos] not in ",()":
                if text[pos] == ".":
                    path.append(name)
                    name = ""
                else:
                    name += text[pos]
                pos += 1
            path.append(name)
            sub: dict = {}
            if pos < len(text) and text[pos] == "(":
                pos += 1
                sub = parse_list(")")
            node = tree
            for p in path[:-1]:
                node = node.setdefault(p, {})
                if node is None:
                    break
            if node is not None:
                leaf = path[-1]
                if leaf in node and node[leaf] == {} and not sub:
                    pass
                elif leaf in node and sub:
                    node[leaf].update(sub)
                else:
                    node[leaf] = sub if sub else ({} if leaf not in node else node[leaf])
        return tree

    return parse_list(None)


def mask_paths(text: str) -> list[list[str]]:
    """Flatten a mask into paths (for updateCells/repeatCell ``fields``)."""
    out: list[list[str]] = []

    def walk(tree, prefix):
        for k, v in tree.items():
            if v:
                walk(v, prefix + [k])
            else:
                out.append(prefix + [k])

    walk(parse_fields(text), [])
    return out


def apply_mask(obj: Any, tree: dict) -> Any:
    if not tree or "*" in tree:
        return obj
    if isinstance(obj, list):
        return [apply_mask(o, tree) for o in obj]
    if isinstance(obj, dict):
        return {k: apply_mask(v, tree[k]) for k, v in obj.items() if k in tree}
    return obj


def mask_wants(tree: dict | None, *path: str) -> bool:
    if tree is None:
        return False
    node = tree
    for p in path:
        if not node or "*" in node:
            return True
        if p not in node:
            return False
        node = node[p]
    return True


# ------------------------------------------------------------ cells

def _typed(v) -> dict:
    if isinstance(v, ErrorValue):
        return {"errorValue": v.to_json()}
    if isinstance(v, bool):
        return {"boolValue": v}
    if isinstance(v, float):
        return {"numberValue": json_number(v)}
    return {"stringValue": v}


def _merge(base: dict, over: dict) -> dict:
    out = copy.deepcopy(base)
    for k, v in over.items():
        if isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = _merge(out[k], v)
        else:
            out[k] = copy.deepcopy(v)
    return out


def cell_data(backend: SheetsBackend, sheet: Sheet, r: int, c: int, cache: dict) -> dict:
    cell = sheet.cells.get((r, c))
    if cell is None:
        return {}
    d: dict[str, Any] = {}
    if cell.formula is not None:
        d["userEnteredValue"] = {"formulaValue": cell.formula}
    elif cell.value is not None and cell.value != "":
        d["userEnteredValue"] = _typed(cell.value)
    eff = backend.effective(sheet, r, c, cache)
    if eff is not None and eff != "" or cell.formula is not None:
        if eff is not None:
            d["effectiveValue"] = _typed(eff)
        d["formattedValue"] = formatted(cell, eff)
    uef = dict(cell.format or {})
    if cell.number_format:
        uef["numberFormat"] = cell.number_format
    if uef:
        d["userEnteredFormat"] = uef
    if d.get("userEnteredValue") or uef:
        d["effectiveFormat"] = _merge(DEFAULT_FORMAT, uef)
        d["effectiveFormat"].setdefault("horizontalAlignment", "RIGHT" if isinstance(eff, float) else "LEFT")
        d["effectiveFormat"]["hyperlinkDisplayType"] = "PLAIN_TEXT"
    if cell.note:
        d["note"] = cell.note
    if cell.validation:
        d["dataValidation"] = cell.validation
    return d


def grid_data(backend, sheet: Sheet, r1, c1, r2, c2, mask: dict | None) -> dict:
    cache: dict = {}
    rows_sub = None
    if mask is not None:
        rows_sub = mask.get("sheets", {}).get("data", {})
        rows_sub = rows_sub.get("rowData", {}) if rows_sub else {}
        rows_sub = rows_sub.get("values", {}) if rows_sub else {}
    by_row: dict[int, list[int]] = {}
    for (r, c) in sheet.cells:
        if r1 <= r < r2 and c1 <= c < c2:
            by_row.setdefault(r, []).append(c)
    row_data = []
    last_row = -1
    for r in range(r1, (max(by_row) + 1) if by_row else r1):
        values = []
        cols = sorted(by_row.get(r, []))
        if cols:
            for c in range(c1, cols[-1] + 1):
                cd = cell_data(backend, sheet, r, c, cache)
                if rows_sub:
                    cd = apply_mask(cd, rows_sub)
                values.append(cd)
            while values and not values[-1]:
                values.pop()
        row_data.append({"values": values} if values else {})
        if values:
            last_row = len(row_data)
    row_data = row_data[: max(last_row, 0)]
    gd: dict[str, Any] = {}
    if r1:
        gd["startRow"] = r1
    if c1:
        gd["startColumn"] = c1
    if row_data:
        gd["rowData"] = row_data
    gd["rowMetadata"] = [dict({"pixelSize": 21}, **sheet.row_meta.get(r, {})) for r in range(r1, r2)]
    gd["columnMetadata"] = [dict({"pixelSize": 100}, **sheet.col_meta.get(c, {})) for c in range(c1, c2)]
    return gd


def sheet_json(sheet: Sheet) -> dict:
    d: dict[str, Any] = {"properties": copy.deepcopy(sheet.props)}
    if sheet.merges:
        d["merges"] = copy.deepcopy(sheet.merges)
    if sheet.conditional_formats:
        d["conditionalFormats"] = copy.deepcopy(sheet.conditional_formats)
    if sheet.protected:
        d["protectedRanges"] = copy.deepcopy(sheet.protected)
    if sheet.basic_filter:
        d["basicFilter"] = copy.deepcopy(sheet.basic_filter)
    if sheet.charts:
        d["charts"] = copy.deepcopy(sheet.charts)
    if sheet.row_groups:
        d["rowGroups"] = copy.deepcopy(sheet.row_groups)
    if sheet.col_groups:
        d["columnGroups"] = copy.deepcopy(sheet.col_groups)
    return d


def spreadsheet_json(backend: SheetsBackend, ss: Spreadsheet, ranges=(), include_grid=False, fields: str | None = None) -> dict:
    mask = parse_fields(fields) if fields else None
    want_data = mask_wants(mask, "sheets", "data") if mask is not None else include_grid
    sheets_out = []
    if ranges:
        per_sheet: dict[int, list] = {}
        order = []
        for text in ranges:
            sheet, r1, c1, r2, c2 = backend.resolve(ss, text)
            if sheet.id not in per_sheet:
                order.append(sheet)
                per_sheet[sheet.id] = []
            per_sheet[sheet.id].append((r1, c1, r2, c2))
        for sheet in order:
            sj = sheet_json(sheet)
            if want_data:
                sj["data"] = [grid_data(backend, sheet, *b, mask) for b in per_sheet[sheet.id]]
            sheets_out.append(sj)
    else:
        for sheet in ss.sheets:
            sj = sheet_json(sheet)
            if want_data:
                sj["data"] = [grid_data(backend, sheet, 0, 0, sheet.rows, sheet.cols, mask)]
            sheets_out.append(sj)
    body: dict[str, Any] = {
        "spreadsheetId": ss.id,
        "properties": copy.deepcopy(ss.props),
        "sheets": sheets_out,
    }
    if ss.named_ranges:
        body["namedRanges"] = copy.deepcopy(ss.named_ranges)
    body["spreadsheetUrl"] = f"https://docs.google.com/spreadsheets/d/{ss.id}/edit"
    if mask is not None:
        body = apply_mask(body, mask)
    return body
