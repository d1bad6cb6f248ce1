"""The column-at-once steps of the reason classifier give what the text-by-text ones give
(docs/reasons-classifier.md, "Training and speed"): folding and shorthand, category names,
keyword scores and the model's features."""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.feature_extraction.text import TfidfVectorizer

from sheetcrm.schema import load_schemas
from sheetcrm.sync import reasons as R
from sheetcrm.sync import reasons_model as RM

CAT = load_schemas().reasons
M = R._Matcher.build(CAT)
# words the rules read: keywords, negations, shorthand, names, and a few of no meaning
WORDS = sorted({w for kw in M.keywords for w in kw} | set(M.negations) | set(M.abbreviations)
               | {"Giá", "quá", "cao", "Khác", "đắt", "ĐẮT", "Chưa", "cần", "ngay", "xyz", "Ｋｏ", "日本", "İ"})
PIECES = st.one_of(st.sampled_from(WORDS), st.sampled_from([" ", "  ", ":", " - ", "(", ")", ",", "!!", "\t",
                                                              "\u0301", "\xa8", "\x01", "\n", "%", "ạ"]),
                   st.text(max_size=3))
TEXTS = st.lists(st.lists(PIECES, max_size=8).map("".join), max_size=12)


@settings(max_examples=150, deadline=None)
@given(TEXTS)
def test_folding_and_shorthand_of_a_column_equal_text_by_text(texts):
    folded, normal = R._fold_normal(texts, M.abbreviations)
    assert folded == [R._fold(t) for t in texts]
    assert normal == [M.normal(t) for t in texts]


@settings(max_examples=150, deadline=None)
@given(TEXTS)
def test_keyword_scores_and_names_of_a_column_equal_text_by_text(texts):
    raws = [t.strip() for t in texts]
    folded, normal = R._fold_normal(raws, M.abbreviations)
    scores, keys = M.scores_many(normal)
    assert [{k: int(v) for k, v in zip(keys, row) if v} for row in scores] == [M.scores(n) for n in normal]
    assert M.sure_many(normal) == [M.keyword_sure(n) for n in normal]
    assert M.named_many(raws, folded, normal) == [M.named(r) for r in raws]


def test_a_negated_keyword_does_not_count_in_a_column_either():
    normal = [M.normal(t) for t in ("không nghe máy", "khách không đắt", "đắt quá", "")]
    assert M.sure_many(normal) == [M.keyword_sure(n) for n in normal]
    assert M.sure_many(normal)[0] == "no_contact"


@settings(max_examples=60, deadline=None)
@given(TEXTS)
def test_the_models_features_equal_scikit_learns_vectorizers(texts):
    train = [M.normal(t) for t, _ in CAT.examples[:400]]
    normal = [M.normal(t) for t in texts] + ["gia cao", ""]
    words = TfidfVectorizer(analyzer="word", ngram_range=(1, 2), token_pattern=r"\S+", sublinear_tf=True,
                            dtype=np.float32).fit(train)
    chars = TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), min_df=2, sublinear_tf=True,
                            dtype=np.float32).fit(train)
    got_words = RM._WordGrams().fit(train).transform(normal)
    got_chars = RM._PerWord((2, 5), 2).fit(train).transform(pd.Series(normal))
    assert abs(got_words - words.transform(normal)).max() == 0 if normal else True
    assert abs(got_chars - chars.transform(normal)).max() < 1e-6


def test_tokens_of_a_column():
    codes, words, indptr = R._tokens(["a b", "", " b  a ", "c\x01d"])
    assert indptr.tolist() == [0, 2, 2, 4, 5]
    assert [words[c] for c in codes] == ["a", "b", "b", "a", "c\x01d"]
    assert R._tokens([])[2].tolist() == [0]
