"""`statushub rules classify|test`: run the intent rule packs on messages from the command line (SPEC §4)."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field

import click

import rules
from plugin.domain.templates import DEFAULT_TEMPLATE, TEMPLATES, known_statuses
from rules.evaluate import EvalDataError, evaluate, format_report, read_labelled_csv

DEFAULT_PACKS = ("sales_en",)

# Exit statuses: 1 when the rules fall short of --min-f1, 2 when the input cannot be used at all.
EXIT_BELOW_MIN_F1 = 1
EXIT_BAD_INPUT = 2


@dataclass(frozen=True)
class RuleSetup:
    """What the rules run with: packs in order, the stage template, and per-intent overrides.

    The options build one (`--pack`, `--template`); a workspace supplies all three from the database,
    which is the seam for `--workspace W`: build a RuleSetup from it and pass it on unchanged.
    """

    packs: tuple[str, ...] = DEFAULT_PACKS
    template: str = DEFAULT_TEMPLATE
    overrides: Mapping[str, Mapping[str, str | None]] = field(default_factory=dict)


def load_matcher(packs: Iterable[str]) -> rules.Matcher:
    """The matcher for `packs` (names or paths), checked against every template's statuses."""
    templates = {key: known_statuses(key) for key in TEMPLATES}
    return rules.compile_packs(rules.load_packs(list(packs), known_statuses(), templates=templates))


def classify_lines(
    lines: Iterable[str], matcher: rules.Matcher, setup: RuleSetup, *, channel: str | None = None
) -> Iterator[dict]:
    """One `{"text", "intents", "assign"}` record per line, in order."""
    for line in lines:
        text = line.rstrip("\r\n")
        found = matcher.match(text, channel=channel, template=setup.template, overrides=setup.overrides)
        yield {"text": text, "intents": list(found.intents), "assign": found.assign}


def _setup_from_options(packs: tuple[str, ...], template: str) -> RuleSetup:
    return RuleSetup(packs or DEFAULT_PACKS, template)


def _fail(ctx: click.Context, message: str, code: int) -> None:
    # ctx.exit rather than ClickException: the exit status survives the root group's error handling.
    click.echo("error: " + " ".join(message.split()), err=True)
    ctx.exit(code)


def _matcher_or_exit(ctx: click.Context, setup: RuleSetup) -> rules.Matcher:
    try:
        return load_matcher(setup.packs)
    except rules.PackError as error:
        _fail(ctx, f"rule pack: {error}", EXIT_BAD_INPUT)
        raise  # unreachable: ctx.exit raises


pack_option = click.option(
    "--pack",
    "packs",
    multiple=True,
    metavar="P",
    help=f"A rule pack, by name ({', '.join(rules.available_packs())}) or path; repeat for several, "
    f"in order. Default: {', '.join(DEFAULT_PACKS)}.",
)
template_option = click.option(
    "--template",
    type=click.Choice(sorted(TEMPLATES)),
    default=DEFAULT_TEMPLATE,
    show_default=True,
    help="The stage template whose statuses the intents assign.",
)
channel_option = click.option(
    "--channel", metavar="C", help="The channel messages arrive on (sms, webchat, slack), for conditions."
)


@click.group("rules")
def rules_group() -> None:
    """Runs the intent rule packs on messages: classify them, or measure accuracy on labelled ones."""


@rules_group.command("classify")
@pack_option
@template_option
@channel_option
@click.pass_context
def classify_command(ctx: click.Context, packs: tuple[str, ...], template: str, channel: str | None) -> None:
    """Reads one message a line on stdin; writes one JSON object a line:
    {"text": ..., "intents": [...], "assign": {"stage": "hot_lead"}}."""
    setup = _setup_from_options(packs, template)
    matcher = _matcher_or_exit(ctx, setup)
    for record in classify_lines(sys.stdin, matcher, setup, channel=channel):
        click.echo(json.dumps(record, ensure_ascii=False))


@rules_group.command("test")
@click.argument("csv_file", metavar="FILE.csv")
@pack_option
@template_option
@channel_option
@click.option(
    "--min-f1",
    type=click.FloatRange(0, 1),
    default=0.0,
    show_default=True,
    help="Exit 1 when any intent's F1 is below this.",
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document instead of tables.")
@click.pass_context
def score_command(
    ctx: click.Context,
    csv_file: str,
    packs: tuple[str, ...],
    template: str,
    channel: str | None,
    min_f1: float,
    as_json: bool,
) -> None:
    """Scores the packs on FILE.csv (columns text,intent; intent `none` for no intent): precision,
    recall, F1 and support per intent, macro-F1, and a confusion table. A message counts as the first
    intent it matches, in the order the packs list them."""
    setup = _setup_from_options(packs, template)
    matcher = _matcher_or_exit(ctx, setup)
    try:
        rows = read_labelled_csv(csv_file)
    except EvalDataError as error:
        _fail(ctx, str(error), EXIT_BAD_INPUT)
        return
    names = {intent.name for intent in matcher.intents}
    for row in rows:
        if row.intent != "none" and row.intent not in names:
            _fail(
                ctx,
                f"{csv_file}:{row.line}: unknown intent {row.intent!r} (the packs define: "
                f"{', '.join(sorted(names))}; none for no intent)",
                EXIT_BAD_INPUT,
            )
    if not rows:
        _fail(ctx, f"{csv_file}: no messages to score", EXIT_BAD_INPUT)
    # rules.evaluate's protocol takes **context; Matcher.match names its keywords (rules/ is kept as it is).
    report = evaluate(rows, matcher, channel=channel, template=setup.template, overrides=setup.overrides)  # type: ignore[arg-type]
    below = report.below(min_f1)
    if as_json:
        document = report.as_dict()
        document.update(
            packs=list(setup.packs), min_f1=min_f1, below_min_f1=[score.intent for score in below]
        )
        click.echo(json.dumps(document, ensure_ascii=False, indent=2))
    else:
        click.echo(format_report(report))
    if below:
        shown = ", ".join(f"{score.intent} ({score.f1:.3f})" for score in below)
        _fail(ctx, f"F1 below {min_f1:g} for: {shown}", EXIT_BELOW_MIN_F1)
