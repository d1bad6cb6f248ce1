"""Key normalisers for validation and deduplication (pure, vectorised).

Every function takes a Series of raw cell values as a sheet gives them (str, int/float,
None/NaN) and normalises each *distinct* value once, so a 600k-row column costs as many
Python calls as it has distinct values. Phone and email results are also kept in a
bounded module-level memo keyed by (kind, region, type, value): validation and
deduplication normalise the same columns, and the second pass is then a dict lookup.

Phones:
- `normalize_phone(s)` -> E.164 str, or None when empty *or* not a valid number.
- `phone_status(s)` -> "empty" / "valid" / "invalid", for validation messages, since
  `normalize_phone` alone cannot tell a blank cell from a broken number.
- `phone_is_valid(s)` -> bool (True only for "valid").
Emails: `normalize_email(s)` -> trimmed lower-case address or None; `email_status(s)`
likewise. Names/companies: `normalize_name(s)`, `normalize_company(s, legal_forms)` -> str
('' when empty).
"""

from __future__ import annotations

import functools
import math
import re
import unicodedata
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np
import pandas as pd
import phonenumbers

from sheetcrm.text import fold, map_distinct_many

# Quyết định 798/QĐ-BTTTT (2018): 11-digit mobile prefixes moved to 10 digits.
OLD_MOBILE_PREFIXES: dict[str, str] = {
    **{f"016{d}": f"03{d}" for d in "23456789"},  # Viettel 0162-0169 -> 032-039
    "0120": "070", "0121": "079", "0122": "077", "0126": "076", "0128": "078",  # MobiFone
    "0123": "083", "0124": "084", "0125": "085", "0127": "081", "0129": "082",  # VinaPhone
    "0186": "056", "0188": "058",  # Vietnamobile
    "0199": "059",  # Gmobile
}

_PHONE_PUNCT = re.compile(r"[\s.\-()/\u00a0\u2010-\u2015]")
# The same characters for ASCII text, as a str.translate deletion table (C speed).
_ASCII_PUNCT = str.maketrans("", "", " \t\n\r\f\v.-()/")
_ASCII_PUNCT_LINES = str.maketrans("", "", " \t\r\f\v.-()/")  # keeps newlines
_EMAIL_BODY = (r"[a-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[a-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
               r"@(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,24}")
_EMAIL = re.compile(rf"^{_EMAIL_BODY}$")
# A line of text joined by newlines that is a whole address, at most 254 characters.
_EMAIL_LINE = re.compile(rf"\n(?=[^\n]{{1,254}}\n){_EMAIL_BODY}(?=\n)")


# Bounded memo of raw value -> (result, status), one table per (kind, region); cleared
# when full (cheap, and a sync run's values fit well inside it). Text keys are stored as
# they are, other values as (type, value): 1, 1.0 and True hash alike but parse apart.
# A pass's results wait in `_PENDING` (values, results, statuses) and enter the table
# only when a later pass of the same kind comes: a single pass builds no table.
_MEMO: dict[tuple[str, str], dict[object, tuple[str | None, str]]] = {}
_PENDING: dict[tuple[str, str], list[tuple[list, list, list]]] = {}
_MEMO_MAX = 1 << 21


def clear_memo() -> None:
    _MEMO.clear()
    _PENDING.clear()


def _memo_keys(values: list) -> list:
    return [u if type(u) is str else (type(u), u) for u in values]


def _memo_size() -> int:
    return (sum(map(len, _MEMO.values()))
            + sum(len(v) for blocks in _PENDING.values() for v, _, _ in blocks))


def _is_missing(v: object) -> bool:
    if v is None or v is pd.NA or v is pd.NaT:
        return True
    return isinstance(v, float) and math.isnan(v)


def _joined(texts: list[str]) -> str | None:
    """The texts joined by newlines, for one regex or translate pass over all of them;
    None when a text holds a newline itself (then lines would not match values)."""
    big = "\n".join(texts)
    return big if big.count("\n") == len(texts) - 1 else None


