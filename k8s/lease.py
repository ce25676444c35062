"""The one-drill-at-a-time lock: a coordination.k8s.io Lease, renewed while a drill runs.

Every write carries the resourceVersion of the Lease as this holder last saw it, so a renewal or
a release never overwrites a Lease that another drill took over after it lapsed (a drill stalled
past LEASE_SECONDS, say). Such a conflict is read back: if the Lease names someone else, the hold
is told it was lost, and the drill aborts through its restore. The Lease's own calls skip the
client budget's queue: a drain of thousands of pods at a low ``--qps`` must not starve them.

A release deletes the Lease (on the same resourceVersion), so the next drill takes it in one
create; one that finds it there (a killed holder's) reads it and takes it over once it lapsed.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from k8s.api import KubeApi
from orchestrator.errors import (
    ClusterConflictError,
    ClusterError,
    ClusterForbiddenError,
    ClusterNotFoundError,
    LockHeldError,
)
from orchestrator.targets.port import LockHold

LEASE_NAME = "zonedrill-drill-lock"
LEASE_SECONDS = 15
RENEW_EVERY = 5.0
FRESH = RENEW_EVERY
"""Seconds after a write of ours during which the Lease is ours without asking the API server.
Another drill takes it only after LEASE_SECONDS without a renewal by its own clock, so up to
LEASE_SECONDS - FRESH (10 s) of clock skew between the two machines is covered."""


def _clock() -> float:
    """Seconds on a clock that counts through a stalled process and a suspended machine.

    CLOCK_BOOTTIME where there is one: a write is fresh only if no such gap has passed since.
    """
    boottime = getattr(time, "CLOCK_BOOTTIME", None)
    return time.clock_gettime(boottime) if boottime is not None else time.monotonic()


@dataclass
class _Held:
    """Who holds the Lease here, since when, and the resourceVersion its next write carries."""

    namespace: str
    holder: str
    acquired: str
    version: str
    written: float = float("-inf")
    """``_clock()`` when the last write of ours that succeeded was sent."""

    def wrote(self, lease: Any, sent: float) -> None:
        """A write sent at ``sent`` succeeded: keep what the Lease is now."""
        self.version, self.written = lease.metadata.resource_version, sent

    @property
    def what(self) -> str:
        """As API errors name it."""
        return f'leases "{self.namespace}/{LEASE_NAME}"'

    @property
    def name(self) -> str:
        """As people name it."""
        return f"{self.namespace}/{LEASE_NAME}"


def _micro(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _body(namespace: str, version: str | None, spec: dict[str, Any]) -> dict[str, Any]:
    metadata: dict[str, Any] = {"name": LEASE_NAME, "namespace": namespace}
    if version is not None:
        metadata["resourceVersion"] = version
    spec = {"leaseDurationSeconds": LEASE_SECONDS, **spec}
    return {
        "apiVersion": "coordination.k8s.io/v1",
        "kind": "Lease",
        "metadata": metadata,
        "spec": spec,
    }


def _holding(holder: str, acquired: str) -> dict[str, Any]:
    return {
        "holderIdentity": holder,
        "acquireTime": acquired,
        "renewTime": _micro(datetime.now(UTC)),
    }


def _expires(lease: Any) -> datetime | None:
    spec = lease.spec
    if not spec.holder_identity or spec.renew_time is None:
        return None
    renewed = spec.renew_time if spec.renew_time.tzinfo else spec.renew_time.replace(tzinfo=UTC)
    expiry: datetime = renewed + timedelta(seconds=spec.lease_duration_seconds or LEASE_SECONDS)
    return expiry


async def _read(api: KubeApi, held: _Held) -> Any:
    return await api.call(
        api.coordination.read_namespaced_lease,
        LEASE_NAME,
        held.namespace,
        verb="get",
        what=held.what,
        budgeted=False,
    )


async def _replace(api: KubeApi, held: _Held, spec: dict[str, Any]) -> None:
    """Write ``spec`` over the Lease as ``held`` last saw it; keep the new resourceVersion."""
    sent = _clock()
    written = await api.call(
        api.coordination.replace_namespaced_lease,
        LEASE_NAME,
        held.namespace,
        _body(held.namespace, held.version, spec),
        verb="update",
        what=held.what,
        budgeted=False,
    )
    held.wrote(written, sent)


async def _create(api: KubeApi, held: _Held) -> bool:
    """Create the Lease as ours; False when it is there already."""
    sent = _clock()
    try:
        written = await api.call(
            api.coordination.create_namespaced_lease,
            held.namespace,
            _body(held.namespace, None, _holding(held.holder, held.acquired)),
            verb="create",
            what=held.what,
            budgeted=False,
        )
    except ClusterConflictError:
        return False
    except ClusterNotFoundError as exc:
        raise ClusterNotFoundError(
            f"{exc}. The drill lock lives in namespace {held.namespace}, which does not exist: "
            "create it with its least-privilege role by kubectl apply -f k8s/rbac.yaml, "
            "or pass --lock-namespace NAMESPACE"
        ) from None
    held.wrote(written, sent)
    return True


async def _acquire(api: KubeApi, namespace: str, holder: str) -> _Held:
    held = _Held(namespace, holder, _micro(datetime.now(UTC)), version="")
    for _ in range(2):  # a Lease deleted between our create and our read: create again, once
        sent = _clock()
        if await _create(api, held):
            return held
        try:
            lease = await _read(api, held)
        except ClusterNotFoundError:
            continue
        if _ours(lease, held):  # our own create, retried after its answer was lost
            held.wrote(lease, sent)
            return held
        await _take_over(api, held, lease)
        return held
    raise LockHeldError(f"the lease {held.name} changed hands twice just now")


def _ours(lease: Any, held: _Held) -> bool:
    """The Lease names this very hold: its holder, and the time this hold was taken."""
    taken = lease.spec.acquire_time
    return (
        lease.spec.holder_identity == held.holder
        and taken is not None
        and (_micro(taken) == held.acquired)
    )


async def _take_over(api: KubeApi, held: _Held, lease: Any) -> None:
    """Take a lapsed or free Lease over, guarded by its resourceVersion."""
    expires = _expires(lease)
    if expires is not None and expires > datetime.now(UTC):
        left = (expires - datetime.now(UTC)).total_seconds()
        raise LockHeldError(
            f"another drill holds the lease {held.name}: "
            f"{lease.spec.holder_identity} (it expires in {left:.0f}s unless renewed)"
        )
    held.version = lease.metadata.resource_version
    try:
        await _replace(api, held, _holding(held.holder, held.acquired))
    except ClusterConflictError:
        taken = await _read_or_none(api, held)
        if taken is None or not _ours(taken, held):  # not our own write, its answer lost
            raise LockHeldError(f"another drill took over the lease {held.name} just now") from None
        held.version = taken.metadata.resource_version


async def _read_or_none(api: KubeApi, held: _Held) -> Any:
    with contextlib.suppress(ClusterError):
        return await _read(api, held)
    return None


async def _taken_by(api: KubeApi, held: _Held) -> str | None:
    """Who took the Lease, if not us; None while it is ours (or the API cannot say now).

    Still ours, its current resourceVersion is adopted: a write of ours whose answer was lost
    changed it, and the next write must carry it.
    """
    try:
        lease = await _read(api, held)
    except ClusterNotFoundError:
        return f"the drill lease {held.name} was deleted"
    except ClusterError:
        return None  # unreachable: nobody can take it through the API server meanwhile
    if lease.spec.holder_identity == held.holder:
        held.version = lease.metadata.resource_version
        return None
    taker = lease.spec.holder_identity or "nobody: it was released"
    return f"the drill lease {held.name} lapsed and was taken: {taker}"


async def _renew(api: KubeApi, held: _Held, hold: LockHold) -> None:
    """Renew until cancelled or lost.

    A renewal the API server cannot take is tried again next time: the drill goes on (and
    restores) while the API server is away, and nobody can take the Lease through it meanwhile.
    """
    while True:
        await asyncio.sleep(RENEW_EVERY)
        try:
            await _replace(api, held, _holding(held.holder, held.acquired))
        except ClusterConflictError:
            taker = await _taken_by(api, held)
            if taker is not None:
                hold.lose(taker)
                return
        except ClusterNotFoundError:
            hold.lose(f"the drill lease {held.name} was deleted")
            return
        except ClusterError:
            continue


async def _release(api: KubeApi, held: _Held) -> None:
    """Delete the Lease if it is still ours; one that cannot be deleted now lapses by itself."""
    for _ in range(3):
        try:
            await api.call(
                api.coordination.delete_namespaced_lease,
                LEASE_NAME,
                held.namespace,
                body={"preconditions": {"resourceVersion": held.version}},
                verb="delete",
                what=held.what,
                budgeted=False,
            )
        except ClusterConflictError:  # changed since: delete it only if it is still ours
            if await _taken_by(api, held) is not None:
                return
        except ClusterForbiddenError:  # a role from before deletes: free it as it was freed then
            await _free(api, held)
            return
        except ClusterError:
            return
        else:
            return


async def _free(api: KubeApi, held: _Held) -> None:
    """Clear the holder, on our resourceVersion; the next drill then takes it over at once."""
    with contextlib.suppress(ClusterError):
        await _replace(api, held, {})


async def _confirm(api: KubeApi, held: _Held) -> str | None:
    """As ``_taken_by``, without a call while our last write is fresh."""
    if _clock() - held.written < FRESH:
        return None
    return await _taken_by(api, held)


async def _acquire_within(api: KubeApi, namespace: str, holder: str, wait: float) -> _Held:
    deadline = asyncio.get_running_loop().time() + wait
    while True:
        try:
            return await _acquire(api, namespace, holder)
        except LockHeldError:
            if asyncio.get_running_loop().time() >= deadline:
                raise
            await asyncio.sleep(1.0)


@asynccontextmanager
async def drill_lease(
    api: KubeApi, *, namespace: str, holder: str, wait: float = 0.0
) -> AsyncIterator[LockHold]:
    """Hold the Lease for the duration of the block (waiting up to ``wait`` s); then release it."""
    held = await _acquire_within(api, namespace, holder, wait)
    hold = LockHold(check=lambda: _confirm(api, held))
    renewing = asyncio.get_running_loop().create_task(_renew(api, held, hold))
    try:
        yield hold
    finally:
        renewing.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await renewing
        if not hold.lost.is_set():
            await _release(api, held)
