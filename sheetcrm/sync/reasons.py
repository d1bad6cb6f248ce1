"""Map free-text rejection reasons to the catalogue of `schemas/reasons.toml`.

How it decides is described in docs/reasons-classifier.md. In short, reps type reasons as
they talk (with or without accents, "ko"/"k" for "không", English mixed in), so every text
is folded (as sheetcrm.text.fold), punctuation becomes spaces and shorthand is expanded word
by word (`[abbreviations]`). Then, first answer wins:

1. the whole text is a category's label, English name, key or alias → that category;
2. the text starts with a category name and a separator ("Khác: khách đi nước ngoài") →
   that category, the rest is the detail;
3. the text is one the team has corrected in the rejection log → the team's category;
4. keywords of a single category, two words or more, are found → that category;
5. otherwise a logistic regression trained on `schemas/reason_examples.csv` (plus the team's
   corrections, weighted higher) reads character and word n-grams of the folded and the
   original text;
6. below `rules.min_confidence` the answer is the fallback category (`rules.other`) with the
   whole text as detail and `matched = False`, so the caller can ask the person to pick one.

Each distinct text is classified once, the distinct texts of a column together (vectorised
passes over all their words; docs/reasons-classifier.md, "Training and speed"), and a model
is trained once per process for a given training set (cached by its content); its answers
are kept on disk by text digest, so a later run trains only for a text never seen.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from dataclasses import dataclass
from itertools import chain
from typing import Any

import numpy as np
import pandas as pd

from sheetcrm.schema import ReasonCatalogue
from sheetcrm.text import fold

_NON_WORD = re.compile(r"[^0-9a-z%]+")
_SEPARATOR = re.compile(r"^\s*[:\-–—(,;/.]+\s*")


def _fold_table() -> dict[int, str]:
    chars = [chr(c) for c in (*range(0x80, 0x250), *range(0x1E00, 0x1F00))]
    # spaces are left to str.split; a letter that folds to nothing keeps the general path
    return {ord(c): fold(c) for c in chars
            if unicodedata.normalize("NFC", c) == c and not c.isspace() and fold(c)}


_FOLD = _fold_table()
_OTHER = re.compile("[^\x00-\x7f" + re.escape("".join(map(chr, _FOLD))) + "\\s]")


def _fold(text: str) -> str:
    """sheetcrm.text.fold, faster on Latin and Vietnamese letters (one table lookup per
    character); any other character takes the general path."""
    nfc = unicodedata.normalize("NFC", text)
    if _OTHER.search(nfc):
        return fold(text)
    return " ".join(nfc.translate(_FOLD).casefold().split())


_SEP = "\x01"  # between texts when many are joined as one string (not a space, kept by numpy)


def _fold_normal(texts: list[str], abbreviations: dict[str, str]) -> tuple[list[str], list[str]]:
    """(`_fold`, `_Matcher.normal`) of every text, working word by word: folding, dropping
    punctuation and expanding shorthand never cross a space, so each distinct word (a few
    thousand in a column of 100k reasons) is folded once and the texts are rebuilt from
    their words in a few vectorised steps. Equal to the text-by-text functions (a
    property test checks it)."""
    if any(_SEP in t for t in texts):
        folded = [_fold(t) for t in texts]
        return folded, [" ".join(_words(f, abbreviations)) for f in folded]
    codes, words, indptr = _tokens(texts)
    fw = [_fold(w) for w in words]
    nw = [" ".join(_words(f, abbreviations)) for f in fw]
    return _join_words(np.array(fw, dtype=object), codes, indptr), \
        _join_words(np.array(nw, dtype=object), codes, indptr)


def _join_words(pieces: np.ndarray, codes: np.ndarray, indptr: np.ndarray) -> list[str]:
    """Each text's pieces (pieces[codes[indptr[i]:indptr[i + 1]]]) joined by single spaces.
    A piece is stripped and may be empty (a word of punctuation only): empty ones are left out."""
    n = len(indptr) - 1
    tokens = pieces[codes] if len(codes) else np.array([], dtype=object)
    keep = tokens != ""
    if not keep.all():
        indptr = np.r_[0, np.cumsum(keep)][indptr]
        tokens = tokens[keep]
    if not len(tokens):
        return [""] * n
    parts = " ".join(np.insert(tokens, indptr[1:-1], _SEP).tolist()).split(_SEP)
    return [p.strip() for p in parts]


def _words(folded: str, abbreviations: dict[str, str]) -> list[str]:
    out: list[str] = []
    for w in _NON_WORD.sub(" ", folded).split():
        out.extend(abbreviations.get(w, w).split())
    return out


_PREFIX_RX: dict[tuple[str, ...], re.Pattern | None] = {}


@dataclass(frozen=True)
class _Matcher:
    names: dict[str, str]            # normalised full name → category key
    prefixes: dict[str, list[tuple[str, str]]]  # first letter → (folded name, key), longest first
    keywords: dict[tuple[str, ...], list[tuple[str, int]]]  # words → [(key, catalogue position)]
    starts: dict[str, tuple[int, ...]]  # a keyword's first word → the lengths of those keywords
    negations: frozenset[str]
    abbreviations: dict[str, str]
    other: str

    @classmethod
    def build(cls, catalogue: ReasonCatalogue) -> _Matcher:
        ab = catalogue.abbreviations
        names: dict[str, str] = {}
        prefixes: list[tuple[str, str]] = []
        keywords: dict[tuple[str, ...], list[tuple[str, int]]] = {}
        for pos, r in enumerate(catalogue.reasons):
            for name in (r.key, r.label, r.en, *r.aliases):
                names.setdefault(" ".join(_words(fold(name), ab)), r.key)
                prefixes.append((fold(name), r.key))
            for kw in r.keywords:
                words = tuple(_words(fold(kw), ab))
                if words:
                    keywords.setdefault(words, []).append((r.key, pos))
        prefixes.sort(key=lambda p: -len(p[0]))
        by_letter: dict[str, list[tuple[str, str]]] = {}
        for p in prefixes:
            by_letter.setdefault(p[0][:1], []).append(p)
        starts: dict[str, set[int]] = {}
        for words in keywords:
            starts.setdefault(words[0], set()).add(len(words))
        return cls(names, by_letter, keywords, {w: tuple(sorted(ks)) for w, ks in starts.items()},
                   frozenset(fold(n) for n in catalogue.negations), ab, catalogue.other)

    def normal(self, text: str) -> str:
        """Folded, punctuation-free, shorthand-expanded text: what the rules and the model read."""
        return " ".join(_words(_fold(text), self.abbreviations))

    def named(self, raw: str, folded: str | None = None, whole: str | None = None) -> tuple[str, str] | None:
        """(key, detail) when the text is a category name, or starts with one and a separator.
        `folded` (_fold) and `whole` (normal) may be given when known."""
        folded = _fold(raw) if folded is None else folded
        whole = " ".join(_words(folded, self.abbreviations)) if whole is None else whole
        if whole in self.names:
            return self.names[whole], ""
        for name, key in self.prefixes.get(folded[:1], ()):
            if folded.startswith(name):
                rest = folded[len(name):]
                sep = _SEPARATOR.match(rest)
                if sep and rest[sep.end():].strip():
                    return key, _detail(raw, name)
        return None

    def scores(self, normal: str) -> dict[str, int]:
        """Keyword score per category: each keyword found scores its length in words."""
        words = normal.split()
        n = len(words)
        scores: dict[str, int] = {}
        for i, w in enumerate(words):
            lengths = self.starts.get(w)
            if lengths is None or (i > 0 and words[i - 1] in self.negations and w not in self.negations):
                continue  # "khong dat": a negated keyword says the opposite
            for k in lengths:
                if i + k > n:
                    break
                for key, _ in self.keywords.get(tuple(words[i:i + k]), ()):
                    scores[key] = scores.get(key, 0) + k
        return scores

    def scores_many(self, normals: list[str]) -> tuple[np.ndarray, list[str]]:
        """`scores` of every text at once: (texts × categories array, the category keys).
        Each keyword length is one vectorised pass over all the words; only distinct
        runs of keyword words are looked up."""
        keys = list(dict.fromkeys(key for hits in self.keywords.values() for key, _ in hits))
        col = {key: j for j, key in enumerate(keys)}
        out = np.zeros((len(normals), len(keys)), dtype=np.int64)
        codes, words, indptr = _tokens(normals)
        n_tok = len(codes)
        if not n_tok or not keys:
            return out, keys
        kw_words = set(chain.from_iterable(self.keywords))
        is_kw = np.fromiter((w in kw_words for w in words), dtype=bool, count=len(words))[codes]
        is_neg = np.fromiter((w in self.negations for w in words), dtype=bool, count=len(words))[codes]
        rows = _rows(indptr)
        end = indptr[1:][rows]
        first = np.zeros(n_tok, dtype=bool)
        first[indptr[:-1][np.diff(indptr) > 0]] = True
        # "khong dat": a keyword right after a negation word does not count
        can_start = is_kw & ~(np.r_[False, is_neg[:-1]] & ~first & ~is_neg)
        not_kw = np.r_[0, np.cumsum(~is_kw)]
        pos = np.flatnonzero(can_start)  # only runs of keyword words can be a keyword
        n_words = len(words)
        for k in sorted({len(k) for k in self.keywords}):
            stop = np.minimum(pos + k, n_tok)
            at = pos[(pos + k <= end[pos]) & (not_kw[stop] - not_kw[pos] == 0)]
            if not len(at):
                continue
            gram = codes[at]
            for i in range(1, k):  # an id of the k words starting at each position
                gram = pd.factorize(gram * n_words + codes[at + i])[0].astype(np.int64)
            which, distinct = pd.factorize(gram)
            rep = np.empty(len(distinct), dtype=np.int64)
            rep[which[::-1]] = at[::-1]  # the first position of each distinct run
            add = np.zeros((len(distinct), len(keys)), dtype=np.int64)
            for d, p in enumerate(rep.tolist()):
                for key, _ in self.keywords.get(tuple(words[codes[p:p + k]].tolist()), ()):
                    add[d, col[key]] += k
            hit = add.any(axis=1)[which]
            if hit.any():
                np.add.at(out, rows[at[hit]], add[which[hit]])
        return out, keys

    def sure_many(self, normals: list[str]) -> list[str | None]:
        """`keyword_sure` of every text at once."""
        scores, keys = self.scores_many(normals)
        if not len(keys):
            return [None] * len(normals)
        found = (scores > 0).sum(axis=1)
        best = scores.argmax(axis=1)
        ok = (found == 1) & (scores.max(axis=1) >= 2)
        names = np.array(keys, dtype=object)[best]
        return np.where(ok, names, None).tolist()

    def named_many(self, raws: list[str], folded: list[str], normals: list[str]) -> list[tuple[str, str] | None]:
        """`named` of every text; only texts that are a name, or start with one and a
        separator (one regex of all the names), are looked at one by one."""
        rx = self._prefix_regex()
        return [self.named(r, f, n) if (n in self.names or (rx is not None and rx.match(f))) else None
                for r, f, n in zip(raws, folded, normals)]

    def _prefix_regex(self) -> re.Pattern | None:
        names = sorted({name for ps in self.prefixes.values() for name, _ in ps if name}, key=len, reverse=True)
        key = tuple(names)
        if key not in _PREFIX_RX:
            _PREFIX_RX[key] = re.compile("(?:" + "|".join(map(re.escape, names)) + r")(?=\s*[:\-–—(,;/.]+\s*\S)") \
                if names else None
        return _PREFIX_RX[key]

    def keyword_best(self, normal: str, order: dict[str, int]) -> str | None:
        scores = self.scores(normal)
        return max(scores, key=lambda c: (scores[c], -order[c])) if scores else None

    def keyword_sure(self, normal: str) -> str | None:
        """The category when keywords of one category only are found, at least two words of them."""
        scores = self.scores(normal)
        if len(scores) == 1:
            key, score = next(iter(scores.items()))
            return key if score >= 2 else None
        return None


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


def _tokens(texts) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The words of every text at once: (codes into the distinct words, the distinct words,
    indptr: text i's words are codes[indptr[i]:indptr[i + 1]])."""
    texts = texts.tolist() if hasattr(texts, "tolist") else list(texts)
    if not texts:
        return np.zeros(0, dtype=np.int64), np.array([], dtype=object), np.zeros(1, dtype=np.int64)
    if any(_SEP in t for t in texts):
        lists = [t.split() for t in texts]
        lengths = np.fromiter(map(len, lists), dtype=np.int64, count=len(lists))
        flat = np.fromiter(chain.from_iterable(lists), dtype=object, count=int(lengths.sum()))
    else:  # one split of all the texts, a separator word between them
        flat = np.array(f" {_SEP} ".join(texts).split(), dtype=object)
        sep = np.flatnonzero(flat == _SEP)
        lengths = np.diff(np.r_[-1, sep, len(flat)]) - 1
        flat = np.delete(flat, sep)
    indptr = np.zeros(len(texts) + 1, dtype=np.int64)
    np.cumsum(lengths, out=indptr[1:])
    if not len(flat):
        return np.zeros(0, dtype=np.int64), np.array([], dtype=object), indptr
    codes, words = pd.factorize(flat)
    return codes.astype(np.int64), np.asarray(words, dtype=object), indptr


