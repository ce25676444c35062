"""The run loop (spec §2): preflight, baseline, chaos, restore and report.

One monotonic clock (the event loop's) times everything. Whatever ends the run (targets met or
missed, a guardrail, a signal, an error) goes through the same restore path before the result
is written.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol

from orchestrator import faults
from orchestrator.drill.model import Drill, FaultMode
from orchestrator.drill.picks import ZonePicks
from orchestrator.errors import JournalError, ResultWriteError, ZonedrillError
from orchestrator.faults import FaultContext, FaultReport
from orchestrator.faults.journal import Journal
from orchestrator.outcomes import GRADED
from orchestrator.probes import ProbeRunner, ProbeSettings, RunProbes, Transport
from orchestrator.probes.samples import Sample, before, digest, encode_samples
from orchestrator.results.document import ClusterDoc, ResultDoc
from orchestrator.results.result import (
    RunFacts,
    StepRecord,
    Timeline,
    derive,
    result_document,
    write_result,
)
from orchestrator.results.storage import check_out_dir, check_state_dir, write_durably
from orchestrator.run.guardrails import Guardrails
from orchestrator.run.ownership import refuse_marked, refuse_unrestored
from orchestrator.run.phases import RunClock, finished, first_leaf, sleep_until, stop, wait_first
from orchestrator.run.preflight import Plan, prepare
from orchestrator.run.restoring import RestoreHooks, describe_pending, restore_all
from orchestrator.targets.port import ClusterPort, LockHold

START_LEAD = 0.05


@dataclass(frozen=True)
class RunSettings:
    """How to run: the run id, where results and state go, and the probe transport."""

    run_id: str
    out_dir: Path
    state_dir: Path
    transport: Transport = Transport.AIOHTTP
    restore_timeout: float = 600.0
    """Seconds the end-of-run restore keeps retrying a failing cluster (--restore-timeout)."""
    service_urls: dict[str, str] = field(default_factory=dict)
    """``namespace/name`` -> URL: probe these Services at an explicit address instead."""
    picks: ZonePicks = field(default_factory=ZonePicks)
    """How the drill's random zones were picked (the drill has them picked already)."""


class RunObserver(Protocol):
    """Receives progress while a drill runs (the console implements it)."""

    def planned(self, plan: Plan) -> None:
        """Preflight passed; this is what will happen."""

    def phase(self, name: str, *, until: float | None) -> None:
        """A phase began; ``until`` is its end on the loop clock, if known."""

    def step(self, record: StepRecord) -> None:
        """A step started or finished."""

    def sample(self, sample: Sample) -> None:
        """A probe sample completed."""

    def note(self, message: str) -> None:
        """Something worth telling the operator."""


@dataclass(frozen=True)
class RunOutcome:
    """What a finished run hands back to the CLI."""

    document: ResultDoc
    exit_code: int
    out_dir: Path