def _ascii_lines(texts: list[str | None]) -> tuple[np.ndarray, str]:
    """Which texts a batch pass takes (ASCII, no newline; None is skipped) and those
    texts joined by newlines: one line per taken text, in order."""
    if None not in texts:
        take: list[int] | range = range(len(texts))
        big = _joined(texts)
    else:
        take = [k for k, t in enumerate(texts) if t is not None]
        big = _joined([texts[k] for k in take])
    if big is None or not big.isascii():
        take = [k for k in take if texts[k].isascii() and "\n" not in texts[k]]
        big = "\n".join([texts[k] for k in take])
    return np.asarray(take, dtype=np.int64), big


def _map_memo(values: pd.Series, kind: str, region: str,
              parse: Callable[[object], tuple[str | None, str]], pick: int, empty: object) -> pd.Series:
    """`parse(v)[pick]` per cell, each distinct value parsed once, through the shared memo."""
    return _map_memo_picks(values, kind, region, parse, ((pick, empty),))[0]


def _map_memo_picks(values: pd.Series, kind: str, region: str,
                    parse: Callable[[object], tuple[str | None, str]],
                    picks: tuple[tuple[int, object], ...]) -> list[pd.Series]:
    """`parse(v)[pick]` per cell for each (pick, value for a missing cell) of `picks`, from
    one pass: each distinct value parsed once, through the shared memo."""
    s = values if isinstance(values, pd.Series) else pd.Series(values)
    codes, uniques = pd.factorize(s.astype(object), use_na_sentinel=True)
    uniques = uniques.tolist()  # element access on an Index is slow
    memo = _MEMO.setdefault((kind, region), {})
    # Earlier passes enter the table when this pass is not much smaller than them: filling
    # it with a 600k-lead column to look up a log tab's few values costs more than parsing.
    pending = _PENDING.get((kind, region), [])
    if sum(len(done) for done, _, _ in pending) <= 2 * len(uniques):
        for done, results, statuses in _PENDING.pop((kind, region), []):
            memo.update(zip(_memo_keys(done), zip(results, statuses)))
    if memo and len(memo) >= len(uniques) // 8:  # a small table would find next to nothing
        keys = _memo_keys(uniques)
        found = [memo.get(k) for k in keys]
        todo = [n for n, r in enumerate(found) if r is None]
    else:
        found, todo = [], range(len(uniques))
    outs = []
    for _, empty in picks:
        out = np.empty(len(uniques) + 1, dtype=object)
        out[-1] = empty  # code -1 (missing) indexes the last slot
        outs.append(out)
    if len(todo):
        batch = _BATCH.get((kind, region))
        values_todo = [uniques[n] for n in todo] if len(todo) < len(uniques) else uniques
        if batch is not None and len(todo) > 64:
            results, statuses = batch(values_todo, parse)
        else:
            pairs = [parse(v) for v in values_todo]
            results, statuses = [r for r, _ in pairs], [st for _, st in pairs]
        if _memo_size() + len(todo) > _MEMO_MAX:
            clear_memo()
        if len(todo) <= _MEMO_MAX:
            _PENDING.setdefault((kind, region), []).append((values_todo, results, statuses))
        for out, (pick, _) in zip(outs, picks):
            picked = results if pick == 0 else statuses
            if len(todo) == len(uniques):
                out[:-1] = picked
            else:
                out[:-1] = [r[pick] if r is not None else None for r in found]
                out[np.array(todo)] = picked
    else:
        for out, (pick, _) in zip(outs, picks):
            out[:-1] = [r[pick] for r in found]
    return [pd.Series(out[codes], index=s.index, dtype=object) for out in outs]


