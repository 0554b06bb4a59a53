"""The learned intent classifier as plain arrays: scored with numpy, saved and loaded as versioned bytes.

Training (rules.training) fits a scikit-learn logistic regression; this module keeps only what
scoring needs (two n-gram vocabularies, idf weights, one weight row per intent, the biases), so
classifying a message costs a few dictionary look-ups and one small matrix sum, not scikit-learn's
per-call validation. `tests/rules/test_model.py` proves the scores equal scikit-learn's.

    model = Model.from_bytes(blob)            # ModelFormatError when the bytes are not a model
    model.predict("do u ship to cebu")        # Prediction(intent="ask_shipping", confidence=0.93)
    model.predict_many(texts)                 # one sparse product for a batch
"""

from __future__ import annotations

import hashlib
import json
import math
import struct
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import numpy as np

from rules.features import FeatureConfig, FeatureSpace

NONE = "none"
FORMAT_VERSION = 1
_MAGIC = b"statushub-intent-model\n"
_HEAD = struct.Struct(">HI")  # format version, length of the compressed payload


class ModelFormatError(ValueError):
    """Bytes that are not a usable intent model: corrupt, truncated, or of another format version."""


class Prediction(NamedTuple):
    """The model's most likely intent (`none` for no intent) and its probability."""

    intent: str
    confidence: float


@dataclass(frozen=True)
class TrainingInfo:
    """Where a model came from: a digest of its training examples, how many came from each source, and
    how its threshold was chosen (precision, acting messages, scope; see rules.training)."""

    digest: str = ""
    counts: Mapping[str, int] = field(default_factory=dict)
    calibration: Mapping[str, Any] = field(default_factory=dict)


