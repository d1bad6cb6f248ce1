"""A1 notation helpers (pure)."""

from __future__ import annotations


def col_letter(col: int) -> str:
    """1 → A, 27 → AA."""
    if col < 1:
        raise ValueError(f"column {col} < 1")
    out = ""
    while col:
        col, rem = divmod(col - 1, 26)
        out = chr(65 + rem) + out
    return out


def quote_title(title: str) -> str:
    """Quote a tab title for an A1 range as Sheets does ('It''s' doubles the quote)."""
    return "'" + title.replace("'", "''") + "'"


def cell_name(tab: str, row: int, col: int) -> str:
    """`Khách hàng!E12` — how users see a cell (unquoted, as in messages)."""
    return f"{tab}!{col_letter(col)}{row}"