def _line_heads(big: str, lines: int) -> np.ndarray:
    """The first character of each of the `lines` lines of `big` as a byte (Latin-1;
    any other character reads as '?'), 0 for an empty line: a mark put at line starts,
    read without a call per line."""
    if lines == 0:
        return np.zeros(0, dtype=np.uint8)
    a = np.frombuffer(big.encode("latin-1", "replace") + b"\n", dtype=np.uint8)
    starts = np.r_[0, np.flatnonzero(a == 10)[:-1] + 1]
    assert len(starts) == lines, "a joined value held a newline"
    heads = a[starts]
    heads[heads == 10] = 0
    return heads


# --- phones -----------------------------------------------------------------------


def _cell_text(v: object) -> str | None:
    """A cell as text; a number typed into a cell lost its leading 0, keep its digits."""
    if isinstance(v, bool):
        return None
    if isinstance(v, (int, np.integer)):
        return str(int(v))
    if isinstance(v, (float, np.floating)):
        return str(int(v)) if float(v).is_integer() else None
    # NFKC folds full-width digits (typed with some Asian IMEs) to ASCII.
    return unicodedata.normalize("NFKC", str(v)).strip().lstrip("'").strip()


@functools.cache
def _validator(region: str) -> Callable[[str], bool]:
    """`phonenumbers.is_valid_number` for a national significant number of `region`,
    compiled once from phonenumbers' own metadata (same lengths and patterns) so that the
    common case costs a couple of regex matches instead of a full parse."""
    md = phonenumbers.PhoneMetadata.metadata_for_region(region)

    def desc(d: Any) -> tuple[frozenset[int], re.Pattern[str]] | None:
        if d is None or d.national_number_pattern is None:
            return None
        return frozenset(d.possible_length or ()), re.compile(d.national_number_pattern)

    general = desc(md.general_desc)
    # Validity means "matches some type", so order is free: the common types first.
    types = [t for t in (desc(getattr(md, k)) for k in (
        "mobile", "fixed_line", "toll_free", "premium_rate", "shared_cost", "voip",
        "personal_number", "pager", "uan", "voicemail")) if t is not None]
    if general is None:
        return lambda nsn: False
    g_lengths, g_pattern = general
    n = len

    def valid(nsn: str) -> bool:
        if g_lengths and n(nsn) not in g_lengths or g_pattern.fullmatch(nsn) is None:
            return False
        for lengths, pattern in types:
            if (not lengths or n(nsn) in lengths) and pattern.fullmatch(nsn) is not None:
                return True
        return False

    return valid


def _convert_old_prefix(national: str) -> str:
    if len(national) == 11 and national[:4] in OLD_MOBILE_PREFIXES:
        return OLD_MOBILE_PREFIXES[national[:4]] + national[4:]
    return national


def _parse_phone(v: object, region: str) -> tuple[str | None, str]:
    """(E.164 or None, status) for one raw cell value."""
    if type(v) is str and v.isascii():
        # Fast path for the common cell: NFKC is a no-op on ASCII.
        text = v.strip().lstrip("'").strip()
        core = text.translate(_ASCII_PUNCT)
    else:
        if _is_missing(v):
            return None, "empty"
        text = _cell_text(v)
        if text is None:
            return None, "invalid"
        core = _PHONE_PUNCT.sub("", text)
    if not text:
        return None, "empty"
    plus = core.startswith("+")
    digits = core.lstrip("+")
    if not digits.isdigit():
        # Letters, extensions, several numbers in one cell: let phonenumbers judge.
        try:
            num = phonenumbers.parse(text, region)
        except phonenumbers.NumberParseException:
            return None, "invalid"
    else:
        if not plus and digits.startswith("00"):  # 0084..., 001...
            digits, plus = digits[2:], True
        if plus and digits.startswith("0"):
            return None, "invalid"  # no country code starts with 0
        if region == "VN" and not plus and digits.startswith("84") and len(digits) in (11, 12):
            plus = True  # 84912345678 / 841689123456: country code without '+'
        if plus and digits.startswith("84"):
            national = digits[2:]
            national = "0" + (national[1:] if national.startswith("0") else national)  # "+84 0..."
            text, parse_region = _convert_old_prefix(national), "VN"
            return _vn_fast(text)
        elif plus:
            text, parse_region = "+" + digits, region
        else:
            national = digits
            if region == "VN":
                if not national.startswith("0") and len(national) in (9, 10):
                    national = "0" + national  # typed as a number: leading 0 lost
                national = _convert_old_prefix(national)
                if national.startswith("0") and not national.startswith("00"):
                    return _vn_fast(national)
            text, parse_region = national, region
        try:
            num = phonenumbers.parse(text, parse_region)
        except phonenumbers.NumberParseException:
            return None, "invalid"
    if num.country_code == 84 and region != "VN":
        # The conversion is about Vietnamese numbers, whatever the sheet's region.
        nat = "0" + str(num.national_number)
        conv = _convert_old_prefix(nat)
        if conv != nat:
            num = phonenumbers.parse(conv, "VN")
    if not phonenumbers.is_valid_number(num):
        return None, "invalid"
    return phonenumbers.format_number(num, phonenumbers.PhoneNumberFormat.E164), "valid"