def _rows(indptr: np.ndarray) -> np.ndarray:
    """The text each token belongs to."""
    return np.repeat(np.arange(len(indptr) - 1), np.diff(indptr))


def _fingerprint(catalogue: ReasonCatalogue, team: tuple[tuple[str, str], ...]) -> str:
    h = hashlib.sha256()
    for r in catalogue.reasons:
        h.update(repr((r.key, r.label, r.en, r.aliases, r.keywords)).encode())
    h.update(repr((sorted(catalogue.abbreviations.items()), catalogue.negations, catalogue.team_weight)).encode())
    for text, key in (*catalogue.examples, ("", "--team--"), *team):
        h.update(f"{text}\t{key}\n".encode())
    return h.hexdigest()


_CACHE: dict[str, Any] = {}  # fingerprint → reasons_model._Model
_CACHE_SIZE = 4
# Per model: digest of a text → (key, confidence). Kept on disk too (docs/cache.md): a text
# answered once is answered again without the model.
_ANSWERS: dict[str, dict[str, tuple[str, float]]] = {}


def _model(key: str, catalogue: ReasonCatalogue, team: tuple[tuple[str, str], ...]) -> Any:
    """The trained model for this catalogue and these team corrections (trained once)."""
    if key not in _CACHE:
        from .reasons_model import _Model

        texts = [t for t, _ in catalogue.examples] + [t for t, _ in team]
        labels = [k for _, k in catalogue.examples] + [k for _, k in team]
        weights = np.r_[np.ones(len(catalogue.examples)), np.full(len(team), catalogue.team_weight)]
        if len(_CACHE) >= _CACHE_SIZE:
            _CACHE.pop(next(iter(_CACHE)))
        _CACHE[key] = _Model(_Matcher.build(catalogue), texts, labels, weights)
    return _CACHE[key]


