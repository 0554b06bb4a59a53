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

from rules.matcher import Match, Matcher, Overrides
from rules.model import NONE, Model, Prediction

STAGE = "stage"


@dataclass(frozen=True)
class Decision:
    """What a message means and assigns, and which matcher said so.

    `source` is "rule" when the packs found the intents, "model" when the model added its intent
    (assigning at or above the threshold, suggesting below it), None when nothing was found.
    `confidence` is the model's probability for its intent, None unless `source` is "model".
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
        model.predict(text),
        matcher,
        template=template,
        overrides=overrides,
        threshold=model.threshold if threshold is None else threshold,
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
    predictions = dict(zip(pending, model.predict_many([texts[i] for i in pending]), strict=True))
    limit = model.threshold if threshold is None else threshold
    return [
        combine(found, predictions[i], matcher, threshold=limit, **context)
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
) -> Decision:
    """Join the rules' match and the model's prediction for a message the rules left without a stage."""
    intent, confidence = prediction
    # `none`, an intent the rules found already, or one these packs do not define (a model trained
    # with other packs) adds nothing.
    if intent == NONE or intent in ruled.intents or not matcher.knows(intent):
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