def _vn_fast(national: str) -> tuple[str | None, str]:
    """A Vietnamese number in national form (leading 0, digits only)."""
    nsn = national[1:]
    if _validator("VN")(nsn):
        return "+84" + nsn, "valid"
    return None, "invalid"


_MARK, _VALID = "\u00a7", "\u00b6"  # never in the ASCII text the batch path takes


def _lengths(lengths: Iterable[int]) -> str:
    """A regex for a digit string of one of `lengths`: runs of lengths as ranges."""
    runs: list[list[int]] = []
    for n in sorted(set(lengths)):
        if runs and n == runs[-1][1] + 1:
            runs[-1][1] = n
        else:
            runs.append([n, n])
    alts = [rf"\d{{{a}}}" if a == b else rf"\d{{{a},{b}}}" for a, b in runs]
    return alts[0] if len(alts) == 1 else "(?:" + "|".join(alts) + ")"


@functools.cache
def _vn_batch_patterns() -> tuple[re.Pattern[str], re.Pattern[str], re.Pattern[str]]:
    """Regexes over many cells joined by newlines (with a newline before the first and
    after the last) that do what `_parse_phone` does for the common Vietnamese shapes
    (0…, +84…, 84…, 0084…, a number that lost its 0): (1) the prefix of such a line ->
    MARK + "0" (a national number), (2) an old 11-digit prefix (group 1) to convert,
    (3) MARK + "0" before a valid national number -> VALID + "+84", by phonenumbers' own
    metadata as `_validator`. Patterns start with a literal, which `re` seeks fast, and
    (1) and (3) replace with plain strings (a function costs a Python call per line). A
    line left without a mark is parsed on its own."""
    shape = re.compile(
        r"\n(?:0(?=[1-9]\d*\n)|\++840?(?=[1-9]\d*\n)|00840?(?=[1-9]\d*\n)|"
        r"84(?=\d{9,10}\n)0?(?=[1-9]\d*\n)|(?=[1-9]\d{8,9}\n))")
    old = re.compile(re.escape(_MARK) + "(" + "|".join(OLD_MOBILE_PREFIXES) + r")(?=\d{7}\n)")
    md = phonenumbers.PhoneMetadata.metadata_for_region("VN")

    def one(d: Any) -> str | None:
        if d is None or d.national_number_pattern is None:
            return None
        length = rf"(?={_lengths(d.possible_length)}\n)" if d.possible_length else ""
        return length + rf"(?:{d.national_number_pattern})\n"

    general = one(md.general_desc)
    types = [t for t in (one(getattr(md, k)) for k in (
        "mobile", "fixed_line", "toll_free", "premium_rate", "shared_cost", "voip",
        "personal_number", "pager", "uan", "voicemail")) if t is not None]
    valid = re.compile(_MARK + rf"0(?=(?:{general}))(?=(?:{'|'.join(types)}))")
    return shape, old, valid