def _answer_key(key: str) -> str:
    from sheetcrm.cache import libraries

    # a newer scikit-learn or numpy could answer a text differently: its own file
    return hashlib.blake2b(f"{key}|{libraries()}".encode(), digest_size=12).hexdigest()


def _answers(key: str) -> dict[str, tuple[str, float]]:
    from sheetcrm import cache

    if key not in _ANSWERS:
        if len(_ANSWERS) >= _CACHE_SIZE:
            _ANSWERS.pop(next(iter(_ANSWERS)))
        _ANSWERS[key] = {}
        data = cache.load("reasons", _answer_key(key))
        try:
            if data is not None:
                _ANSWERS[key] = {d: (str(k), float(c)) for d, (k, c) in data["answers"].items()}
        except (ValueError, KeyError, TypeError, AttributeError):  # not ours: answered again
            pass
    return _ANSWERS[key]


def _save_answers(key: str) -> None:
    from sheetcrm import cache

    cache.save("reasons", _answer_key(key), {"answers": {d: [k, c] for d, (k, c) in _ANSWERS[key].items()}})


def _text_digest(text: str) -> str:
    # The cache holds no text a person typed, only its digest.
    return hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=12).hexdigest()


def classify(texts: list[str], catalogue: ReasonCatalogue,
             team: tuple[tuple[str, str], ...] = ()) -> list[tuple[str | None, str, bool, float]]:
    """(category, detail, matched, confidence) for each distinct text (see the module doc)."""
    m = _Matcher.build(catalogue)
    taught = {m.normal(t): k for t, k in team}
    # a category whose keywords the team has overruled no longer wins on keywords alone
    overruled = {s for t, k in team if (s := m.keyword_sure(m.normal(t))) not in (None, k)}
    out: list = [None] * len(texts)
    ask: list[int] = []
    normals: dict[int, str] = {}
    raws = [str(t).strip() for t in texts]
    folded_all, normal_all = _fold_normal(raws, m.abbreviations)
    named = m.named_many(raws, folded_all, normal_all)
    sure = m.sure_many(normal_all)
    for i, (raw, normal, hit, k) in enumerate(zip(raws, normal_all, named, sure)):
        if not normal:
            out[i] = (None, "", False, 0.0)
        elif hit is not None:
            out[i] = (hit[0], hit[1], True, 1.0)
        elif normal in taught:
            k = taught[normal]
            out[i] = (k, raw if k == m.other else "", True, 1.0)
        elif k is not None and k not in overruled:
            out[i] = (k, "", True, 1.0)
        else:
            ask.append(i)
            normals[i] = normal
    if not catalogue.examples:  # no examples shipped: keywords alone
        order = {r.key: p for p, r in enumerate(catalogue.reasons)}
        for i in ask:
            raw = str(texts[i]).strip()
            k = m.keyword_best(m.normal(raw), order)
            out[i] = (k, "", True, 1.0) if k else (m.other, raw, False, 0.0)
        return out
    if not ask:
        return out
    key = _fingerprint(catalogue, team)
    answers = _answers(key)  # a sync asks twice: status, then overview
    digests = {raws[i]: _text_digest(raws[i]) for i in ask}
    todo = {t: normals[i] for i in ask if digests[(t := raws[i])] not in answers}
    if todo:
        model = _model(key, catalogue, team)
        for text, k, c in zip(todo, *model.predict(list(todo), list(todo.values()))):
            answers[digests[text]] = (str(k), float(c))
        _save_answers(key)
    for i in ask:
        raw = raws[i]
        k, c = answers[digests[raw]]
        if c < catalogue.min_confidence:
            out[i] = (m.other, raw, False, float(c))
        else:
            out[i] = (k, raw if k == m.other else "", True, float(c))
    return out


