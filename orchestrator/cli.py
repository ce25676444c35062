"""The ``zonedrill`` command. The only place that turns outcomes into exit codes."""

from __future__ import annotations

import asyncio
import json
import secrets
import signal
import sys
from collections.abc import Callable, Coroutine
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import click
from rich.console import Console

from orchestrator import __version__
from orchestrator.console import ConsoleObserver, render_plan, render_summary
from orchestrator.drill import Drill, Lab, load_drill, load_file, load_lab
from orchestrator.drill.model import Drill as DrillModel
from orchestrator.errors import (
    ClusterError,
    InvalidInputError,
    LockHeldError,
    SafetyRefusalError,
    UnrestoredRunError,
    ZonedrillError,
)
from orchestrator.journal import Journal, open_runs, state_dir
from orchestrator.preflight import prepare
from orchestrator.probes import Transport

EXIT_INVALID, EXIT_ERROR = 2, 4
T = TypeVar("T")

HELP = """Rehearse the loss of a datacenter power zone and score the recovery.

\b
Start here:
  zonedrill validate drills/pangyo-battery-fire.yaml   check a drill (and its lab)
  zonedrill plan drills/pangyo-battery-fire.yaml       see what would happen; touches nothing
  zonedrill run drills/pangyo-battery-fire.yaml        run it on the embedded lab

\b
Exit codes of run: 0 passed, 1 targets missed, 2 invalid input, 3 aborted or not steady,
4 error (the restore status is printed). File format: zonedrill schema drill.
"""


@click.group(help=HELP, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="zonedrill")
def main() -> None:
    """Entry point of the zonedrill command."""


def _stderr() -> Console:
    return Console(stderr=True)


def _fail(console: Console, exc: ZonedrillError) -> int:
    if isinstance(exc, InvalidInputError):
        for problem in exc.problems:
            console.print(f"[red]error[/] {problem}", highlight=False, soft_wrap=True)
        console.print(f"{len(exc.problems)} error(s); nothing was touched.")
        return EXIT_INVALID
    console.print(f"[red]error:[/] {exc}", highlight=False, soft_wrap=True)
    if isinstance(exc, SafetyRefusalError):
        return EXIT_INVALID
    return EXIT_ERROR


def _lab_for(drill_path: Path, drill: Drill, lab_option: Path | None) -> Lab:
    if lab_option is not None:
        return load_lab(lab_option)
    if drill.spec.lab is None:
        raise InvalidInputError(
            [
                _problem(
                    drill_path,
                    "spec.lab",
                    "the drill names no lab: set spec.lab or pass --lab FILE",
                )
            ]
        )
    return load_lab((drill_path.parent / drill.spec.lab).resolve())


def _problem(path: Path, field: str, message: str) -> Any:
    from orchestrator.errors import Problem  # noqa: PLC0415 - only on this error path

    return Problem(str(path), None, None, field, message)


def _pick_target(drill: Drill, target: str | None, kubeconfig: Path | None) -> str:
    if target:
        return target
    return "lab" if drill.spec.lab is not None and kubeconfig is None else "kube"


def _require_lab(drill_path: Path, target: str) -> None:
    if target != "lab":
        raise InvalidInputError(
            [
                _problem(
                    drill_path,
                    "--target",
                    (
                        "the kube target is not in this version (no Kubernetes adapter yet;"
                        " see docs/architecture.md); run on the embedded lab with --target lab"
                    ),
                )
            ]
        )


def _run_async(factory: Callable[[], Coroutine[Any, Any, T]]) -> T:
    return asyncio.run(factory())


@main.command()
@click.argument("drill_file", metavar="DRILL", type=click.Path(path_type=Path, dir_okay=False))
@click.option(
    "--target",
    type=click.Choice(["lab", "kube"]),
    help="Where to run. Default: lab when the drill names a lab and no --kubeconfig.",
)
@click.option(
    "--lab",
    "lab_file",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Lab file to use instead of the drill's spec.lab.",
)
@click.option("--context", help="kubeconfig context (kube target).")
@click.option(
    "--kubeconfig",
    type=click.Path(path_type=Path, dir_okay=False),
    help="kubeconfig file (kube target).",
)
@click.option(
    "--out",
    "out_dir",
    type=click.Path(path_type=Path, file_okay=False),
    help="Where result.json and samples.jsonl go. Default: ./zonedrill-runs/<run-id>/",
)
@click.option("--json", "as_json", is_flag=True, help="Print the result document on stdout.")
@click.option(
    "--transport",
    type=click.Choice([t.value for t in Transport]),
    default=Transport.AIOHTTP.value,
    show_default=True,
    help="HTTP engine under the probes (see bench/probe_throughput.py).",
)
def run(
    drill_file: Path,
    target: str | None,
    lab_file: Path | None,
    context: str | None,
    kubeconfig: Path | None,
    out_dir: Path | None,
    as_json: bool,
    transport: str,
) -> None:
    r"""Run one drill: baseline, lose zones, probe, restore, score.

    \b
    Examples:
      zonedrill run drills/pangyo-battery-fire.yaml
      zonedrill run drills/pangyo-battery-fire.yaml --json --out /tmp/run1
    """
    del context  # used by the kube target
    console = _stderr() if as_json else Console()
    try:
        drill = load_drill(drill_file)
        chosen = _pick_target(drill, target, kubeconfig)
        _require_lab(drill_file, chosen)
        lab = _lab_for(drill_file, drill, lab_file)
    except ZonedrillError as exc:
        sys.exit(_fail(console, exc))
    run_id = f"{drill.metadata.name}-{datetime.now(UTC):%Y%m%dT%H%M%SZ}-{secrets.token_hex(2)}"
    folder = out_dir or Path("zonedrill-runs") / run_id
    code = _run_async(
        lambda: _run_on_lab(drill, lab, run_id, folder, Transport(transport), console, as_json)
    )
    sys.exit(code)


