"""Intent matching speed as packs grow: the compiled matcher against a per-phrase loop (run by hand).

    .venv/bin/python bench/rules.py [--messages 10000] [--repeat 3]

Generates seeded customer messages of 10-30 words and phrase sets of 10, 1,000 and 10,000 phrases
(the shipped packs' phrases, then generated ones from the same vocabulary, so bigger sets also match
more), each with the shipped packs' regexes. Measures messages/s for `Matcher.match` and for a naive
loop (normalize, then `in` per phrase and `search` per regex) in the same run. Targets (STYLE §11):
the matcher at >= 20,000 msg/s at every size, and its 10,000-phrase rate within 2x of its 10-phrase rate.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from pathlib import Path

# Run as a script, this file's folder comes first on sys.path and its name would shadow the package.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from rules import IntentSpec, Matcher, load_packs, normalize  # noqa: E402
from rules.patterns import compile_regex, is_regex  # noqa: E402

SIZES = (10, 1_000, 10_000)
MATCHER_TARGET = 20_000
NAIVE_BUDGET_SECONDS = 1.5

# Words of everyday customer chat, lowercase; messages and generated phrases are drawn from them.
_WORDS = """
a about after again all also am an and any are around as ask at available back bag be because been before
best big black blue both box bought but buy by can card cash change cheap check coat color come cost could
couch day days deal delivery desk did do does dollars done dont down dress each else even every extra fair
few find first fit for free friday from get gift give go good got great green grey had half has have help
her here hey hi him his hold home hope how i if im in into is it its jacket just keep kids know large last
later left let like little long look lot love made make many may maybe me medium monday month more morning
most much my need new next nice night no not now of off offer ok old on one only or order other our out
over paid pay payment phone pick picture please price pull put quick rather ready really red right same
saturday say see sell send set shipping shirt shoes should size small so some soon still stock store such
sunday sure table take tell than thanks that the their them then there these they thing think this those
through till time to today tomorrow too total two up us use very wait want was watch way we week weekend
well were what when where which while white who why will wish with work would wrong yes yesterday yet you
your
"""
VOCABULARY = _WORDS.split()

PACKS = ("sales_en", "sales_es", "sales_th")


def shipped_patterns() -> tuple[list[str], list[str]]:
    """The shipped packs' phrases (in listed order, without repeats) and their regexes."""
    phrases: dict[str, None] = {}
    regexes: dict[str, None] = {}
    for pack in load_packs(PACKS):
        for intent in pack.intents:
            for pattern in intent.patterns:
                (regexes if is_regex(pattern) else phrases)[pattern] = None
    return list(phrases), list(regexes)


def phrase_set(size: int, real: list[str], rng: random.Random) -> list[str]:
    """`size` distinct phrases: the real ones first, then generated two- and three-word phrases."""
    chosen = dict.fromkeys(real[:size])
    while len(chosen) < size:
        chosen[" ".join(rng.choice(VOCABULARY) for _ in range(rng.choice((2, 2, 3))))] = None
    return list(chosen)


def messages(count: int, real: list[str], rng: random.Random) -> list[str]:
    """Messages of 10-30 words; about a third carry a real pack phrase, as customer messages do."""
    english = [phrase for phrase in real if phrase.isascii()]
    made = []
    for _ in range(count):
        words = [rng.choice(VOCABULARY) for _ in range(rng.randint(10, 30))]
        if rng.random() < 0.35:
            words.insert(rng.randrange(len(words)), rng.choice(english))
        text = " ".join(words)
        made.append(text.capitalize() + rng.choice((".", "?", "!", "", " 🙂")))
    return made


def build_matcher(phrases: list[str], regexes: list[str], intents: int = 20) -> Matcher:
    """A matcher with the phrases spread over `intents` intents and the regexes on the first."""
    specs = []
    for number in range(intents):
        patterns = tuple(phrases[number::intents]) + (tuple(regexes) if number == 0 else ())
        specs.append(IntentSpec(f"intent_{number}", "bench", {"stage": "hot_lead"}, {}, patterns))
    return Matcher(specs)


def naive_matcher(phrases: list[str], regexes: list[str]):
    """The baseline: every phrase tried in turn on the normalized text, then every regex."""
    keys = [normalize(phrase) for phrase in phrases]
    compiled = [compile_regex(pattern) for pattern in regexes]

    def match(text: str) -> int:
        normalized = normalize(text)
        found = sum(1 for key in keys if key in normalized)
        return found + sum(1 for regex in compiled if regex.search(normalized))

    return match


def rate(function, texts: list[str], repeat: int) -> float:
    """Best messages/s of `repeat` runs over `texts`, in CPU time of this process.

    CPU time is what one core spends; wall time on a shared machine also counts other processes.
    """
    best = float("inf")
    for _ in range(repeat):
        started = time.process_time()
        for text in texts:
            function(text)
        best = min(best, time.process_time() - started)
    return len(texts) / max(best, 1e-9)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--seed", type=int, default=20_261_123)
    options = parser.parse_args()

    rng = random.Random(options.seed)
    real, regexes = shipped_patterns()
    texts = messages(options.messages, real, rng)
    print(
        f"{len(texts):,} messages of 10-30 words; shipped packs: {len(real):,} phrases, {len(regexes)} regexes"
    )
    print(
        f"{'phrases':>8}  {'matcher msg/s':>13}  {'naive msg/s':>11}  {'naive sample':>12}  {'speed-up':>8}"
    )
    rates = {}
    for size in SIZES:
        phrases = phrase_set(size, real, rng)
        matcher = build_matcher(phrases, regexes)
        matcher.match(texts[0])
        rates[size] = rate(matcher.match, texts, options.repeat)
        naive = naive_matcher(phrases, regexes)
        # The naive loop at 10,000 phrases is slow: time it on a prefix and scale to messages/s.
        per_message = 1 / rate(naive, texts[:200], 1)
        sample = texts[: max(50, min(len(texts), int(NAIVE_BUDGET_SECONDS / per_message)))]
        naive_rate = rate(naive, sample, 1)
        print(
            f"{size:>8,}  {rates[size]:>13,.0f}  {naive_rate:>11,.0f}  {len(sample):>12,}  "
            f"{rates[size] / naive_rate:>7.1f}x"
        )
    ratio = rates[SIZES[-1]] / rates[SIZES[0]]
    slowest = min(rates.values())
    print(f"matcher rate at {SIZES[-1]:,} / at {SIZES[0]:,} phrases: {ratio:.2f} (target >= 0.50: within 2x)")
    print(f"slowest matcher rate: {slowest:,.0f} msg/s (target >= {MATCHER_TARGET:,})")
    print("rates are CPU time of one process (one core); the naive loop ran on the first 'naive sample'")
    print("messages only and is scaled to messages/s")
    if ratio < 0.5 or slowest < MATCHER_TARGET:
        sys.exit(1)


if __name__ == "__main__":
    main()
