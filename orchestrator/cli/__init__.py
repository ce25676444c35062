"""The ``zonedrill`` command. The only place that turns outcomes into exit codes."""

from __future__ import annotations

import secrets
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click
from click.shell_completion import get_completion_class
from rich.console import Console

from orchestrator import __version__
from orchestrator.cli import (
    ctk,
    gameday,
    gate,
    metrics,
    plan,
    results,
    rollback,
    schedule,
    snapshot,
    verify,
)
from orchestrator.cli.common import (
    DATA_OUTPUT_OPTION,
    HISTORY_OPTION,
    OUTPUT_OPTION,
    SEED_OPTION,
    SERVICE_URL_OPTION,
    SIGN_KEY_OPTION,
    TRIGGER_OPTION,
    duration_option,
    parse_service_urls,
    print_document,
    print_refusal,
    refuse,
    run_async,
    signer_at,
    stderr,
    target_options,
)
from orchestrator.cli.metrics import PUSH_OPTION, push_after
from orchestrator.cli.outputs import (
    FileCheck,
    Form,
    ValidateOut,
    emit_data,
    problems_out,
)
from orchestrator.drill import Drill, GameDay, Lab, lab_for, load_drill, load_file, load_gameday
from orchestrator.drill.picks import pick_zones
from orchestrator.drill.schema import file_schema
from orchestrator.errors import InvalidInputError, ZonedrillError
from orchestrator.faults.journal import state_dir
from orchestrator.outcomes import Exit
from orchestrator.probes import Transport
from orchestrator.results.history import History, default_path
from orchestrator.run.console import (
    SafeConsole,
    fail,
    print_exception,
    styled,
)
from orchestrator.run.engine import DrillRun, RunSettings
from orchestrator.run.runner import Aftermath, DrillJob, run_and_report, signals_stop
from orchestrator.targets.registry import (
    Where,
    pick_target,
    prepare_cluster,
    target_names,
)

HELP = """Rehearse the loss of a datacenter power zone and score the recovery.

\b
Start here:
  zonedrill validate drills/pangyo-battery-fire.yaml   check a drill (and its lab)
  zonedrill plan drills/pangyo-battery-fire.yaml       see what would happen; touches nothing
  zonedrill run drills/pangyo-battery-fire.yaml        run it on the embedded lab
  zonedrill gate --drill pangyo-battery-fire --max-age 7d   gate a pipeline on recent runs

\b
Exit codes of run: 0 passed, 1 targets missed, 2 invalid input, 3 aborted or not steady,
4 error (the restore status is printed). File format: zonedrill schema drill.
"""


@click.group(
    help=HELP,
    context_settings={"help_option_names": ["-h", "--help"]},
    invoke_without_command=True,
)
@click.version_option(__version__, prog_name="zonedrill")
@click.pass_context
def main(ctx: click.Context) -> None:
    """Entry point of the zonedrill command; bare, it prints its help and exits 0."""
    if ctx.invoked_subcommand is None:
        click.echo(ctx.get_help())


