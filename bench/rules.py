"""Intent matching speed: rules alone against rules plus the learned model, and the matcher as packs
grow against a per-phrase loop (run by hand).

    .venv/bin/python bench/rules.py [--messages 10000] [--repeat 3] [--only model|scaling]

Rules and model: trains the shipped model (packs and corpus, timed), then runs the shipped corpus's
messages (English, Spanish, Thai) through `decide_many` without and with the model, batched, in
messages/s, and times single calls of `Model.predict` and `decide` (p50, p99). Rules alone is the
baseline of the same run. Targets: rules plus model >= 20,000 msg/s batched, a model call <= 100 µs p50.

Scaling: generates seeded customer messages of 10-30 words and phrase sets of 10, 1,000 and 10,000
phrases (the shipped packs' phrases, then generated ones from the same vocabulary, so bigger sets also
match more), each with the shipped packs' regexes. Measures messages/s for `Matcher.match` and for a
naive loop (normalize, then `in` per phrase and `search` per regex) in the same run. Targets (STYLE
§11): the matcher at >= 20,000 msg/s at every size, and its 10,000-phrase rate within 2x of its
10-phrase rate.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from pathlib import Path

# Run as a script, this file's folder comes first on sys.path and its name would shadow the package.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from rules import IntentSpec, Matcher, compile_packs, load_packs, normalize  # noqa: E402
from rules.corpus import load_corpus  # noqa: E402
from rules.decision import decide, decide_many  # noqa: E402
from rules.patterns import compile_regex, is_regex  # noqa: E402
from rules.training import train_model  # noqa: E402

SIZES = (10, 1_000, 10_000)
MATCHER_TARGET = 20_000
MODEL_BATCH_TARGET = 20_000
MODEL_P50_TARGET_US = 100
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


def latencies(function, texts: list[str]) -> list[float]:
    """Microseconds of CPU time per call of `function` on each text, sorted.

    CPU time, as for the batch rates: on a shared machine wall time also counts the other processes
    that preempt this one (p99 is where that still shows).
    """
    found = []
    for text in texts:
        started = time.process_time_ns()
        function(text)
        found.append((time.process_time_ns() - started) / 1000)
    return sorted(found)


def percentile(sorted_values: list[float], share: float) -> float:
    return sorted_values[min(len(sorted_values) - 1, int(share * len(sorted_values)))]


def bench_model(repeat: int) -> bool:
    """Rules alone and rules plus model on the corpus's messages; True when the targets are met."""
    matcher = compile_packs(load_packs(PACKS))
    started, started_cpu = time.perf_counter(), time.process_time()
    model = train_model(matcher)
    trained, trained_cpu = time.perf_counter() - started, time.process_time() - started_cpu
    texts = [row.text for row in load_corpus()]
    context = {"template": "online-store"}
    to_model = sum("stage" not in matcher.match(text, **context).assign for text in texts)
    print(
        f"{len(texts):,} corpus messages (en, es, th); {to_model:,} ({to_model / len(texts):.0%}) left "
        f"without a stage by the rules go to the model; training took {trained_cpu:.1f} s CPU, {trained:.1f} s wall "
        f"({model.features.size:,} n-grams, {len(model.to_bytes()) / 1e6:.1f} MB)"
    )
    decide_many(texts[:100], matcher, model, **context)
    batch = {
        "rules": rate(lambda _: decide_many(texts, matcher, None, **context), [None], repeat) * len(texts),
        "rules+model": rate(lambda _: decide_many(texts, matcher, model, **context), [None], repeat)
        * len(texts),
    }
    sample = texts[:3000]
    single = {
        "rules": latencies(lambda text: decide(text, matcher, None, **context), sample),
        "rules+model": latencies(lambda text: decide(text, matcher, model, **context), sample),
        "model.predict": latencies(model.predict, sample),
    }
    print(f"{'':<14}  {'batch msg/s':>11}  {'vs rules':>8}  {'single p50 us':>13}  {'p99 us':>7}")
    for name, calls in single.items():
        throughput = (
            f"{batch[name]:>11,.0f}  {batch[name] / batch['rules']:>7.2f}x" if name in batch else " " * 21
        )
        print(f"{name:<14}  {throughput}  {percentile(calls, 0.5):>13.1f}  {percentile(calls, 0.99):>7.1f}")
    p50 = percentile(single["model.predict"], 0.5)
    print(
        f"rules+model batched: {batch['rules+model']:,.0f} msg/s (target >= {MODEL_BATCH_TARGET:,}); "
        f"model call p50 {p50:.1f} us (target <= {MODEL_P50_TARGET_US})"
    )
    print("CPU time of one process: batch rates best of --repeat, single calls over 3,000 messages")
    return batch["rules+model"] >= MODEL_BATCH_TARGET and p50 <= MODEL_P50_TARGET_US


def bench_scaling(options: argparse.Namespace) -> bool:
    """The matcher as phrase sets grow, against a naive loop; True when the targets are met."""
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
    return ratio >= 0.5 and slowest >= MATCHER_TARGET


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--seed", type=int, default=20_261_123)
    parser.add_argument("--only", choices=("model", "scaling"))
    options = parser.parse_args()
    met = True
    if options.only != "scaling":
        print("== rules alone against rules plus the model")
        met = bench_model(options.repeat) and met
    if options.only != "model":
        print("\n== the matcher as packs grow")
        met = bench_scaling(options) and met
    if not met:
        sys.exit(1)


if __name__ == "__main__":
    main()
