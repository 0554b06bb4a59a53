"""What the intent model sees of a message: character n-grams and word n-grams of its normalized text.

Character 2- and 3-grams of the whole text, spaces included, need no word segmentation, so Thai works
as well as English; they tolerate typos ("shiping", "hw much") and see across a space ("t i" of "not
interested"). Word uni- and bigrams add whole words and their order. Digits all read as "0": "can you
do 40" and "can you do 35" are the same offer. Cross-validated on the corpus's train part, n-grams
inside words only (scikit-learn's `char_wb`), from 1 character, or up to 4 scored the same within
noise; 2- and 3-grams make the fewest per message and the smallest vocabulary, so scoring is fastest.

A `FeatureSpace` holds the vocabulary and the inverse document frequencies learnt from the training
texts. Each block (characters, words) is weighted tf-idf with binary tf and scaled to unit length on
its own, so a long message and a short one weigh alike and neither block drowns the other. The same
code builds the training matrix and the features of a message at inference.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from itertools import repeat

import numpy as np

from rules.text import normalize

# Words: runs of letters, digits, apostrophes and combining marks (Thai vowel signs, accents); any other
# character that is not a space (punctuation, emoji) is a word of its own.
_WORD = re.compile(r"(?:[^\W_]|['\u0300-\u036f\u0e31\u0e34-\u0e3a\u0e47-\u0e4e])+|[^\w\s]")
_DIGIT = re.compile(r"\d")


@dataclass(frozen=True)
class FeatureConfig:
    """Which n-grams a message yields, and how rare an n-gram may be and still be kept."""

    char_min: int = 2
    char_max: int = 3
    word_min: int = 1
    word_max: int = 2
    # An n-gram seen in fewer training texts than this is dropped: it cannot generalize and it makes
    # the exported model bigger.
    min_count: int = 2

    def as_dict(self) -> dict[str, int]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, int]) -> FeatureConfig:
        return cls(**{key: int(data[key]) for key in cls.__dataclass_fields__})


def prepared(text: str) -> str:
    """The text n-grams are taken from: normalized, digits read as 0, no NUL (it marks word n-grams)."""
    return _DIGIT.sub("0", normalize(text)).replace("\0", "")


def char_grams(text: str, config: FeatureConfig) -> list[str]:
    """The character n-grams of prepared text padded with a space at both ends; repeats included."""
    padded = f" {text} "
    length = len(padded)
    grams: list[str] = []
    for size in range(config.char_min, config.char_max + 1):
        grams += [padded[start : start + size] for start in range(length - size + 1)]
    return grams


def word_grams(text: str, config: FeatureConfig) -> list[str]:
    """The word n-grams of prepared text, words joined by one space; repeats included."""
    words = _WORD.findall(text)
    grams: list[str] = []
    for size in range(config.word_min, config.word_max + 1):
        if size == 1:
            grams += words
        else:
            grams += [" ".join(words[i : i + size]) for i in range(len(words) - size + 1)]
    return grams


class FeatureSpace:
    """One vocabulary (n-gram → column, character n-grams first, then words) with idf weights."""

    def __init__(
        self,
        config: FeatureConfig,
        chars: Sequence[str],
        words: Sequence[str],
        idf: np.ndarray,
    ) -> None:
        self.config = config
        self.chars = tuple(chars)
        self.words = tuple(words)
        # Word n-grams are looked up with a marker so that the word "a" and the character n-gram "a"
        # stay two columns in one dictionary.
        self.index = {gram: i for i, gram in enumerate(self.chars)}
        offset = len(self.chars)
        self.index.update({"\0" + gram: offset + i for i, gram in enumerate(self.words)})
        self.idf = np.asarray(idf, dtype=np.float64)
        if self.idf.shape != (len(self.chars) + len(self.words),):
            raise ValueError("one idf weight per n-gram is needed")

    @property
    def size(self) -> int:
        return len(self.idf)

    @property
    def char_count(self) -> int:
        """Columns below this are character n-grams, the others word n-grams."""
        return len(self.chars)

    @classmethod
    def fit(cls, texts: Iterable[str], config: FeatureConfig) -> FeatureSpace:
        """Learn the vocabulary and idf from training texts; each distinct prepared text counts once."""
        documents = sorted({prepared(text) for text in texts})
        char_counts: dict[str, int] = {}
        word_counts: dict[str, int] = {}
        for document in documents:
            for gram in set(char_grams(document, config)):
                char_counts[gram] = char_counts.get(gram, 0) + 1
            for gram in set(word_grams(document, config)):
                word_counts[gram] = word_counts.get(gram, 0) + 1
        chars = sorted(gram for gram, count in char_counts.items() if count >= config.min_count)
        words = sorted(gram for gram, count in word_counts.items() if count >= config.min_count)
        total = len(documents)
        # Smoothed idf, as scikit-learn's TfidfTransformer computes it.
        counts = [char_counts[gram] for gram in chars] + [word_counts[gram] for gram in words]
        idf = np.array([math.log((1 + total) / (1 + count)) + 1 for count in counts], dtype=np.float64)
        return cls(config, chars, words, idf)

    def columns(self, text: str) -> list[int]:
        """The distinct columns of the known n-grams of a raw message, unordered."""
        text = prepared(text)
        config = self.config
        grams = char_grams(text, config)
        grams += ["\0" + gram for gram in word_grams(text, config)]
        found = set(map(self.index.get, grams, repeat(-1)))
        found.discard(-1)
        return list(found)

    def matrix(self, texts: Sequence[str], *, ordered: bool = True):
        """The scipy CSR matrix of `texts`: per block, binary idf weights scaled to unit length.

        `ordered` sorts each row's columns, for sums that come out the same to the last bit whatever
        the platform's sort or hash; scoring skips it, as the order changes a sum by rounding only.
        """
        from scipy.sparse import csr_matrix

        found: list[int] = []
        lengths: list[int] = []
        for text in texts:
            columns = self.columns(text)
            if ordered:
                columns.sort()
            found += columns
            lengths.append(len(columns))
        rows = np.repeat(np.arange(len(texts), dtype=np.intp), lengths)
        columns = np.array(found, dtype=np.intp)
        values = self.idf[columns]
        # Block of each entry: 2 * row for characters, 2 * row + 1 for words; each scaled to unit length.
        blocks = 2 * rows + (columns >= self.char_count)
        norms = np.sqrt(np.bincount(blocks, weights=values * values, minlength=2 * len(texts)))
        values /= norms[blocks]
        indptr = np.concatenate(([0], np.cumsum(lengths, dtype=np.intp)))
        return csr_matrix((values, columns, indptr), shape=(len(texts), self.size))
