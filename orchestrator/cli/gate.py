"""``zonedrill gate``: whether recorded drills or game days let a pipeline go ahead.

Exit codes: 0 the gate passed, 1 it failed, 2 unreadable or foreign input, 4 a busy history.
"""

from __future__ import annotations

import math
import os
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click
from securesystemslib.signer import SSlibKey

from orchestrator.cli.common import (
    HISTORY_OPTION,
    MOST_RUNS,
    OUTPUT_OPTION,
    history_at,
    print_document,
    print_refusal,
    refuse,
    run_async,
    target_options,
)
from orchestrator.cli.gate_days import (
    Evidence,
    Expected,
    GameDayScope,
    folder_verdict,
    gameday_verdicts,
    summary_verdicts,
)
from orchestrator.cli.gate_evidence import HistoryScope, Judging, Kept, checked, kept, unjudged
from orchestrator.cli.outputs import gate_out
from orchestrator.durations import parse_age
from orchestrator.errors import InvalidInputError, Problem, ZonedrillError
from orchestrator.outcomes import Exit, Outcome
from orchestrator.results.cluster_results import cluster_record
from orchestrator.results.document import ClusterDoc
from orchestrator.results.gameday_files import gameday_file, load_finished_gameday
from orchestrator.results.gate import (
    GatePolicy,
    Verdict,
    judge,
    refuse_implausible,
    refuse_mixed,
)
from orchestrator.results.place import Place
from orchestrator.results.report.document import load_result
from orchestrator.results.signing import load_public_key
from orchestrator.targets.registry import target_names
from orchestrator.text import clean

TRUSTED_KEY_VARIABLE = "ZONEDRILL_TRUSTED_KEY"
FILES_OR_HISTORY = (
    "give result files (run or game-day folders), or --drill NAME or --gameday NAME to read "
    "the history (not both)"
)


LAST = 1
"""Runs of the history judged without --last: the newest."""


def _finite(_: click.Context, param: click.Parameter, value: float | None) -> float | None:
    if value is not None and not math.isfinite(value):
        raise click.BadParameter(f"{value} is not a number from 0 to 100", param=param)
    return value


