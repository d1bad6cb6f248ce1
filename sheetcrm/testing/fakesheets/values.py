"""Cell value semantics: USER_ENTERED parsing, rendering (FORMATTED_VALUE,
UNFORMATTED_VALUE, FORMULA) and a small formula evaluator.

Dates are stored as Google stores them: a serial number (days since 1899-12-30) with a
DATE / DATE_TIME / TIME number format whose pattern follows what was typed."""
from __future__ import annotations

import datetime as _dt
import math
import re
from typing import Any

EPOCH = _dt.datetime(1899, 12, 30)


class Cell:
    """One stored cell. ``value`` is the effective value (float, str, bool, or an
    ``ErrorValue``); ``formula`` the formula text when the cell holds one."""

    __slots__ = ("value", "formula", "number_format", "note", "format", "validation", "raw_string")

    def __init__(self, value=None, formula=None, number_format=None, note=None, format=None, validation=None):
        self.value = value
        self.formula = formula
        self.number_format = number_format
        self.note = note
        self.format = format
        self.validation = validation

    def has_value(self) -> bool:
        return self.formula is not None or (self.value is not None and self.value != "")

    def is_empty(self) -> bool:
        return not self.has_value() and not self.note and not self.format and not self.validation

    def copy(self) -> Cell:
        c = Cell(self.value, self.formula, self.number_format, self.note, self.format, self.validation)
        return c

    def to_state(self) -> dict:
        d: dict[str, Any] = {}
        if self.formula is not None:
            d["formula"] = self.formula
        if self.value is not None and self.value != "":
            d["value"] = self.value.text if isinstance(self.value, ErrorValue) else self.value
        if self.number_format:
            d["numberFormat"] = self.number_format
        if self.note:
            d["note"] = self.note
        if self.format:
            d["format"] = self.format
        if self.validation:
            d["dataValidation"] = self.validation
        return d


class ErrorValue:
    __slots__ = ("text", "kind", "message")

    def __init__(self, text: str, kind: str, message: str = ""):
        self.text, self.kind, self.message = text, kind, message

    def to_json(self):
        return {"type": self.kind, "message": self.message}


# ---------------------------------------------------------------- input parsing

_NUM = re.compile(r"^[+-]?(\d{1,3}(,\d{3})+|\d+)?(\.\d+)?([eE][+-]?\d+)?$")
_ISO_DATE = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})$")
_US_DATE = re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{4}|\d{2})$")
_TIME = re.compile(r"^(\d{1,2}):(\d{2})(?::(\d{2}))?\s*([AaPp][Mm])?$")


def to_serial(d: _dt.datetime) -> float:
    delta = d - EPOCH
    return delta.days + delta.seconds / 86400.0


def from_serial(serial: float) -> _dt.datetime:
    return EPOCH + _dt.timedelta(days=serial)


def _parse_number(s: str):
    t = s.strip()
    if not t or not _NUM.match(t) or not any(ch.isdigit() for ch in t):
        return None
    v = float(t.replace(",", ""))
    pattern = "#,##0" if "," in t else None
    if pattern and "." in t:
        pattern += "." + "0" * len(t.split(".")[1].split("e")[0].split("E")[0])
    return v, ({"type": "NUMBER", "pattern": pattern} if pattern else None)


def _parse_time(s: str):
    m = _TIME.match(s)
    if not m:
        return None
    h, mi, se = int(m.group(1)), int(m.group(2)), int(m.group(3) or 0)
    ampm = m.group(4)
    if ampm:
        if not 1 <= h <= 12:
            return None
        h = h % 12 + (12 if ampm.lower() == "pm" else 0)
    if h > 23 or mi > 59 or se > 59:
        return None
    pattern = ("h:mm" + (":ss" if m.group(3) else "") + " am/pm") if ampm else ("h:mm" + (":ss" if m.group(3) else ""))
    return (h * 3600 + mi * 60 + se) / 86400.0, pattern


