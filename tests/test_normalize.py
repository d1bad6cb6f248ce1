import unicodedata

import numpy as np
import pandas as pd
import phonenumbers
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sheetcrm.sync.normalize import (
    OLD_MOBILE_PREFIXES,
    email_status,
    normalize_company,
    normalize_email,
    normalize_name,
    normalize_phone,
    phone_is_valid,
    phone_status,
)

FORMS = ["Công ty TNHH", "Công ty CP", "Công ty cổ phần", "Cty", "TNHH", "JSC", "Co., Ltd", "Công ty"]
NEW = sorted({p[1:] for p in ["032", "033", "034", "035", "036", "037", "038", "039", "070", "079",
                              "077", "076", "078", "083", "084", "085", "081", "082", "056", "058",
                              "059", "090", "091", "096", "097", "098"]})


def one(v, region="VN"):
    return normalize_phone(pd.Series([v], dtype=object), region).iloc[0]


@pytest.mark.parametrize("raw", [
    "0912345678", "0912 345 678", "0912.345.678", "0912-345-678", "(091) 234-5678",
    "+84912345678", "+84 912 345 678", "84912345678", "0084912345678", "+84 0912345678",
    912345678.0, 912345678, "'0912345678", "０９１２３４５６７８",
])
def test_phone_shapes(raw):
    assert one(raw) == "+84912345678"


@pytest.mark.parametrize("old,new", [
    ("01689123456", "+84389123456"), ("01621234567", "+84321234567"),
    ("01201234567", "+84701234567"), ("01211234567", "+84791234567"),
    ("01221234567", "+84771234567"), ("01261234567", "+84761234567"),
    ("01281234567", "+84781234567"), ("01231234567", "+84831234567"),
    ("01241234567", "+84841234567"), ("01251234567", "+84851234567"),
    ("01271234567", "+84811234567"), ("01291234567", "+84821234567"),
    ("01861234567", "+84561234567"), ("01881234567", "+84581234567"),
    ("01991234567", "+84591234567"),
    ("+841689123456", "+84389123456"), ("841689123456", "+84389123456"),
    ("0168 912 3456", "+84389123456"), (1689123456.0, "+84389123456"),
])
def test_old_11_digit_prefixes(old, new):
    assert one(old) == new


def test_old_prefix_without_conversion_is_invalid_in_phonenumbers():
    # Why the conversion exists: phonenumbers alone rejects the old form.
    assert not phonenumbers.is_valid_number(phonenumbers.parse("01689123456", "VN"))


def test_international_kept_and_invalid_rejected():
    assert one("+1 650 253 0000") == "+16502530000"
    assert one("+44 20 7946 0958") == "+442079460958"
    assert one("024 3825 1234") == "+842438251234"
    for bad in ["abc", "12345", "0912", "+84 123", 12.5, True]:
        assert one(bad) is None
    s = pd.Series(["0912345678", "", None, np.nan, "abc"], dtype=object)
    assert phone_status(s).tolist() == ["valid", "empty", "empty", "empty", "invalid"]
    assert phone_is_valid(s).tolist() == [True, False, False, False, False]
    assert normalize_phone(s).tolist()[1:] == [None] * 4


def test_index_is_kept():
    s = pd.Series(["0912345678", None], index=[7, 3])
    assert normalize_phone(s).index.tolist() == [7, 3]


mobile = st.tuples(st.sampled_from(NEW), st.integers(0, 9_999_999)).map(lambda t: f"0{t[0]}{t[1]:07d}")


def shapes(national):
    d = national[1:]
    return [national, f"{national[:4]} {national[4:7]} {national[7:]}", national.replace("0", "0", 1),
            f"{national[:4]}.{national[4:7]}.{national[7:]}", f"+84{d}", f"84{d}", f"0084{d}",
            f"+84 0{d}", float(int(national)), int(national), f"({national[:3]}) {national[3:]}"]


@settings(max_examples=150, deadline=None)
@given(mobile)
def test_property_every_shape_gives_one_e164(national):
    out = normalize_phone(pd.Series(shapes(national), dtype=object))
    ref = phonenumbers.format_number(phonenumbers.parse(national, "VN"), phonenumbers.PhoneNumberFormat.E164)
    assert set(out) == {ref}