def map_reasons(texts: pd.Series, catalogue: ReasonCatalogue,
                team: tuple[tuple[str, str], ...] = ()) -> pd.DataFrame:
    """Map each text to a category key.

    Returns a frame aligned with `texts`: `category` (reason key, None when blank), `detail`
    (the typed text after "Khác:" and similar prefixes; the whole text when the category is
    the fallback), `matched` (False when blank or when the classifier was not confident
    enough) and `confidence` (0–1). `team` holds the team's corrections (text, key), see
    `team_corrections`.
    """
    s = pd.Series(texts).astype("string").fillna("")
    if len(s) == 0:
        return pd.DataFrame({"category": [], "detail": [], "matched": [], "confidence": []},
                            index=s.index).astype({"category": object, "detail": object, "matched": bool,
                                                   "confidence": float})
    codes, uniques = pd.factorize(s.to_numpy(dtype=object))
    results = classify(list(uniques), catalogue, team)
    cat = np.array([r[0] for r in results], dtype=object)[codes]
    det = np.array([r[1] for r in results], dtype=object)[codes]
    ok = np.array([r[2] for r in results], dtype=bool)[codes]
    conf = np.array([r[3] for r in results], dtype=float)[codes]
    return pd.DataFrame({"category": pd.Series(cat, index=s.index, dtype=object),  # None stays None
                         "detail": pd.Series(det, index=s.index, dtype=object), "matched": ok,
                         "confidence": conf}, index=s.index)


