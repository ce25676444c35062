"""The ``lab`` target: the embedded cluster a drill's lab file describes, found by entry point."""

from __future__ import annotations

from pathlib import Path

from orchestrator.addresses import host_port
from orchestrator.drill import Lab, check_fits_lab, lab_for
from orchestrator.errors import InvalidInputError, Problem
from orchestrator.targets.lab.adapter import open_lab
from orchestrator.targets.port import ClusterPort
from orchestrator.targets.registry import ClusterOpener, TargetOption, Where

LAB = TargetOption("--lab", "Lab file to use instead of the drill's spec.lab.", kind="file")
LAB_METRICS = TargetOption(
    "--lab-metrics",
    "HOST:PORT where the lab's load balancer serves GET /metrics for Prometheus to scrape "
    "(requests by service and status code, answer times), e.g. 127.0.0.1:9464.",
)


class LabKind:
    """Labs live in this process: a run's changes die with it, so nothing needs a rollback."""

    lives_with_process = True
    options = (LAB, LAB_METRICS)

    def prepare(self, where: Where) -> ClusterOpener:
        """Load the drill's lab (``--lab`` or ``spec.lab``), checked against the drill."""
        lab, state = lab_of(where)
        lock_dir = state / "locks"
        given = where.setting(LAB_METRICS)
        metrics_at = host_port(given, option=LAB_METRICS.flag) if given else None

        async def opener(*, serve: bool = True) -> ClusterPort:
            return await open_lab(lab, lock_dir=lock_dir, serve=serve, metrics_at=metrics_at)

        return opener


def lab_of(where: Where) -> tuple[Lab, Path]:
    """The lab ``where`` names, checked against its drill, and the state directory.

    ``--lab``, a Lab a caller already loaded, or the drill's ``spec.lab``.
    """
    if where.drill is None or where.drill_path is None or where.state_dir is None:
        raise InvalidInputError(
            [Problem("--target", None, None, "", "the lab target needs a drill with a lab")]
        )
    given = where.setting(LAB)
    if isinstance(given, Lab):  # one a caller already holds, as a Chaos Toolkit export carries
        check_fits_lab(where.drill_path, where.drill, given)
        return given, where.state_dir
    lab = lab_for(where.drill_path, where.drill, Path(given) if given else None)
    return lab, where.state_dir


TARGET = LabKind()
"""What the ``lab`` entry point of ``zonedrill.targets`` loads."""