@click.command()
@click.argument("results", nargs=-1, type=click.Path(path_type=Path))
@click.option("--drill", help="Judge this drill's runs from the history instead of files.")
@click.option(
    "--gameday",
    help="Judge this game day's latest runs from the history: its outcome, mean score, age, "
    "and that every drill run it names is recorded and agrees. With game-day folders: each "
    "must be this game day.",
)
@click.option(
    "--last",
    type=click.IntRange(min=1, max=MOST_RUNS, clamp=True),
    help=f"How many of the latest runs to judge (with --drill or --gameday; default {LAST}).",
)
@click.option("--trigger", help="Only runs recorded with this --trigger (e.g. schedule).")
@click.option(
    "--min-score", type=click.FloatRange(0, 100), callback=_finite, help="Lowest acceptable score."
)
@click.option("--max-age", help='Oldest acceptable run, e.g. "7d", "36h" (since it ended).')
@click.option(
    "--require-outcome",
    "outcomes",
    multiple=True,
    type=click.Choice([o.value for o in Outcome]),
    help="Acceptable outcomes (repeatable). Default: passed.",
)
@click.option(
    "--from-cluster",
    is_flag=True,
    help="With --gameday: read the game-day summaries kept in the cluster's zonedrill-results "
    "ConfigMap (needs only the zonedrill ServiceAccount's get), not the local history.",
)
@click.option(
    "--target",
    type=click.Choice(target_names()),
    help="Only runs on this target (kube, lab, ...). Runs from several targets or clusters are "
    "refused (exit 2) unless --target or --cluster chooses.",
)
@click.option(
    "--cluster",
    help="Only runs on this cluster: its kube-system namespace's UID, or its API server URL "
    "(as the verdict lines print them).",
)
@click.option(
    "--trusted-key",
    type=click.Path(path_type=Path, dir_okay=False),
    envvar=TRUSTED_KEY_VARIABLE,
    help="Accept only results signed with this PEM public key (run --sign-key): an unsigned "
    "result, one signed by another key, or one changed since it was signed fails the gate. "
    "Env: ZONEDRILL_TRUSTED_KEY.",
)
@target_options(cluster_only=True)
@HISTORY_OPTION
@OUTPUT_OPTION
def gate(
    results: tuple[Path, ...],
    drill: str | None,
    gameday: str | None,
    last: int | None,
    trigger: str | None,
    min_score: float | None,
    max_age: str | None,
    outcomes: tuple[str, ...],
    from_cluster: bool,
    target: str | None,
    cluster: str | None,
    trusted_key: Path | None,
    history_path: Path | None,
    form: str,
    **settings: Any,
) -> None:
    """Exit 0 when every result passes the gate, 1 when one does not, 2 for bad input.

    \b
    Results come from files (result.json, run folders, game-day folders or their gameday.json)
    or, with --drill or --gameday, from the history:
      zonedrill gate zonedrill-runs/<run-id> --min-score 90
      zonedrill gate zonedrill-runs/<game-day-id> --min-score 90
      zonedrill gate --drill pangyo-battery-fire --trigger schedule --max-age 7d
      zonedrill gate --gameday weekly-dc-loss --max-age 7d --min-score 90
      zonedrill gate --gameday weekly-dc-loss --from-cluster --trigger schedule --max-age 7d
    The second says: the last scheduled run of the drill passed, within 7 days. The third
    judges the last game day by its outcome and mean score.
    No recorded run fails the gate. A failing result prints one line with every reason.
    Every result must verify against its samples (zonedrill verify), and with --trusted-key
    be signed by that key.
    """
    try:
        if results and last is not None:
            message = "--last counts runs in the history (--drill, --gameday): each file is judged"
            raise InvalidInputError([Problem("gate", None, None, "", message)])
        last = LAST if last is None else last
        key = _trusted(trusted_key)
        policy = GatePolicy(
            outcomes=frozenset(outcomes or ["passed"]),
            min_score=min_score,
            max_age=_age_option(max_age),
            place=Place(target, cluster),
        )
        now = datetime.now(UTC)
        if gameday is not None and not results:
            if drill:
                message = "--gameday reads the history: give no --drill"
                raise InvalidInputError([Problem("gate", None, None, "", message)])
            scope = GameDayScope(gameday, last, trigger)
            if from_cluster:
                kept = run_async(lambda: cluster_record(settings, gameday))
                verdicts = summary_verdicts(kept, scope, Judging(policy, key, now))
            else:
                days = Evidence(history_at(history_path), key)
                verdicts = gameday_verdicts(days, scope, policy, now)
        elif from_cluster:
            message = "--from-cluster goes with --gameday NAME (drill runs are not kept there)"
            raise InvalidInputError([Problem("gate", None, None, "", message)])
        else:
            runs = HistoryScope(drill, last, trigger, policy.place)
            judging = Judging(policy, key, now)
            verdicts = _verdicts_of(results, runs, history_path, judging, gameday)
    except ZonedrillError as exc:
        print_refusal(exc, results[0] if results else Path("history"), form)
        refuse(exc)
    nothing = _nothing_recorded(gameday or drill, trigger, gameday=gameday is not None)
    if form != "text":
        document = gate_out(verdicts, None if verdicts else nothing)
        print_document(document, form)
        sys.exit(Exit.OK if document.passed else Exit.FAILED)
    sys.exit(_announce(verdicts, nothing))


def _announce(verdicts: list[Verdict], nothing: str) -> int:
    """Print one line per result and the gate's verdict; return the exit code."""
    if not verdicts:
        click.echo(clean(f"FAIL {nothing}"))
        return Exit.FAILED
    for verdict in verdicts:
        click.echo(clean(verdict.line()))
    failed = sum(not v.passed for v in verdicts)
    word = "failed" if failed else "passed"
    click.echo(f"gate {word}: {len(verdicts) - failed} of {len(verdicts)} result(s) pass")
    return Exit.FAILED if failed else 0


def _nothing_recorded(name: str | None, trigger: str | None, *, gameday: bool) -> str:
    scope = f" with trigger {trigger!r}" if trigger else ""
    what = "game day" if gameday else "run of drill"
    return f"no {what} {name!r}{scope} is recorded"


