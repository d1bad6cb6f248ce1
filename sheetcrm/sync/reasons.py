"""Map free-text rejection reasons to the catalogue of `schemas/reasons.toml` (docs/reasons.md).

Reps type reasons as they talk: with or without accents, "ko"/"k" for "không", English
mixed in. Matching works on folded text (sheetcrm.text.fold), with punctuation turned into
spaces and shorthand expanded word by word (`[abbreviations]` in reasons.toml). Then:

1. the whole text is a category's label, English name, key or alias → that category;
2. the text starts with a category name and a separator ("Khác: khách đi nước ngoài",
   "Giá quá cao - so với bên A") → that category, the rest is the detail;
3. otherwise every keyword found as whole words scores its length in words for its
   category, unless the word before it negates it ("không đắt" is not about price;
   `rules.negations`); the best score wins, ties go to the category listed first;
4. nothing found → the fallback category (`rules.other`) with the whole text as detail and
   `matched = False`, so the caller can ask the person to pick a category.

Each distinct text is mapped once, so a 100k-row column costs as many calls as it has
distinct reasons.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

import numpy as np
import pandas as pd

from sheetcrm.schema import ReasonCatalogue
from sheetcrm.text import fold

_NON_WORD = re.compile(r"[^0-9a-z%]+")
_SEPARATOR = re.compile(r"^\s*[:\-–—(,;/.]+\s*")


def _words(folded: str, abbreviations: dict[str, str]) -> list[str]:
    out: list[str] = []
    for w in _NON_WORD.sub(" ", folded).split():
        out.extend(abbreviations.get(w, w).split())
    return out


@dataclass(frozen=True)
class _Matcher:
    names: dict[str, str]            # normalised full name → category key
    prefixes: list[tuple[str, str]]  # (folded name, key), longest first
    keywords: list[tuple[tuple[str, ...], str, int]]  # (words, key, catalogue position)
    negations: frozenset[str]
    abbreviations: dict[str, str]
    other: str

    @classmethod
    def build(cls, catalogue: ReasonCatalogue) -> _Matcher:
        ab = catalogue.abbreviations
        names: dict[str, str] = {}
        prefixes: list[tuple[str, str]] = []
        keywords = []
        for pos, r in enumerate(catalogue.reasons):
            for name in (r.key, r.label, r.en, *r.aliases):
                names.setdefault(" ".join(_words(fold(name), ab)), r.key)
                prefixes.append((fold(name), r.key))
            for kw in r.keywords:
                words = tuple(_words(fold(kw), ab))
                if words:
                    keywords.append((words, r.key, pos))
        prefixes.sort(key=lambda p: -len(p[0]))
        return cls(names, prefixes, keywords, frozenset(fold(n) for n in catalogue.negations), ab,
                   catalogue.other)

    def one(self, text: str) -> tuple[str | None, str, bool]:
        raw = str(text).strip()
        folded = fold(raw)
        if not folded:
            return None, "", False
        words = _words(folded, self.abbreviations)
        whole = " ".join(words)
        if whole in self.names:
            return self.names[whole], "", True
        for name, key in self.prefixes:
            if folded.startswith(name):
                rest = folded[len(name):]
                sep = _SEPARATOR.match(rest)
                if sep and rest[sep.end():].strip():
                    return key, _detail(raw, name), True
        scores: dict[str, int] = {}
        first: dict[str, int] = {}
        n = len(words)
        for kw, key, pos in self.keywords:
            k = len(kw)
            for i in range(n - k + 1):
                if tuple(words[i:i + k]) != kw:
                    continue
                if kw[0] not in self.negations and i > 0 and words[i - 1] in self.negations:
                    continue  # "khong dat": a negated keyword says the opposite
                scores[key] = scores.get(key, 0) + k
                first.setdefault(key, pos)
        if not scores:
            return self.other, raw, False
        best = max(scores, key=lambda c: (scores[c], -first[c]))
        return best, "", True


def _detail(raw: str, name: str) -> str:
    """The text as typed after the category name `name` (folded) and its separator."""
    nfc = unicodedata.normalize("NFC", raw)
    for i in range(len(name), len(nfc) + 1):
        if fold(nfc[:i]) == name:
            rest = nfc[i:]
            sep = _SEPARATOR.match(rest)
            detail = (rest[sep.end():] if sep else rest).strip()
            if sep and "(" in sep.group() and detail.endswith(")"):
                detail = detail[:-1].strip()
            return detail
    return nfc


def map_reasons(texts: pd.Series, catalogue: ReasonCatalogue) -> pd.DataFrame:
    """Map each text to a category key.

    Returns a frame aligned with `texts`: `category` (reason key, None when blank), `detail`
    (the typed text after "Khác:" and similar prefixes; the whole text when nothing
    matched) and `matched` (False when blank or when the fallback category was guessed).
    """
    m = _Matcher.build(catalogue)
    s = pd.Series(texts).astype("string").fillna("")
    codes, uniques = pd.factorize(s.to_numpy(dtype=object))
    results = [m.one(u) for u in uniques]
    if len(s) == 0:
        return pd.DataFrame({"category": [], "detail": [], "matched": []}, index=s.index).astype(
            {"category": object, "detail": object, "matched": bool})
    cat = np.array([r[0] for r in results], dtype=object)[codes]
    det = np.array([r[1] for r in results], dtype=object)[codes]
    ok = np.array([r[2] for r in results], dtype=bool)[codes]
    return pd.DataFrame({"category": pd.Series(cat, index=s.index, dtype=object),  # None stays None
                         "detail": pd.Series(det, index=s.index, dtype=object), "matched": ok}, index=s.index)