@dataclass(frozen=True)
class TeamCorrections:
    """What the team taught in the workbook (docs/reasons-classifier.md, "Corrections")."""

    pairs: tuple[tuple[str, str], ...] = ()  # (text as typed, category key), latest last
    # Distinct texts (as `_Matcher.normal` reads them), not rows: a text logged again, by a
    # lead rejected twice or by the sync after it learnt it, is one correction.
    in_log: int = 0    # texts whose `Nhóm lý do` in the rejection log differs from the examples
    in_leads: int = 0  # other unsure texts a person settled by picking a category in the lead


def team_corrections(rejections: pd.DataFrame, leads: pd.DataFrame,
                     catalogue: ReasonCatalogue) -> TeamCorrections:
    """Corrections from the parsed rejection log (`reason_category` as a key, `reason_text`)
    and the leads (`lead_id`, `reason_raw`).

    1. A log row whose category differs from what the shipped examples say for its text.
    2. A lead whose `Lý do` is now a category name while its latest log row holds a free text
       that was unsure (logged as the fallback): that text → the category picked.
    Texts that are themselves category names teach nothing (names always win).
    """
    if not len(rejections) or "reason_text" not in rejections or "reason_category" not in rejections:
        return TeamCorrections()
    m = _Matcher.build(catalogue)
    log = pd.DataFrame({"lead_id": _col(rejections, "lead_id"), "text": _col(rejections, "reason_text"),
                        "category": rejections["reason_category"]}).reset_index(drop=True)
    log = log[log["text"].ne("") & log["category"].notna()]
    if not len(log):
        return TeamCorrections()
    texts = log["text"].drop_duplicates()
    shipped = map_reasons(texts, catalogue).set_axis(texts.to_numpy())
    free = log["text"].isin([t for t in texts if m.named(t) is None])
    said, sure = log["text"].map(shipped["category"]), log["text"].map(shipped["matched"]).astype(bool)
    changed = log[free & log["category"].ne(said)]
    last = log["lead_id"].ne("") & ~log["lead_id"].duplicated(keep="last")
    unsure = log[free & last & log["category"].eq(catalogue.other) & ~sure]
    settled = unsure.assign(category=unsure["lead_id"].map(_picked(leads, m, catalogue.other)))
    settled = settled[settled["category"].notna()]
    taught: dict[str, tuple[str, str]] = {}
    seen: list[set[str]] = []
    for frame in (changed, settled):
        normals = {t: m.normal(t) for t in frame["text"].drop_duplicates()}
        seen.append(set(normals.values()))
        for text, key in zip(frame["text"], frame["category"]):
            taught.pop(normals[text], None)
            taught[normals[text]] = (text, key)
    return TeamCorrections(tuple(taught.values()), len(seen[0]), len(seen[1] - seen[0]))


