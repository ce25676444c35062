"""What every zonedrill command shares: error printing and exit codes, target options, the loop."""

from __future__ import annotations

import asyncio
import math
import sys
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any, NoReturn, TypeVar

import click
from pydantic import BaseModel
from rich.console import Console
from securesystemslib.signer import Signer

from orchestrator.cli.outputs import FileCheck, Form, ValidateOut, emit, problems_out
from orchestrator.durations import parse_duration
from orchestrator.errors import InvalidInputError, Problem, ZonedrillError
from orchestrator.faults.journal import state_dir
from orchestrator.outcomes import exit_for
from orchestrator.results.history import History, default_path
from orchestrator.results.signing import load_signer
from orchestrator.run.console import SafeConsole, print_error
from orchestrator.targets.registry import target_named, target_names

T = TypeVar("T")
F = TypeVar("F", bound=Callable[..., Any])


def stderr() -> Console:
    """The console for errors and progress when standard output carries data."""
    return SafeConsole(stderr=True)


def duration_option(name: str, value: str) -> float:
    """A duration given on the command line, or click's error naming the option."""
    try:
        return parse_duration(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint=name) from None


def run_async(factory: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """Run the coroutine ``factory`` makes in a fresh event loop."""
    return asyncio.run(factory())


class _Rate(click.ParamType):  # type: ignore[type-arg]  # generic only from click 8.2 on
    """A finite number above 0: ``--qps 0`` would never send, nan and inf are no budget."""

    name = "rate"

    def convert(
        self, value: Any, param: click.Parameter | None, ctx: click.Context | None
    ) -> float:
        try:
            rate = float(value)
        except (TypeError, ValueError):
            self.fail(f"{value!r} is not a number", param, ctx)
        if not math.isfinite(rate) or rate <= 0:
            self.fail(f"{value!r} is not a finite number above 0", param, ctx)
        return rate


OPTION_TYPES: dict[str, click.ParamType[Any, Any]] = {
    "text": click.STRING,
    "rate": _Rate(),
    "file": click.Path(dir_okay=False),  # a str: an empty value stays empty, i.e. not given
}
"""How the CLI reads each kind of ``TargetOption``."""


def target_options(*, cluster_only: bool = False) -> Callable[[F], F]:
    """The options every installed target brings (``--lab``, ``--kubeconfig``, ...).

    Their values reach the command as keyword arguments, by ``TargetOption.name``, for it to hand
    on as ``Where.settings``. ``cluster_only`` keeps the targets whose changes outlive the
    process: the commands that read a cluster without a drill (rollback, results kept there).
    """

    def declare(function: F) -> F:
        for name in reversed(target_names()):
            try:
                target = target_named(name)
            except InvalidInputError:
                continue  # an unloadable target says so when it is used, not on every command
            if cluster_only and target.lives_with_process:
                continue
            for option in reversed(target.options):
                function = click.option(
                    option.flag,
                    option.name,
                    type=OPTION_TYPES[option.kind],
                    default=option.default,
                    show_default=option.default is not None,
                    help=option.help,
                )(function)
        return function

    return declare


FORM_KEY = "zonedrill.form"
"""Where a group's -o leaves its form for its subcommands (``history -o json show ID``)."""
OUTPUT_OPTION = click.option(
    "-o",
    "--output",
    "form",
    type=click.Choice([f.value for f in Form]),
    default=Form.TEXT.value,
    show_default=True,
    help="What to print: text for people, json or yaml for scripts (never a file name).",
)


DATA_OUTPUT_OPTION = click.option(
    "-o",
    "--output",
    "form",
    type=click.Choice([Form.JSON.value, Form.YAML.value]),
    default=Form.JSON.value,
    show_default=True,
    help="The format of the document printed (never a file name: see --output-file).",
)
"""-o of the commands whose answer is a document for other tools (schema, export)."""


def print_document(document: BaseModel, form: str) -> None:
    """Print ``document`` as JSON or YAML on standard output."""
    click.echo(emit(document, Form(form)), nl=False)


def print_refusal(exc: ZonedrillError, path: Path, form: str) -> None:
    """With -o json|yaml, input refused as ``validate -o`` prints it: a script reads why.

    Only input errors have a document (problems located in a file); the error itself still goes
    to standard error.
    """
    if form == Form.TEXT or not isinstance(exc, InvalidInputError):
        return
    checked = FileCheck(path=str(path), valid=False, problems=problems_out(exc.problems))
    print_document(ValidateOut(valid=False, files=[checked]), form)


SEED_OPTION = click.option(
    "--seed",
    type=click.IntRange(min=0, max=2**53),
    help="Seed for zones picked at random (lose: {anyOf: [...]}). The same seed picks the same "
    "zones. Default: a fresh seed, printed and recorded in the result.",
)


def refuse(exc: ZonedrillError) -> NoReturn:
    """Print the error on standard error and exit with its code (``outcomes.exit_for``)."""
    print_error(SafeConsole(stderr=True), exc)
    sys.exit(exit_for(exc))


def history_at(path: Path | None) -> History:
    """The history at ``--history``, else in the state directory."""
    return History(path or default_path(state_dir()))


MOST_RUNS = 1_000_000
"""``--last`` above this reads as "all of them": the history's LIMIT takes 64-bit numbers only."""


HISTORY_OPTION = click.option(
    "--history",
    "history_path",
    type=click.Path(path_type=Path, dir_okay=False),
    help="History database. Default: history.sqlite in the state directory "
    "($ZONEDRILL_STATE_DIR or $XDG_STATE_HOME/zonedrill).",
)


SERVICE_URL_OPTION = click.option(
    "--service-url",
    "service_urls",
    multiple=True,
    metavar="NS/NAME=URL",
    help="Probe this Service at URL (a port-forward, an ingress) instead of the "
    "API server's service proxy. Repeatable.",
)


def parse_service_urls(pairs: tuple[str, ...]) -> dict[str, str]:
    """``--service-url NS/NAME=URL`` pairs as a map; a malformed one is refused (exit 2)."""
    found = {}
    for pair in pairs:
        key, _, url = pair.partition("=")
        if key.count("/") != 1 or not url.startswith(("http://", "https://")):
            raise InvalidInputError(
                [
                    Problem(
                        "--service-url",
                        None,
                        None,
                        "",
                        f'expected NAMESPACE/NAME=http://..., got "{pair}"',
                    )
                ]
            )
        found[key] = url
    return found


SIGN_KEY_OPTION = click.option(
    "--sign-key",
    type=click.Path(path_type=Path, dir_okay=False),
    envvar="ZONEDRILL_SIGN_KEY",
    help="Sign each result with this PEM private key (openssl genpkey -algorithm ed25519): an "
    "in-toto statement over result.json and samples.jsonl in a DSSE envelope, "
    "result.intoto.json, that verify --key and gate --trusted-key check. "
    "Env: ZONEDRILL_SIGN_KEY.",
)


def signer_at(path: Path | None) -> Signer | None:
    """The signer of ``--sign-key``, read before anything runs (a bad key is exit 2)."""
    return None if path is None else load_signer(path)


TRIGGER_OPTION = click.option(
    "--trigger",
    default="manual",
    show_default=True,
    envvar="ZONEDRILL_TRIGGER",
    help="What started it (e.g. schedule, ci), kept with each run in the history for "
    "`gate --trigger`. Env: ZONEDRILL_TRIGGER.",
)
