"""batchUpdate kinds that move cells: ``copyPaste``, ``cutPaste`` and
``autoResizeDimensions`` (a documented width estimate; see README.md)."""
from __future__ import annotations

import math
import re

from . import a1
from .batch import Ctx, _norm_range, handler
from .models import Sheet
from .values import Cell, ErrorValue, formatted

# What each paste type takes from a source cell (the discovery document's enum
# descriptions): value = value or formula, fmt = format and number format.
PARTS = {
    "PASTE_NORMAL": {"value", "fmt", "note", "validation"},
    "PASTE_NO_BORDERS": {"value", "fmt", "note", "validation"},
    "PASTE_VALUES": {"value"},
    "PASTE_FORMAT": {"fmt"},
    "PASTE_FORMULA": {"value"},
    "PASTE_DATA_VALIDATION": {"validation"},
    "PASTE_CONDITIONAL_FORMATTING": set(),  # rules are per sheet in the fake, not per cell
}
WITH_MERGES = ("PASTE_NORMAL", "PASTE_NO_BORDERS")
_REF = re.compile(r'"[^"]*"|(?<![A-Za-z0-9_.$])(\$?)([A-Za-z]{1,3})(\$?)(\d+)(?![A-Za-z0-9_(])')


def shift_formula(formula: str, dr: int, dc: int, box: tuple | None = None) -> str:
    """Move the relative references of a pasted formula (``$`` pins a part); with
    ``box`` (a cut), move every reference into that block instead."""

    def move(m):
        if m.group(2) is None:
            return m.group(0)  # a string literal
        col, row = a1.letters_to_col(m.group(2)), int(m.group(4)) - 1
        if box is not None:
            if not (box[0] <= row < box[2] and box[1] <= col < box[3]):
                return m.group(0)
            col, row = col + dc, row + dr
        else:
            col += 0 if m.group(1) else dc
            row += 0 if m.group(3) else dr
        if col < 0 or row < 0:
            return "#REF!"
        return f"{m.group(1)}{a1.col_to_letters(col)}{m.group(3)}{row + 1}"

    return _REF.sub(move, formula)


def _take(src: Cell | None, old: Cell | None, parts: set, kind: str, value, dr: int, dc: int) -> Cell | None:
    """The destination cell after pasting ``src`` over ``old``."""
    cell = old.copy() if old else Cell()
    src = src or Cell()
    if "value" in parts:
        if kind == "PASTE_VALUES":
            cell.value, cell.formula = (None if value == "" else value), None
        else:
            cell.value = src.value
            cell.formula = shift_formula(src.formula, dr, dc) if src.formula else None
    if "fmt" in parts:
        fmt = dict(src.format or {})
        if kind == "PASTE_NO_BORDERS":
            fmt.pop("borders", None)
            if old and old.format and "borders" in old.format:
                fmt["borders"] = old.format["borders"]
        cell.format, cell.number_format = fmt or None, src.number_format
    if "note" in parts:
        cell.note = src.note
    if "validation" in parts:
        cell.validation = src.validation
    return None if cell.is_empty() else cell


def _read_block(ctx: Ctx, sh: Sheet, r1, c1, r2, c2) -> dict:
    cache: dict = {}
    return {(r - r1, c - c1): (sh.cells.get((r, c)), ctx.backend.effective(sh, r, c, cache)) for r in range(r1, r2) for c in range(c1, c2)}


def _paste(ctx: Ctx, dst: Sheet, block: dict, src_at: tuple, at: tuple, size: tuple, kind: str, shift=True, transpose=False):
    """Write ``block`` (offset -> (cell, effective value)) with its top-left at ``at``."""
    h, w = size
    if at[0] + h > dst.rows or at[1] + w > dst.cols:
        raise ctx.err(f"Range ('{dst.title}'!{a1.col_to_letters(at[1])}{at[0] + 1}:{a1.col_to_letters(at[1] + w - 1)}{at[0] + h}) exceeds grid limits. Max rows: {dst.rows}, max columns: {dst.cols}")
    parts = PARTS[kind]
    for (i, j), (src, value) in block.items():
        di, dj = (j, i) if transpose else (i, j)
        key = (at[0] + di, at[1] + dj)
        dr, dc = (key[0] - src_at[0] - i, key[1] - src_at[1] - j) if shift else (0, 0)
        new = _take(src, dst.cells.get(key), parts, kind, _plain(value), dr, dc)
        if new is None:
            dst.cells.pop(key, None)
        else:
            dst.cells[key] = new


def _plain(v):
    return v.text if isinstance(v, ErrorValue) else v


def _copy_merges(src: Sheet, dst: Sheet, box: tuple, at: tuple):
    r1, c1, r2, c2 = box
    for m in list(src.merges):
        if r1 <= m["startRowIndex"] and m["endRowIndex"] <= r2 and c1 <= m["startColumnIndex"] and m["endColumnIndex"] <= c2:
            dr, dc = at[0] - r1, at[1] - c1
            new = _norm_range(dst, m["startRowIndex"] + dr, m["startColumnIndex"] + dc, m["endRowIndex"] + dr, m["endColumnIndex"] + dc)
            if new not in dst.merges:
                dst.merges.append(new)


def _repeats(dest: int, src: int) -> int:
    """A destination a multiple of the source's size is filled by repeating it;
    otherwise the source is pasted once (the discovery document's wording)."""
    return dest // src if src and dest >= src and dest % src == 0 else 1


