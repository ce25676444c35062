"""Defects that once ended a run with exit 1 ("targets missed") and no result, on the lab.

A failure zonedrill did not foresee must still restore, write an ``error`` result and exit 4;
and another run's marks on the cluster keep a drill from starting.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from k8s import nodes
from orchestrator import cli
from orchestrator.drill import Drill, load_drill
from orchestrator.errors import UnrestoredRunError
from orchestrator.outcomes import Exit
from orchestrator.probes.samples import Sample
from orchestrator.results.result import StepRecord
from orchestrator.run.engine import DrillRun, RunSettings
from orchestrator.run.preflight import Plan
from orchestrator.targets.port import Change, ClusterPort, Cordon, DeletePod, Mark, NodeInfo
from orchestrator.targets.registry import Where, prepare_cluster
from tests.test_run_safety import drill


class Quiet:
    """A run observer that keeps the notes and prints nothing."""

    def __init__(self) -> None:
        self.notes: list[str] = []

    def planned(self, plan: Plan) -> None:
        """Preflight passed."""

    def phase(self, name: str, *, until: float | None) -> None:
        """A phase began."""

    def step(self, record: StepRecord) -> None:
        """A step started or ended."""

    def sample(self, sample: Sample) -> None:
        """A sample came in."""

    def note(self, message: str) -> None:
        """Keep it."""
        self.notes.append(message)


class Broken:
    """The lab's port, but deleting a pod raises what no adapter should: a plain KeyError."""

    def __init__(self, port: ClusterPort) -> None:
        self._port = port

    def __getattr__(self, name: str) -> Any:
        return getattr(self._port, name)

    async def apply(self, change: Change, *, run_id: str) -> None:
        """Pass every change on, but fail the first pod deletion."""
        if isinstance(change, DeletePod):
            raise KeyError(change.pod.name)
        await self._port.apply(change, run_id=run_id)


async def open_lab(path: Path, loaded: Drill, folder: Path) -> ClusterPort:
    """The drill's lab, opened through the lab target as ``zonedrill run`` opens it."""
    where = Where({}, folder / "s", loaded, path)
    return await prepare_cluster("lab", where)()


async def drill_run_on(tmp_path: Path, port_of: Any, run_id: str) -> DrillRun:
    """The safety drill, ready to run on its lab, its port wrapped by ``port_of``."""
    path = drill(tmp_path)
    loaded = load_drill(path)
    port = port_of(await open_lab(path, loaded, tmp_path))
    settings = RunSettings(run_id=run_id, out_dir=tmp_path / "out", state_dir=tmp_path / "s")
    return DrillRun(drill=loaded, port=port, settings=settings, observer=Quiet())


async def run_in_process(tmp_path: Path, port_of: Any) -> tuple[dict[str, Any], DrillRun]:
    """Run the safety drill on its lab, its port wrapped by ``port_of``; expect exit 4."""
    drill_run = await drill_run_on(tmp_path, port_of, "defect-1")
    try:
        outcome = await drill_run.execute()
    finally:
        await drill_run.port.close()
    assert outcome.exit_code == Exit.ERROR
    return outcome.document.model_dump(mode="json", by_alias=True), drill_run


async def test_an_unexpected_exception_restores_and_writes_an_error_result(tmp_path: Path) -> None:
    """A KeyError mid-chaos: restored, result written with outcome error and the defect named."""
    document, drill_run = await run_in_process(tmp_path, Broken)
    written = json.loads((tmp_path / "out" / "result.json").read_text())
    assert written["outcome"] == document["outcome"] == "error"
    assert "unexpected KeyError" in written["reason"]
    assert written["restored"] is True
    nodes = await drill_run.port.list_nodes()
    assert not any(n.unschedulable for n in nodes), "the cordons were not undone"


class AbortAtPlan(Quiet):
    """Asks for an abort as soon as preflight passed: before the baseline's first slot."""

    run: DrillRun

    def planned(self, plan: Plan) -> None:
        """Stop the run, as a SIGINT landing then would."""
        self.run.request_abort("SIGINT received")


