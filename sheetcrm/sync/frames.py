"""Small frame helpers whose result dtype is the same on pandas 2 and pandas 3.

Text helpers (`as_text`, `map_distinct`, `lookup`) live in `sheetcrm.text`.
"""

from __future__ import annotations

import pandas as pd

# The dates of the parsed frames (docs/frames.md). pandas 3 infers a unit from the input
# (seconds for datetime.date, microseconds for datetime), pandas 2 always used ns.
DATE_DTYPE = "datetime64[ns]"


def to_dates(values: pd.Series) -> pd.Series:
    """`values` as `datetime64[ns]` (unparseable → NaT)."""
    return pd.to_datetime(values, errors="coerce").astype(DATE_DTYPE)


def map_series(keys: pd.Series, table: pd.Series) -> pd.Series:
    """`table[k]` for each key (NaN/NaT when absent), aligned with `keys`, in `table`'s dtype.

    What `keys.map(table)` does, except that pandas 3 cannot map through an empty Series of
    dates (it casts an empty mapper to float64 first). `table`'s index must be unique."""
    return pd.Series(table.reindex(keys.to_numpy()).to_numpy(), index=keys.index)
