"""The one-drill-at-a-time lock: a coordination.k8s.io Lease, renewed while a drill runs."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

from k8s.api import KubeApi
from orchestrator.errors import (
    ClusterConflictError,
    ClusterError,
    ClusterNotFoundError,
    LockHeldError,
)

LEASE_NAME = "zonedrill-drill-lock"
LEASE_SECONDS = 15
RENEW_EVERY = 5.0


def _micro(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _body(holder: str, namespace: str, version: str | None) -> dict[str, Any]:
    now = _micro(datetime.now(UTC))
    metadata: dict[str, Any] = {"name": LEASE_NAME, "namespace": namespace}
    if version is not None:
        metadata["resourceVersion"] = version
    return {
        "apiVersion": "coordination.k8s.io/v1",
        "kind": "Lease",
        "metadata": metadata,
        "spec": {
            "holderIdentity": holder,
            "leaseDurationSeconds": LEASE_SECONDS,
            "acquireTime": now,
            "renewTime": now,
        },
    }


def _expires(lease: Any) -> datetime | None:
    spec = lease.spec
    if not spec.holder_identity or spec.renew_time is None:
        return None
    renewed = spec.renew_time if spec.renew_time.tzinfo else spec.renew_time.replace(tzinfo=UTC)
    expiry: datetime = renewed + timedelta(seconds=spec.lease_duration_seconds or LEASE_SECONDS)
    return expiry


async def _acquire(api: KubeApi, namespace: str, holder: str) -> None:
    what = f'leases "{namespace}/{LEASE_NAME}"'
    try:
        lease = await api.call(
            api.coordination.read_namespaced_lease, LEASE_NAME, namespace, verb="get", what=what
        )
    except ClusterNotFoundError:
        try:
            await api.call(
                api.coordination.create_namespaced_lease,
                namespace,
                _body(holder, namespace, None),
                verb="create",
                what=what,
            )
        except ClusterConflictError:
            raise LockHeldError(
                f"another drill took the lease {namespace}/{LEASE_NAME} just now"
            ) from None
        except ClusterNotFoundError as exc:
            raise ClusterNotFoundError(
                f"{exc}. The drill lock lives in namespace {namespace}, which does not exist: "
                "create it with its least-privilege role by kubectl apply -f k8s/rbac.yaml, "
                "or pass --lock-namespace NAMESPACE"
            ) from None
        return
    expires = _expires(lease)
    if expires is not None and expires > datetime.now(UTC):
        left = (expires - datetime.now(UTC)).total_seconds()
        raise LockHeldError(
            f"another drill holds the lease {namespace}/{LEASE_NAME}: "
            f"{lease.spec.holder_identity} (it expires in {left:.0f}s unless renewed)"
        )
    try:  # free or expired: take it over, guarded by its resourceVersion
        await api.call(
            api.coordination.replace_namespaced_lease,
            LEASE_NAME,
            namespace,
            _body(holder, namespace, lease.metadata.resource_version),
            verb="update",
            what=what,
        )
    except ClusterConflictError:
        raise LockHeldError(
            f"another drill took over the lease {namespace}/{LEASE_NAME} just now"
        ) from None


async def _renew(api: KubeApi, namespace: str, holder: str) -> None:
    """Renew until cancelled; a renewal the API server cannot take is tried again next time.

    The drill must go on (and restore) while the API server is away; the lease only lapses
    if it stays away longer than LEASE_SECONDS.
    """
    while True:
        await asyncio.sleep(RENEW_EVERY)
        spec = {"renewTime": _micro(datetime.now(UTC)), "holderIdentity": holder}
        await _patch_spec(api, namespace, spec)


async def _patch_spec(api: KubeApi, namespace: str, spec: dict[str, Any]) -> None:
    """Merge ``spec`` into the Lease; a failure is left to the lease's own expiry."""
    with contextlib.suppress(ClusterError):
        await api.call(
            api.coordination.patch_namespaced_lease,
            LEASE_NAME,
            namespace,
            {"spec": spec},
            _content_type="application/merge-patch+json",
            verb="patch",
            what=f'leases "{namespace}/{LEASE_NAME}"',
        )


async def _acquire_within(api: KubeApi, namespace: str, holder: str, wait: float) -> None:
    deadline = asyncio.get_running_loop().time() + wait
    while True:
        try:
            await _acquire(api, namespace, holder)
        except LockHeldError:
            if asyncio.get_running_loop().time() >= deadline:
                raise
            await asyncio.sleep(1.0)
        else:
            return


@asynccontextmanager
async def drill_lease(
    api: KubeApi, *, namespace: str, holder: str, wait: float = 0.0
) -> AsyncIterator[None]:
    """Hold the Lease for the duration of the block (waiting up to ``wait`` s); then release it."""
    await _acquire_within(api, namespace, holder, wait)
    renewing = asyncio.get_running_loop().create_task(_renew(api, namespace, holder))
    try:
        yield
    finally:
        renewing.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await renewing
        # A lease that cannot be released now lapses by itself after LEASE_SECONDS; failing
        # here would lose the run's result.
        await _patch_spec(api, namespace, {"holderIdentity": None, "renewTime": None})
