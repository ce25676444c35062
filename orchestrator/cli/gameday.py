"""``zonedrill gameday run|plan FILE``: a planned sequence of drills (spec §6)."""

from __future__ import annotations

import os
import secrets
import sys
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click
from rich.console import Console

from orchestrator.cli.common import (
    HISTORY_OPTION,
    OUTPUT_OPTION,
    SEED_OPTION,
    SERVICE_URL_OPTION,
    SIGN_KEY_OPTION,
    TRIGGER_OPTION,
    parse_service_urls,
    print_document,
    print_refusal,
    run_async,
    signer_at,
    stderr,
    target_options,
)
from orchestrator.cli.metrics import PUSH_OPTION, push_after
from orchestrator.cli.outputs import Form, GameDayPlanDrillOut, GameDayPlanOut, plan_out
from orchestrator.drill import Drill, GameDay, load_gameday
from orchestrator.drill.picks import SEED_BITS, ZonePicks, drill_seed, pick_zones
from orchestrator.durations import format_duration
from orchestrator.errors import InvalidInputError, Problem, ZonedrillError
from orchestrator.faults.journal import state_dir
from orchestrator.gameday.notify import notify
from orchestrator.gameday.runner import GameDayRun
from orchestrator.outcomes import Exit
from orchestrator.plan.timetable import run_length
from orchestrator.results.cluster_results import ClusterStart, record_start, record_summary
from orchestrator.results.gameday_result import GameDayResult, summary_of
from orchestrator.results.history import History, Start, default_path
from orchestrator.results.report.document import load_result
from orchestrator.results.report.gameday import GameDayReport, write_gameday_reports
from orchestrator.results.signing import sign, sign_summary
from orchestrator.results.storage import write_durably
from orchestrator.run.console import SafeConsole, fail, render_plan, styled
from orchestrator.run.engine import RunSettings
from orchestrator.run.preflight import Plan, PlanRefusedError, prepare
from orchestrator.run.runner import Aftermath, DrillJob, signals_stop
from orchestrator.targets.registry import (
    ClusterOpener,
    Where,
    pick_target,
    prepare_cluster,
    target_named,
    target_names,
)

TREND_DAYS = 12


@dataclass(frozen=True)
class Prepared:
    """A game day with every drill loaded, its zones picked and its lab (on the lab target)."""

    gameday: GameDay
    path: Path
    drills: list[tuple[Path, Drill, ZonePicks, ClusterOpener]]
    seed: int
    target: str


def _prepare(
    file: Path, target: str | None, seed: int | None, settings: dict[str, Any]
) -> Prepared:
    """Validate every drill (and its lab) before anything runs; pick every random zone."""
    gameday, loaded = load_gameday(file)
    chosen = pick_target([drill for _, drill in loaded], target, settings)
    seed = secrets.randbits(SEED_BITS) if seed is None else seed
    drills = []
    for position, (path, drill) in enumerate(loaded):
        picked, picks = pick_zones(drill, drill_seed(seed, position))
        opener = prepare_cluster(chosen, Where(settings, state_dir(), picked, path))
        drills.append((path, picked, picks, opener))
    return Prepared(gameday, file, drills, seed, chosen)


@click.group()
def gameday() -> None:
    """Run or plan a game day: several drills in order against one cluster (spec §6).

    \b
    Examples:
      zonedrill gameday plan drills/weekly-dc-loss.gameday.yaml
      zonedrill gameday run drills/weekly-dc-loss.gameday.yaml --seed 7
      zonedrill gate --gameday weekly-dc-loss --max-age 7d
    """


