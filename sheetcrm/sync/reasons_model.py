"""The reasons classifier's model: character and word n-grams and a logistic regression
(docs/reasons-classifier.md). Imported only when a text needs it: scikit-learn and scipy
take longer to import than a cron run that finds every text answered."""

from __future__ import annotations

import unicodedata

import numpy as np
import pandas as pd
from scipy import sparse
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.compose import ColumnTransformer
from sklearn.feature_extraction.text import CountVectorizer, TfidfTransformer
from sklearn.linear_model import LogisticRegression
from threadpoolctl import threadpool_limits

from .reasons import _Matcher, _rows, _tokens

C = 20.0  # weak regularisation: the examples are curated, not noisy


class _PerWord(BaseEstimator, TransformerMixin):
    """TfidfVectorizer(analyzer="char_wb", sublinear_tf=True), computed word by word.

    char_wb n-grams never cross a space, so a text's counts are the sum of its words'
    counts: each distinct word is analysed once and the texts are one sparse product.
    """

    def __init__(self, ngram_range: tuple[int, int] = (2, 5), min_df: int = 1):
        self.ngram_range, self.min_df = ngram_range, min_df

    def fit(self, texts, y=None):
        self.count_ = CountVectorizer(analyzer="char_wb", ngram_range=self.ngram_range, min_df=self.min_df,
                                      dtype=np.float32)
        self.tfidf_ = TfidfTransformer(sublinear_tf=True).fit(self.count_.fit_transform(texts))
        return self

    def transform(self, texts):
        return self.from_tokens(*_tokens(texts))

    def from_tokens(self, codes: np.ndarray, words: np.ndarray, indptr: np.ndarray):
        """`transform` of texts already split by `_tokens`."""
        n = len(indptr) - 1
        if not len(words):
            return self.tfidf_.transform(sparse.csr_matrix((n, len(self.count_.vocabulary_)), dtype=np.float32))
        docs = sparse.csr_matrix((np.ones(len(codes), dtype=np.float32), codes, indptr), shape=(n, len(words)))
        return self.tfidf_.transform(docs @ self.count_.transform(words.tolist()))


class _WordGrams(BaseEstimator, TransformerMixin):
    r"""TfidfVectorizer(analyzer="word", ngram_range=(1, 2), token_pattern=r"\S+",
    sublinear_tf=True): the same features, counted for all texts at once from their words
    (a bigram is two neighbouring words of one text; each distinct one is looked up once)."""

    def fit(self, texts, y=None):
        self.count_ = CountVectorizer(analyzer="word", ngram_range=(1, 2), token_pattern=r"\S+", dtype=np.float32)
        self.tfidf_ = TfidfTransformer(sublinear_tf=True).fit(self.count_.fit_transform(texts))
        return self

    def transform(self, texts):
        return self.from_tokens(*_tokens(texts))

    def from_tokens(self, codes: np.ndarray, words: np.ndarray, indptr: np.ndarray):
        """`transform` of texts already split by `_tokens`."""
        vocab = self.count_.vocabulary_
        n = len(indptr) - 1
        if not len(words):
            return self.tfidf_.transform(sparse.csr_matrix((n, len(vocab)), dtype=np.float32))
        words = np.array([w.lower() for w in words], dtype=object)  # as CountVectorizer(lowercase=True)
        rows = _rows(indptr)
        uni = np.fromiter((vocab.get(w, -1) for w in words), dtype=np.int64, count=len(words))[codes]
        # neighbouring words of the same text
        inner = np.ones(len(codes), dtype=bool)
        inner[indptr[1:] - 1] = False  # a text's last word starts no bigram
        inner = inner[:-1] if len(inner) else inner
        left, right = codes[:-1][inner], codes[1:][inner]
        pair, distinct = pd.factorize(left * len(words) + right)
        d = np.asarray(distinct, dtype=np.int64)
        names = [f"{a} {b}" for a, b in zip(words[d // len(words)], words[d % len(words)])]
        bi = np.fromiter((vocab.get(b, -1) for b in names), dtype=np.int64, count=len(names))[pair]
        r = np.r_[rows, rows[:-1][inner]]
        c = np.r_[uni, bi]
        keep = c >= 0
        counts = sparse.csr_matrix((np.ones(int(keep.sum()), dtype=np.float32), (r[keep], c[keep])),
                                   shape=(n, len(vocab)))
        counts.sum_duplicates()
        return self.tfidf_.transform(counts)


class _Model:
    """Character + word n-grams of the folded and the original text, and a multinomial
    logistic regression over them."""

    key = ""  # the training set's fingerprint

    def __init__(self, matcher: _Matcher, texts: list[str], labels: list[str],
                 weights: np.ndarray):
        self.matcher = matcher
        self.features = ColumnTransformer([
            ("folded_chars", _PerWord(ngram_range=(2, 5), min_df=2), "normal"),
            ("folded_words", _WordGrams(), "normal"),
            # accents kept: "đắt" (dear) and "dát" fold alike
            ("original_chars", _PerWord(ngram_range=(1, 3), min_df=2), "original"),
        ])
        # one BLAS thread: on a busy 2-core machine more threads made the fit seven times slower
        with threadpool_limits(1):
            X = self.features.fit_transform(self._frame(texts))
            self.clf = LogisticRegression(C=C, max_iter=300)
            self.clf.fit(X, labels, sample_weight=weights)

    def _frame(self, texts: list[str], normals: list[str] | None = None) -> pd.DataFrame:
        return pd.DataFrame({"normal": normals if normals is not None else [self.matcher.normal(t) for t in texts],
                             "original": [unicodedata.normalize("NFC", t).casefold() for t in texts]})

    def predict(self, texts: list[str], normals: list[str] | None = None) -> tuple[np.ndarray, np.ndarray]:
        """(category keys, confidence) for each text (`normals`: their _Matcher.normal, if known)."""
        if not texts:
            return np.array([], dtype=object), np.array([], dtype=float)
        frame = self._frame(texts, normals)
        # the ColumnTransformer's columns, in its order; the two readers of the folded text
        # share one split of it
        tr = self.features.named_transformers_
        tokens = _tokens(frame["normal"].tolist())
        X = sparse.hstack([tr["folded_chars"].from_tokens(*tokens), tr["folded_words"].from_tokens(*tokens),
                           tr["original_chars"].transform(frame["original"].tolist())], format="csr")
        with threadpool_limits(1):
            proba = self.clf.predict_proba(X)
        best = proba.argmax(axis=1)
        conf = proba[np.arange(len(texts)), best]
        # no word the examples know ("abc xyz"): the answer would be the classes' prior
        words = X[:, self.features.output_indices_["folded_words"]]
        conf[np.diff(words.indptr) == 0] = 0.0
        return self.clf.classes_[best].astype(object), conf
