"""Row validation (docs/dedupe.md#validation), vectorised over columns.

Each check yields a boolean mask and a message; `Problems` collects them lazily (every
failure, not the first) with the sheet cell, so `check` can list `Khách hàng!E12` and the
sync can write the texts into `Lỗi dữ liệu`.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from ..a1 import cell_name
from ..schema import Schemas
from ..text import as_text, fold_series, lookup, map_distinct_many
from .dates import parse_dates
from .normalize import email_parts, phone_parts
from .tables import Table, _blank

# What a backend reads for a formula with no cached result (a file saved by a program
# that does not compute formulas): the row is reported, not read as empty.
UNCALCULATED = "#UNCALCULATED!"
SHEET_ERRORS = ("#N/A", "#REF!", "#VALUE!", "#DIV/0!", "#NAME?", "#NUM!", "#NULL!", "#ERROR!", "#SPILL!", "#CALC!")
_TRUE = {"x", "v", "yes", "y", "true", "1", "co", "dnc", "khong lien he", "✓", "✔"}


@dataclass
class Problems:
    """Problems found on rows: one record per (row, kind) with its message and cell."""

    records: list[pd.DataFrame] = field(default_factory=list)

    def add(self, mask: pd.Series, kind: str, message: Callable[[pd.Index], Any] | str,
            cells: Callable[[pd.Index], Any] | str) -> None:
        """Record rows where `mask` holds. `message`/`cells` are texts or functions of the
        failing rows' index, so texts are only built for the (few) failing rows."""
        if mask.dtype != bool:  # a plain bool mask has no missing value to fill
            mask = mask.astype("boolean").fillna(False).astype(bool)
        if not mask.any():
            return
        idx = mask[mask].index
        msg = message(idx) if callable(message) else message
        cell = cells(idx) if callable(cells) else cells
        self.records.append(pd.DataFrame({"index": idx, "kind": kind,
                                          "message": _values(msg, idx), "cell": _values(cell, idx)}))

    def frame(self) -> pd.DataFrame:
        if not self.records:
            return pd.DataFrame({"index": pd.Series(dtype=int), "kind": [], "message": [], "cell": []})
        return pd.concat(self.records, ignore_index=True)


def _values(v: Any, idx: pd.Index) -> Any:
    return v.to_numpy() if isinstance(v, pd.Series) else v


@dataclass
class Validated:
    leads: pd.DataFrame  # parsed frame (docs/frames.md)
    problems: Problems
    created_filled: pd.Series  # bool: Ngày tạo was blank and gets today
    # `_text` of the raw columns validation read, by key (the sync compares cells with them)
    texts: dict[str, pd.Series] = field(default_factory=dict)


def _text_one(v: object) -> str:
    if v is None or (isinstance(v, float) and v != v):
        return ""
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    if isinstance(v, (dt.datetime, dt.date)):
        return v.strftime("%d/%m/%Y")
    return str(v).strip()


def _texts(uniques: list) -> list[str]:
    # Text cells (nearly all) stripped inline; a call per value only for the others.
    return [v.strip() if type(v) is str else _text_one(v) for v in uniques]


def _text(s: pd.Series) -> pd.Series:
    """Raw cells → str ('' for blank). Numbers typed into text columns keep a clean form."""
    values = s.to_numpy(dtype=object).tolist()
    if set(map(type, values)) <= {str, type(None)}:
        # Only text and empty cells (nearly always): one comprehension, cheaper than
        # hashing every cell to find the distinct ones (names and ids nearly all differ).
        return pd.Series([v.strip() if v is not None else "" for v in values], index=s.index, dtype=object)
    return map_distinct_many(s, _texts, "")


def validate_leads(table: Table, schemas: Schemas, today: dt.date, language: str = "vi",
                   region: str = "VN") -> Validated:
    c = _Checks(table, schemas.messages.get(language) or schemas.messages.get("vi", {}))
    f, out = c.f, c.out
    no_error = c.sheet_errors()
    c.contact(no_error, region)
    c.dates(no_error, today)
    c.status(no_error, schemas)
    c.ids()
    text = c.text
    for k in ("lead_id", "name", "company", "owner", "product", "source", "notes", "duplicate_of"):
        out[k] = text[k]
    out["email"] = _text(f["email"])
    out["phone"] = _text(f["phone"])
    out["reason_raw"] = text["reason"]
    out["issues_raw"] = text["issues"]
    out["do_not_contact"] = fold_series(_text(f["do_not_contact"])).isin(_TRUE)

    pf = c.problems.frame()
    bad_rows = set(pf["index"]) if len(pf) else set()
    out["valid"] = ~out.index.isin(list(bad_rows))
    created_filled = out["created_at"].isna() & ~_col_has_text(f["created_at"])
    return Validated(out, c.problems, created_filled, {**text, "email": out["email"], "phone": out["phone"]})