class Model:
    """A trained intent classifier: `classes` (intent names and `none`) and a confidence threshold."""

    def __init__(
        self,
        features: FeatureSpace,
        classes: Sequence[str],
        coef: np.ndarray,
        intercept: np.ndarray,
        *,
        threshold: float = 0.5,
        info: TrainingInfo = TrainingInfo(),
    ) -> None:
        self.features = features
        self.classes = tuple(classes)
        self.coef = np.ascontiguousarray(coef, dtype=np.float64)
        self.intercept = np.ascontiguousarray(intercept, dtype=np.float64)
        if self.coef.shape != (len(self.classes), features.size) or self.intercept.shape != (len(classes),):
            raise ValueError("coef must be classes x features and intercept one value per class")
        self.threshold = float(threshold)
        self.info = info
        # Scoring sums rows of idf-scaled weights, one row per n-gram, and divides by the block's norm.
        self._weights = np.ascontiguousarray(self.coef.T * features.idf[:, None])
        self._idf_squared = features.idf**2
        self._coef_columns = np.ascontiguousarray(self.coef.T)
        self._class_index = {name: i for i, name in enumerate(self.classes)}

    def with_threshold(self, threshold: float) -> Model:
        """The same model with another confidence threshold."""
        return Model(
            self.features, self.classes, self.coef, self.intercept, threshold=threshold, info=self.info
        )

    # Scoring

    def predict(self, text: str) -> Prediction:
        """The most likely class of one message and its probability."""
        probabilities = self.probabilities_of(text)
        best = int(probabilities.argmax())
        return Prediction(self.classes[best], float(probabilities[best]))

    def predict_many(self, texts: Sequence[str]) -> list[Prediction]:
        """`predict` for a batch, with one sparse matrix product."""
        probabilities = self.probabilities(texts)
        best = probabilities.argmax(axis=1)
        classes = self.classes
        return [
            Prediction(classes[i], float(row[i])) for i, row in zip(best.tolist(), probabilities, strict=True)
        ]

    def probabilities(self, texts: Sequence[str]) -> np.ndarray:
        """Class probabilities, one row per text, columns in `classes` order."""
        if not texts:
            return np.zeros((0, len(self.classes)))
        logits = self.features.matrix(texts, ordered=False) @ self._coef_columns + self.intercept
        return _softmax(logits)

    def probabilities_of(self, text: str) -> np.ndarray:
        """Class probabilities of one message, in `classes` order, without a batch's matrix."""
        logits = self.intercept.copy()
        columns = np.array(self.features.columns(text), dtype=np.intp)
        if columns.size:
            chars = columns < self.features.char_count
            squared = self._idf_squared[columns]
            char_norm = math.sqrt(squared[chars].sum()) or 1.0
            word_norm = math.sqrt(squared[~chars].sum()) or 1.0
            scale = np.where(chars, 1 / char_norm, 1 / word_norm)
            logits += scale @ self._weights[columns]
        return _softmax(logits)

    def confidence_of(self, text: str, intent: str) -> float:
        """The probability the model gives `intent` for `text`; KeyError for a class it does not know."""
        return float(self.probabilities_of(text)[self._class_index[intent]])

    # Bytes

    def to_bytes(self) -> bytes:
        """The model in a versioned, self-checking binary form; the same model always gives the same bytes."""
        header = {
            "format": FORMAT_VERSION,
            "classes": list(self.classes),
            "features": self.features.config.as_dict(),
            "threshold": self.threshold,
            "training": {
                "digest": self.info.digest,
                "counts": dict(sorted(self.info.counts.items())),
                "calibration": dict(sorted(self.info.calibration.items())),
            },
            "chars": list(self.features.chars),
            "words": list(self.features.words),
        }
        head = json.dumps(header, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()
        arrays = b"".join(
            np.ascontiguousarray(array, dtype="<f8").tobytes()
            for array in (self.features.idf, self.coef, self.intercept)
        )
        payload = struct.pack(">I", len(head)) + head + arrays
        body = zlib.compress(payload, 6)
        return _MAGIC + _HEAD.pack(FORMAT_VERSION, len(body)) + hashlib.sha256(body).digest() + body

    @classmethod
    def from_bytes(cls, data: bytes) -> Model:
        """Read `to_bytes` output; raises ModelFormatError for anything else."""
        data = bytes(data)
        if not data.startswith(_MAGIC):
            raise ModelFormatError("not a statushub intent model (unknown leading bytes)")
        start = len(_MAGIC)
        if len(data) < start + _HEAD.size + 32:
            raise ModelFormatError("the intent model is truncated")
        version, length = _HEAD.unpack_from(data, start)
        if version != FORMAT_VERSION:
            raise ModelFormatError(
                f"intent model format {version} is not readable here (this version reads {FORMAT_VERSION}); "
                "retrain with `statushub rules train`"
            )
        checksum = data[start + _HEAD.size : start + _HEAD.size + 32]
        body = data[start + _HEAD.size + 32 :]
        if len(body) != length:
            raise ModelFormatError("the intent model is truncated or has trailing bytes")
        if hashlib.sha256(body).digest() != checksum:
            raise ModelFormatError("the intent model is corrupt (checksum mismatch)")
        try:
            return cls._from_payload(zlib.decompress(body))
        except ModelFormatError:
            raise
        except (zlib.error, ValueError, KeyError, TypeError, IndexError, struct.error) as error:
            raise ModelFormatError(f"the intent model is corrupt ({error})") from None

    @classmethod
    def _from_payload(cls, payload: bytes) -> Model:
        (head_length,) = struct.unpack_from(">I", payload)
        header: dict[str, Any] = json.loads(payload[4 : 4 + head_length].decode())
        if header.get("format") != FORMAT_VERSION:
            raise ModelFormatError(f"intent model format {header.get('format')!r} in the header is unknown")
        config = FeatureConfig.from_dict(header["features"])
        chars, words, classes = header["chars"], header["words"], header["classes"]
        size, count = len(chars) + len(words), len(classes)
        arrays = np.frombuffer(payload, dtype="<f8", offset=4 + head_length)
        if arrays.size != size + count * size + count:
            raise ModelFormatError("the intent model's arrays do not match its header")
        idf = arrays[:size].astype(np.float64)
        coef = arrays[size : size + count * size].reshape(count, size).astype(np.float64)
        intercept = arrays[size + count * size :].astype(np.float64)
        training = header.get("training", {})
        return cls(
            FeatureSpace(config, chars, words, idf),
            classes,
            coef,
            intercept,
            threshold=float(header["threshold"]),
            info=TrainingInfo(
                str(training.get("digest", "")),
                dict(training.get("counts", {})),
                dict(training.get("calibration", {})),
            ),
        )


def _softmax(logits: np.ndarray) -> np.ndarray:
    shifted = logits - logits.max(axis=-1, keepdims=True)
    exponents = np.exp(shifted)
    return exponents / exponents.sum(axis=-1, keepdims=True)
