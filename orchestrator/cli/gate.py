"""``zonedrill gate``: whether recorded drills or game days let a pipeline go ahead.

Exit codes: 0 the gate passed, 1 it failed, 2 unreadable or foreign input, 4 a busy history.
"""

from __future__ import annotations

import math
import sys
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click

from orchestrator.cli.common import (
    HISTORY_OPTION,
    MOST_RUNS,
    OUTPUT_OPTION,
    history_at,
    print_document,
    refuse,
    run_async,
    target_options,
)
from orchestrator.cli.outputs import gate_out
from orchestrator.durations import parse_age
from orchestrator.errors import InvalidInputError, Problem, ZonedrillError
from orchestrator.outcomes import Exit, Outcome
from orchestrator.results.cluster_results import cluster_summaries
from orchestrator.results.gameday_result import GameDaySummary
from orchestrator.results.gate import (
    GatePolicy,
    Recorded,
    Verdict,
    judge,
    judge_gameday,
    refuse_implausible,
    refuse_implausible_at,
)
from orchestrator.results.history import History, RunEntry
from orchestrator.results.report.document import FinishedRun, load_result
from orchestrator.results.verify import against_samples
from orchestrator.text import clean


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
    "and that every drill run it names is recorded and agrees.",
)
@click.option(
    "--last",
    type=click.IntRange(min=1, max=MOST_RUNS, clamp=True),
    default=1,
    show_default=True,
    help="How many of the latest runs to judge (with --drill or --gameday).",
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
@target_options(cluster_only=True)
@HISTORY_OPTION
@OUTPUT_OPTION
def gate(
    results: tuple[Path, ...],
    drill: str | None,
    gameday: str | None,
    last: int,
    trigger: str | None,
    min_score: float | None,
    max_age: str | None,
    outcomes: tuple[str, ...],
    from_cluster: bool,
    history_path: Path | None,
    form: str,
    **settings: Any,
) -> None:
    """Exit 0 when every result passes the gate, 1 when one does not, 2 for bad input.

    \b
    Results come from files (result.json or run folders) or, with --drill, from the history:
      zonedrill gate zonedrill-runs/<run-id> --min-score 90
      zonedrill gate --drill pangyo-battery-fire --trigger schedule --max-age 7d
      zonedrill gate --gameday weekly-dc-loss --max-age 7d --min-score 90
      zonedrill gate --gameday weekly-dc-loss --from-cluster --trigger schedule --max-age 7d
    The second says: the last scheduled run of the drill passed, within 7 days. The third
    judges the last game day by its outcome and mean score.
    No recorded run fails the gate. A failing result prints one line with every reason.
    """
    try:
        policy = GatePolicy(
            outcomes=frozenset(outcomes or ["passed"]),
            min_score=min_score,
            max_age=_age_option(max_age),
        )
        now = datetime.now(UTC)
        if gameday is not None:
            if results or drill:
                message = "--gameday reads the history: give no result files and no --drill"
                raise InvalidInputError([Problem("gate", None, None, "", message)])
            scope = GameDayScope(gameday, last, trigger)
            if from_cluster:
                summaries = run_async(lambda: cluster_summaries(settings, gameday))
                verdicts = _summary_verdicts(summaries, scope, policy, now)
            else:
                verdicts = _gameday_verdicts(history_at(history_path), scope, policy, now)
        elif from_cluster:
            message = "--from-cluster goes with --gameday NAME (drill runs are not kept there)"
            raise InvalidInputError([Problem("gate", None, None, "", message)])
        else:
            runs = _gate_inputs(results, drill, last, trigger, history_path)
            refuse_implausible([r.doc for r in runs], now=now)
            verdicts = [judge(r.doc, policy, now=now, findings=against_samples(r)) for r in runs]
    except ZonedrillError as exc:
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


@dataclass(frozen=True)
class GameDayScope:
    """Which game days the gate judges: the ``last`` of ``name``, of one trigger if given."""

    name: str
    last: int
    trigger: str | None


def _gameday_verdicts(
    history: History, scope: GameDayScope, policy: GatePolicy, now: datetime
) -> list[Verdict]:
    # Judged by what the documents say, not by the table's columns, which nothing checks.
    days = sorted(
        (
            d
            for d in history.gamedays(name=scope.name)
            if d.gameday == scope.name and (scope.trigger is None or d.trigger == scope.trigger)
        ),
        key=lambda d: d.ended_at,
        reverse=True,
    )
    verdicts = []
    for day in days[: scope.last]:
        refuse_implausible_at(day.game_day_id, day.ended_at, now=now)
        recorded = {r.run_id: _recorded(history, r.run_id) for r in day.runs}
        found = {run_id: doc for run_id, doc in recorded.items() if doc is not None}
        verdicts.append(judge_gameday(day, policy, now=now, recorded=found))
    return verdicts


def _summary_verdicts(
    summaries: list[GameDaySummary], scope: GameDayScope, policy: GatePolicy, now: datetime
) -> list[Verdict]:
    days = sorted(
        (
            s
            for s in summaries
            if s.gameday == scope.name and (scope.trigger is None or s.trigger == scope.trigger)
        ),
        key=lambda s: s.ended_at,
        reverse=True,
    )
    verdicts = []
    for day in days[: scope.last]:
        refuse_implausible_at(day.game_day_id, day.ended_at, now=now)
        verdicts.append(judge_gameday(day, policy, now=now, recorded=None))
    return verdicts


def _recorded(history: History, run_id: str) -> Recorded | None:
    try:
        entry = history.get(run_id)
    except InvalidInputError:
        return None
    if entry.doc.run_id != run_id:
        return None
    return Recorded(entry.doc, against_samples(_kept(entry)))


def _kept(entry: RunEntry) -> FinishedRun:
    """The history's copy of a result, read against the samples kept beside its result file."""
    return FinishedRun(doc=entry.doc, path=Path(entry.result_path), samples=[])


def _age_option(text: str | None) -> float | None:
    if text is None:
        return None
    try:
        return parse_age(text)
    except ValueError as exc:
        raise InvalidInputError([Problem("--max-age", None, None, "", str(exc))]) from None


def _gate_inputs(
    results: tuple[Path, ...], drill: str | None, last: int, trigger: str | None, path: Path | None
) -> list[FinishedRun]:
    if bool(results) == bool(drill):
        message = "give result files, or --drill NAME to read the history (not both)"
        raise InvalidInputError([Problem("gate", None, None, "", message)])
    if drill:
        return [_kept(e) for e in history_at(path).runs(drill=drill, trigger=trigger, last=last)]
    problems: list[Problem] = []
    runs = []
    for given in results:
        try:
            runs.append(load_result(given, missing_ok=True))
        except InvalidInputError as exc:
            problems += exc.problems
    if problems:
        raise InvalidInputError(problems)
    return runs