def _col(frame: pd.DataFrame, name: str) -> pd.Series:
    if name not in frame:
        return pd.Series("", index=frame.index, dtype=object)
    values = frame[name].to_numpy(dtype=object)
    if pd.api.types.infer_dtype(values, skipna=False) == "string":  # all text: strip it in one pass
        return pd.Series([v.strip() for v in values.tolist()], index=frame.index, name=name, dtype=object)
    return frame[name].astype("string").fillna("").str.strip().astype(object)


def _picked(leads: pd.DataFrame, m: _Matcher, other: str) -> dict[str, str]:
    """lead_id → the category a lead's `Lý do` names exactly (not the fallback)."""
    if "reason_raw" not in leads or "lead_id" not in leads:
        return {}
    raw = _col(leads, "reason_raw")
    codes, uniques = pd.factorize(raw.to_numpy(dtype=object))
    hits = [m.named(u) if u else None for u in uniques]
    keys = np.array([h[0] if h and h[0] != other and not h[1] else None for h in hits], dtype=object)
    lead_ids = _col(leads, "lead_id")
    named = pd.Series(keys[codes] if len(codes) else [], index=leads.index, dtype=object)
    ok = named.notna() & lead_ids.ne("")
    return dict(zip(lead_ids[ok], named[ok]))


def reason_learning(leads: pd.DataFrame, rejections: pd.DataFrame, catalogue: ReasonCatalogue) -> dict[str, int]:
    """Overview figures: leads whose typed reason the classifier was not sure of (they ask
    the rep to pick a category) and the corrections the team made (in the log, in leads)."""
    tc = team_corrections(rejections, leads, catalogue)
    raw = _col(leads, "reason_raw") if len(leads) else pd.Series([], dtype=object)
    out = map_reasons(raw, catalogue, tc.pairs)
    unsure = int((out["category"].notna() & ~out["matched"].astype(bool)).sum())
    return {"unsure": unsure, "corrected_in_log": tc.in_log, "settled_in_leads": tc.in_leads}