def _parse_phones_batch(values: list, parse: Callable[[object], tuple[str | None, str]]
                        ) -> tuple[list[str | None], list[str]]:
    """`parse` over `values` as (results, statuses), with the common Vietnamese shapes of
    ASCII text done by a few regex passes over all of them at once (the same results,
    tested)."""
    shape, old, valid = _vn_batch_patterns()
    if pd.api.types.infer_dtype(values, skipna=False) == "string":
        text = values
    else:  # a whole number typed into a cell is its digits (as `_cell_text` reads it)
        text = [v if type(v) is str else _cell_text(v) if type(v) in (int, float) else None
                for v in values]
    take, big = _ascii_lines(text)
    big = shape.sub("\n" + _MARK + "0", "\n" + big.translate(_ASCII_PUNCT_LINES) + "\n")
    big = old.sub(lambda m: _MARK + OLD_MOBILE_PREFIXES[m[1]], big)  # a call per old number
    big = valid.sub(_VALID + "+84", big)[1:-1]
    heads = np.zeros(len(values), dtype=np.uint8)
    heads[take] = _line_heads(big, len(take))
    results = np.full(len(values), None, dtype=object)
    results[take] = big.replace(_VALID, "").split("\n")
    is_valid = heads == ord(_VALID)
    statuses = np.full(len(values), "invalid", dtype=object)
    statuses[is_valid] = "valid"
    results[~is_valid] = None
    for k in np.flatnonzero(~is_valid & (heads != ord(_MARK))).tolist():
        results[k], statuses[k] = parse(values[k])
    return results.tolist(), statuses.tolist()


def normalize_phone(s: pd.Series, region: str = "VN") -> pd.Series:
    """E.164 string per cell, or None when the cell is empty or not a valid number."""
    return _map_memo(s, "phone", region, lambda v: _parse_phone(v, region), 0, None)


def phone_status(s: pd.Series, region: str = "VN") -> pd.Series:
    """'empty', 'valid' or 'invalid' per cell (validation's view of `normalize_phone`)."""
    return _map_memo(s, "phone", region, lambda v: _parse_phone(v, region), 1, "empty")


def phone_parts(s: pd.Series, region: str = "VN") -> tuple[pd.Series, pd.Series]:
    """(`normalize_phone(s)`, `phone_status(s)`) from one pass over the column."""
    norm, status = _map_memo_picks(s, "phone", region, lambda v: _parse_phone(v, region),
                                   ((0, None), (1, "empty")))
    return norm, status


def phone_is_valid(s: pd.Series, region: str = "VN") -> pd.Series:
    return phone_status(s, region).eq("valid")


# --- emails -----------------------------------------------------------------------


def _parse_email(v: object) -> tuple[str | None, str]:
    if type(v) is str and v.isascii():
        text = v.strip().lower()
    elif _is_missing(v):
        return None, "empty"
    else:
        text = unicodedata.normalize("NFKC", str(v)).strip().lower()
    if text.startswith("mailto:"):
        text = text[7:].strip()
    text = text.strip("<>").strip()
    if not text:
        return None, "empty"
    if len(text) > 254 or not _EMAIL.match(text):
        return None, "invalid"
    return text, "valid"


def _parse_emails_batch(values: list, parse: Callable[[object], tuple[str | None, str]]
                        ) -> tuple[list[str | None], list[str]]:
    """`parse` over `values` as (results, statuses): ASCII text that is a whole address
    once lower-cased is found by one regex pass over all of it (nothing to trim then);
    anything else is parsed on its own."""
    take, big = _ascii_lines([v if type(v) is str else None for v in values])
    big = "\n" + big.lower() + "\n"
    marked = _EMAIL_LINE.sub("\n" + _VALID, big)
    heads = np.zeros(len(values), dtype=np.uint8)
    heads[take] = _line_heads(marked[1:-1], len(take))
    results = np.full(len(values), None, dtype=object)
    results[take] = big[1:-1].split("\n")
    is_valid = heads == ord(_VALID)
    statuses = np.full(len(values), "valid", dtype=object)
    for k in np.flatnonzero(~is_valid).tolist():
        results[k], statuses[k] = parse(values[k])
    return results.tolist(), statuses.tolist()


