"""``zonedrill plan``: what a drill would do and what it risks, touching nothing.

Preflight on the drill's target (the zones, the pods hit, predicted outages and Pending), or
with ``--simulate`` the whole drill predicted on its lab in virtual time (``cli/simulate.py``).
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import click
from rich.console import Console

from orchestrator.cli.common import (
    OUTPUT_OPTION,
    SEED_OPTION,
    print_document,
    print_refusal,
    run_async,
    stderr,
    target_options,
)
from orchestrator.cli.outputs import Form, plan_out
from orchestrator.cli.simulate import POWER_CUT, Rehearsing
from orchestrator.drill import Drill, load_drill
from orchestrator.drill.picks import ZonePicks, pick_zones
from orchestrator.errors import InvalidInputError, ZonedrillError
from orchestrator.faults.journal import state_dir
from orchestrator.run.console import SafeConsole, fail, render_plan, styled
from orchestrator.run.preflight import Plan, PlanRefusedError, prepare
from orchestrator.targets.registry import (
    ClusterOpener,
    Where,
    pick_target,
    prepare_cluster,
    target_names,
)


@click.command()
@click.argument("drill_file", metavar="DRILL", type=click.Path(path_type=Path, dir_okay=False))
@click.option("--target", type=click.Choice(target_names()), help="As for run.")
@target_options()
@click.option(
    "--pods",
    "pods_listed",
    type=click.IntRange(min=0),
    default=10,
    show_default=True,
    metavar="N",
    help="Name up to N pods each lose step would evict or delete (0: counts only).",
)
@click.option(
    "--simulate",
    is_flag=True,
    help="Run the drill on its lab in virtual time and print the predicted result (RTO, "
    "availability, score, outcome) in well under a second; nothing is recorded.",
)
@click.option(
    "--as",
    "as_mode",
    type=click.Choice([POWER_CUT]),
    help="With --simulate: predict a real power cut of the drill's zones instead of its mode "
    "(endpoints kept for the node grace, pods evicted after their unreachable toleration).",
)
@click.option(
    "--each-zone",
    is_flag=True,
    help="With --simulate: every zone lost alone, as drilled and as a power cut; predicted "
    "RTO and outcome per probe and zone, worst first.",
)
@click.option(
    "--node-grace",
    metavar="DURATION",
    help="A power cut's node monitor grace period (default: the lab's nodeGrace, else 50s).",
)
@click.option(
    "--out-of-service-after",
    metavar="DURATION",
    help="When an operator applies the out-of-service taint after a power cut (default: never).",
)
@SEED_OPTION
@OUTPUT_OPTION
def plan(
    drill_file: Path,
    target: str | None,
    pods_listed: int,
    seed: int | None,
    form: str,
    **settings: Any,
) -> None:
    """Show what a drill would do and the risks seen (e.g. a predicted outage); touch nothing.

    \b
      zonedrill plan drills/pangyo-battery-fire.yaml --target kube    preflight on a cluster
      zonedrill plan drills/pangyo-battery-fire.yaml --simulate       the likely result
      zonedrill plan drills/pangyo-battery-fire.yaml --as power-cut   a real cut instead
      zonedrill plan drills/pangyo-battery-fire.yaml --each-zone      every zone, both ways
    With -o json|yaml a drill that does not validate prints the same document as validate -o,
    and a refused plan prints the plan with its refusals; the exit code is 2 either way.
    --simulate -o json prints a DrillResult marked "predicted": true, which report, verify,
    gate and history refuse as a run. With a lab, plan warns on stderr where a real power cut
    would keep a service down far longer than the drill shows (docs/rehearsal.md).
    """
    console = SafeConsole()
    rehearsing = Rehearsing.take(settings)
    try:
        drill, picks = pick_zones(load_drill(drill_file), seed)
        if rehearsing.simulate:
            rehearsing.run(drill, drill_file, picks, settings, form=form, target=target)
            return
    except InvalidInputError as exc:
        print_refusal(exc, drill_file, form)
        sys.exit(fail(stderr(), exc))
    except ZonedrillError as exc:
        sys.exit(fail(stderr(), exc))
    try:
        chosen = pick_target([drill], target, settings)
        where = Where(settings, state_dir(), drill, drill_file)
        open_cluster = prepare_cluster(chosen, where)
        result = run_async(lambda: _plan(drill, picks, open_cluster))
    except PlanRefusedError as refused:  # the plan still shows, the refusal marked: exit 2
        _show_plan(console, refused.plan, Shown(drill, picks.seed, form, pods_listed))
        sys.exit(fail(stderr(), refused))
    except ZonedrillError as exc:
        sys.exit(fail(stderr(), exc))
    with_lab = drill.spec.lab is not None or settings.get("lab")  # the lab says what a cut does
    warned = rehearsing.warnings(drill, drill_file, picks, settings) if with_lab else []
    _show_plan(console, result, Shown(drill, picks.seed, form, pods_listed, warned))


@dataclass(frozen=True)
class Shown:
    """How ``plan`` shows a plan: the drill and seed it came from, the format, the pods named."""

    drill: Drill
    seed: int | None
    form: str
    pods_listed: int
    warnings: list[str] = field(default_factory=list)
    """What a real power cut would do that the drill does not: on stderr, or in the document."""


def _show_plan(console: Console, plan: Plan, shown: Shown) -> None:
    if shown.form != Form.TEXT:
        document = plan_out(plan, shown.drill, shown.seed)
        document.power_cut_warnings = shown.warnings
        print_document(document, shown.form)
        return
    console.print(render_plan(plan, pods_listed=shown.pods_listed))
    for warning in shown.warnings:
        stderr().print(styled(("warning:", "yellow"), f" {warning}"))


async def _plan(drill: Drill, picks: ZonePicks, open_cluster: ClusterOpener) -> Plan:
    port = await open_cluster(serve=False)
    try:
        return await prepare(drill, port, picks)
    finally:
        await port.close()