async def test_a_stop_before_the_baseline_starts_is_aborted_with_a_result(tmp_path: Path) -> None:
    """A stop in the baseline's start lead: exit 3 and an aborted result, never a refused one.

    Its figures ended before the baseline started, which the result's own checks refused.
    """
    drill_run = await drill_run_on(tmp_path, lambda port: port, "early-1")
    observer = AbortAtPlan()
    observer.run = drill_run
    drill_run.observer = observer
    try:
        outcome = await drill_run.execute()
    finally:
        await drill_run.port.close()
    assert outcome.exit_code == Exit.STOPPED
    written = json.loads((tmp_path / "out" / "result.json").read_text())
    assert (written["outcome"], written["restored"]) == ("aborted", True)
    timeline = written["timeline"]
    assert timeline["baselineStart"] <= timeline["figuresEnd"] <= timeline["chaosEnd"]


class MarkedByAnother:
    """The lab's port, with a node its marks say another run cordoned (on another machine)."""

    def __init__(self, port: ClusterPort) -> None:
        self._port = port

    def __getattr__(self, name: str) -> Any:
        return getattr(self._port, name)

    async def list_nodes(self) -> list[NodeInfo]:
        """pangyo-1 says run ``elsewhere-7`` cordoned it; this machine has no journal of it."""
        mark = Mark("elsewhere-7", Cordon(node="pangyo-1"))
        return [
            replace(node, marks=(mark, *node.marks)) if node.name == "pangyo-1" else node
            for node in await self._port.list_nodes()
        ]


async def test_another_runs_marks_refuse_the_drill_with_the_rollback_command(
    tmp_path: Path,
) -> None:
    """A cordon marked by another run, no local journal: refused before anything is changed."""
    drill_run = await drill_run_on(tmp_path, MarkedByAnother, "mine-1")
    try:
        with pytest.raises(UnrestoredRunError, match="zonedrill rollback elsewhere-7"):
            await drill_run.execute()
    finally:
        await drill_run.port.close()
    assert not (tmp_path / "s" / "journal").exists() or not list(
        (tmp_path / "s" / "journal").rglob("*.jsonl")
    )


def test_a_defect_in_any_command_exits_4_not_1(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Exit 1 means "targets missed" to a pipeline: an uncaught exception must not produce it."""

    def broken(**_: Any) -> None:
        raise ZeroDivisionError("division by zero")

    monkeypatch.setattr(cli, "main", broken)
    with pytest.raises(SystemExit) as exited:
        cli.entry()
    assert exited.value.code == Exit.ERROR
    err = capsys.readouterr().err
    assert "unexpected ZeroDivisionError: division by zero" in err
    assert "please report it" in err


@pytest.mark.parametrize(
    ("mark", "owners"),
    [
        ("run-7", {"zonedrill.io/power-loss:NoSchedule": "run-7"}),
        ('{"zonedrill.io/x:NoExecute": "run-8"}', {"zonedrill.io/x:NoExecute": "run-8"}),
        ("[" * 100_000, {}),
        ('{"a":' * 100_000, {}),
        ('{"no-colon": "run-1"}', {}),
        ('{"k:Sometimes": "run-1"}', {}),
        ('{":NoSchedule": "run-1"}', {}),
        ('{"k:NoSchedule": 5}', {}),
        ('{"k:NoSchedule": "not a run id"}', {}),
        ("x" * 1_000_000, {}),
        ("[]", {}),
    ],
    ids=lambda value: str(value)[:20],
)
def test_taint_marks_count_only_what_zonedrill_could_have_written(
    mark: str, owners: dict[str, str]
) -> None:
    """A forged or garbage mark is no mark: it neither blocks a drill nor gets a taint undone."""
    node = SimpleNamespace(metadata=SimpleNamespace(annotations={nodes.TAINTED_BY: mark}))
    assert nodes.taint_owners(node) == owners
