"""Open the cluster a command acts on, through the target found by entry point.

Every target (``lab`` and ``kube`` ship with zonedrill) registers under the ``zonedrill.targets``
entry-point group: one module and one line in pyproject.toml. Finding them at run time keeps the
core free of their imports, which import-linter checks, and gives ``--target`` its choices.
"""

from __future__ import annotations

from collections.abc import Awaitable
from dataclasses import dataclass
from functools import cache
from importlib.metadata import entry_points
from pathlib import Path
from typing import Protocol

from orchestrator.drill import Drill, Lab, check_fits_lab, load_lab
from orchestrator.errors import InvalidInputError, Problem
from orchestrator.targets.port import ClusterOptions, ClusterPort

ENTRY_POINT_GROUP = "zonedrill.targets"


@dataclass(frozen=True)
class Where:
    """What a command knows of where to drill: the cluster options, the drill if any."""

    options: ClusterOptions
    state_dir: Path | None = None
    """Where locks and journals live (the lab keeps its lock there)."""
    drill: Drill | None = None
    drill_path: Path | None = None
    lab_file: Path | None = None
    """``--lab``."""


class ClusterOpener(Protocol):
    """Opens the cluster a target prepared; ``serve`` starts what probes reach (a lab's servers)."""

    def __call__(self, *, serve: bool = True) -> Awaitable[ClusterPort]:
        """The port, connected."""
        ...


class Target(Protocol):
    """A kind of cluster zonedrill drills: what an entry point of ``zonedrill.targets`` loads."""

    @property
    def lives_with_process(self) -> bool:
        """True when nothing a run changed outlives its process (the lab): no rollback needed."""
        ...

    def prepare(self, where: Where) -> ClusterOpener:
        """Check what this target needs (InvalidInputError, exit 2); return how to open it."""
        ...


def target_names() -> list[str]:
    """Every installed target, for ``--target``."""
    return sorted({point.name for point in entry_points(group=ENTRY_POINT_GROUP)})


@cache
def target_named(name: str) -> Target:
    """The target registered as ``name``; InvalidInputError when none is installed."""
    found = entry_points(group=ENTRY_POINT_GROUP, name=name)
    if not found:
        raise InvalidInputError(
            [
                Problem(
                    "--target",
                    None,
                    None,
                    "",
                    (
                        f'no adapter for target "{name}" is installed '
                        f"(entry point group {ENTRY_POINT_GROUP}); reinstall zonedrill"
                    ),
                )
            ]
        )
    target: Target = next(iter(found)).load()
    return target


def prepare_cluster(name: str, where: Where) -> ClusterOpener:
    """Check and prepare target ``name`` for ``where``: the one way commands reach a cluster."""
    return target_named(name).prepare(where)


async def open_cluster(name: str, options: ClusterOptions) -> ClusterPort:
    """Target ``name`` opened from cluster options alone, with no drill (a real cluster)."""
    return await prepare_cluster(name, Where(options))(serve=False)


def pick_target(
    drills: list[Drill], target: str | None, options: ClusterOptions, lab_option: Path | None = None
) -> str:
    """``--target``; else lab with ``--lab``, or when every drill names a lab and no kubeconfig."""
    if target:
        return target
    if lab_option is not None:
        return "lab"
    every_lab = all(drill.spec.lab is not None for drill in drills)
    return "lab" if every_lab and options.kubeconfig is None else "kube"


def lab_for(drill_path: Path, drill: Drill, lab_option: Path | None) -> Lab:
    """The lab (``--lab`` or the drill's ``spec.lab``), checked to have what the drill names."""
    lab = _lab_file(drill_path, drill, lab_option)
    check_fits_lab(drill_path, drill, lab)
    return lab


def _lab_file(drill_path: Path, drill: Drill, lab_option: Path | None) -> Lab:
    if lab_option is not None:
        return load_lab(lab_option)
    if drill.spec.lab is None:
        raise InvalidInputError(
            [
                Problem(
                    str(drill_path),
                    None,
                    None,
                    "spec.lab",
                    "the drill names no lab: set spec.lab or pass --lab FILE",
                )
            ]
        )
    return load_lab((drill_path.parent / drill.spec.lab).resolve())