@settings(max_examples=150, deadline=None)
@given(st.sampled_from(sorted(OLD_MOBILE_PREFIXES)), st.integers(0, 9_999_999))
def test_property_old_and_new_forms_agree(old_prefix, rest):
    old = f"{old_prefix}{rest:07d}"
    new = f"{OLD_MOBILE_PREFIXES[old_prefix]}{rest:07d}"
    out = normalize_phone(pd.Series([old, new, "+84" + old[1:], "84" + old[1:]], dtype=object))
    assert out.nunique() == 1 and out.iloc[0] == "+84" + new[1:]


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet="0123456789", min_size=7, max_size=12))
def test_property_fast_validation_agrees_with_phonenumbers(digits):
    national = "0" + digits
    if len(national) == 11 and national[:4] in OLD_MOBILE_PREFIXES:
        return  # converted on purpose
    try:
        n = phonenumbers.parse(national, "VN")
        ref = phonenumbers.format_number(n, 0) if phonenumbers.is_valid_number(n) else None
    except phonenumbers.NumberParseException:
        ref = None
    assert one(national) == ref


def test_email():
    s = pd.Series([" A.B@Gmail.COM ", "mailto:x@y.vn", "a@b", "x@@y.com", "a..b@c.com", "a b@c.com",
                   "@c.com", "a@c.", None, ""], dtype=object)
    assert normalize_email(s).tolist() == ["a.b@gmail.com", "x@y.vn"] + [None] * 8
    assert email_status(s).tolist() == ["valid", "valid"] + ["invalid"] * 6 + ["empty", "empty"]


@settings(max_examples=100, deadline=None)
@given(st.from_regex(r"[a-z0-9]{1,10}(\.[a-z0-9]{1,5})?@[a-z0-9]{1,10}\.(vn|com|com\.vn)", fullmatch=True),
       st.sampled_from(["", " ", "  ", "\t"]), st.booleans())
def test_property_email_case_and_space_insensitive(addr, pad, upper):
    typed = pad + (addr.upper() if upper else addr) + pad
    assert normalize_email(pd.Series([typed])).iloc[0] == addr


def test_name_folding_and_d():
    s = pd.Series(["Đặng Văn Đức", "dang van duc", "DANG  VAN DUC ", unicodedata.normalize("NFD", "Đặng Văn Đức"),
                   "Đặng-Văn Đức.", None])
    assert normalize_name(s).tolist() == ["dang van duc"] * 5 + [""]


def test_d_needs_its_own_rule():
    # NFKD does not decompose đ: without the rule "Đức" would not meet "Duc".
    assert unicodedata.normalize("NFKD", "đ") == "đ"
    assert normalize_name(pd.Series(["Đức"])).iloc[0] == "duc"


@settings(max_examples=100, deadline=None)
@given(st.lists(st.sampled_from(["Nguyễn", "Trần", "Đặng", "Thị", "Văn", "Đức", "Hương", "Ánh", "Quỳnh"]),
                min_size=1, max_size=4),
       st.sampled_from(["NFC", "NFD"]), st.booleans(), st.sampled_from([" ", "  ", " \u00a0"]))
def test_property_name_invariant_to_form_case_spacing(words, form, upper, sep):
    plain = " ".join(words)
    typed = unicodedata.normalize(form, sep.join(words))
    typed = typed.upper() if upper else typed
    a, b = normalize_name(pd.Series([plain, typed])).tolist()
    assert a == b and "  " not in a and a == a.strip()


@pytest.mark.parametrize("raw", [
    "Công ty TNHH Đại Phát", "CÔNG TY CP ĐẠI PHÁT", "Công ty cổ phần Đại Phát", "Cty Đại Phát",
    "Đại Phát JSC", "Dai Phat Co., Ltd", "TNHH Đại Phát", "cong ty  dai phat",
])
def test_company_legal_forms_dropped(raw):
    assert normalize_company(pd.Series([raw]), FORMS).iloc[0] == "dai phat"