def _parse_date(s: str):
    m = _ISO_DATE.match(s)
    try:
        if m:
            d = _dt.datetime(int(m.group(1)), int(m.group(2)), int(m.group(3)))
            pat = "yyyy-mm-dd" if len(m.group(2)) == 2 and len(m.group(3)) == 2 else "yyyy-m-d"
            return to_serial(d), pat
        m = _US_DATE.match(s)
        if m:
            y = int(m.group(3))
            if len(m.group(3)) == 2:
                y += 2000 if y < 30 else 1900
            d = _dt.datetime(y, int(m.group(1)), int(m.group(2)))
            pat = ("mm" if len(m.group(1)) == 2 else "m") + "/" + ("dd" if len(m.group(2)) == 2 else "d") + "/yyyy"
            return to_serial(d), pat
    except ValueError:
        return None
    return None


def parse_user_entered(raw: Any) -> Cell | None:
    """Interpret a value as if a person typed it (valueInputOption=USER_ENTERED).
    Returns None for "clear this cell"."""
    if raw is None:
        return None
    if isinstance(raw, bool):
        return Cell(raw)
    if isinstance(raw, (int, float)):
        return Cell(float(raw))
    s = str(raw)
    if s == "":
        return None
    if s.startswith("'"):
        return Cell(s[1:])
    if s.startswith("=") and len(s) > 1:
        return Cell(None, formula=s)
    t = s.strip()
    if t.upper() in ("TRUE", "FALSE"):
        return Cell(t.upper() == "TRUE")
    n = _parse_number(t)
    if n is not None:
        return Cell(n[0], number_format=n[1])
    if t.endswith("%"):
        n = _parse_number(t[:-1])
        if n is not None:
            dec = t[:-1].split(".")[1] if "." in t else ""
            return Cell(n[0] / 100.0, number_format={"type": "PERCENT", "pattern": "0" + ("." + "0" * len(dec) if dec else "") + "%"})
    if t[:1] in "$" or t[:2] in ("-$",):
        neg = t.startswith("-")
        n = _parse_number(t.lstrip("-")[1:])
        if n is not None:
            return Cell(-n[0] if neg else n[0], number_format={"type": "CURRENCY", "pattern": '"$"#,##0.00'})
    d = _parse_date(t)
    if d is not None:
        return Cell(d[0], number_format={"type": "DATE", "pattern": d[1]})
    if " " in t:
        dpart, tpart = t.split(" ", 1)
        d, tm = _parse_date(dpart), _parse_time(tpart.strip())
        if d is not None and tm is not None:
            return Cell(d[0] + tm[0], number_format={"type": "DATE_TIME", "pattern": d[1] + " " + tm[1]})
    tm = _parse_time(t)
    if tm is not None:
        return Cell(tm[0], number_format={"type": "TIME", "pattern": tm[1]})
    return Cell(s)


def parse_raw(raw: Any) -> Cell | None:
    """valueInputOption=RAW: strings stay strings (a leading '=' is just text)."""
    if raw is None or raw == "":
        return None
    if isinstance(raw, bool):
        return Cell(raw)
    if isinstance(raw, (int, float)):
        return Cell(float(raw))
    return Cell(str(raw))


# ---------------------------------------------------------------- rendering

def general_number(v: float) -> str:
    """Google's automatic number format (en_US): up to ~10 significant digits."""
    if v == 0:
        return "0"
    if math.isinf(v) or math.isnan(v):
        return "#NUM!"
    a = abs(v)
    if a >= 1e15 or a < 1e-9:
        m, e = f"{v:.2E}".split("E")
        return f"{m}E{'+' if int(e) >= 0 else '-'}{abs(int(e)):02d}"
    if float(v).is_integer():
        return str(int(v))
    digits = max(0, 10 - (int(math.floor(math.log10(a))) + 1))
    s = f"{v:.{digits}f}".rstrip("0").rstrip(".")
    return s


def json_number(v: float):
    return int(v) if float(v).is_integer() and abs(v) < 2**53 else v


_DATE_TOKENS = re.compile(r"yyyy|yy|mmmm|mmm|mm|m|dddd|ddd|dd|d|hh|h|ss|s|am/pm|\"[^\"]*\"|.", re.I)