async def _run_on_lab(
    drill: DrillModel,
    lab: Lab,
    run_id: str,
    out_dir: Path,
    transport: Transport,
    console: Console,
    as_json: bool,
) -> int:
    from orchestrator.engine import DrillRun, RunSettings  # noqa: PLC0415 - keeps --help fast
    from orchestrator.lab import open_lab  # noqa: PLC0415

    root = state_dir()
    port = await open_lab(lab, lock_dir=root / "locks")
    settings = RunSettings(run_id=run_id, out_dir=out_dir, state_dir=root, transport=transport)
    try:
        with ConsoleObserver(console) as observer:
            drill_run = DrillRun(drill=drill, port=port, settings=settings, observer=observer)
            loop = asyncio.get_running_loop()
            for signum in (signal.SIGINT, signal.SIGTERM):
                name = signal.Signals(signum).name
                loop.add_signal_handler(signum, drill_run.request_abort, f"{name} received")
            outcome = await drill_run.execute()
    except (LockHeldError, UnrestoredRunError, ClusterError, SafetyRefusalError) as exc:
        return _fail(console, exc)
    finally:
        await port.close()
    console.print(render_summary(outcome.document))
    console.print(f"result: {outcome.out_dir / 'result.json'}", highlight=False)
    if as_json:
        sys.stdout.write(json.dumps(outcome.document, indent=2) + "\n")
    return outcome.exit_code


@main.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))
def validate(files: tuple[Path, ...]) -> None:
    """Check drill and lab files (a drill's lab is checked too); exit 0 when all are valid, else 2.

    Every problem is reported with file:line:column, the field path and what was expected.
    """
    console = Console()
    failed = 0
    for path in files:
        try:
            loaded = load_file(path)
            if isinstance(loaded, Drill) and loaded.spec.lab is not None:
                load_lab((path.parent / loaded.spec.lab).resolve())
        except InvalidInputError as exc:
            failed += 1
            _fail(console, exc)
            continue
        console.print(
            f"[green]ok[/] {path} ({type(loaded).__name__} {loaded.metadata.name})", highlight=False
        )
    sys.exit(EXIT_INVALID if failed else 0)


@main.command()
@click.argument("drill_file", metavar="DRILL", type=click.Path(path_type=Path, dir_okay=False))
@click.option("--target", type=click.Choice(["lab", "kube"]), help="As for run.")
@click.option(
    "--lab",
    "lab_file",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Lab file to use instead of the drill's spec.lab.",
)
def plan(drill_file: Path, target: str | None, lab_file: Path | None) -> None:
    """Show what a drill would do and the risks seen (e.g. a predicted outage); touch nothing."""
    console = Console()
    try:
        drill = load_drill(drill_file)
        _require_lab(drill_file, _pick_target(drill, target, None))
        lab = _lab_for(drill_file, drill, lab_file)
        result = _run_async(lambda: _plan_on_lab(drill, lab))
    except ZonedrillError as exc:
        sys.exit(_fail(console, exc))
    console.print(render_plan(result))


async def _plan_on_lab(drill: DrillModel, lab: Lab) -> Any:
    from orchestrator.lab import open_lab  # noqa: PLC0415 - keeps --help fast

    port = await open_lab(lab, lock_dir=state_dir() / "locks", serve=False)
    return await prepare(drill, port)


@main.command()
@click.argument("run_id", required=False)
@click.option("--all", "all_runs", is_flag=True, help="Restore every unrestored run.")
def rollback(run_id: str | None, all_runs: bool) -> None:
    """Restore what journals say a run left changed (after a run was killed outright)."""
    console = Console()
    if bool(run_id) == all_runs:
        console.print("error: give a RUN_ID or --all")
        sys.exit(EXIT_INVALID)
    runs = [r for r in open_runs(state_dir()) if all_runs or r.run_id == run_id]
    if not runs:
        console.print("nothing to restore: no unrestored run" + (f" {run_id}" if run_id else ""))
        return
    code = 0
    for entry in runs:
        if entry.target == "lab":
            Journal.reopen(entry.path).close(restored=True, note="lab gone with its process")
            console.print(
                f"{entry.run_id}: its lab lived in process {entry.pid}, which is gone; "
                "nothing is left changed"
            )
        else:
            console.print(
                f"[red]{entry.run_id}: kube rollback needs the Kubernetes adapter, "
                "which this version does not have[/]"
            )
            code = EXIT_ERROR
    sys.exit(code)


@main.command()
@click.argument("kind", type=click.Choice(["drill", "lab"]), default="drill")
def schema(kind: str) -> None:
    """Print the JSON Schema of drill or lab files (for editor completion)."""
    model = DrillModel if kind == "drill" else Lab
    click.echo(json.dumps(model.model_json_schema(by_alias=True, mode="validation"), indent=2))
