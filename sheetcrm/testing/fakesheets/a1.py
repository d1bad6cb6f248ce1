"""A1 notation: parsing ranges the way the Sheets API accepts them and printing them
the way it answers (``Sheet1!A1:C2``, ``'My tab'!A1``)."""
from __future__ import annotations

import re
from dataclasses import dataclass

_CELL = re.compile(r"^([A-Za-z]*)(\d*)$")
_PLAIN_TITLE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_LOOKS_LIKE_CELL = re.compile(r"^[A-Za-z]{1,3}\d+$|^R\d*C\d*$", re.I)


def col_to_letters(col: int) -> str:
    """0-based column index -> letters (0 -> A, 26 -> AA)."""
    s = ""
    col += 1
    while col:
        col, rem = divmod(col - 1, 26)
        s = chr(65 + rem) + s
    return s


def letters_to_col(letters: str) -> int:
    n = 0
    for ch in letters.upper():
        n = n * 26 + (ord(ch) - 64)
    return n - 1


def quote_title(title: str) -> str:
    """Quote a sheet title as Google does in the ranges it returns."""
    if _PLAIN_TITLE.match(title) and not _LOOKS_LIKE_CELL.match(title):
        return title
    return "'" + title.replace("'", "''") + "'"


@dataclass
class A1Range:
    """A parsed range; row/col bounds are 0-based, end-exclusive; None = open."""

    title: str | None
    r1: int | None
    c1: int | None
    r2: int | None
    c2: int | None


class A1Error(ValueError):
    pass


def split_title(text: str) -> tuple[str | None, str]:
    text = text.strip()
    if text.startswith("'"):
        i = 1
        out = []
        while i < len(text):
            ch = text[i]
            if ch == "'":
                if i + 1 < len(text) and text[i + 1] == "'":
                    out.append("'")
                    i += 2
                    continue
                rest = text[i + 1 :]
                if rest == "":
                    return "".join(out), ""
                if rest.startswith("!"):
                    return "".join(out), rest[1:]
                raise A1Error(text)
            out.append(ch)
            i += 1
        raise A1Error(text)
    if "!" in text:
        t, rest = text.rsplit("!", 1)
        return t, rest
    return None, text


def _cell(part: str):
    m = _CELL.match(part.strip())
    if not m or (not m.group(1) and not m.group(2)):
        raise A1Error(part)
    col = letters_to_col(m.group(1)) if m.group(1) else None
    row = int(m.group(2)) - 1 if m.group(2) else None
    if row is not None and row < 0:
        raise A1Error(part)
    return row, col


def parse(text: str, sheet_titles=()) -> A1Range:
    """Parse ``text``. A bare word that is a sheet title means the whole sheet."""
    title, rest = split_title(text)
    if title is None:
        if text.strip() in sheet_titles:
            return A1Range(text.strip(), None, None, None, None)
        if rest == "":
            raise A1Error(text)
    if rest == "":
        return A1Range(title, None, None, None, None)
    if ":" in rest:
        a, b = rest.split(":", 1)
        ra, ca = _cell(a)
        rb, cb = _cell(b)
        # Reversed corners are normalised, as Google does (D4:A1 == A1:D4).
        if ra is not None and rb is not None and ra > rb:
            ra, rb = rb, ra
        if ca is not None and cb is not None and ca > cb:
            ca, cb = cb, ca
        r1 = ra if ra is not None else (None if rb is None else 0)
        c1 = ca if ca is not None else 0
        r2 = rb + 1 if rb is not None else None
        c2 = cb + 1 if cb is not None else None
        if ra is None and rb is None:  # "A:C"
            r1 = 0
        if ca is None and cb is None:  # "1:3"
            c1, c2 = 0, None
        if r1 is None:
            r1 = 0
        return A1Range(title, r1, c1, r2, c2)
    r, c = _cell(rest)
    if r is None or c is None:
        # "A" alone is a column, "3" alone a row
        return A1Range(title, r or 0, c or 0, None if r is None else r + 1, None if c is None else c + 1)
    return A1Range(title, r, c, r + 1, c + 1)


def fmt(title: str, r1: int, c1: int, r2: int, c2: int) -> str:
    """Print ``title!A1:B2`` (0-based, end-exclusive bounds); a single cell prints alone."""
    a = f"{col_to_letters(c1)}{r1 + 1}"
    if r2 - r1 == 1 and c2 - c1 == 1:
        return f"{quote_title(title)}!{a}"
    return f"{quote_title(title)}!{a}:{col_to_letters(c2 - 1)}{r2}"