class DrillRun:
    """One execution of one drill against one target."""

    def __init__(
        self, *, drill: Drill, port: ClusterPort, settings: RunSettings, observer: RunObserver
    ) -> None:
        self.drill, self.port, self.settings, self.observer = drill, port, settings, observer
        self.samples: list[Sample] = []
        self.steps: list[StepRecord] = []
        self._abort = asyncio.Event()
        self._abort_reason = ""
        self._unsteady = asyncio.Event()
        self._restoring = False
        self._restore_deadline: float | None = None
        self._unrestored = ""
        self._hold = LockHold()

    def request_abort(self, reason: str) -> None:
        """Stop the drill early (signal or guardrail); the run restores and reports ``aborted``."""
        if self._restoring:
            self.observer.note(f"{reason}: already restoring, please wait")
            return
        if not self._abort.is_set():
            self._abort_reason = reason
            self._abort.set()
            self.observer.note(f"aborting: {reason}; restoring everything")

    async def execute(self) -> RunOutcome:
        """Run every phase; return the result. Raises only before anything is touched."""
        loop = asyncio.get_running_loop()
        self._origin, wall_origin = loop.time(), datetime.now(UTC)
        check_out_dir(self.settings.out_dir, samples=self._samples_expected())
        check_state_dir(self.settings.state_dir)
        # The lock first: what preflight lists under it is what the run starts from, and no
        # other run can mark a node between that list and the ownership check.
        async with self.port.lock(holder=f"zonedrill run {self.settings.run_id}") as hold:
            cluster = ClusterDoc(identity=self.port.identity, uid=await self.port.cluster_uid())
            plan = await prepare(self.drill, self.port, self.settings.picks)
            self.observer.planned(plan)
            refuse_unrestored(self.settings.state_dir, self.port)
            refuse_marked(plan.marks, self.port.identity, self.settings.run_id)
            self._hold = hold
            watching = asyncio.get_running_loop().create_task(self._abort_when_lost(hold))
            journal = Journal.create(
                root=self.settings.state_dir,
                identity=self.port.identity,
                run_id=self.settings.run_id,
                drill=self.drill.metadata.name,
                target=self.port.target,
            )
            context = FaultContext(
                self.port,
                journal,
                self.settings.run_id,
                frozenset(self.drill.spec.safety.exclude_namespaces),
            )
            try:
                facts, timeline = await self._run_and_restore(plan, context, wall_origin)
                facts.cluster = cluster
            finally:
                watching.cancel()
        return self._report(facts, timeline)

    async def _abort_when_lost(self, hold: LockHold) -> None:
        await hold.lost.wait()
        self.request_abort(f"lost the drill lock: {hold.why}")

    def _samples_expected(self) -> int:
        spec = self.drill.spec
        return sum(int((spec.baseline + spec.duration) / p.every) + 1 for p in spec.probes)

    async def _run_and_restore(
        self, plan: Plan, context: FaultContext, wall_origin: datetime
    ) -> tuple[RunFacts, Timeline]:
        clock = RunClock(self._origin)
        facts = RunFacts(
            self.settings.run_id,
            self.port.target,
            "error",
            False,
            risks=plan.risks,
            picks=self.settings.picks,
        )
        try:
            facts.outcome, facts.reason = await self._phases(plan, context, clock)
        except Exception as exc:  # noqa: BLE001 - any failure restores and is written as an error
            facts.outcome, facts.reason = "error", _why(exc)
            if clock.figures_end == 0.0:
                clock.end_figures()
            self.observer.note(f"error: {facts.reason}")
        finally:
            facts.restored = await self._restore_all(context, plan, clock)
            self._close_journal(context.journal, facts)
        return facts, clock.timeline(wall_origin)

    def _close_journal(self, journal: Journal, facts: RunFacts) -> None:
        """End the journal; a journal that cannot be written is reported, never fatal here."""
        try:
            journal.close(restored=facts.restored)
        except JournalError as exc:
            journal.unwritten = str(exc)
        if self._unrestored:
            facts.outcome, facts.reason = "error", self._unrestored
        if journal.unwritten:
            self.observer.note(f"{journal.unwritten}; the changes were undone all the same")
            facts.reason = "; ".join(r for r in (facts.reason, journal.unwritten) if r)

    async def _phases(self, plan: Plan, context: FaultContext, clock: RunClock) -> tuple[str, str]:
        loop = asyncio.get_running_loop()
        probes = self.drill.spec.probes
        clock.start(loop.time() + START_LEAD, self.drill, settle=max(p.timeout for p in probes))
        settings = ProbeSettings(self.port, self.settings.transport, self.settings.service_urls)
        guardrails = Guardrails(self.drill, watch_from=clock.t0 - self._origin)
        async with RunProbes(settings) as kinds:
            runner = ProbeRunner(
                askers=[await kinds.prepare(p) for p in probes],
                origin=self._origin,
                on_sample=lambda s: self._on_sample(s, clock, guardrails),
            )
            grid = loop.create_task(runner.run(start=clock.baseline_start, until=clock.chaos_end))
            try:
                return await self._baseline_then_chaos(plan, context, clock, runner)
            finally:
                grid.cancel()
                await asyncio.gather(grid, return_exceptions=True)
                runner.cancel()
                await runner.drain()

    async def _baseline_then_chaos(
        self, plan: Plan, context: FaultContext, clock: RunClock, runner: ProbeRunner
    ) -> tuple[str, str]:
        self.observer.phase("baseline", until=clock.t0)
        waited = await wait_first(sleep_until(clock.t0), self._abort.wait(), self._unsteady.wait())
        if waited == 0:
            await runner.settle(before=clock.baseline_end)
        if self._unsteady.is_set():
            clock.end_figures()
            runner.cancel()
            return "not-steady", "a probe failed during the baseline; nothing was touched"
        if self._abort.is_set():
            clock.end_figures()
            return "aborted", self._abort_reason
        self.observer.phase("chaos", until=clock.chaos_end)
        chaos = asyncio.get_running_loop().create_task(self._chaos(plan, context, clock))
        if await wait_first(finished(chaos), self._abort.wait()) == 1:
            chaos.cancel()
            runner.stop_fast_grids()  # the figures end here: no sampling on to the phase's end
        outcome = await self._finish_chaos(chaos, plan, context, clock)
        await runner.drain()
        return outcome

    async def _finish_chaos(
        self, chaos: asyncio.Task[None], plan: Plan, context: FaultContext, clock: RunClock
    ) -> tuple[str, str]:
        try:
            await chaos
        except asyncio.CancelledError:
            clock.end_figures()
        except ExceptionGroup as group:
            raise first_leaf(group) from None
        else:
            clock.figures_end = clock.chaos_end - self._origin
        self.observer.phase("restore", until=None)
        await self._restore_all(context, plan, clock)
        if self._abort.is_set():
            return "aborted", self._abort_reason
        return GRADED, ""

    async def _chaos(self, plan: Plan, context: FaultContext, clock: RunClock) -> None:
        lost: dict[str, asyncio.Task[None]] = {}
        async with asyncio.TaskGroup() as group:
            for index, step in enumerate(self.drill.spec.steps):
                await sleep_until(clock.t0 + step.at)
                record = StepRecord(
                    index,
                    "lose" if step.is_lose else "restore",
                    step.zone,
                    str(step.fault_mode) if step.is_lose else None,
                    clock.now(),
                    nodes=plan.zones[step.zone].node_names,
                )
                if step.is_lose and not await self._hold.confirm():
                    # Taken by another drill while this one stalled: lose nothing more. The lost
                    # hold wakes _abort_when_lost, whose abort cancels this task as it waits here,
                    # so that the figures end now.
                    await asyncio.get_running_loop().create_future()
                self.steps.append(record)
                self.observer.step(record)
                if step.is_lose:
                    lost[step.zone] = group.create_task(
                        self._lose(context, plan, record, step.fault_mode)
                    )
                else:
                    await stop(lost.pop(step.zone))
                    await self._restore_zone(context, plan, record, clock)
            await sleep_until(clock.chaos_end)
            for task in lost.values():
                await stop(task)

    async def _lose(
        self, context: FaultContext, plan: Plan, record: StepRecord, mode: FaultMode
    ) -> None:
        report = FaultReport(nodes=record.nodes)
        try:
            await faults.lose_zone(context, plan.zones[record.zone], mode, report)
        finally:
            record.pods_deleted, record.pods_evicted = report.pods_deleted, report.pods_evicted
            record.evictions_blocked = report.evictions_blocked
            if report.pods_left:
                record.note = "still there when the drain stopped waiting: " + ", ".join(
                    report.pods_left
                )
            record.ended = asyncio.get_running_loop().time() - self._origin
            self.observer.step(record)

    async def _restore_zone(
        self, context: FaultContext, plan: Plan, record: StepRecord, clock: RunClock
    ) -> None:
        await faults.restore(context, nodes=plan.zones[record.zone].node_names)
        record.ended = clock.now()
        self.observer.step(record)

    async def _restore_all(self, context: FaultContext, plan: Plan, clock: RunClock) -> bool:
        """Undo every change still in the journal; True when nothing is left changed."""
        self._restoring = True
        loop = asyncio.get_running_loop()
        if self._restore_deadline is None:
            self._restore_deadline = loop.time() + self.settings.restore_timeout
        hooks = RestoreHooks(
            begin=lambda zone: self._restore_record(zone.name, zone.node_names, clock),
            end=lambda record: self._ended(record, clock),
            note=self.observer.note,
        )
        pending = await restore_all(
            context, plan.zones.values(), hooks, deadline=self._restore_deadline
        )
        if pending:
            self._unrestored = (
                f"restore gave up after {self.settings.restore_timeout:g}s with "
                f"{len(pending)} change(s) pending; finish with: zonedrill rollback "
                f"{self.settings.run_id}\n{describe_pending(pending)}"
            )
        return not pending

    def _restore_record(self, zone: str, nodes: list[str], clock: RunClock) -> StepRecord:
        record = StepRecord(None, "restore", zone, None, clock.now(), nodes=nodes)
        self.steps.append(record)
        return record

    def _ended(self, record: StepRecord, clock: RunClock) -> None:
        record.ended = clock.now()
        self.observer.step(record)

    def _on_sample(self, sample: Sample, clock: RunClock, guardrails: Guardrails) -> None:
        self.samples.append(sample)
        self.observer.sample(sample)
        if not sample.passed and before(sample.scheduled, clock.baseline_end - self._origin):
            self._unsteady.set()
        reason = guardrails.observe(sample)
        if reason is not None:
            self.request_abort(reason)

    def _report(self, facts: RunFacts, timeline: Timeline) -> RunOutcome:
        derived = derive(
            self.drill,
            self.samples,
            self.steps,
            timeline,
            outcome=facts.outcome,
            reason=facts.reason,
        )
        # Samples first: a result is never written whose samples are not all on disk.
        data = encode_samples(self.samples)
        out_dir = self.settings.out_dir
        document = result_document(
            self.drill,
            facts,
            derived,
            timeline=timeline,
            steps=self.steps,
            samples_digest=digest(data),
        )
        try:
            write_durably(out_dir / "samples.jsonl", data)
            write_result(out_dir, document)
        except OSError as exc:
            restored = "restored" if facts.restored else "NOT restored: run zonedrill rollback"
            raise ResultWriteError(
                f"cannot write the result into {out_dir}: {exc.strerror or exc}; the run ended "
                f"{derived.outcome} and the cluster was {restored}"
            ) from exc
        return RunOutcome(document, derived.outcome.exit_code, out_dir)


def _why(exc: Exception) -> str:
    """A ZonedrillError says what went wrong; anything else is a defect, named as one."""
    if isinstance(exc, ZonedrillError):
        return str(exc)
    return f"unexpected {type(exc).__name__}: {exc} (a zonedrill defect; please report it)"
