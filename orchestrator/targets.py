"""Open the cluster a command acts on: the embedded lab, or an adapter found by entry point.

Adapters register under the ``zonedrill.targets`` entry-point group (``kube`` ships with
zonedrill, in the ``k8s`` package). Finding them at run time keeps the core free of their
imports, which import-linter checks.
"""

from __future__ import annotations

from importlib.metadata import entry_points
from pathlib import Path

from orchestrator.drill import Drill, Lab, check_fits_lab, load_lab
from orchestrator.errors import InvalidInputError, Problem
from orchestrator.journal import state_dir
from orchestrator.port import ClusterPort, TargetOptions

ENTRY_POINT_GROUP = "zonedrill.targets"


def pick_target(
    drill: Drill, target: str | None, options: TargetOptions, lab_option: Path | None = None
) -> str:
    """``--target``; else lab with ``--lab``, or when the drill names a lab and no kubeconfig."""
    if target:
        return target
    if lab_option is not None:
        return "lab"
    return "lab" if drill.spec.lab is not None and options.kubeconfig is None else "kube"


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


async def open_lab_target(lab: Lab, *, serve: bool = True) -> ClusterPort:
    """The embedded lab, with its HTTP servers when ``serve``."""
    from orchestrator.lab import open_lab  # noqa: PLC0415 - aiohttp servers load on use

    return await open_lab(lab, lock_dir=state_dir() / "locks", serve=serve)


def open_adapter(name: str, options: TargetOptions) -> ClusterPort:
    """The adapter registered as ``name`` (``kube``), connected with ``options``."""
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
    factory = next(iter(found)).load()
    port: ClusterPort = factory(options)
    return port