def normalize_email(s: pd.Series) -> pd.Series:
    """Trimmed, lower-cased address, or None when empty or obviously broken."""
    return _map_memo(s, "email", "", _parse_email, 0, None)


def email_status(s: pd.Series) -> pd.Series:
    """'empty', 'valid' or 'invalid' per cell."""
    return _map_memo(s, "email", "", _parse_email, 1, "empty")


def email_parts(s: pd.Series) -> tuple[pd.Series, pd.Series]:
    """(`normalize_email(s)`, `email_status(s)`) from one pass over the column."""
    norm, status = _map_memo_picks(s, "email", "", _parse_email, ((0, None), (1, "empty")))
    return norm, status


_BATCH: dict[tuple[str, str], Callable[[list, Callable], tuple[list, list]]] = {
    ("phone", "VN"): _parse_phones_batch,
    ("email", ""): _parse_emails_batch,
}


# --- names and companies ----------------------------------------------------------


def _fold_table() -> dict[int, str]:
    """Per-character `fold` for Latin letters (Vietnamese included) whose fold is ASCII,
    combining marks deleted: one str.translate then does what NFKD + strip + casefold do."""
    table = {c: chr(c).lower() for c in range(ord("A"), ord("Z") + 1)}
    for c in [*range(0x80, 0x250), *range(0x1E00, 0x1F00)]:
        # Between two letters so that fold() keeps a space it would trim ('¸' -> ' ').
        f = fold("a" + chr(c) + "a")[1:-1]
        if f.isascii() and f != chr(c):
            table[c] = f
    table.update({c: "" for c in range(0x300, 0x370)})  # combining marks (NFD input)
    return table


_FOLD = _fold_table()
_WORD = re.compile(r"[0-9a-z]+")
# `_FOLD`, with every ASCII character that is not [0-9a-z] (after folding) made a space:
# one translate + split then gives the words that `_WORD` would find.
_NON_WORD = re.compile(r"[^0-9a-z]")
_FOLD_WORDS = {c: _NON_WORD.sub(" ", _FOLD.get(c, chr(c))) for c in [*range(128), *_FOLD]}


def _name_one(v: object) -> str:
    if _is_missing(v):
        return ""
    text = str(v)
    quick = text.translate(_FOLD_WORDS)
    if quick.isascii():
        return " ".join(quick.split())
    # A letter outside the table: the general rule. Punctuation and spacing are noise.
    return " ".join(_WORD.findall(fold(text.translate(_FOLD))))


# Combining marks of Vietnamese once NFD has taken precomposed letters apart: grave,
# acute, circumflex, tilde, breve, hook above, horn, dot below.
_VN_MARKS = ("\u0300", "\u0301", "\u0302", "\u0303", "\u0306", "\u0309", "\u031b", "\u0323")
_ASCII_OR_VN_MARK = np.zeros(1 << 16, dtype=bool)  # by UTF-16 code unit
_ASCII_OR_VN_MARK[:128] = True
_ASCII_OR_VN_MARK[[ord(m) for m in _VN_MARKS]] = True
_ASCII_WORD_LINES = str.maketrans({c: _FOLD_WORDS[c] for c in range(128)} | {10: "\n"})


_SPACES = re.compile("  +")


def _collapse_text(big: str) -> str:
    """`" ".join(line.split())` of each line of `big`, whose lines hold only words and
    spaces: whole-text passes instead of a split and a join per line."""
    return _SPACES.sub(" ", big).replace(" \n", "\n").replace("\n ", "\n").strip(" ")