def format_datetime(serial: float, pattern: str) -> str:
    d = from_serial(serial)
    # round to the second like Sheets
    d = (d + _dt.timedelta(microseconds=500000)).replace(microsecond=0)
    toks = _DATE_TOKENS.findall(pattern)
    has_ampm = any(t.lower() == "am/pm" for t in toks)
    out = []
    prev_hour = False
    for i, tok in enumerate(toks):
        low = tok.lower()
        if low == "yyyy":
            out.append(f"{d.year:04d}")
        elif low == "yy":
            out.append(f"{d.year % 100:02d}")
        elif low in ("mm", "m"):
            # m after an hour token (or before seconds) means minutes
            nxt = "".join(toks[i + 1 : i + 3]).lower()
            if prev_hour or nxt.startswith(":s"):
                out.append(f"{d.minute:02d}" if low == "mm" else str(d.minute))
            else:
                out.append(f"{d.month:02d}" if low == "mm" else str(d.month))
        elif low == "mmmm":
            out.append(d.strftime("%B"))
        elif low == "mmm":
            out.append(d.strftime("%b"))
        elif low == "dddd":
            out.append(d.strftime("%A"))
        elif low == "ddd":
            out.append(d.strftime("%a"))
        elif low == "dd":
            out.append(f"{d.day:02d}")
        elif low == "d":
            out.append(str(d.day))
        elif low in ("hh", "h"):
            h = d.hour
            if has_ampm:
                h = h % 12 or 12
            out.append(f"{h:02d}" if low == "hh" else str(h))
        elif low in ("ss", "s"):
            out.append(f"{d.second:02d}" if low == "ss" else str(d.second))
        elif low == "am/pm":
            out.append("AM" if d.hour < 12 else "PM")
        elif tok.startswith('"'):
            out.append(tok[1:-1])
        else:
            out.append(tok)
        if low in ("hh", "h"):
            prev_hour = True
        elif low not in (":",):
            prev_hour = False if low not in ("mm", "m") else prev_hour
    return "".join(out)


def format_number_pattern(v: float, pattern: str) -> str:
    prefix = ""
    m = re.match(r'^"([^"]*)"', pattern)
    if m:
        prefix, pattern = m.group(1), pattern[m.end():]
    percent = pattern.endswith("%")
    if percent:
        v *= 100
        pattern = pattern[:-1]
    decimals = len(pattern.split(".")[1]) if "." in pattern else 0
    grouping = "," in pattern
    s = f"{abs(v):{',' if grouping else ''}.{decimals}f}"
    neg = v < 0 and float(s.replace(",", "")) != 0
    return ("-" if neg else "") + prefix + s + ("%" if percent else "")


def formatted(cell: Cell, value) -> str:
    if isinstance(value, ErrorValue):
        return value.text
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, str):
        return value
    if value is None:
        return ""
    nf = cell.number_format or {}
    t = nf.get("type")
    try:
        if t in ("DATE", "DATE_TIME", "TIME") and nf.get("pattern"):
            return format_datetime(value, nf["pattern"])
        if t == "DATE":
            return format_datetime(value, "m/d/yyyy")
        if t == "DATE_TIME":
            return format_datetime(value, "m/d/yyyy h:mm:ss")
        if t == "TIME":
            return format_datetime(value, "h:mm:ss am/pm")
        if nf.get("pattern"):
            return format_number_pattern(value, nf["pattern"])
        if t == "PERCENT":
            return format_number_pattern(value, "0.00%")
    except (OverflowError, ValueError):
        return general_number(value)
    return general_number(value)


def render(cell: Cell, value, option: str, datetime_option: str):
    """Render an effective ``value`` of ``cell`` for values.get."""
    if option == "FORMULA" and cell.formula is not None:
        return cell.formula
    if option == "FORMATTED_VALUE":
        return formatted(cell, value)
    # UNFORMATTED_VALUE and FORMULA (non-formula cells)
    if isinstance(value, ErrorValue):
        return value.text
    if isinstance(value, float):
        nf = cell.number_format or {}
        if datetime_option == "FORMATTED_STRING" and nf.get("type") in ("DATE", "DATE_TIME", "TIME"):
            return formatted(cell, value)
        return json_number(value)
    return value