def test_company_forms_only_as_whole_words():
    # "cp" inside a word, "Cty" inside "Ctyx": not legal forms.
    out = normalize_company(pd.Series(["CPT Ctyx", "Công ty TNHH"]), FORMS).tolist()
    assert out == ["cpt ctyx", ""]
    # Without the forms list the names stay apart: the rule is what joins them.
    raw = pd.Series(["Công ty TNHH Đại Phát", "Đại Phát JSC"])
    assert normalize_company(raw).nunique() == 2


def test_memo_makes_the_second_pass_free_and_keeps_types_apart(monkeypatch):
    from sheetcrm.sync import normalize

    normalize.clear_memo()
    calls = []
    real = normalize._parse_phone
    monkeypatch.setattr(normalize, "_parse_phone", lambda v, r: calls.append(v) or real(v, r))
    s = pd.Series(["0912345678", "0912 345 678", "0912345678"] * 3, dtype=object)
    normalize_phone(s)
    phone_status(s)  # validation's view of the same cells: no new parsing
    assert sorted(calls) == ["0912 345 678", "0912345678"]
    # 1, 1.0 and True hash alike; the memo must not hand True the number's result.
    assert one(912345678) == "+84912345678" and one(True) is None and one(912345678.0) == "+84912345678"


def test_memo_is_bounded(monkeypatch):
    from sheetcrm.sync import normalize

    monkeypatch.setattr(normalize, "_MEMO_MAX", 10)
    normalize.clear_memo()
    for n in (8, 25, 5, 5):
        normalize_phone(pd.Series([f"09{n:02d}3456{k:02d}" for k in range(n)]))
        assert normalize._memo_size() <= 10


@settings(max_examples=200, deadline=None)
@given(mobile, st.sampled_from([" ", ".", "-", "\u00a0", "\u2010", "  "]))
def test_property_ascii_fast_path_agrees_with_general_path(national, sep):
    # A non-ASCII separator takes the general (NFKC + regex) path; ASCII the fast one.
    typed = f"{national[:4]}{sep}{national[4:7]}{sep}{national[7:]}"
    assert one(typed) == one(national) == one("+84" + sep + national[1:])


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=20))
def test_property_name_fast_fold_equals_general_fold(text):
    # The one-translate folding must give exactly what fold() + word split gives.
    import re

    from sheetcrm.text import fold

    ref = " ".join(re.findall(r"[0-9a-z]+", fold(text)))
    assert normalize_name(pd.Series([text], dtype=object)).iloc[0] == ref


# Pieces a person or a form puts into a phone cell; the batch path must agree with the
# one-value parser on every mix of them (it only takes the common Vietnamese shapes).
_PHONE_BITS = st.lists(st.sampled_from(
    list("0123456789") * 3 + ["+", " ", ".", "-", "(", ")", "/", "'", "\n", "\t", "x", "#",
                              "84", "0084", "+84", "016", "0162", "0199", "01", "\u00a7", "\u00b6"]),
    max_size=16).map("".join)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(_PHONE_BITS, st.integers(0, 10**12), st.none(),
                          st.floats(allow_nan=True)), min_size=65, max_size=120))
def test_property_batch_phone_parsing_agrees_with_one_by_one(values):
    from sheetcrm.sync import normalize

    parse = lambda v: normalize._parse_phone(v, "VN")
    results, statuses = normalize._parse_phones_batch(values, parse)
    assert list(zip(results, statuses)) == [parse(v) for v in values]


_EMAIL_BITS = st.lists(st.sampled_from(
    list("abcXYZ019._-+@") * 2 + ["@", "@gmail.com", ".vn", "mailto:", "<", ">", " ", "\n", "\t",
                                  "\x1c", "Đ", "é", "\u00b6", "a" * 60, "b" * 250, ".."]),
    max_size=14).map("".join)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(_EMAIL_BITS, st.integers(), st.none(), st.floats(allow_nan=True)),
                min_size=65, max_size=120))
def test_property_batch_email_parsing_agrees_with_one_by_one(values):
    from sheetcrm.sync import normalize

    results, statuses = normalize._parse_emails_batch(values, normalize._parse_email)
    assert list(zip(results, statuses)) == [normalize._parse_email(v) for v in values]


