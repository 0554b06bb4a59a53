"""`statushub rules classify|test|train`: the intent rules and the learned model from the command line (SPEC §4)."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import timedelta

import click

import rules
from plugin.cli.customer_view import badge
from plugin.cli.output import json_option, print_json, read_only, session, table, workspace_option
from plugin.customers.simulate import simulate
from plugin.domain.clock import utcnow
from plugin.domain.durations import parse_duration
from plugin.domain.templates import DEFAULT_TEMPLATE, TEMPLATES, known_statuses
from plugin.workspace.catalog import load_catalog
from plugin.workspace.intent_model import load_model, shipped_model, train_workspace
from plugin.workspace.intents import workspace_overrides, workspace_packs, workspace_threshold
from plugin.workspace.workspaces import DEFAULT_PACKS, get_workspace
from rules.comparison import compare, format_comparison
from rules.corpus import PARTS, load_corpus
from rules.decision import decide
from rules.evaluate import NONE, EvalDataError, read_labelled_csv
from rules.model import Model
from rules.training import train_model

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
    lines: Iterable[str],
    matcher: rules.Matcher,
    setup: RuleSetup,
    model: Model | None = None,
    *,
    channel: str | None = None,
    threshold: float | None = None,
) -> Iterator[dict]:
    """One `{"text", "intents", "assign", "source", "confidence"}` record per line, in order."""
    for line in lines:
        text = line.rstrip("\r\n")
        decision = decide(
            text,
            matcher,
            model,
            channel=channel,
            template=setup.template,
            overrides=setup.overrides,
            threshold=threshold,
        )
        yield {"text": text, **decision.as_dict()}


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
@workspace_option
@click.option("--rules-only", is_flag=True, help="Leave the learned model out: the rule packs alone.")
@click.pass_context
def classify_command(
    ctx: click.Context,
    packs: tuple[str, ...],
    template: str,
    channel: str | None,
    workspace: str | None,
    rules_only: bool,
) -> None:
    """Reads one message a line on stdin; writes one JSON object a line: {"text", "intents", "assign",
    "source": "rule" | "model" | null, "confidence"}. With --workspace: that workspace's packs,
    assignments, trained model and threshold."""
    if workspace is not None:
        setup, model, threshold = workspace_setup(workspace, rules_only=rules_only)
        matcher = _matcher_or_exit(ctx, setup)
    else:
        setup = _setup_from_options(packs, template)
        matcher = _matcher_or_exit(ctx, setup)
        model, threshold = (None if rules_only else _model_for(setup.packs, matcher)), None
    for record in classify_lines(sys.stdin, matcher, setup, model, channel=channel, threshold=threshold):
        click.echo(json.dumps(record, ensure_ascii=False))


@rules_group.command("test")
@click.argument("csv_file", metavar="[FILE.csv]", required=False)
@pack_option
@template_option
@channel_option
@click.option(
    "--part",
    type=click.Choice(PARTS),
    default="test",
    show_default=True,
    help="Without FILE.csv: the part of the shipped corpus to score.",
)
@click.option("--rules-only", is_flag=True, help="Score the rule packs alone, without the model.")
@click.option(
    "--min-f1",
    type=click.FloatRange(0, 1),
    default=0.0,
    show_default=True,
    help="Exit 1 when any intent's F1 (rules + model, or rules alone) is below this.",
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document instead of tables.")
@click.pass_context
def score_command(
    ctx: click.Context,
    csv_file: str | None,
    packs: tuple[str, ...],
    template: str,
    channel: str | None,
    part: str,
    rules_only: bool,
    min_f1: float,
    as_json: bool,
) -> None:
    """Scores the rules, and the rules with the learned model behind them, on FILE.csv (columns
    text,intent[,language]; intent `none` for no intent) or, by default, on the shipped corpus's test
    part: precision, recall, F1 and support per intent, macro-F1 and stage accuracy per language, and a
    confusion table. A message counts as the first intent of its decision."""
    setup = _setup_from_options(packs, template)
    matcher = _matcher_or_exit(ctx, setup)
    names = {intent.name for intent in matcher.intents}
    if csv_file is None:
        rows: list = [row for row in load_corpus(part) if row.intent in names | {NONE}]
        label = f"corpus {part} part"
    else:
        try:
            rows = read_labelled_csv(csv_file)
        except EvalDataError as error:
            _fail(ctx, str(error), EXIT_BAD_INPUT)
            return
        for row in rows:
            if row.intent != NONE and row.intent not in names:
                _fail(
                    ctx,
                    f"{csv_file}:{row.line}: unknown intent {row.intent!r} (the packs define: "
                    f"{', '.join(sorted(names))}; none for no intent)",
                    EXIT_BAD_INPUT,
                )
        label = csv_file
    if not rows:
        _fail(ctx, f"{label}: no messages to score", EXIT_BAD_INPUT)
    model = None if rules_only else _model_for(setup.packs, matcher)
    comparison = compare(
        [(row.text, row.intent, row.language) for row in rows],
        matcher,
        model,
        template=setup.template,
        overrides=setup.overrides,
        channel=channel,
        label=label,
    )
    report = comparison.sides[-1].overall
    below = report.below(min_f1)
    if as_json:
        document = report.as_dict()
        document.update(
            packs=list(setup.packs),
            decided_by=comparison.sides[-1].name,
            comparison=comparison.as_dict(),
            min_f1=min_f1,
            below_min_f1=[score.intent for score in below],
        )
        click.echo(json.dumps(document, ensure_ascii=False, indent=2))
    else:
        click.echo(format_comparison(comparison))
    if below:
        shown = ", ".join(f"{score.intent} ({score.f1:.3f})" for score in below)
        _fail(ctx, f"F1 below {min_f1:g} for: {shown}", EXIT_BELOW_MIN_F1)


@rules_group.command("train")
@workspace_option
@json_option
def train_command(workspace: str | None, as_json: bool) -> None:
    """Retrains the workspace's model now, on the shipped packs and corpus and its corrections, and
    stores it: every hub process uses it from their next message."""
    with read_only() as conn:
        ws = get_workspace(conn, workspace).id
    trained = train_workspace(session().engine, ws, utcnow())
    if as_json:
        print_json(trained._asdict())
        return
    click.echo(
        f"trained model version {trained.version} with {trained.corrections} correction(s); "
        f"confidence threshold {trained.threshold:.3f}"
    )


@rules_group.command("simulate")
@workspace_option
@click.option(
    "--pack",
    "packs",
    multiple=True,
    metavar="FILE",
    help="A proposed rule pack (name or path); repeat, in order. Replaces the workspace's packs for the "
    "simulation only. Default: the workspace's own packs.",
)
@click.option(
    "--since", default="30d", show_default=True, metavar="DURATION", help="The period: 15m, 48h, 30d."
)
@json_option
def simulate_command(workspace: str | None, packs: tuple[str, ...], since: str, as_json: bool) -> None:
    """What would change: replays the workspace's inbound messages of the period through the proposed
    packs (and the current model), in time order under the automation policy, and prints the customers
    who would end on another stage and the assignments per intent, before and after. Changes nothing."""
    minutes = parse_duration(since, field="since")
    now = utcnow()
    with read_only() as conn:
        catalog = load_catalog(conn, get_workspace(conn, workspace).id)
        if packs:
            load_matcher(packs)  # a broken pack is refused before anything runs
        found = simulate(conn, catalog, now - timedelta(minutes=minutes), packs=packs or None)
    if as_json:
        print_json(found.as_dict())
        return
    click.echo(
        f"{found.messages} inbound message(s) of {found.customers_seen} customer(s) since "
        f"{found.since:%Y-%m-%d %H:%M} UTC, replayed through {', '.join(packs) or 'the current packs'}"
    )
    click.echo(f"{len(found.moved)} customer(s) would end on another stage")
    for m in found.moved:
        shown = f" (message {m.message_id})" if m.message_id else ""
        click.echo(
            f"  #{m.id} {m.name}: {badge(catalog, 'stage', m.from_)} → {badge(catalog, 'stage', m.to)}{shown}"
        )
    rows = found.as_dict()["intents"]
    if rows:
        click.echo("")
        table(
            ["INTENT", "BEFORE", "AFTER"],
            [[intent, n["before"], n["after"]] for intent, n in rows.items()],
        )


def workspace_setup(
    workspace: str, *, rules_only: bool = False
) -> tuple[RuleSetup, Model | None, float | None]:
    """A workspace's packs, template and overrides, its model and its own threshold (if it set one)."""
    with read_only() as conn:
        found = get_workspace(conn, workspace)
        catalog = load_catalog(conn, found.id)
        packs = workspace_packs(conn, found.id)
        setup = RuleSetup(packs, catalog.template, workspace_overrides(conn, found.id))
        model = None if rules_only or not packs else load_model(conn, found.id, packs).model
        threshold = workspace_threshold(conn, found.id)
    return setup, model, threshold


def _model_for(packs: tuple[str, ...], matcher: rules.Matcher) -> Model:
    """The shipped model for these packs (trained here, deterministically, from the repository's data)."""
    if all(not _looks_like_file(pack) for pack in packs):
        return shipped_model(tuple(packs))
    return train_model(matcher)


def _looks_like_file(pack: str) -> bool:
    return "/" in pack or pack.endswith((".yaml", ".yml"))
