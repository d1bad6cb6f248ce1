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

from sheetcrm.text import fold

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
_SPACES = re.compile(r"\s+")
_EMAIL = re.compile(
    r"^[a-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[a-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
    r"@(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,24}$"
)


# Bounded memo of raw value -> (result, status); cleared when full (cheap, and a sync
# run's values fit well inside it).
_MEMO: dict[tuple, tuple[str | None, str]] = {}
_MEMO_MAX = 1 << 21


def _is_missing(v: object) -> bool:
    if v is None or v is pd.NA or v is pd.NaT:
        return True
    return isinstance(v, float) and math.isnan(v)


def _map_unique(values: pd.Series, fn: Callable[[object], object], empty: object) -> pd.Series:
    """Apply `fn` once per distinct non-missing value; missing cells get `empty`."""
    s = values if isinstance(values, pd.Series) else pd.Series(values)
    codes, uniques = pd.factorize(s.astype(object), use_na_sentinel=True)
    out = np.empty(len(uniques) + 1, dtype=object)
    out[:-1] = [fn(u) for u in uniques]
    out[-1] = empty  # code -1 (missing) indexes the last slot
    return pd.Series(out[codes], index=s.index, dtype=object)


def _map_memo(values: pd.Series, kind: str, region: str,
              parse: Callable[[object], tuple[str | None, str]], pick: int, empty: object) -> pd.Series:
    """`_map_unique` of `parse(v)[pick]`, through the shared memo."""
    s = values if isinstance(values, pd.Series) else pd.Series(values)
    codes, uniques = pd.factorize(s.astype(object), use_na_sentinel=True)
    uniques = uniques.tolist()  # element access on an Index is slow
    memo = _MEMO
    keys = [(kind, region, type(u), u) for u in uniques]  # 1, 1.0 and True apart
    found = [memo.get(k) for k in keys]
    for n, r in enumerate(found):
        if r is None:
            found[n] = r = parse(uniques[n])
            if len(memo) >= _MEMO_MAX:
                memo.clear()
            memo[keys[n]] = r
    out = np.empty(len(uniques) + 1, dtype=object)
    out[:-1] = [r[pick] for r in found]
    out[-1] = empty  # code -1 (missing) indexes the last slot
    return pd.Series(out[codes], index=s.index, dtype=object)


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


def normalize_phone(s: pd.Series, region: str = "VN") -> pd.Series:
    """E.164 string per cell, or None when the cell is empty or not a valid number."""
    return _map_memo(s, "phone", region, lambda v: _parse_phone(v, region), 0, None)


def phone_status(s: pd.Series, region: str = "VN") -> pd.Series:
    """'empty', 'valid' or 'invalid' per cell (validation's view of `normalize_phone`)."""
    return _map_memo(s, "phone", region, lambda v: _parse_phone(v, region), 1, "empty")


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


def normalize_email(s: pd.Series) -> pd.Series:
    """Trimmed, lower-cased address, or None when empty or obviously broken."""
    return _map_memo(s, "email", "", _parse_email, 0, None)


def email_status(s: pd.Series) -> pd.Series:
    """'empty', 'valid' or 'invalid' per cell."""
    return _map_memo(s, "email", "", _parse_email, 1, "empty")


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


def normalize_name(s: pd.Series) -> pd.Series:
    """Accent-, case-, punctuation- and spacing-insensitive form of a person's name."""
    return _map_unique(s, _name_one, "")


def _legal_form_pattern(legal_forms: Iterable[str]) -> re.Pattern[str] | None:
    return _compiled_forms(tuple(legal_forms))


@functools.lru_cache(maxsize=16)
def _compiled_forms(legal_forms: tuple[str, ...]) -> re.Pattern[str] | None:
    """Compiled once per rules list: compiling costs more than a 10k-row sheet's matching."""
    forms = sorted({_name_one(f) for f in legal_forms} - {""}, key=len, reverse=True)
    if not forms:
        return None
    return re.compile(r"(?<![0-9a-z])(?:" + "|".join(map(re.escape, forms)) + r")(?![0-9a-z])")


def normalize_company(s: pd.Series, legal_forms: Iterable[str] = ()) -> pd.Series:
    """Like `normalize_name`, with legal forms ('Công ty TNHH', 'JSC', 'Co., Ltd') removed."""
    pattern = _legal_form_pattern(legal_forms)
    names = normalize_name(s)
    if pattern is None:
        return names
    codes, uniques = pd.factorize(names)
    # One regex pass over all distinct names joined by newlines (a name holds none):
    # a call per value would cost more than the matching.
    cut = pattern.sub(" ", "\n".join(uniques)).split("\n")
    out = np.array([" ".join(c.split()) for c in cut] + [""], dtype=object)
    return pd.Series(out[codes], index=names.index, dtype=object)
