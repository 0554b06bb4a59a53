"""The combined decision of SPEC §4's two matchers: the rule packs first, the learned model after them.

A message whose rule intents assign no stage goes to the model. At or above the threshold the model's
intent comes first among the intents and its assignment applies (worked out by the matcher, so the
workspace's template and overrides count); below it the intent is only a suggestion and assigns
nothing. The model's `none`, an intent the rules already found, and an intent the packs do not define add nothing.

    decide("do u ship to cebu", matcher, model, template="online-store")
    # Decision(intents=("ask_shipping",), assign={"stage": "hot_lead"}, source="model", confidence=0.97)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from rules.matcher import Match, Matcher, Overrides
from rules.model import NONE, Model, Prediction

STAGE = "stage"


@dataclass(frozen=True)
class Decision:
    """What a message means and assigns, and which matcher said so.

    `source` is "rule" when the packs found the intents, "model" when the model added its intent
    (assigning at or above the threshold, suggesting below it), None when nothing was found.
    `confidence` is the model's probability that the stage its intent sets is right (StageScorer),
    None unless `source` is "model".
    """

    intents: tuple[str, ...] = ()
    assign: dict[str, str] = field(default_factory=dict)
    source: str | None = None
    confidence: float | None = None

    def as_dict(self) -> dict[str, object]:
        """The fields `statushub rules classify` prints (without the text)."""
        return {
            "intents": list(self.intents),
            "assign": dict(self.assign),
            "source": self.source,
            "confidence": None if self.confidence is None else round(self.confidence, 4),
        }


class StageScorer:
    """The model as a decision reads it: its most likely intent, with the probability that the *stage*
    this intent assigns is right — the summed probabilities of every intent assigning that stage on
    the workspace's template and overrides (for an intent assigning no stage: its own probability).

    What the threshold guards is the change a decision makes, so it is judged on the stage: "do you
    ship it in blue" read as ask_shipping at 0.45 and ask_specs at 0.40 is a 0.85 Hot Lead, since both
    set Hot Lead; the sum only ever joins intents that agree on the status they set.
    """

    def __init__(
        self,
        model: Model,
        matcher: Matcher,
        *,
        template: str | None = None,
        overrides: Overrides | None = None,
    ) -> None:
        self.model = model
        self.threshold = model.threshold
        stages = [_stage_of(matcher, name, template, overrides) for name in model.classes]
        # groups[i]: the columns whose intents set the same stage as column i (itself alone for none).
        self._groups = [
            np.array([j for j, other in enumerate(stages) if other == stage] if stage else [i], dtype=np.intp)
            for i, stage in enumerate(stages)
        ]

    def predict(self, text: str) -> Prediction:
        return self._pick(self.model.probabilities_of(text))

    def predict_many(self, texts: Sequence[str]) -> list[Prediction]:
        return [self._pick(row) for row in self.model.probabilities(texts)]

    def _pick(self, probabilities: np.ndarray) -> Prediction:
        best = int(probabilities.argmax())
        return Prediction(self.model.classes[best], float(probabilities[self._groups[best]].sum()))


def scorer_for(model, matcher: Matcher, template: str | None, overrides: Overrides | None):
    """A Model judged on stages; anything else that predicts (a scorer already, a test's stand-in) as is."""
    return (
        StageScorer(model, matcher, template=template, overrides=overrides)
        if isinstance(model, Model)
        else model
    )


def _stage_of(matcher: Matcher, intent: str, template: str | None, overrides: Overrides | None) -> str | None:
    if intent == NONE or not matcher.knows(intent):
        return None
    return matcher.assignment(intent, template=template, overrides=overrides).get(STAGE)


def decide(
    text: str,
    matcher: Matcher,
    model: Model | None = None,
    *,
    channel: str | None = None,
    current: Mapping[str, str] | None = None,
    template: str | None = None,
    overrides: Overrides | None = None,
    threshold: float | None = None,
) -> Decision:
    """The decision on one message; `threshold` replaces the model's own. Without a model: the rules'."""
    ruled = matcher.match(text, channel=channel, current=current, template=template, overrides=overrides)
    if model is None or STAGE in ruled.assign:
        return _from_rules(ruled)
    return combine(
        ruled,
        scorer_for(model, matcher, template, overrides).predict(text),
        matcher,
        template=template,
        overrides=overrides,
        threshold=model.threshold if threshold is None else threshold,
        channel=channel,
        current=current,
    )


def decide_many(
    texts: Sequence[str],
    matcher: Matcher,
    model: Model | None = None,
    *,
    channel: str | None = None,
    current: Mapping[str, str] | None = None,
    template: str | None = None,
    overrides: Overrides | None = None,
    threshold: float | None = None,
) -> list[Decision]:
    """`decide` for a batch: the model scores, in one matrix product, only the messages it must see."""
    context = {"template": template, "overrides": overrides}
    ruled = [matcher.match(text, channel=channel, current=current, **context) for text in texts]
    if model is None:
        return [_from_rules(found) for found in ruled]
    pending = [i for i, found in enumerate(ruled) if STAGE not in found.assign]
    scorer = scorer_for(model, matcher, template, overrides)
    predictions = dict(zip(pending, scorer.predict_many([texts[i] for i in pending]), strict=True))
    limit = model.threshold if threshold is None else threshold
    return [
        combine(found, predictions[i], matcher, threshold=limit, channel=channel, current=current, **context)
        if i in predictions
        else _from_rules(found)
        for i, found in enumerate(ruled)
    ]


def combine(
    ruled: Match,
    prediction: Prediction,
    matcher: Matcher,
    *,
    threshold: float,
    template: str | None = None,
    overrides: Overrides | None = None,
    channel: str | None = None,
    current: Mapping[str, str] | None = None,
) -> Decision:
    """Join the rules' match and the model's prediction for a message the rules left without a stage.

    The model's intent obeys the intent's conditions as a rule's does: an intent the packs allow only
    on another channel or from other current statuses adds nothing.
    """
    intent, confidence = prediction
    # `none`, an intent the rules found already, or one these packs do not define (a model trained
    # with other packs) adds nothing.
    if intent == NONE or intent in ruled.intents or not matcher.knows(intent):
        return _from_rules(ruled)
    if not matcher.allows(intent, channel=channel, current=current):
        return _from_rules(ruled)
    intents = (intent, *ruled.intents)
    if confidence >= threshold:
        assign = matcher.assignments(intents, template=template, overrides=overrides)
    else:
        # A suggestion changes nothing: what the rule intents assign (never a stage here) stands alone.
        assign = dict(ruled.assign)
    return Decision(intents, assign, "model", confidence)


def _from_rules(found: Match) -> Decision:
    return Decision(found.intents, found.assign, "rule" if found.intents else None, None)
