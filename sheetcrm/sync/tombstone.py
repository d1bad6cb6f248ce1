"""The mark `forget` leaves where a person's data was (docs/privacy.md)."""

from __future__ import annotations

import pandas as pd

from ..text import as_text, strip_text

TOMBSTONE = "[đã xoá]"


def erased(names: pd.Series) -> pd.Series:
    """True for rows `forget` erased (their name is the tombstone): the sync neither flags
    nor deduplicates them and leaves their cells as they are."""
    text = as_text(names)
    # Nearly always no row is erased: one search of all names joined says so.
    if TOMBSTONE not in "\n".join(text.to_numpy().tolist()):
        return pd.Series(False, index=text.index, name=text.name, dtype=bool)
    return strip_text(text).eq(TOMBSTONE)
