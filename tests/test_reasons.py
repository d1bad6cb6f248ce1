"""Free-text rejection reasons → catalogue categories (docs/reasons-classifier.md)."""

from __future__ import annotations

import sys
from dataclasses import replace
from pathlib import Path

import pandas as pd
import pytest

from sheetcrm.errors import SchemaError
from sheetcrm.schema import load_reasons, load_schemas
from sheetcrm.sync.reasons import map_reasons

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.reasons import HELDOUT, measure

CAT = load_schemas().reasons


def one(text: str) -> tuple:
    r = map_reasons(pd.Series([text]), CAT).iloc[0]
    return r["category"], r["detail"], bool(r["matched"])


@pytest.mark.parametrize("text,key", [
    ("đắt quá", "price"),
    ("gia cao hon ben X", "price"),
    ("Giá quá cao", "price"),
    ("GIÁ QUÁ CAO", "price"),
    ("chưa cần, 3-6 tháng nữa", "not_now"),
    ("dùng bên khác rồi", "competitor"),
    ("không nghe máy", "no_contact"),
    ("ko nghe may", "no_contact"),
    ("Ngân sách chưa cho phép", "budget"),
    ("Not a fit", "not_fit"),
    ("Chose a competitor", "competitor"),
])
def test_examples_from_the_issue(text, key):
    assert one(text)[0] == key


def test_nfd_text_maps_like_nfc():
    import unicodedata

    assert one(unicodedata.normalize("NFD", "đắt quá"))[0] == "price"


def test_other_with_detail():
    assert one("Khác: khách đi nước ngoài") == ("other", "khách đi nước ngoài", True)
    assert one("Khác (khách bị ốm)") == ("other", "khách bị ốm", True)
    assert one("Other - moved abroad") == ("other", "moved abroad", True)
    # "Khác" alone is a category without its detail: the status step asks for one.
    assert one("Khác") == ("other", "", True)


def test_no_match_falls_back_to_other_unmatched():
    assert one("abc xyz") == ("other", "abc xyz", False)


def test_blank_is_none():
    out = map_reasons(pd.Series(["", None, "   "]), CAT)
    assert out["category"].isna().all() and not out["matched"].any()


def test_negation_is_not_a_match():
    assert one("không đắt")[0] != "price"
    assert one("ko dat lam, nhung chua can") [0] == "not_now"


def test_longer_phrase_wins():
    # "vượt ngân sách" is about price, although "ngân sách" alone is budget.
    assert one("giá vượt ngân sách")[0] == "price"
    assert one("hết ngân sách")[0] == "budget"


def test_abbreviations_are_expanded():
    assert one("k lh dc")[0] == "no_contact"
    assert one("kbm")[0] == "no_contact"
    assert one("dat wa")[0] == "price"


def test_keywords_are_data():
    extra = [r if r.key != "competitor" else replace(r, keywords=(*r.keywords, "qwzx shop")) for r in CAT.reasons]
    cat = replace(CAT, reasons=tuple(extra))
    assert map_reasons(pd.Series(["qwzx shop"]), cat)["category"].iloc[0] == "competitor"
    assert map_reasons(pd.Series(["qwzx shop"]), CAT)["category"].iloc[0] == "other"


def test_each_distinct_text_is_mapped_once_and_aligned():
    s = pd.Series(["đắt quá", "", "đắt quá", "không nghe máy"] * 1000, index=range(10, 4010))
    out = map_reasons(s, CAT)
    assert list(out.index) == list(s.index)
    assert out["category"].iloc[:4].tolist() == ["price", None, "price", "no_contact"]


def test_accuracy_on_labelled_fixture():
    rate, frame = measure(CAT)
    assert len(frame) >= 200
    assert set(frame["category_key"]) == {r.key for r in CAT.reasons}
    misses = frame[~frame["ok"]][["text", "category_key", "got"]].to_string()
    assert rate >= 0.95, misses


def test_accuracy_on_the_second_fixture():
    rate, frame = measure(CAT, fixture=HELDOUT)
    assert set(frame["category_key"]) == {r.key for r in CAT.reasons}
    assert rate >= 0.95, frame[~frame["ok"]][["text", "category_key", "got"]].to_string()


def test_broken_abbreviation_table_names_file_and_field(tmp_path):
    src = (Path(__file__).resolve().parent.parent / "schemas" / "reasons.toml").read_text(encoding="utf-8")
    bad = tmp_path / "reasons.toml"
    bad.write_text(src.replace('ko = "khong"', "ko = 3"), encoding="utf-8")
    with pytest.raises(SchemaError) as err:
        load_reasons(bad)
    assert "reasons.toml" in str(err.value) and "abbreviations.ko" in str(err.value)