@handler("copyPaste")
def copy_paste(ctx: Ctx, body):
    src, r1, c1, r2, c2 = ctx.grid(body.get("source"))
    dst, d1, e1, d2, e2 = ctx.grid(body.get("destination"))
    kind = body.get("pasteType") or "PASTE_NORMAL"
    transpose = body.get("pasteOrientation") == "TRANSPOSE"
    h, w = (c2 - c1, r2 - r1) if transpose else (r2 - r1, c2 - c1)
    if h == 0 or w == 0:
        return None
    block = _read_block(ctx, src, r1, c1, r2, c2)
    for ti in range(_repeats(d2 - d1, h)):
        for tj in range(_repeats(e2 - e1, w)):
            at = (d1 + ti * h, e1 + tj * w)
            _paste(ctx, dst, block, (r1, c1), at, (h, w), kind, transpose=transpose)
            if kind in WITH_MERGES and not transpose:
                _copy_merges(src, dst, (r1, c1, r2, c2), at)
    return None


def _follow_cut(sh: Sheet, box: tuple, dr: int, dc: int):
    """Formulas on the sheet that point into a cut block point to where it went."""
    for key, cell in list(sh.cells.items()):
        if cell.formula:
            moved = shift_formula(cell.formula, dr, dc, box)
            if moved != cell.formula:
                new = cell.copy()
                new.formula = moved
                sh.cells[key] = new


@handler("cutPaste")
def cut_paste(ctx: Ctx, body):
    """The source is emptied whatever is pasted; references into the block, on its
    sheet, follow it (references from other sheets are not rewritten)."""
    src, r1, c1, r2, c2 = ctx.grid(body.get("source"))
    coord = body.get("destination") or {}
    dst = ctx.sheet(coord.get("sheetId", 0))
    at = (coord.get("rowIndex", 0), coord.get("columnIndex", 0))
    kind = body.get("pasteType") or "PASTE_NORMAL"
    block = _read_block(ctx, src, r1, c1, r2, c2)
    moved = [m for m in src.merges if r1 <= m["startRowIndex"] and m["endRowIndex"] <= r2 and c1 <= m["startColumnIndex"] and m["endColumnIndex"] <= c2]
    for key in [k for k in src.cells if r1 <= k[0] < r2 and c1 <= k[1] < c2]:
        del src.cells[key]
    src.merges = [m for m in src.merges if m not in moved]
    if r2 > r1 and c2 > c1:
        _paste(ctx, dst, block, (r1, c1), at, (r2 - r1, c2 - c1), kind, shift=False)
        if dst is src and "value" in PARTS[kind]:
            _follow_cut(src, (r1, c1, r2, c2), at[0] - r1, at[1] - c1)
    if kind in WITH_MERGES:
        holder = Sheet(src.id, src.title, 0, src.rows, src.cols)
        holder.merges = moved
        _copy_merges(holder, dst, (r1, c1, r2, c2), at)
    return None


# autoResizeDimensions: no renderer, so a width estimate from the formatted text.
CHAR_PX, PAD_PX = 7, 10  # per character at 10 pt, and the cell's padding
LINE_PX, ROW_PAD_PX = 17, 4  # per line of text at 10 pt, and the row's padding
DEFAULT_COL_PX, DEFAULT_ROW_PX = 100, 21


def _text_size(sh: Sheet, r: int, c: int, cache: dict, ctx: Ctx) -> tuple[int, int]:
    """(width, height) in pixels of what the cell shows."""
    cell = sh.cells.get((r, c))
    if cell is None or not cell.has_value():
        return 0, 0
    text = formatted(cell, ctx.backend.effective(sh, r, c, cache))
    size = (((cell.format or {}).get("textFormat") or {}).get("fontSize") or 10) / 10
    lines = text.split("\n")
    width = math.ceil(max(len(x) for x in lines) * CHAR_PX * size) + PAD_PX
    return width, math.ceil(len(lines) * LINE_PX * size) + ROW_PAD_PX


@handler("autoResizeDimensions")
def auto_resize_dimensions(ctx: Ctx, body):
    """Columns get the width of their widest text (7 px a character at 10 pt plus
    10 px), rows the height of their tallest (17 px a line plus 4); a column or
    row with no text gets the default 100 px / 21 px."""
    if body.get("dataSourceSheetDimensions"):
        raise ctx.err(f"No grid with id: {(body['dataSourceSheetDimensions']).get('sheetId', 0)}")
    dims = body.get("dimensions") or {}
    from .batch import _dim_range

    sh, dim, s, e, size = _dim_range(ctx, dims)
    if s < 0 or e > size or s > e:
        raise ctx.err(f"Invalid range: startIndex {s}, endIndex {e}")
    cache: dict = {}
    rows = dim == "ROWS"
    best = dict.fromkeys(range(s, e), 0)
    for (r, c) in list(sh.cells):
        i = r if rows else c
        if i in best:
            best[i] = max(best[i], _text_size(sh, r, c, cache, ctx)[1 if rows else 0])
    meta = sh.row_meta if rows else sh.col_meta
    for i, px in best.items():
        meta.setdefault(i, {})["pixelSize"] = px or (DEFAULT_ROW_PX if rows else DEFAULT_COL_PX)
    return None
