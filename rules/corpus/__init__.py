"""The labelled corpus shipped beside the packs, and its fixed split into train, calibration and test.

Each message belongs to one part for good, chosen by a hash of its normalized text (see README.md
here): `train` teaches the model and is the only part packs and hyper-parameters may be tuned on,
`calibration` only chooses the model's confidence threshold, `test` only measures.

    rows = load_corpus("train")                # [CorpusRow(text, intent, language), ...]
    part_of("Do you ship to Cebu?")            # "train" | "calibration" | "test"
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable
from pathlib import Path
from typing import NamedTuple

from rules.evaluate import read_labelled_csv
from rules.text import normalize

CORPUS_DIR = Path(__file__).parent
PARTS = ("train", "calibration", "test")
# Buckets 0..99 of the hash: [0, 65) train, [65, 80) calibration, [80, 100) test.
_PART_BOUNDS = ((65, "train"), (80, "calibration"), (100, "test"))


class CorpusRow(NamedTuple):
    """One labelled message: its text, its intent (`none` for no intent) and its language."""

    text: str
    intent: str
    language: str


def bucket_of(text: str) -> int:
    """0..99, from the SHA-256 of the normalized text: stable across runs, machines and Pythons."""
    digest = hashlib.sha256(normalize(text).encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") % 100


def part_of(text: str) -> str:
    """The corpus part a message belongs to: train, calibration or test."""
    number = bucket_of(text)
    return next(part for bound, part in _PART_BOUNDS if number < bound)


def corpus_files(directory: str | os.PathLike[str] = CORPUS_DIR) -> list[Path]:
    """The corpus CSV files, one per language, sorted by name."""
    return sorted(Path(directory).glob("*.csv"))


def read_corpus(path: str | os.PathLike[str]) -> list[CorpusRow]:
    """The rows of one corpus file; a row without a language takes the file's name (`es.csv`: es)."""
    default = Path(path).stem
    return [CorpusRow(row.text, row.intent, row.language or default) for row in read_labelled_csv(path)]


def load_corpus(
    part: str | None = None,
    *,
    languages: Iterable[str] | None = None,
    directory: str | os.PathLike[str] = CORPUS_DIR,
) -> list[CorpusRow]:
    """The shipped corpus, or one part of it, optionally of some languages only, in file order."""
    if part is not None and part not in PARTS:
        raise ValueError(f"unknown corpus part {part!r} (parts: {', '.join(PARTS)})")
    wanted = set(languages) if languages is not None else None
    rows = [row for path in corpus_files(directory) for row in read_corpus(path)]
    return [
        row
        for row in rows
        if (wanted is None or row.language in wanted) and (part is None or part_of(row.text) == part)
    ]