@gameday.command("plan")
@click.argument("file", metavar="GAMEDAY", type=click.Path(path_type=Path, dir_okay=False))
@click.option("--target", type=click.Choice(target_names()), help="As for run.")
@SEED_OPTION
@target_options()
@OUTPUT_OPTION
def plan_command(
    file: Path, target: str | None, seed: int | None, form: str, **settings: Any
) -> None:
    """Plan every drill of a game day (touching nothing) and print the total time.

    With -o json|yaml, one GameDayPlan document: each drill's plan (as plan -o prints it), its
    pause, its seed, and the total length.
    """
    console = SafeConsole()
    try:
        prepared = _prepare(file, target, seed, settings)
        plans = run_async(lambda: _plan_all(prepared))
    except PlanRefusedError as refused:
        if form == Form.TEXT:
            console.print(render_plan(refused.plan))
        sys.exit(fail(stderr(), refused))
    except ZonedrillError as exc:
        print_refusal(exc, file, form)
        sys.exit(fail(stderr(), exc))
    if form != Form.TEXT:
        print_document(_plan_document(prepared, plans), form)
        return
    entries = prepared.gameday.spec.drills
    for index, shown in enumerate(plans):
        pause = entries[index].pause_before
        if pause:
            console.print(f"pause {format_duration(pause)}")
        _, drill, picks, _ = prepared.drills[index]
        seeded = f" (zones picked by seed {picks.seed})" if picks.seed is not None else ""
        header = f"▶▶ drill {index + 1} of {len(plans)}: {drill.metadata.name}{seeded}"
        console.print(styled((header, "bold magenta")))
        console.print(render_plan(shown))
    console.print(_total_line(prepared))


def _plan_document(prepared: Prepared, plans: list[Plan]) -> GameDayPlanOut:
    entries = prepared.gameday.spec.drills
    drills = [
        GameDayPlanDrillOut(
            pause_before_seconds=entries[index].pause_before,
            plan=plan_out(plan, drill, picks.seed),
        )
        for index, (plan, (_, drill, picks, _)) in enumerate(
            zip(plans, prepared.drills, strict=True)
        )
    ]
    return GameDayPlanOut(
        gameday=prepared.gameday.metadata.name,
        seed=prepared.seed,
        drills=drills,
        total_seconds=_total_seconds(prepared),
    )


def _lengths(prepared: Prepared) -> tuple[float, float]:
    """Seconds of the drills' runs and of the pauses: the game day before the restores."""
    drills = sum(run_length(drill) for _, drill, _, _ in prepared.drills)
    return drills, sum(entry.pause_before for entry in prepared.gameday.spec.drills)


def _total_seconds(prepared: Prepared) -> float:
    return sum(_lengths(prepared))


def _total_line(prepared: Prepared) -> str:
    drills, pauses = _lengths(prepared)
    return (
        f"game day {prepared.gameday.metadata.name}: {len(prepared.drills)} drills, about "
        f"{format_duration(drills + pauses)} in all ({format_duration(drills)} of drills, "
        f"{format_duration(pauses)} of pauses), plus each drill's restore; seed {prepared.seed} "
        f"(--seed {prepared.seed} repeats the picks)"
    )


async def _plan_all(prepared: Prepared) -> list[Plan]:
    shown: list[Plan] = []
    for _, drill, picks, open_cluster in prepared.drills:
        port = await open_cluster(serve=False)
        try:
            shown.append(await prepare(drill, port, picks))
        finally:
            await port.close()
    return shown