@main.command()
@click.argument("drill_file", metavar="DRILL", type=click.Path(path_type=Path, dir_okay=False))
@click.option(
    "--target",
    type=click.Choice(target_names()),
    help="Where to run. Default: lab when the drill names a lab and no other target's "
    "options (--kubeconfig, ...) are given.",
)
@target_options()
@click.option(
    "--out",
    "out_dir",
    type=click.Path(path_type=Path, file_okay=False),
    help="Where result.json and samples.jsonl go. Default: ./zonedrill-runs/<run-id>/",
)
@click.option("--json", "as_json", is_flag=True, help="The same as -o json.")
@OUTPUT_OPTION
@SERVICE_URL_OPTION
@click.option(
    "--transport",
    type=click.Choice([t.value for t in Transport]),
    default=Transport.AIOHTTP.value,
    show_default=True,
    help="HTTP engine under the probes (see bench/probe_throughput.py).",
)
@click.option(
    "--restore-timeout",
    default="10m",
    show_default=True,
    callback=lambda _ctx, _param, value: duration_option("--restore-timeout", value),
    help="How long the end-of-run restore retries a failing API server before it exits 4 "
    "naming what is pending (finish it with zonedrill rollback).",
)
@SEED_OPTION
@HISTORY_OPTION
@TRIGGER_OPTION
@SIGN_KEY_OPTION
@PUSH_OPTION
def run(
    drill_file: Path,
    target: str | None,
    out_dir: Path | None,
    as_json: bool,
    form: str,
    service_urls: tuple[str, ...],
    transport: str,
    restore_timeout: float,
    seed: int | None,
    history_path: Path | None,
    trigger: str,
    sign_key: Path | None,
    push_url: str | None,
    **settings: Any,
) -> None:
    """Run one drill: baseline, lose zones, probe, restore, score.

    Writes result.json, samples.jsonl, report.html, report.md and junit.xml into --out, and
    records the run in the history (see zonedrill history and zonedrill gate). Progress,
    warnings and errors go to standard error; the summary (or, with -o json|yaml, the result
    document) to standard output.

    \b
    Examples:
      zonedrill run drills/pangyo-battery-fire.yaml
      zonedrill run drills/pangyo-battery-fire.yaml -o json --out /tmp/run1 | jq .score
      zonedrill run drills/pangyo-battery-fire.yaml --target kube --kubeconfig ~/.kube/config
    """
    form = Form.JSON.value if as_json else form
    console = stderr()
    try:
        drill, picks = pick_zones(load_drill(drill_file), seed)
        chosen = pick_target([drill], target, settings)
        overrides = parse_service_urls(service_urls)
        where = Where(settings, state_dir(), drill, drill_file)
        open_cluster = prepare_cluster(chosen, where)
        signer = signer_at(sign_key)
    except ZonedrillError as exc:
        print_refusal(exc, drill_file, form)
        sys.exit(fail(console, exc))
    run_id = f"{drill.metadata.name}-{datetime.now(UTC):%Y%m%dT%H%M%SZ}-{secrets.token_hex(2)}"
    run_settings = RunSettings(
        run_id=run_id,
        out_dir=out_dir or Path("zonedrill-runs") / run_id,
        state_dir=state_dir(),
        transport=Transport(transport),
        service_urls=overrides,
        restore_timeout=restore_timeout,
        picks=picks,
    )
    history = History(history_path or default_path(state_dir()))
    after = Aftermath(history=history, trigger=trigger, signer=signer)

    job = DrillJob(drill=drill, open_port=open_cluster, settings=run_settings)
    code = run_async(lambda: _run_drill(job, console, Form(form), after))
    push_after(history, push_url)
    sys.exit(code)


async def _run_drill(job: DrillJob, console: Console, form: Form, after: Aftermath) -> int:
    runs: list[DrillRun] = []

    def stop(reason: str) -> None:
        for drill_run in runs:
            drill_run.request_abort(reason)

    with signals_stop(stop):
        summary = SafeConsole() if form is Form.TEXT else None
        outcome = await run_and_report(job, console, after, runs.append, summary)
    if isinstance(outcome, int):
        return outcome
    if form is not Form.TEXT:
        print_document(outcome.document, form)
    return outcome.exit_code


@main.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))
@OUTPUT_OPTION
def validate(files: tuple[Path, ...], form: str) -> None:
    """Check drill, lab and game-day files; exit 0 when all are valid, else 2.

    A drill's lab is checked too, and a game day's drills and their labs.

    Every problem is reported with file:line:column, the field path and what was expected.
    """
    checked = [_check_file(path) for path in files]
    valid = all(check.valid for check, _ in checked)
    if form != "text":
        print_document(ValidateOut(valid=valid, files=[check for check, _ in checked]), form)
    else:
        console, errors = SafeConsole(), stderr()
        for check, error in checked:
            if error is None:
                console.print(styled(("ok", "green"), f" {check.path} ({check.kind} {check.name})"))
            else:
                fail(errors, error)
    sys.exit(Exit.OK if valid else Exit.INVALID)


