"""The ``sim`` target: a drill's lab in virtual time, for ``zonedrill plan --simulate``.

The same lab cluster as the ``lab`` target, following the event loop's clock, with its services
answered in this process by the lab's own rule instead of over loopback. On an event loop whose
clock jumps to the next thing due (``looptime``), the whole engine runs a drill of minutes in a
fraction of a second: the same phases, probe grids, steps, restore and scoring as a lab run.
It opens only on such a loop: in real time the ``lab`` target is the one to use.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import looptime

from orchestrator.drill.probe import ServiceRef
from orchestrator.errors import InvalidInputError, Problem
from orchestrator.targets.lab.adapter import LabTarget
from orchestrator.targets.lab.cluster import LabCluster
from orchestrator.targets.lab.power import CutRules
from orchestrator.targets.lab.server import answer_of
from orchestrator.targets.lab.target import lab_of
from orchestrator.targets.port import ClusterPort, LockHold, ServiceEndpoint
from orchestrator.targets.registry import ClusterOpener, Where

NODE_GRACE, OUT_OF_SERVICE_AFTER = "node_grace", "out_of_service_after"
"""Settings a power cut is simulated with (plan --node-grace, --out-of-service-after)."""
NOT_VIRTUAL = "the sim target runs in virtual time only: use zonedrill plan --simulate"


class SimTransport(httpx.AsyncBaseTransport):
    """A lab service's answers, worked out in this process; the answer time is slept."""

    def __init__(self, cluster: LabCluster) -> None:
        self._cluster = cluster

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """The answer of the service the request's host names (``<name>.<namespace>.sim``)."""
        name, namespace, _ = request.url.host.split(".", 2)
        found = answer_of(self._cluster, self._cluster.service_of(namespace, name), request.method)
        await asyncio.sleep(found.delay)
        # bytes with no Content-Type: httpx then decodes UTF-8 without parsing a charset
        return httpx.Response(found.status, content=found.text.encode(), request=request)


class SimTarget(LabTarget):
    """A lab whose services answer in process, and whose lock is the simulation's alone."""

    @property
    def target(self) -> str:
        """Results say ``sim``: a prediction, never a run on the lab."""
        return "sim"

    @property
    def identity(self) -> str:
        """``sim/<lab name>``."""
        return f"sim/{self.lab.metadata.name}"

    async def service_endpoint(self, *, ref: ServiceRef) -> ServiceEndpoint:
        """The service by name, answered by ``SimTransport``."""
        service = self.cluster.service_of(ref.namespace, ref.name)
        url = f"http://{service.name}.{service.namespace}.sim"
        return ServiceEndpoint(url=url, transport=SimTransport(self.cluster))

    @asynccontextmanager
    async def lock(self, *, holder: str, wait: float = 0.0) -> AsyncIterator[LockHold]:
        """Nothing is shared with another run: no lock to take."""
        del holder, wait
        yield LockHold()


class SimKind:
    """Simulations live in this process, in virtual time."""

    lives_with_process = True
    options = ()

    def prepare(self, where: Where) -> ClusterOpener:
        """The drill's lab (``--lab`` or ``spec.lab``), or one already loaded, checked."""
        lab, state = lab_of(where)

        async def opener(*, serve: bool = True) -> ClusterPort:
            del serve  # nothing to serve: answers are worked out in process
            loop = asyncio.get_running_loop()
            if not isinstance(loop, looptime.LoopTimeEventLoop):
                raise InvalidInputError([Problem("--target", None, None, "", NOT_VIRTUAL)])
            cuts = CutRules(
                lab.grace(where.settings.get(NODE_GRACE)),
                lab.node_eviction_rate,
                where.settings.get(OUT_OF_SERVICE_AFTER),
            )
            return SimTarget(lab, LabCluster(lab, loop=loop, cuts=cuts), lock_dir=state)

        return opener


TARGET = SimKind()
"""What the ``sim`` entry point of ``zonedrill.targets`` loads."""
