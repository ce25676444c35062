"""Zones lost from Chaos Toolkit, with zonedrill's whole safety model.

``lose_zone`` and ``restore_zone`` are separate activities, but a zone lost must stay under the
drill Lease and in a journal until it is restored. A session keeps both on an event loop in a
daemon thread of the ``chaos run`` process: the Lease is renewed while the process lives, and
lapses by itself if it is killed; the journal then stays open, and ``zonedrill rollback``
restores what it holds, as for a killed ``zonedrill run``.

The zonedrill control makes the session when the run starts and keeps it in the run's
configuration under ``KEY``: Chaos Toolkit gives each activity a shallow copy of that mapping,
so every activity of the run reaches the same session, and no module global is needed.

A target that lives with its process (the lab) is opened once, when the run starts, and stands
in the session until it ends: its servers answer the probes and its pods come back on the
session's loop, between the activities as during them.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import secrets
import threading
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

from orchestrator import faults
from orchestrator.drill.model import Drill, FaultMode, Step
from orchestrator.drill.picks import ZonePicks
from orchestrator.errors import InvalidInputError, Problem
from orchestrator.faults import FaultContext, FaultReport, ResolvedZone
from orchestrator.faults.journal import Journal, state_dir
from orchestrator.results.document import ClusterDoc
from orchestrator.run.ownership import refuse_marked, refuse_unrestored
from orchestrator.run.preflight import prepare
from orchestrator.targets.port import ClusterPort, marks_of
from orchestrator.targets.registry import ClusterOpener, open_cluster

T = TypeVar("T")
KUBE = "kube"
"""The target of Chaos Toolkit's zone actions: a Kubernetes cluster."""
TARGET_KEY = "zonedrill_target"
"""The configuration key naming the run's target (``kube`` when absent); an export reads it
from $ZONEDRILL_TARGET, and ``chaos run --var zonedrill_target=lab`` sets it."""
LAB_KEY = "zonedrill_lab"
"""The configuration key of a lab file, instead of the lab an export carries."""
KEY = "zonedrill.zones"
"""The session's key in a chaos run's configuration (a dot: never a ``${...}`` name)."""
CALL_TIMEOUT = 3600.0
"""Seconds one activity may wait on the session's loop (a drain paced by a PDB can be long)."""


@dataclass
class _Open:
    port: ClusterPort
    journal: Journal
    context: FaultContext
    release: asyncio.Event
    holding: asyncio.Task[None]
    cluster: ClusterDoc
    zones: dict[str, ResolvedZone] = field(default_factory=dict)


