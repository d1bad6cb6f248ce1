"""Text folding shared by header matching, status/reason matching and deduplication.

Folding makes two spellings of the same word compare equal: Unicode form (text typed on
macOS arrives decomposed), case, accents (Vietnamese đ/Đ is a separate letter, not an
accent, so it needs its own rule) and runs of whitespace.
"""

from __future__ import annotations

import re
import unicodedata

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


def fold_series(values: pd.Series) -> pd.Series:
    """Vectorised `fold` over a Series; missing values fold to ''."""
    s = values.astype("string").fillna("")
    # Fold each distinct value once: columns repeat a few values many times.
    uniques = pd.unique(s.to_numpy())
    mapping = {u: fold(u) for u in uniques}
    return s.map(mapping).astype(object)