def test_batch_email_parsing_takes_whole_addresses_itself(monkeypatch):
    from sheetcrm.sync import normalize

    normalize.clear_memo()
    calls = []
    real = normalize._parse_email
    monkeypatch.setattr(normalize, "_parse_email", lambda v: calls.append(v) or real(v))
    cells = [f"An.Nguyen{k}@Gmail.com" for k in range(80)] + [" x@y.vn ", "broken@", ""]
    out = normalize_email(pd.Series(cells, dtype=object))
    assert sorted(calls) == sorted([" x@y.vn ", "broken@", ""])
    assert out.iloc[0] == "an.nguyen0@gmail.com" and out.iloc[80] == "x@y.vn" and out.iloc[81] is None


def test_batch_paths_take_columns_without_any_text():
    # Numbers in an email column, fractions in a phone column: nothing for the joined
    # text, every value judged on its own.
    from sheetcrm.sync import normalize

    normalize.clear_memo()
    assert normalize_email(pd.Series(list(range(100)), dtype=object)).isna().all()
    assert email_status(pd.Series(list(range(100)), dtype=object)).eq("invalid").all()
    fractions = pd.Series([k + 0.5 for k in range(100)], dtype=object)
    assert phone_status(fractions).eq("invalid").all()


def test_batch_phone_parsing_takes_the_common_shapes_itself(monkeypatch):
    from sheetcrm.sync import normalize

    normalize.clear_memo()
    calls = []
    real = normalize._parse_phone
    monkeypatch.setattr(normalize, "_parse_phone", lambda v, r: calls.append(v) or real(v, r))
    shapes = [f"09{k:08d}" for k in range(40)] + [f"+84 168 {k:07d}" for k in range(40)] + ["abc"]
    out = normalize_phone(pd.Series(shapes, dtype=object))
    assert calls == ["abc"]  # 80 numbers by the regex passes, one odd cell on its own
    assert out.iloc[0] == "+84900000000" and out.iloc[40] == "+84380000000" and out.iloc[80] is None


@settings(max_examples=300, deadline=None)
# No NUL: pandas' factorize reads object strings up to a NUL ('a' and 'a\x00b' become one
# value), and neither an .xlsx cell nor a Sheets cell can hold one.
@given(st.lists(st.one_of(st.text(st.characters(blacklist_characters="\x00"), max_size=12),
                          st.none(), st.just(float("nan"))), min_size=1, max_size=40))
def test_property_names_folded_together_agree_with_one_by_one(values):
    from sheetcrm.sync import normalize

    assert normalize_name(pd.Series(values, dtype=object)).tolist() == [
        normalize._name_one(v) for v in values]



_COMPANY_BITS = st.lists(st.sampled_from(
    ["Công ty", "TNHH", "Cty", "CP", "cổ phần", "JSC", "Co., Ltd", "MTV", "Đại", "Phát", "An",
     "công-ty", "tnhhx", "x", " ", ",", "\n", "é", "Company", "Limited", "Ltd", "Co", "Corp",
     "Corporation", "Hộ kinh doanh", "một thành viên", "trách nhiệm hữu hạn", "J.S.C"]),
    max_size=8).map(" ".join)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(_COMPANY_BITS, st.none()), min_size=1, max_size=30))
def test_property_legal_forms_removed_as_whole_words(values):
    """Reference: each form removed where it stands as whole words, one value at a time."""
    import re

    from sheetcrm.dedupe_rules import load_default_rules
    from sheetcrm.sync import normalize

    listed = FORMS + ["MTV", "cổ phần", "CP"] + list(load_default_rules().legal_forms)
    forms = sorted({normalize._name_one(f) for f in listed} - {""}, key=len, reverse=True)
    ref = re.compile(r"(?<![0-9a-z])(?:" + "|".join(map(re.escape, forms)) + r")(?![0-9a-z])")
    want = [" ".join(ref.sub(" ", normalize._name_one(v)).split()) for v in values]
    assert normalize_company(pd.Series(values, dtype=object), listed).tolist() == want