def _folded_text(values: list) -> str:
    """`_name_one` of each value, joined by newlines, folded all at once: đ, NFD, the
    Vietnamese marks and case over the text of all values (C loops, not a call per
    value); a value left with any other non-ASCII character is folded on its own."""
    big = _joined([v if type(v) is str else str(v) for v in values])
    if big is None:  # a value holds a newline: one by one (a folded name holds none)
        return "\n".join([_name_one(v) for v in values])
    if not big.isascii():
        big = big.replace("đ", "d").replace("Đ", "d").replace("ð", "d").replace("Ð", "d")
        nfd = unicodedata.normalize("NFD", big)
        units = np.frombuffer(nfd.encode("utf-16-le", "surrogatepass"), dtype=np.uint16)
        if _ASCII_OR_VN_MARK[units].all():  # the only non-ASCII are Vietnamese marks
            big = nfd.encode("ascii", "ignore").decode("ascii")
        else:  # other letters or symbols: NFKD and casefold as `fold` does
            big = unicodedata.normalize("NFKD", big)
            for mark in _VN_MARKS:
                big = big.replace(mark, "")
            big = big.casefold()
    if big.isascii():
        return _collapse_text(big.translate(_ASCII_WORD_LINES))
    return "\n".join([" ".join(x.translate(_ASCII_WORD_LINES).split()) if x.isascii()
                      else _name_one(values[k]) for k, x in enumerate(big.split("\n"))])


def _names_many(values: list) -> list[str]:
    return _folded_text(values).split("\n")


def normalize_name(s: pd.Series) -> pd.Series:
    """Accent-, case-, punctuation- and spacing-insensitive form of a person's name."""
    return map_distinct_many(s, _names_many, "")


def _legal_form_pattern(legal_forms: Iterable[str]) -> re.Pattern[str] | None:
    return _compiled_forms(tuple(legal_forms))


@functools.lru_cache(maxsize=16)
def _compiled_forms(legal_forms: tuple[str, ...]) -> re.Pattern[str] | None:
    """Compiled once per rules list: compiling costs more than a 10k-row sheet's matching."""
    forms = sorted({_name_one(f) for f in legal_forms} - {""}, key=len, reverse=True)
    if not forms:
        return None
    # Names are words of [0-9a-z] between single spaces, one per line, and every line
    # starts with a space (see normalize_company): a form is a space, its words, then a
    # space, a newline or the end. The leading space gives the regex a literal to seek.
    return re.compile(r" (?:" + _trie_pattern(forms) + r")(?=[ \n]|$)")


def _trie_pattern(words: Iterable[str]) -> str:
    """A regex matching any of `words`, the longest first, as a trie: each character is
    tried once per position instead of once per word (`re` does not share prefixes).
    Alternatives at a node start with different characters, so the only choices are
    the optional ends, where greediness tries the longer word first."""
    trie: dict = {}
    for word in words:
        node = trie
        for ch in word:
            node = node.setdefault(ch, {})
        node[""] = {}

    def build(node: dict) -> str:
        alts = [re.escape(ch) + build(node[ch]) for ch in sorted(node) if ch]
        if not alts:
            return ""
        body = alts[0] if len(alts) == 1 else "(?:" + "|".join(alts) + ")"
        return f"(?:{body})?" if "" in node else body

    return build(trie)


def normalize_company(s: pd.Series, legal_forms: Iterable[str] = ()) -> pd.Series:
    """Like `normalize_name`, with legal forms ('Công ty TNHH', 'JSC', 'Co., Ltd') removed."""
    pattern = _legal_form_pattern(legal_forms)
    if pattern is None:
        return normalize_name(s)

    def many(values: list) -> list[str]:
        # One regex pass over all names joined by newlines (a folded name holds none):
        # a call per value would cost more than the matching.
        folded = " " + _folded_text(values).replace("\n", "\n ")
        return _collapse_text(pattern.sub(" ", folded)).split("\n")

    return map_distinct_many(s, many, "")