@gameday.command("run")
@click.argument("file", metavar="GAMEDAY", type=click.Path(path_type=Path, dir_okay=False))
@click.option(
    "--target",
    type=click.Choice(target_names()),
    help="Where to run. Default: lab when every drill names a lab and no other target's "
    "options (--kubeconfig, ...) are given.",
)
@target_options()
@click.option(
    "--out",
    "out_dir",
    type=click.Path(path_type=Path, file_okay=False),
    help="Where gameday.json, the report and each drill's run folder go. "
    "Default: ./zonedrill-runs/<game-day-id>/",
)
@click.option("--json", "as_json", is_flag=True, help="The same as -o json.")
@OUTPUT_OPTION
@SERVICE_URL_OPTION
@SEED_OPTION
@HISTORY_OPTION
@TRIGGER_OPTION
@SIGN_KEY_OPTION
@PUSH_OPTION
def run_command(
    file: Path,
    target: str | None,
    out_dir: Path | None,
    as_json: bool,
    form: str,
    service_urls: tuple[str, ...],
    seed: int | None,
    history_path: Path | None,
    trigger: str,
    sign_key: Path | None,
    push_url: str | None,
    **settings: Any,
) -> None:
    """Run a game day: validate every drill, run them in order, write one report.

    Drills run one after another with their pauseBefore; an outcome outside continueAfter
    stops the game day and skips the rest. Ctrl-C (SIGINT) or SIGTERM aborts the running drill
    through its normal restore and skips the rest. Writes gameday.json, report.html,
    report.md and junit.xml into --out, each drill's run in a folder beside them, records the
    game day in the history (zonedrill gate --gameday NAME) and posts spec.notify webhooks.

    Progress, warnings and errors go to standard error; each drill's summary and the game
    day's (or, with -o json|yaml, gameday.json's document) to standard output.

    Exit codes, for the game day as a whole: 0 passed, 1 failed, 2 invalid input, 3 aborted,
    4 error.
    """
    form = Form.JSON.value if as_json else form
    console = stderr()
    out = SafeConsole() if form == Form.TEXT else None
    try:
        prepared = _prepare(file, target, seed, settings)
        overrides = parse_service_urls(service_urls)
        name = prepared.gameday.metadata.name
        game_day_id = f"{name}-{datetime.now(UTC):%Y%m%dT%H%M%SZ}-{secrets.token_hex(2)}"
        folder = out_dir or Path("zonedrill-runs") / game_day_id
        _refuse_used(folder)
        signer = signer_at(sign_key)
        run_async(lambda: _plan_all(prepared))  # every preflight before any drill
    except PlanRefusedError as refused:
        console.print(render_plan(refused.plan))
        sys.exit(fail(console, refused))
    except ZonedrillError as exc:
        print_refusal(exc, file, form)
        sys.exit(fail(console, exc))
    history = History(history_path or default_path(state_dir()))
    after = Aftermath(history=history, trigger=trigger, signer=signer)
    where = Route(folder=folder, settings=settings, service_urls=overrides)
    try:
        _record_start(
            Start(
                game_day_id,
                "gameday",
                name,
                prepared.target,
                "",  # the cluster is opened drill by drill; each drill run's start names it
                trigger,
                datetime.now(UTC),
                os.getpid(),
            ),
            history,
            settings,
        )
    except ZonedrillError as exc:
        sys.exit(fail(console, exc))
    result = run_async(lambda: _run_all(prepared, game_day_id, where, (console, out), after))
    code = _finish(result, prepared, where, after, console)
    push_after(history, push_url)
    if out is None:
        print_document(result, form)
    else:
        _print_summary(result, out)
    sys.exit(code)


def _record_start(start: Start, history: History, settings: dict[str, Any]) -> None:
    """Record the game day as started, before its first drill, where the gate will look.

    A game day killed mid-way (SIGKILL, a CronJob pod OOM-killed or evicted) records nothing
    else; this trace keeps the gate from passing on the game day before it.
    """
    history.start(start)
    if not target_named(start.target).lives_with_process:
        kept = ClusterStart(
            game_day_id=start.id, trigger=start.trigger, started_at=start.started_at
        )
        run_async(lambda: record_start(start.name, kept, start.target, settings))


def _refuse_used(folder: Path) -> None:
    held = [n for n in ("gameday.json", "report.html") if (folder / n).exists()]
    if held:
        message = f"already holds a game day ({', '.join(held)}): give a new folder"
        raise InvalidInputError([Problem(str(folder), None, None, "--out", message)])


@dataclass(frozen=True)
class Route:
    """Where a game day's runs go, and how they reach the cluster and its Services."""

    folder: Path
    settings: dict[str, Any]
    service_urls: dict[str, str]


async def _run_all(
    prepared: Prepared,
    game_day_id: str,
    where: Route,
    consoles: tuple[Console, Console | None],
    after: Aftermath,
) -> GameDayResult:
    def make_job(index: int, _path: Path, drill: Drill) -> DrillJob:
        _, _, picks, open_cluster = prepared.drills[index]
        stamp = f"{datetime.now(UTC):%Y%m%dT%H%M%SZ}-{secrets.token_hex(2)}"
        run_id = f"{drill.metadata.name}-{stamp}"

        settings = RunSettings(
            run_id=run_id,
            out_dir=where.folder / run_id,
            state_dir=state_dir(),
            picks=picks,
            service_urls=where.service_urls,
        )
        label = f"drill {index + 1} of {len(prepared.drills)}: {drill.metadata.name}"
        return DrillJob(drill=drill, open_port=open_cluster, settings=settings, label=label)

    runner = GameDayRun(
        prepared.gameday,
        [(path, drill) for path, drill, _, _ in prepared.drills],
        game_day_id=game_day_id,
        seed=prepared.seed,
        make_job=make_job,
        console=consoles[0],
        after=after,
        summary=consoles[1],
    )
    with signals_stop(runner.request_stop):
        return await runner.execute(prepared.target)


