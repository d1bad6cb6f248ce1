"""The mark `forget` leaves where a person's data was (docs/privacy.md)."""

from __future__ import annotations

import pandas as pd

from ..text import strip_text

TOMBSTONE = "[đã xoá]"


def erased(names: pd.Series) -> pd.Series:
    """True for rows `forget` erased (their name is the tombstone): the sync neither flags
    nor deduplicates them and leaves their cells as they are."""
    return strip_text(names).eq(TOMBSTONE)