def _verdicts_of(
    results: tuple[Path, ...],
    scope: HistoryScope,
    path: Path | None,
    judging: Judging,
    name: str | None,
) -> list[Verdict]:
    """Drill runs (files, or the history's runs of a drill) and game days from their folders.

    Runs of every game day count with the files when the gate refuses mixed places. A game day
    must have ``name`` and ``scope.trigger`` when they are given; a run file records neither.
    """
    found = [gameday_file(r) for r in results]
    files = tuple(r for r, day in zip(results, found, strict=True) if day is None)
    days = [load_finished_gameday(day, with_samples=False) for day in found if day is not None]
    if days and scope.drill:
        raise InvalidInputError([Problem("gate", None, None, "", FILES_OR_HISTORY)])
    if files and (name or scope.trigger):
        message = (
            "a run's result.json records no trigger and no game day: --trigger and --gameday "
            "go with game-day folders or the history (--drill)"
        )
        raise InvalidInputError([Problem("gate", None, None, "", message)])
    inside = [run.doc.cluster or run.doc.target for day in days for run in day.runs.values()]
    if files or not days:  # refuses runs from several places, the game days' runs among them
        verdicts = _run_verdicts(files, scope, path, judging, inside)
    else:
        refuse_mixed(inside, scope.place)
        verdicts = []
    expected = Expected(name, scope.trigger)
    return verdicts + [folder_verdict(day, judging, expected) for day in days]


def _run_verdicts(
    results: tuple[Path, ...],
    scope: HistoryScope,
    path: Path | None,
    judging: Judging,
    beside: Sequence[ClusterDoc | str] = (),
) -> list[Verdict]:
    """The verdicts on drill runs: files, or the history's runs of a drill and its last start.

    ``beside``: the places of the game days' runs judged with the files, for ``refuse_mixed``.
    """
    runs = _gate_inputs(results, scope, path, beside)
    refuse_implausible([r.run.doc for r in runs], now=judging.now)
    verdicts = [
        judge(r.run.doc, judging.policy, now=judging.now, findings=checked(r, judging.key))
        for r in runs
    ]
    if scope.drill is None:
        return verdicts
    judged = {r.run.doc.run_id: r.run.doc.started_at for r in runs}
    return unjudged(history_at(path), "run", scope.drill, scope, judged) + verdicts


def _age_option(text: str | None) -> float | None:
    if text is None:
        return None
    try:
        return parse_age(text)
    except ValueError as exc:
        raise InvalidInputError([Problem("--max-age", None, None, "", str(exc))]) from None


def _trusted(given: Path | None) -> SSlibKey | None:
    """The trusted key; an empty ZONEDRILL_TRUSTED_KEY is a missing secret, not "no key"."""
    if given is None and os.environ.get(TRUSTED_KEY_VARIABLE) == "":
        message = f"{TRUSTED_KEY_VARIABLE} is set but empty: give the public key's file"
        raise InvalidInputError([Problem("--trusted-key", None, None, "", message)])
    return None if given is None else load_public_key(given, option="--trusted-key")


def _gate_inputs(
    results: tuple[Path, ...],
    scope: HistoryScope,
    path: Path | None,
    beside: Sequence[ClusterDoc | str] = (),
) -> list[Kept]:
    if bool(results) == bool(scope.drill):
        raise InvalidInputError([Problem("gate", None, None, "", FILES_OR_HISTORY)])
    if scope.drill:
        history = history_at(path)
        drill, trigger, place = scope.drill, scope.trigger, scope.place
        refuse_mixed(history.places(drill=drill, trigger=trigger, place=place), place)
        entries = history.runs(drill=drill, trigger=trigger, place=place, last=scope.last)
        # Judged by what the documents say, not by the table's columns, which nothing checks:
        # a row renamed to this drill, or one run recorded twice, counts for nothing.
        unique = {e.doc.run_id: e for e in reversed(entries) if e.doc.drill == drill}
        return [kept(e) for e in entries if unique.get(e.doc.run_id) is e]
    problems: list[Problem] = []
    runs = []
    for given in results:
        try:
            runs.append(load_result(given, missing_ok=True))
        except InvalidInputError as exc:
            problems += exc.problems
    if problems:
        raise InvalidInputError(problems)
    refuse_mixed([*(r.doc.cluster or r.doc.target for r in runs), *beside], scope.place)
    return [Kept(run) for run in runs]
