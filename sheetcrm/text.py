"""Text folding shared by header matching, status/reason matching and deduplication.

Folding makes two spellings of the same word compare equal: Unicode form (text typed on
macOS arrives decomposed), case, accents (Vietnamese đ/Đ is a separate letter, not an
accent, so it needs its own rule) and runs of whitespace.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import pandas as pd

_SPACES = re.compile(r"\s+")
_D_TABLE = str.maketrans({"đ": "d", "Đ": "d", "ð": "d", "Ð": "d"})


def fold(text: object) -> str:
    """Return `text` NFC-normalised, case-folded, accent-free and space-collapsed."""
    if text is None:
        return ""
    s = str(text).translate(_D_TABLE)
    s = unicodedata.normalize("NFKD", s)
    s = "".join(ch for ch in s if not unicodedata.combining(ch))
    s = s.casefold()
    return _SPACES.sub(" ", s).strip()


def as_text(values: pd.Series) -> pd.Series:
    """Each cell as a Python `str` ('' when missing), in an object Series.

    The sync steps keep text in object arrays: they concatenate them, put None in them and
    map them through dicts whose values may be None. `.astype(str)` alone would give
    pandas 3's `str` dtype, where None becomes NaN, so the result is object explicitly."""
    s = values.astype(object)
    if pd.api.types.infer_dtype(s.to_numpy(), skipna=False) == "string":
        return s.copy() if s is values else s  # all text already: nothing to convert
    return s.where(s.notna(), "").astype(str).astype(object)


def strip_text(values: pd.Series) -> pd.Series:
    """`as_text(values).str.strip()`: each cell as stripped text in an object Series, by
    one comprehension (the `.str` accessor costs several passes per cell)."""
    s = as_text(values)
    return pd.Series([v.strip() for v in s.to_numpy().tolist()], index=s.index, name=s.name, dtype=object)


def map_distinct(values: pd.Series, fn: Callable[[Any], Any], missing: Any = None) -> pd.Series:
    """`fn` of each cell as an object Series aligned with `values`, calling `fn` once per
    distinct value (columns repeat a few values many times); missing cells (None/NaN) get
    `missing`. Distinct is by hash equality, so 1, 1.0 and True are one value: pass text
    (`as_text`) where they must differ. Results are kept as they are: `Series.map` on
    pandas 3 infers its `str` dtype from string results and turns a None among them into NaN."""
    return map_distinct_many(values, lambda uniques: [fn(u) for u in uniques], missing)


def map_distinct_many(values: pd.Series, many: Callable[[list], list], missing: Any = None) -> pd.Series:
    """Like `map_distinct`, with `many(distinct values)` giving one result per value in
    one call (for functions that work on all values at once)."""
    s = values if isinstance(values, pd.Series) else pd.Series(values, dtype=object)
    codes, uniques = pd.factorize(s.to_numpy(dtype=object))
    out = np.empty(len(uniques) + 1, dtype=object)
    out[:-1] = many(uniques.tolist()) if len(uniques) else []
    out[-1] = missing  # code -1 (missing) indexes the last slot
    return pd.Series(out[codes], index=s.index, dtype=object)


def lookup(values: pd.Series, table: Mapping[Any, Any]) -> pd.Series:
    """`table[v]` for each cell as an object Series (None where `v` is not a key)."""
    return map_distinct(values, table.get)


def fold_series(values: pd.Series) -> pd.Series:
    """Vectorised `fold` over a Series; missing values fold to ''."""
    return map_distinct(as_text(values), fold)
