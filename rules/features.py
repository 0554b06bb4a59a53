"""What the intent model sees of a message: character n-grams and word n-grams of its normalized text.

Character n-grams inside each space-separated chunk (padded with a space on both sides, as
scikit-learn's `char_wb` analyzer does) need no word segmentation, so Thai works as well as English,
and they tolerate typos ("shiping", "hw much"). Word uni- and bigrams add the order of whole words
("not interested" against "interested"). Digits all read as "0": "can you do 40" and "can you do 35"
are the same offer.

A `FeatureSpace` holds the two vocabularies and the inverse document frequencies learnt from the
training texts. Each block (characters, words) is weighted tf-idf with binary tf and scaled to unit
length on its own, so a long message and a short one weigh alike, and neither block drowns the other.
The same code builds the training matrix and the features of a message at inference.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass

import numpy as np

from rules.text import normalize

# Words: runs of letters, digits, apostrophes and combining marks (Thai vowel signs, accents); any other
# character that is not a space (punctuation, emoji) is a word of its own.
_WORD = re.compile(r"(?:[^\W_]|['\u0300-\u036f\u0e31\u0e34-\u0e3a\u0e47-\u0e4e])+|[^\w\s]")
_DIGIT = re.compile(r"\d")


@dataclass(frozen=True)
class FeatureConfig:
    """Which n-grams a message yields, and how rare an n-gram may be and still be kept."""

    char_min: int = 1
    char_max: int = 4
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
    """The text n-grams are taken from: normalized, digits read as 0."""
    text = normalize(text)
    return _DIGIT.sub("0", text) if any(char.isdigit() for char in text) else text


def char_grams(text: str, config: FeatureConfig) -> set[str]:
    """The distinct character n-grams of prepared text, each chunk padded with spaces."""
    low, high = config.char_min, config.char_max
    found: set[str] = set()
    add = found.add
    for chunk in text.split():
        padded = f" {chunk} "
        length = len(padded)
        for size in range(low, min(high, length) + 1):
            for start in range(length - size + 1):
                add(padded[start : start + size])
    return found


def word_grams(text: str, config: FeatureConfig) -> set[str]:
    """The distinct word n-grams of prepared text, words joined by one space."""
    words = _WORD.findall(text)
    found: set[str] = set()
    for size in range(config.word_min, config.word_max + 1):
        if size == 1:
            found.update(words)
        else:
            found.update(" ".join(words[i : i + size]) for i in range(len(words) - size + 1))
    return found


class FeatureSpace:
    """Two vocabularies (n-gram → column) with their idf weights; character columns come first."""

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
        self.char_index = {gram: i for i, gram in enumerate(self.chars)}
        offset = len(self.chars)
        self.word_index = {gram: offset + i for i, gram in enumerate(self.words)}
        self.idf = np.asarray(idf, dtype=np.float64)
        if self.idf.shape != (len(self.chars) + len(self.words),):
            raise ValueError("one idf weight per n-gram is needed")

    @property
    def size(self) -> int:
        return len(self.idf)

    @classmethod
    def fit(cls, texts: Iterable[str], config: FeatureConfig) -> FeatureSpace:
        """Learn vocabularies and idf from training texts; each distinct prepared text counts once."""
        documents = sorted({prepared(text) for text in texts})
        char_counts: dict[str, int] = {}
        word_counts: dict[str, int] = {}
        for document in documents:
            for gram in char_grams(document, config):
                char_counts[gram] = char_counts.get(gram, 0) + 1
            for gram in word_grams(document, config):
                word_counts[gram] = word_counts.get(gram, 0) + 1
        chars = sorted(gram for gram, count in char_counts.items() if count >= config.min_count)
        words = sorted(gram for gram, count in word_counts.items() if count >= config.min_count)
        total = len(documents)
        # Smoothed idf, as scikit-learn's TfidfTransformer computes it.
        counts = [char_counts[gram] for gram in chars] + [word_counts[gram] for gram in words]
        idf = np.array([math.log((1 + total) / (1 + count)) + 1 for count in counts], dtype=np.float64)
        return cls(config, chars, words, idf)

    def columns(self, text: str, *, ordered: bool = True) -> tuple[list[int], list[int]]:
        """The known character columns and word columns of a raw message.

        `ordered` sorts them, which makes sums over them reproducible to the last bit; scoring one
        message skips it, as the order changes a sum by rounding only.
        """
        text = prepared(text)
        char_index, word_index = self.char_index, self.word_index
        chars = [char_index[gram] for gram in char_grams(text, self.config) if gram in char_index]
        words = [word_index[gram] for gram in word_grams(text, self.config) if gram in word_index]
        if ordered:
            chars.sort()
            words.sort()
        return chars, words

    def matrix(self, texts: Sequence[str]):
        """The scipy CSR matrix of `texts`: per block, idf weights scaled to unit length."""
        from scipy.sparse import csr_matrix

        indices: list[int] = []
        # Where each block (characters, then words, per text) ends in `indices`.
        ends: list[int] = []
        for text in texts:
            for block in self.columns(text):
                indices.extend(block)
                ends.append(len(indices))
        columns = np.array(indices, dtype=np.int64)
        bounds = np.array(ends, dtype=np.int64)
        lengths = np.diff(bounds, prepend=0)
        values = self.idf[columns]
        # Sum of squares per block; np.add.reduceat cannot express empty blocks, so skip them.
        starts = bounds - lengths
        present = lengths > 0
        squares = np.zeros(len(bounds))
        if columns.size:
            squares[present] = np.add.reduceat(values * values, starts[present])
        norms = np.sqrt(squares, where=present, out=np.ones(len(bounds)))
        values = values / np.repeat(norms, lengths)
        indptr = np.concatenate(([0], bounds[1::2]))
        return csr_matrix((values, columns, indptr), shape=(len(texts), self.size))
