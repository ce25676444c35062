"""``zonedrill export`` and ``zonedrill import``: drills and Chaos Toolkit experiments (spec §7)."""

from __future__ import annotations

import io
import sys
from pathlib import Path

import click
from ruamel.yaml import YAML

from orchestrator.cli.common import DATA_OUTPUT_OPTION, SEED_OPTION, stderr
from orchestrator.cli.outputs import Form, emit_data
from orchestrator.ctk.export import experiment_of
from orchestrator.ctk.importer import drill_data, drill_is_runnable
from orchestrator.drill import lab_for, load_drill
from orchestrator.drill.loader import drill_from_text
from orchestrator.drill.picks import is_random, pick_zones
from orchestrator.errors import InvalidInputError, Problem, ZonedrillError
from orchestrator.outcomes import Exit
from orchestrator.run.console import fail, styled
from orchestrator.yamlfile import load_yaml_file

OUTPUT_FILE = click.option(
    "--output-file",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Write here instead of standard output.",
)


@click.command()
@click.argument("drill_file", metavar="DRILL", type=click.Path(path_type=Path, dir_okay=False))
@click.option(
    "--to",
    "target_format",
    type=click.Choice(["chaostoolkit"]),
    required=True,
    help="What to export to: a Chaos Toolkit experiment (JSON).",
)
@SEED_OPTION
@OUTPUT_FILE
@DATA_OUTPUT_OPTION
def export(
    drill_file: Path, target_format: str, seed: int | None, output_file: Path | None, form: str
) -> None:
    """Write a drill as a Chaos Toolkit experiment that `chaos run` executes.

    The same zones, steps (by pauses), probes and restore; the rollbacks run on every exit.
    What the experiment cannot carry (a latency limit, a guardrail) is named on stderr. The
    experiment carries the drill itself, so `chaos run` works from any folder; the zonedrill
    control in it records the run. A drill with a lab carries its lab too and runs on it, as
    `zonedrill run` would; ZONEDRILL_TARGET=kube (or --var zonedrill_target=kube) runs it on the
    cluster of $KUBECONFIG. A drill that picks a zone at random needs --seed: the experiment
    holds one zone.

    \b
      zonedrill export drills/pangyo-drain-pdb.yaml --to chaostoolkit --output-file drill.json
      zonedrill export drills/any-site-power-loss.yaml --to chaostoolkit --seed 7
      chaos run drill.json --hypothesis-strategy continuously --hypothesis-frequency 1
      chaos run drill.json --var zonedrill_target=kube
    """
    del target_format  # one choice today
    console = stderr()
    try:
        drill = load_drill(drill_file)
        if is_random(drill) and seed is None:
            message = "a zone picked at random needs --seed N here: Chaos Toolkit cannot pick it"
            raise InvalidInputError([Problem(str(drill_file), None, None, "spec.steps", message)])
        picked, picks = pick_zones(drill, seed)
        lab = lab_for(drill_file, drill) if drill.spec.lab is not None else None
        experiment, notes = experiment_of(picked, str(drill_file), picks, lab)
    except ZonedrillError as exc:
        sys.exit(fail(console, exc))
    for note in notes:
        console.print(styled(("warning:", "yellow"), f" not carried over: {note}"))
    _write(emit_data(experiment, Form(form)), output_file)


@click.command("import")
@click.argument(
    "experiment_file", metavar="EXPERIMENT", type=click.Path(path_type=Path, dir_okay=False)
)
@OUTPUT_FILE
def import_(experiment_file: Path, output_file: Path | None) -> None:
    """Turn a Chaos Toolkit experiment into a drill (YAML), naming what does not carry over.

    HTTP probes and chaostoolkit-kubernetes node actions by label selector (cordon_node,
    drain_nodes, uncordon_node) carry over; each steady-state probe gets an
    availability "100%" target. Every other part is named on stderr with its path, such as
    method[1].provider. Exit 2 when nothing runnable is left (no probe, or no zone lost).
    """
    console = stderr()
    try:
        experiment = load_yaml_file(experiment_file).data
        if not isinstance(experiment, dict):
            message = "expected a Chaos Toolkit experiment (a JSON or YAML object)"
            raise InvalidInputError([Problem(str(experiment_file), None, None, "", message)])
        imported = drill_data(experiment)
    except ZonedrillError as exc:
        sys.exit(fail(console, exc))
    where = output_file or experiment_file.with_suffix(".drill.yaml")
    lab = imported.data["spec"].get("lab")
    if isinstance(lab, str) and not (where.parent / lab).is_file():
        del imported.data["spec"]["lab"]
        imported.left_out.append(
            (
                "extensions[zonedrill].drill.spec.lab",
                f"{lab} is not next to {where}: give the lab with --lab when you run it",
            )
        )
    for path, why in imported.left_out:
        console.print(styled(("warning:", "yellow"), f" not carried over: {path}: {why}"))
    if not drill_is_runnable(imported.data):
        console.print(
            styled(
                ("error:", "red"),
                " nothing runnable is left: a drill needs a probe and a zone to lose",
            )
        )
        sys.exit(Exit.INVALID)
    text = _yaml(imported.data)
    try:
        drill_from_text(text, file=str(where))
    except ZonedrillError as exc:
        sys.exit(fail(console, exc))
    _write(text, output_file)


def _yaml(data: object) -> str:
    out = io.StringIO()
    yaml = YAML()
    yaml.default_flow_style = False
    yaml.dump(data, out)
    return out.getvalue()


def _write(text: str, output_file: Path | None) -> None:
    if output_file is None:
        sys.stdout.write(text)
    else:
        output_file.write_text(text, encoding="utf-8")