class ZoneSession:
    """One ``chaos run``'s lost zones: one port, one Lease, one journal."""

    def __init__(self) -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._thread.start()
        self._open: _Open | None = None
        self._standing: ClusterPort | None = None
        self._refusal: InvalidInputError | None = None

    async def stand(self, opener: ClusterOpener) -> None:
        """Open the run's cluster for the whole run (a lab): every activity then uses it."""
        self._standing = await opener(serve=True)

    def refuse(self, refusal: InvalidInputError) -> None:
        """The run's cluster could not be prepared: every zone action and probe says why."""
        self._refusal = refusal

    @property
    def idle(self) -> bool:
        """No zone lost and held: nothing would be lost by closing it."""
        return self._open is None

    def close(self) -> None:
        """Stop the loop and its thread (a session made for one call, or idle at the end)."""
        if self._standing is not None:
            self.call(self._standing.close())
            self._standing = None
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join()
        self._loop.close()

    def call(self, coroutine: Coroutine[Any, Any, T]) -> T:
        """Run ``coroutine`` on the session's loop and wait for it.

        Interrupted (Ctrl-C, the timeout), the coroutine is cancelled and waited for before the
        interruption goes on: a rollback's restore must never run beside a loss still going.
        """
        future = asyncio.run_coroutine_threadsafe(coroutine, self._loop)
        try:
            return future.result(CALL_TIMEOUT)
        except BaseException:
            future.cancel()
            concurrent.futures.wait([future])
            raise

    async def lose(
        self, drill: Drill, zone: str, mode: FaultMode, settings: dict[str, Any]
    ) -> dict[str, Any]:
        """Preflight the loss like a drill would (safety, own node), then lose the zone."""
        if zone not in drill.spec.zones:
            known = ", ".join(drill.spec.zones)
            message = f'the drill has no zone "{zone}"; it has: {known}'
            raise InvalidInputError([Problem(drill.metadata.name, None, None, "zone", message)])
        lost = [*(self._open.zones if self._open else {}), zone]
        port = self._open.port if self._open else await self.reach(settings)
        try:  # preflight first: a refusal takes no Lease and opens no journal
            plan = await prepare(_losing(drill, lost, mode), port, ZonePicks())
            if self._open is not None:  # listed under the Lease: other runs' marks refuse
                refuse_marked(plan.marks, port.identity, self._open.journal.run_id)
        except BaseException:
            if self._open is None:
                await self.let_go(port)
            raise
        session = self._open or await self._start(drill, port)
        resolved = plan.zones[zone]
        report = FaultReport(nodes=resolved.node_names)
        session.zones[zone] = resolved
        await faults.lose_zone(session.context, resolved, mode, report)
        return {
            "runId": session.journal.run_id,
            "zone": zone,
            "mode": str(mode),
            "nodes": resolved.node_names,
            "podsDeleted": report.pods_deleted,
            "podsEvicted": report.pods_evicted,
            "evictionsBlocked": report.evictions_blocked,
            "risks": plan.risks,
            "cluster": session.cluster.model_dump(mode="json"),
        }

    async def _start(self, drill: Drill, port: ClusterPort) -> _Open:
        stamp = f"{datetime.now(UTC):%Y%m%dT%H%M%SZ}-{secrets.token_hex(2)}"
        run_id = f"ctk-{drill.metadata.name}-{stamp}"
        held, release = asyncio.Event(), asyncio.Event()

        async def hold() -> None:
            async with port.lock(holder=f"zonedrill (chaos run) {run_id}"):
                held.set()
                await release.wait()

        holding = asyncio.get_running_loop().create_task(hold())
        waiting = asyncio.ensure_future(held.wait())
        await asyncio.wait({holding, waiting}, return_when=asyncio.FIRST_COMPLETED)
        if holding.done():  # the Lease was refused: say why, and keep nothing open
            waiting.cancel()
            await self.let_go(port)
            holding.result()
        try:  # under the Lease, as a drill: no other run's leftovers, journaled or marked
            refuse_unrestored(state_dir(), port)
            refuse_marked(marks_of(await port.list_nodes()), port.identity, run_id)
            cluster = ClusterDoc(identity=port.identity, uid=await port.cluster_uid())
            journal = Journal.create(
                root=state_dir(),
                identity=port.identity,
                run_id=run_id,
                drill=drill.metadata.name,
                target=port.target,
            )
        except BaseException:
            release.set()
            await holding
            await self.let_go(port)
            raise
        exclude = frozenset(drill.spec.safety.exclude_namespaces)
        self._open = _Open(
            port, journal, FaultContext(port, journal, run_id, exclude), release, holding, cluster
        )
        return self._open

    async def restore(self, zone: str) -> dict[str, Any]:
        """Undo what losing ``zone`` changed; the last zone restored ends the session."""
        session = self._open
        if session is None or zone not in session.zones:
            return {"zone": zone, "restored": 0, "note": "not lost in this chaos run"}
        # Popped only once undone: a restore that failed is still owed, and says so again.
        undone = await faults.restore(session.context, nodes=session.zones[zone].node_names)
        del session.zones[zone]
        if not session.zones:
            await self._end(session)
        return {"zone": zone, "restored": undone, "runId": session.journal.run_id}

    async def _end(self, session: _Open) -> None:
        session.journal.close(restored=True, note="restored by restore_zone")
        session.release.set()
        await session.holding
        await self.let_go(session.port)
        self._open = None

    async def reach(self, settings: dict[str, Any]) -> ClusterPort:
        """The run's standing cluster, else the real cluster the activity's arguments name."""
        if self._refusal is not None:
            raise self._refusal
        return self._standing or await open_cluster(KUBE, settings)

    async def let_go(self, port: ClusterPort) -> None:
        """Close a port opened for one activity; the standing one stays open for the run."""
        if port is not self._standing:
            await port.close()


def _losing(drill: Drill, zones: list[str], mode: FaultMode) -> Drill:
    """The drill as preflight should judge it: these zones lost together, in this mode."""
    steps = [Step.model_construct(at=0.0, lose=zone, mode=mode) for zone in zones]
    return drill.model_copy(update={"spec": drill.spec.model_copy(update={"steps": steps})})


def of(configuration: dict[str, Any] | None) -> ZoneSession | None:
    """The session the zonedrill control keeps for this chaos run, if it keeps one."""
    found = (configuration or {}).get(KEY)
    return found if isinstance(found, ZoneSession) else None


def held(configuration: dict[str, Any] | None) -> ZoneSession:
    """The session the zonedrill control keeps for this chaos run; refused without it."""
    found = of(configuration)
    if found is None:
        message = (
            "the zonedrill control is not declared in this experiment, so a lost zone would have "
            'no Lease or journal to stay under: add {"name": "zonedrill", "provider": {"type": '
            '"python", "module": "orchestrator.ctk.control"}} to its "controls" '
            "(zonedrill export does), or pass it with chaos run --control-file"
        )
        raise InvalidInputError([Problem("experiment", None, None, "controls", message)])
    return found


def call_on(
    configuration: dict[str, Any] | None, work: Callable[[ZoneSession], Coroutine[Any, Any, T]]
) -> T:
    """Run ``work`` on the chaos run's session, or on a session made for this call alone."""
    found = of(configuration)
    if found is not None:
        return found.call(work(found))
    alone = ZoneSession()
    try:
        return alone.call(work(alone))
    finally:
        alone.close()


def drill_at(path: str) -> Drill:
    """The drill file ``path``, validated."""
    from orchestrator.drill import load_drill  # noqa: PLC0415

    return load_drill(Path(path))
