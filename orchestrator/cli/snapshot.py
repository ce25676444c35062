"""``zonedrill snapshot``: a live cluster as a Lab, for ``plan --simulate`` (spec §8)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from orchestrator.cli.common import duration_option, run_async, stderr, target_options
from orchestrator.cli.outputs import Form, emit_data
from orchestrator.drill import Drill, Lab, load_drill
from orchestrator.errors import InvalidInputError, Problem, ZonedrillError
from orchestrator.faults.journal import state_dir
from orchestrator.plan.snapshot import snapshot as take_snapshot
from orchestrator.run.console import fail
from orchestrator.targets.port import Snapshots
from orchestrator.targets.registry import (
    ClusterOpener,
    Where,
    persistent_target,
    prepare_cluster,
)

HEADER = """\
# Written by zonedrill snapshot: the drill's zones and the Services its probes ask, as a lab.
# startup is the median of the pods' own PodScheduled-to-Ready times, which Kubernetes keeps
# to the second: it is up to 1 s off. reschedule, minReady and latency are not seen in a
# cluster: they are the lab's defaults, to set by hand. plan --simulate --lab THIS predicts.
"""


@click.command()
@target_options(cluster_only=True)
@click.option(
    "--zones-from",
    "drill_file",
    required=True,
    metavar="DRILL",
    type=click.Path(path_type=Path, dir_okay=False),
    help="The drill whose zones (node selectors) and probed Services the lab copies.",
)
@click.option(
    "--output-file",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Write the lab here instead of standard output.",
)
@click.option("--name", default="snapshot", show_default=True, help="The lab's metadata.name.")
@click.option(
    "--node-grace",
    metavar="DURATION",
    help="The node monitor grace period to write (default: 50s from Kubernetes 1.32, else 40s).",
)
def snapshot(
    drill_file: Path, output_file: Path | None, name: str, node_grace: str | None, **settings: Any
) -> None:
    """Read a cluster (never change it) and write it as a Lab.

    \b
      zonedrill snapshot --zones-from drills/pangyo-battery-fire.yaml --output-file lab.yaml
      zonedrill plan drills/pangyo-battery-fire.yaml --simulate --lab lab.yaml
    Nodes per zone and the pods that fit on them, and each probed Service's replicas per zone
    (placement), controller (workload), PDB, hard zone spread, unreachable toleration and
    startup. Needs only the read-only zonedrill-snapshot ClusterRole of k8s/rbac.yaml.
    """
    grace = None if node_grace is None else duration_option("--node-grace", node_grace)
    try:
        drill = load_drill(drill_file)
        where = Where(settings, state_dir(), drill, drill_file)
        opener = prepare_cluster(persistent_target(settings), where)
        lab = run_async(lambda: _read(opener, drill, name, grace))
    except ZonedrillError as exc:
        sys.exit(fail(stderr(), exc))
    text = HEADER + emit_data(lab.model_dump(mode="json", by_alias=True), Form.YAML)
    if output_file is None:
        sys.stdout.write(text)
    else:
        output_file.write_text(text, encoding="utf-8")


async def _read(opener: ClusterOpener, drill: Drill, name: str, grace: float | None) -> Lab:
    port = await opener(serve=False)
    try:
        if not isinstance(port, Snapshots):
            message = f"the {port.target} target cannot be read for a snapshot"
            raise InvalidInputError([Problem("--target", None, None, "", message)])
        return await take_snapshot(port, port, drill, name=name, node_grace=grace)
    finally:
        await port.close()