def _check_file(path: Path) -> tuple[FileCheck, InvalidInputError | None]:
    try:
        loaded = load_file(path)
        if isinstance(loaded, Drill) and loaded.spec.lab is not None:
            lab_for(path, loaded)
        if isinstance(loaded, GameDay):
            for drill_path, drill in load_gameday(path)[1]:
                if drill.spec.lab is not None:
                    lab_for(drill_path, drill)
    except InvalidInputError as exc:
        problems = problems_out(exc.problems)
        return FileCheck(path=str(path), valid=False, problems=problems), exc
    kind = type(loaded).__name__
    return FileCheck(path=str(path), valid=True, kind=kind, name=loaded.metadata.name), None


SCHEMAS: dict[str, type[Drill] | type[Lab] | type[GameDay]] = {
    "drill": Drill,
    "lab": Lab,
    "gameday": GameDay,
}


@main.command()
@click.argument("kind", type=click.Choice(list(SCHEMAS)), default="drill")
@DATA_OUTPUT_OPTION
def schema(kind: str, form: str) -> None:
    """Print the JSON Schema of drill, lab or game-day files, for editors and checks.

    \b
    Save it and point your editor at it, e.g. with the YAML language server:
      zonedrill schema drill > drill.schema.json
      # first line of a drill:  # yaml-language-server: $schema=drill.schema.json
    """
    click.echo(emit_data(file_schema(SCHEMAS[kind]), Form(form)), nl=False)


@main.command()
def version() -> None:
    """Print zonedrill's version (as --version does)."""
    click.echo(f"zonedrill {__version__}")


@main.command()
@click.argument("shell", type=click.Choice(["bash", "zsh", "fish"]))
def completion(shell: str) -> None:
    """Print the shell completion script for SHELL.

    \b
      zonedrill completion bash > ~/.local/share/bash-completion/completions/zonedrill
      zonedrill completion zsh > "${fpath[1]}/_zonedrill"
      zonedrill completion fish > ~/.config/fish/completions/zonedrill.fish
    """
    script = get_completion_class(shell)
    assert script is not None  # the choice above lists only shells click knows
    click.echo(script(main, {}, "zonedrill", "_ZONEDRILL_COMPLETE").source())


def entry() -> None:
    """The ``zonedrill`` command: ``main``, with a defect exiting 4 (error), never 1.

    Python exits 1 on an uncaught exception, which reads as "targets missed" to a pipeline.
    The traceback still goes to standard error, for the bug report.
    """
    try:
        code = main(prog_name="zonedrill", standalone_mode=False)
    except click.ClickException as exc:  # usage errors: click's text, in zonedrill's style
        sys.exit(_refused(exc))
    except click.exceptions.Abort:  # Ctrl-C outside a drill, which handles its own
        stderr().print(styled(("error:", "red"), " interrupted"))
        sys.exit(Exit.STOPPED)
    except ZonedrillError as exc:  # one a command did not expect where it met it: still said
        refuse(exc)
    except Exception as exc:  # noqa: BLE001 - the last line of defence for the exit code
        print_exception(stderr(), exc)
        sys.exit(Exit.ERROR)
    sys.exit(code if isinstance(code, int) else Exit.OK)


def _refused(exc: click.ClickException) -> int:
    """A usage error as every zonedrill error prints: ``error: ...``, with how to get help."""
    context = getattr(exc, "ctx", None)
    if isinstance(exc, click.UsageError) and context is not None:
        click.echo(context.get_usage(), err=True)
        hint = f"Try '{context.command_path} {context.help_option_names[0]}' for help."
        click.echo(hint, err=True)
    click.echo(f"error: {exc.format_message()}", err=True)
    return exc.exit_code


for command in (
    plan.plan,
    snapshot.snapshot,
    gameday.gameday,
    ctk.export,
    ctk.import_,
    schedule.schedule,
    results.report,
    gate.gate,
    results.history,
    verify.verify,
    metrics.metrics,
    rollback.rollback,
):
    main.add_command(command)
