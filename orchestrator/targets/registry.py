"""Open the cluster a command acts on, through the target found by entry point.

Every target (``lab`` and ``kube`` ship with zonedrill) registers under the ``zonedrill.targets``
entry-point group: one module and one line in pyproject.toml. Finding them at run time keeps the
core free of their imports, which import-linter checks, and gives ``--target`` its choices. Each
target brings its own command-line options as plain ``TargetOption`` values; the CLI declares
them, and hands their values back to the target as ``Where.settings`` for it to read.
"""

from __future__ import annotations

from collections.abc import Awaitable, Mapping
from dataclasses import dataclass, field
from functools import cache
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any, Literal, Protocol

from orchestrator.drill import Drill
from orchestrator.errors import InvalidInputError, Problem
from orchestrator.targets.port import ClusterPort

ENTRY_POINT_GROUP = "zonedrill.targets"


@dataclass(frozen=True)
class TargetOption:
    """One command-line option a target brings, e.g. ``--kubeconfig``; its default written once."""

    flag: str
    help: str
    kind: Literal["text", "rate", "file"] = "text"
    """``rate``: a finite number above 0 (a budget per second)."""
    default: str | float | None = None

    @property
    def name(self) -> str:
        """The key of its value in ``Where.settings``: ``--lock-namespace`` → ``lock_namespace``."""
        return self.flag.removeprefix("--").replace("-", "_")

    def given(self, settings: Mapping[str, Any]) -> bool:
        """Whether the command line set it to something other than its default (or empty)."""
        return settings.get(self.name) not in (None, "", self.default)


@dataclass(frozen=True)
class Where:
    """What a command knows of where to drill: the targets' option values, the drill if any."""

    settings: Mapping[str, Any] = field(default_factory=dict)
    """The values of the options the targets bring, by ``TargetOption.name``; absent ones
    take their defaults. A caller may give a value already loaded: the lab takes a Lab."""
    state_dir: Path | None = None
    """Where locks and journals live (the lab keeps its lock there)."""
    drill: Drill | None = None
    drill_path: Path | None = None

    def setting(self, option: TargetOption) -> Any:
        """The value of ``option``, or its default when absent or empty (``context=""``)."""
        found = self.settings.get(option.name)
        return option.default if found in (None, "") else found


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

    @property
    def options(self) -> tuple[TargetOption, ...]:
        """The command-line options it reads from ``Where.settings``."""
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
    point = next(iter(found))
    try:
        target: Target = point.load()
    except (ImportError, AttributeError) as exc:  # a stale install, or a plug-in's own defect
        message = (
            f'the adapter of target "{name}" ({point.value}) cannot be loaded: {exc}; '
            "reinstall zonedrill (pip install -e .) or the plug-in that provides it"
        )
        raise InvalidInputError([Problem("--target", None, None, "", message)]) from exc
    return target


def prepare_cluster(name: str, where: Where) -> ClusterOpener:
    """Check and prepare target ``name`` for ``where``: the one way commands reach a cluster."""
    return target_named(name).prepare(where)


async def open_cluster(name: str, settings: Mapping[str, Any]) -> ClusterPort:
    """Target ``name`` opened from its option values alone, with no drill (a real cluster)."""
    return await prepare_cluster(name, Where(settings))(serve=False)


def targets_given(settings: Mapping[str, Any]) -> list[str]:
    """The targets one of whose own options the command line set."""
    return [
        name
        for name in target_names()
        if any(option.given(settings) for option in target_named(name).options)
    ]


def pick_target(drills: list[Drill], target: str | None, settings: Mapping[str, Any]) -> str:
    """The target a command runs on.

    ``--target``; else the lab when its options are given, or when every drill names a lab and
    no other target's options are; else the real cluster.
    """
    if target:
        return target
    given = targets_given(settings)
    if "lab" in given:
        return "lab"
    every_lab = all(drill.spec.lab is not None for drill in drills)
    return "lab" if every_lab and not given else persistent_target(settings)


def persistent_target(settings: Mapping[str, Any]) -> str:
    """The real cluster a command without a drill reads (kept results, marks).

    The one whose options are given, else the only one installed.
    """
    lasting = [name for name in target_names() if not target_named(name).lives_with_process]
    given = [name for name in targets_given(settings) if name in lasting]
    if len(given) == 1 or len(lasting) == 1:
        return (given or lasting)[0]
    names = ", ".join(given or lasting)
    message = f"cannot tell which cluster is meant ({names}): give the options of one of them"
    raise InvalidInputError([Problem("options", None, None, "", message)])