# ---------------------------------------------------------------- formulas

class FormulaError(Exception):
    def __init__(self, text, kind, message):
        self.err = ErrorValue(text, kind, message)


_TOKEN = re.compile(r"\s*(?:(\d+(?:\.\d*)?(?:[eE][+-]?\d+)?|\.\d+)|(\$?[A-Za-z]{1,3}\$?\d+(?::\$?[A-Za-z]{1,3}\$?\d+)?)|([A-Za-z_][A-Za-z0-9_.]*)\s*\(|(\"[^\"]*\")|(<>|<=|>=|[-+*/^(),&=<>]))")


class Evaluator:
    """Evaluates a small formula language: numbers, strings, cell references and
    ranges on the same sheet, + - * / ^ &, comparisons, and SUM/AVERAGE/MIN/MAX/COUNT/
    COUNTA/IF/CONCATENATE/LEN/UPPER/LOWER/ROUND/ABS. Anything else is #NAME?."""

    def __init__(self, lookup, depth=0):
        self.lookup = lookup  # (row, col) -> effective value
        self.depth = depth

    def evaluate(self, formula: str):
        try:
            self.toks = self._tokenize(formula[1:])
            self.i = 0
            v = self._cmp()
            if self.i != len(self.toks):
                raise FormulaError("#ERROR!", "ERROR", "Formula parse error.")
            if isinstance(v, list):
                v = v[0] if v else None
            if isinstance(v, bool) or isinstance(v, str):
                return v
            if v is None:
                return 0.0
            if isinstance(v, ErrorValue):
                return v
            if math.isinf(v) or math.isnan(v):
                raise FormulaError("#NUM!", "NUM", "Result was not a number.")
            return float(v)
        except FormulaError as e:
            return e.err
        except RecursionError:
            return ErrorValue("#REF!", "REF", "Circular dependency detected.")

    def _tokenize(self, text):
        toks, pos = [], 0
        text = text.rstrip()
        while pos < len(text):
            m = _TOKEN.match(text, pos)
            if not m:
                raise FormulaError("#ERROR!", "ERROR", "Formula parse error.")
            pos = m.end()
            if m.group(1):
                toks.append(("num", float(m.group(1))))
            elif m.group(2):
                toks.append(("ref", m.group(2).replace("$", "")))
            elif m.group(3):
                toks.append(("fn", m.group(3).upper()))
            elif m.group(4):
                toks.append(("str", m.group(4)[1:-1]))
            else:
                toks.append(("op", m.group(5)))
        return toks

    def _peek(self):
        return self.toks[self.i] if self.i < len(self.toks) else (None, None)

    def _take(self):
        t = self._peek()
        self.i += 1
        return t

    def _cmp(self):
        a = self._concat()
        while self._peek() in [("op", o) for o in ("=", "<>", "<", ">", "<=", ">=")]:
            op = self._take()[1]
            b = self._concat()
            x, y = self._scalar(a), self._scalar(b)
            a = {"=": x == y, "<>": x != y, "<": x < y, ">": x > y, "<=": x <= y, ">=": x >= y}[op]
        return a

    def _concat(self):
        a = self._add()
        while self._peek() == ("op", "&"):
            self._take()
            b = self._add()
            a = _text(self._scalar(a)) + _text(self._scalar(b))
        return a

    def _add(self):
        a = self._mul()
        while self._peek() in (("op", "+"), ("op", "-")):
            op = self._take()[1]
            b = self._mul()
            a = self._num(a) + self._num(b) if op == "+" else self._num(a) - self._num(b)
        return a

    def _mul(self):
        a = self._pow()
        while self._peek() in (("op", "*"), ("op", "/")):
            op = self._take()[1]
            b = self._pow()
            if op == "*":
                a = self._num(a) * self._num(b)
            else:
                d = self._num(b)
                if d == 0:
                    raise FormulaError("#DIV/0!", "DIVIDE_BY_ZERO", "Function DIVIDE parameter 2 cannot be zero.")
                a = self._num(a) / d
        return a

    def _pow(self):
        a = self._unary()
        while self._peek() == ("op", "^"):
            self._take()
            a = self._num(a) ** self._num(self._unary())
        return a

    def _unary(self):
        if self._peek() == ("op", "-"):
            self._take()
            return -self._num(self._unary())
        if self._peek() == ("op", "+"):
            self._take()
            return self._num(self._unary())
        return self._atom()

    def _atom(self):
        kind, val = self._take()
        if kind == "num" or kind == "str":
            return val
        if kind == "ref":
            return self._ref(val)
        if kind == "fn":
            args = []
            if self._peek() != ("op", ")"):
                while True:
                    args.append(self._cmp())
                    if self._peek() == ("op", ","):
                        self._take()
                        continue
                    break
            if self._take() != ("op", ")"):
                raise FormulaError("#ERROR!", "ERROR", "Formula parse error.")
            return self._call(val, args)
        if (kind, val) == ("op", "("):
            v = self._cmp()
            if self._take() != ("op", ")"):
                raise FormulaError("#ERROR!", "ERROR", "Formula parse error.")
            return v
        raise FormulaError("#ERROR!", "ERROR", "Formula parse error.")

    def _ref(self, text):
        from . import a1

        if ":" in text:
            r = a1.parse(text)
            return [self.lookup(r_, c_) for r_ in range(r.r1, r.r2) for c_ in range(r.c1, r.c2)]
        r = a1.parse(text)
        return self.lookup(r.r1, r.c1)

    def _scalar(self, v):
        if isinstance(v, list):
            v = v[0] if v else None
        if isinstance(v, ErrorValue):
            raise FormulaError(v.text, v.kind, v.message)
        return v

    def _num(self, v):
        v = self._scalar(v)
        if v is None or v == "":
            return 0.0
        if isinstance(v, bool):
            return 1.0 if v else 0.0
        if isinstance(v, str):
            try:
                return float(v)
            except ValueError:
                raise FormulaError("#VALUE!", "VALUE", f"Function ADD parameter expects number values. But '{v}' is a text and cannot be coerced to a number.") from None
        return v

    def _flat(self, args):
        for a in args:
            if isinstance(a, list):
                yield from a
            else:
                yield a

    def _call(self, name, args):
        nums = lambda: [v for v in self._flat(args) if isinstance(v, (int, float)) and not isinstance(v, bool)]
        if name == "SUM":
            return float(sum(nums()))
        if name == "AVERAGE":
            n = nums()
            if not n:
                raise FormulaError("#DIV/0!", "DIVIDE_BY_ZERO", "Evaluation of function AVERAGE caused a divide by zero error.")
            return sum(n) / len(n)
        if name == "MIN":
            return float(min(nums(), default=0))
        if name == "MAX":
            return float(max(nums(), default=0))
        if name == "COUNT":
            return float(len(nums()))
        if name == "COUNTA":
            return float(sum(1 for v in self._flat(args) if v not in (None, "")))
        if name == "IF":
            cond = self._scalar(args[0]) if args else False
            if cond:
                return args[1] if len(args) > 1 else True
            return args[2] if len(args) > 2 else False
        if name in ("CONCATENATE", "CONCAT"):
            return "".join(_text(self._scalar(a)) for a in self._flat(args))
        if name == "LEN":
            return float(len(_text(self._scalar(args[0]))))
        if name == "UPPER":
            return _text(self._scalar(args[0])).upper()
        if name == "LOWER":
            return _text(self._scalar(args[0])).lower()
        if name == "ABS":
            return abs(self._num(args[0]))
        if name == "ROUND":
            places = int(self._num(args[1])) if len(args) > 1 else 0
            return float(round(self._num(args[0]), places))
        raise FormulaError("#NAME?", "NAME", f"Unknown function: '{name.lower()}'.")


def _text(v):
    if v is None:
        return ""
    if isinstance(v, bool):
        return "TRUE" if v else "FALSE"
    if isinstance(v, float):
        return general_number(v)
    return str(v)
