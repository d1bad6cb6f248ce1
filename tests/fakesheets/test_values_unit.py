"""Pure helpers, no HTTP: A1 parsing and value semantics."""
import pytest

from sheetcrm.testing.fakesheets import a1
from sheetcrm.testing.fakesheets.values import (
    Evaluator,
    formatted,
    general_number,
    parse_raw,
    parse_user_entered,
    render,
)


@pytest.mark.parametrize(
    "text,expected",
    [
        ("Sheet1", ("Sheet1", None, None, None, None)),
        ("'It''s'!B2", ("It's", 1, 1, 2, 2)),
        ("'Lịch sử'!A:C", ("Lịch sử", 0, 0, None, 3)),
        ("A1:C", (None, 0, 0, None, 3)),
        ("D4:A1", (None, 0, 0, 4, 4)),
        ("2:3", (None, 1, 0, 3, None)),
    ],
)
def test_parse(text, expected):
    r = a1.parse(text, ["Sheet1"])
    assert (r.title, r.r1, r.c1, r.r2, r.c2) == expected


def test_format_and_quote():
    assert a1.fmt("Sheet1", 0, 0, 1000, 26) == "Sheet1!A1:Z1000"
    assert a1.fmt("My tab", 1, 1, 2, 2) == "'My tab'!B2"
    assert a1.quote_title("A1") == "'A1'"
    assert a1.col_to_letters(27) == "AB" and a1.letters_to_col("AB") == 27


@pytest.mark.parametrize(
    "typed,value,shown",
    [
        ("0042", 42.0, "42"),
        ("1,234.5", 1234.5, "1,234.5"),
        ("12%", 0.12, "12%"),
        ("$1.50", 1.5, "$1.50"),
        ("2020-01-01", 43831.0, "2020-01-01"),
        ("12/03/2026", 46359.0, "12/03/2026"),
        ("true", True, "TRUE"),
        ("'0042", "0042", "0042"),
        ("hello", "hello", "hello"),
    ],
)
def test_user_entered(typed, value, shown):
    c = parse_user_entered(typed)
    assert c.value == value and formatted(c, c.value) == shown


def test_raw_never_interprets():
    c = parse_raw("=1+1")
    assert c.formula is None and c.value == "=1+1"
    assert parse_raw("0042").value == "0042"


def test_render_options_for_dates():
    c = parse_user_entered("2020-01-01")
    assert render(c, c.value, "UNFORMATTED_VALUE", "SERIAL_NUMBER") == 43831
    assert render(c, c.value, "UNFORMATTED_VALUE", "FORMATTED_STRING") == "2020-01-01"
    assert render(c, c.value, "FORMATTED_VALUE", "SERIAL_NUMBER") == "2020-01-01"


def test_formulas():
    ev = Evaluator(lambda r, c: {(0, 0): 2.0, (1, 0): 3.0}.get((r, c)))
    assert ev.evaluate("=A1*A2+1") == 7.0
    assert ev.evaluate("=SUM(A1:A3)") == 5.0
    assert ev.evaluate("=1/0").text == "#DIV/0!"
    assert ev.evaluate("=VLOOKUP(1)").text == "#NAME?"
    assert general_number(1 / 1024) == "0.0009765625" and general_number(1 / 3) == "0.3333333333"