class _Checks:
    """The checks of `validate_leads`, in the order their problems are listed; each adds
    its parsed columns to `out`."""

    def __init__(self, table: Table, msgs: dict[str, str]):
        self.table, self.msgs = table, msgs
        self.f = f = table.frame
        self.cols = {c.key: c for c in table.schema.columns}
        self.problems = Problems()
        self.out = pd.DataFrame(index=f.index)
        self.out["row"] = f["row"].astype(int)
        self.text = {k: _text(f[k]) for k in ("lead_id", "name", "company", "owner", "product", "source",
                                              "reason", "notes", "duplicate_of", "issues", "status")}

    def cells(self, key: str) -> Callable[[pd.Index], list[str]]:
        col, f, tab = self.table.col_of.get(key), self.f, self.table.title

        def at(idx: pd.Index) -> list[str]:
            rows = f.loc[idx, "row"]
            return [cell_name(tab, r, col) if col else f"{tab}!{r}:{r}" for r in rows]

        return at

    @staticmethod
    def fmt(template: str, values: pd.Series, **extra: Any) -> Callable[[pd.Index], list[str]]:
        return lambda idx: [template.format(value=_show(v), **extra) for v in values[idx]]

    def sheet_errors(self) -> dict[str, pd.Series]:
        """Spreadsheet error values in any person-typed column; returns, per column key,
        where the cell holds none (the other checks skip error cells)."""
        f, msgs = self.f, self.msgs
        errors = {}
        for c in self.table.schema.columns:
            if c.key not in self.table.col_of or c.writer == "sync":
                continue
            values = f[c.key].to_numpy(dtype=object)
            # Both kinds are text starting with '#': look only there.
            cand = _hash_rows(values, self.text[c.key] if c.key in self.text else None)
            uncalculated = np.zeros(len(values), dtype=bool)
            is_err = np.zeros(len(values), dtype=bool)
            if len(cand):
                texts = values[cand].tolist()
                uncalculated[cand] = [v == UNCALCULATED for v in texts]
                is_err[cand] = [v != UNCALCULATED and v.strip().upper() in _ERRORS for v in texts]
            uncalculated = pd.Series(uncalculated, index=f.index)
            is_err = pd.Series(is_err, index=f.index)
            errors[c.key] = is_err | uncalculated
            self.problems.add(is_err, "sheet_error", self.fmt(msgs["sheet_error"], f[c.key], header=c.header),
                              self.cells(c.key))
            self.problems.add(uncalculated, "formula_uncalculated", msgs["formula_uncalculated"],
                              self.cells(c.key))
        return {k: ~errors[k] if k in errors else pd.Series(True, index=f.index) for k in self.cols}

    def contact(self, no_error: dict[str, pd.Series], region: str) -> None:
        """A name, an email or a phone, and both well formed; normalised keys for dedupe."""
        f, msgs, add, cells = self.f, self.msgs, self.problems.add, self.cells
        add(self.text["name"].eq("") & no_error["name"], "missing_name", msgs["missing_name"], cells("name"))
        e_norm, e_status = email_parts(f["email"])
        p_norm, p_status = phone_parts(f["phone"], region)
        add(e_status.eq("empty") & p_status.eq("empty"), "no_contact", msgs["no_contact"], cells("phone"))
        add(e_status.eq("invalid") & no_error["email"], "bad_email", msgs["bad_email"], cells("email"))
        add(p_status.eq("invalid") & no_error["phone"], "bad_phone", msgs["bad_phone"], cells("phone"))
        self.out["email_norm"] = e_norm
        self.out["phone_e164"] = p_norm

    def dates(self, no_error: dict[str, pd.Series], today: dt.date) -> None:
        """Dates parse; creation and last contact are not in the future."""
        f, msgs = self.f, self.msgs
        for key in ("created_at", "last_contact", "recontact_on"):
            parsed, bad = parse_dates(f[key])
            header = self.cols[key].header
            self.problems.add(bad & no_error[key], "bad_date", self.fmt(msgs["bad_date"], f[key], header=header),
                              self.cells(key))
            if key != "recontact_on":
                future = parsed > pd.Timestamp(today)
                self.problems.add(future, "future_date", self.fmt(msgs["future_date"], parsed, header=header),
                                  self.cells(key))
            self.out[key] = parsed

    def status(self, no_error: dict[str, pd.Series], schemas: Schemas) -> None:
        """The status is one of the chain's names."""
        text = self.text["status"]
        status = lookup(fold_series(text), schemas.chain.lookup())
        unknown = status.isna() & text.ne("") & no_error["status"]
        self.problems.add(unknown, "unknown_status", self.fmt(self.msgs["unknown_status"], text),
                          self.cells("status"))
        self.out["status"] = status
        self.out["status_raw"] = text

    def ids(self) -> None:
        """Duplicated lead ids are problems (on the later rows), never changed."""
        ids, msgs = self.text["lead_id"], self.msgs
        has_id = ids.ne("")
        dup = has_id & ids.duplicated(keep="first")
        # The first row of each repeated id, grouped over the rows of those ids only.
        again = has_id & ids.isin(ids[dup].unique()) if dup.any() else dup
        first_row = self.out["row"][again].groupby(ids[again]).transform("min")
        self.problems.add(dup, "duplicate_id",
                          lambda idx: [msgs["duplicate_id"].format(value=i, row=int(r))
                                       for i, r in zip(ids[idx], first_row[idx])],
                          self.cells("lead_id"))