def _finish(
    result: GameDayResult, prepared: Prepared, where: Route, after: Aftermath, console: Console
) -> int:
    """Record the game day, write gameday.json and the report, notify; return the exit code.

    The history record and gameday.json are the evidence a gate reads: when either cannot be
    written the game day ends in error (exit 4), so that no older record is left to pass for
    it. The report and the webhooks are only warnings.
    """
    warnings: list[str] = []
    data = result.encoded()
    if not target_named(prepared.target).lives_with_process:  # kept where the cluster is
        summary = summary_of(result)
        if after.signer is not None:
            summary = sign_summary(summary, after.signer)
        warnings += run_async(lambda: record_summary(summary, prepared.target, where.settings))
    earlier = _earlier(after.history, result, warnings)
    missing = _record(result, data, where.folder, after, console)
    if not missing:
        warnings += _report(result, where.folder, earlier, console)
    hooks = [hook.webhook for hook in prepared.gameday.spec.notify]
    warnings += run_async(lambda: notify(result, hooks))
    for warning in warnings:
        console.print(styled(("warning:", "yellow"), f" {warning}"))
    if missing:
        console.print(
            styled(("error:", "red"), f" the game day's evidence is incomplete: {missing}")
        )
        return Exit.ERROR
    return result.exit_code


def _record(
    result: GameDayResult, data: bytes, folder: Path, after: Aftermath, console: Console
) -> str:
    """Record in the history, then write (and sign) gameday.json; what could not be done."""
    missing = []
    path = folder / "gameday.json"
    try:
        after.history.record_gameday(result, result_path=str(path.resolve()))
    except ZonedrillError as exc:
        missing.append(f"not recorded in the history ({exc})")
    try:
        folder.mkdir(parents=True, exist_ok=True)
        write_durably(path, data)
        console.print(f"game day result: {path}", highlight=False)
        if after.signer is not None:
            console.print(f"signed: {sign(path, [], after.signer)}", highlight=False)
    except OSError as exc:
        missing.append(f"{path} not written ({exc.strerror or exc})")
    return "; ".join(missing)


def _report(
    result: GameDayResult, folder: Path, earlier: list[GameDayResult], console: Console
) -> list[str]:
    try:
        runs = {r.run_id: load_result(folder / r.result) for r in result.runs}
        report = GameDayReport(doc=result, folder=folder, runs=runs, earlier=earlier)
        written = write_gameday_reports(report)
    except (ZonedrillError, OSError) as exc:
        return [f"game-day report not written in full: {exc}"]
    console.print("reports: " + ", ".join(p.name for p in written), highlight=False)
    return []


def _earlier(history: History, result: GameDayResult, warnings: list[str]) -> list[GameDayResult]:
    try:
        days = history.gamedays(name=result.gameday, last=TREND_DAYS)
    except ZonedrillError as exc:
        warnings.append(f"no score trend: {exc}")
        return []
    return [d for d in days if d.game_day_id != result.game_day_id]


def _print_summary(result: GameDayResult, console: Console) -> None:
    colour = {"passed": "green", "failed": "red", "aborted": "yellow", "error": "red"}
    mean = "—" if result.mean_score is None else f"{result.mean_score:.1f}"
    console.print(
        styled(
            (f"game day {result.gameday}: {result.outcome.upper()}", colour[result.outcome]),
            f", mean score {mean}; {len(result.runs)} ran, {len(result.skipped)} skipped; "
            f"{format_duration(round(result.wall_seconds, 1))} in all",
        )
    )
    if result.reason:
        console.print(f"why: {result.reason}", highlight=False)
    for run in result.runs:
        console.print(f"  {run.index + 1}. {run.drill}: {run.outcome} ({run.run_id})")
    for skipped in result.skipped:
        console.print(f"  {skipped.index + 1}. {skipped.drill}: skipped ({skipped.why})")