_ERRORS = frozenset(SHEET_ERRORS)


def _hash_rows(values: np.ndarray, text: pd.Series | None = None) -> np.ndarray:
    """Positions of the text cells that start with '#' (sheet errors start so exactly).
    One text of every cell, a line each (an empty line for a cell that is not text), so
    the lines starting with it are the candidates, found in C. `text`: `_text` of the
    cells, when known: its lines are searched instead (a cell starting with '#' keeps it
    stripped; no per-cell type check), and the rows found are checked in the cells."""
    texts = text.to_numpy(dtype=object).tolist() if text is not None else None
    big = "\n".join(texts if texts is not None else [v if isinstance(v, str) else "" for v in values.tolist()])
    if not big.startswith("#") and "\n#" not in big:
        return np.zeros(0, dtype=np.int64)
    if big.count("\n") != len(values) - 1:  # a cell holds a newline: look at each cell
        hit = [k for k, v in enumerate(values) if isinstance(v, str) and v.startswith("#")]
        return np.asarray(hit, dtype=np.int64)
    rows, row, at = [], 0, 0
    if big.startswith("#"):
        rows.append(0)
    while (nxt := big.find("\n#", at)) != -1:
        row += big.count("\n", at, nxt + 1)
        at = nxt + 1
        rows.append(row)
    return np.asarray([r for r in rows if isinstance(values[r], str) and values[r].startswith("#")], dtype=np.int64)


def _col_has_text(s: pd.Series) -> pd.Series:
    return pd.Series(~_blank(s), index=s.index)


def _show(v: Any) -> str:
    if isinstance(v, (pd.Timestamp, dt.date)):
        return "" if pd.isna(v) else v.strftime("%d/%m/%Y")
    return str(v).strip()


_ID_NUM = re.compile(r"(\d+)\s*$")


@functools.lru_cache(maxsize=8)
def _id_numbers(prefix: str) -> re.Pattern[str]:
    """Per line starting with `prefix`: the digits `_ID_NUM` finds in the rest of the line."""
    return re.compile(rf"^{re.escape(prefix)}[^\n]*?(\d+)[^\S\n]*$", re.M)


def assign_ids(lead_ids: pd.Series, prefix: str, digits: int) -> pd.Series:
    """Give blank ids the next free numbers after the highest `prefix`-number in use,
    in sheet order. Existing ids are returned unchanged."""
    ids = as_text(lead_ids)
    arr = ids.to_numpy(dtype=object)
    empty = arr == ""
    # Blank: empty, or only spaces (looked at only among the cells not empty).
    spaces = np.fromiter(map(str.isspace, arr[~empty]), dtype=bool, count=int((~empty).sum()))
    blank_arr = empty.copy()
    blank_arr[~empty] = spaces
    blank = pd.Series(blank_arr, index=ids.index)
    if not blank.any():
        return ids
    values = arr.tolist()
    n = len(prefix)
    big = "\n".join(values)
    if big.count("\n") == len(values) - 1:
        # The number ending each of our ids, found by one multi-line search of them all:
        # the same digits as `_ID_NUM.search` of each id's rest (the leftmost run ending it).
        found = _id_numbers(prefix).findall(big)
    else:  # an id holds a newline: one by one
        # The number ending each of our ids: the rest itself when it is all ASCII digits.
        found = [x if x.isdigit() and x.isascii() else (m.group(1) if (m := _ID_NUM.search(x)) else None)
                 for x in (v[n:] for v in values if v.startswith(prefix))]
    nums = pd.to_numeric(pd.Series(found, dtype=object), errors="coerce")
    start = int(nums.max()) + 1 if nums.notna().any() else 1
    new = [f"{prefix}{n:0{digits}d}" for n in range(start, start + int(blank.sum()))]
    out = ids.copy()
    out[blank] = np.array(new, dtype=object)
    return out
