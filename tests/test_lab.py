"""The embedded lab follows spec §1.2, checked on fake loop time."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from orchestrator.drill.lab import Lab
from orchestrator.errors import EvictionBlockedError
from orchestrator.targets.lab.cluster import LabCluster
from orchestrator.targets.port import POWER_LOSS_TAINT, PodRef


def make_lab(services: list[dict[str, Any]], zones: dict[str, Any] | None = None) -> Lab:
    """A lab with zones a and b of two nodes each (unless given) and ``services``."""
    return Lab.model_validate(
        {
            "apiVersion": "zonedrill/v1",
            "kind": "Lab",
            "metadata": {"name": "t"},
            "spec": {
                "zones": zones
                or {"a": {"nodes": 2, "podsPerNode": 4}, "b": {"nodes": 2, "podsPerNode": 4}},
                "services": services,
            },
        }
    )


def svc(**fields: Any) -> dict[str, Any]:
    """A service named api with overridable fields."""
    return {"name": "api", "replicas": 4, "reschedule": "2s", "startup": "5s", **fields}


def zones_of(cluster: LabCluster) -> list[str]:
    """The zone of every bound pod, sorted."""
    return sorted(cluster.nodes[p.node].zone for p in cluster.pods.values() if p.node)


def power_cut(cluster: LabCluster, zone: str) -> None:
    """Cordon, taint and delete every pod of ``zone``, as the power-loss mode does."""
    for node in [n for n in cluster.nodes.values() if n.zone == zone]:
        cluster.cordon(node.name, run_id="r")
        cluster.add_taint(node.name, POWER_LOSS_TAINT, run_id="r")
        for pod in cluster.pods_on(node.name):
            cluster.delete_pod(pod.ref)


@pytest.mark.looptime
async def test_spread_zones_places_evenly_and_pack_fills_first_zone() -> None:
    """spread: zones puts 2+2 across a and b; pack puts all 4 in a."""
    loop = asyncio.get_running_loop()
    assert zones_of(LabCluster(make_lab([svc(spread="zones")]), loop=loop)) == ["a", "a", "b", "b"]
    assert zones_of(LabCluster(make_lab([svc(spread="pack")]), loop=loop)) == ["a"] * 4


@pytest.mark.looptime
async def test_lost_pods_come_back_after_reschedule_plus_startup() -> None:
    """All replicas in the lost zone: ready count is 0 until reschedule + startup (7s)."""
    cluster = LabCluster(make_lab([svc(spread="pack")]), loop=asyncio.get_running_loop())
    service = cluster.services["default/api"]
    power_cut(cluster, "a")
    assert cluster.ready_replicas(service) == 0
    await asyncio.sleep(1.9)
    assert all(p.node is None for p in cluster.pods.values())
    await asyncio.sleep(0.2)
    assert zones_of(cluster) == ["b"] * 4
    await asyncio.sleep(4.85)
    assert cluster.ready_replicas(service) == 0
    await asyncio.sleep(0.1)
    assert cluster.ready_replicas(service) == 4


@pytest.mark.looptime
async def test_pods_without_room_stay_pending_until_restore() -> None:
    """With no room elsewhere, replacements wait for the zone to be restored."""
    lab = make_lab(
        [svc(spread="pack", replicas=4)],
        zones={"a": {"nodes": 1, "podsPerNode": 4}, "b": {"nodes": 1, "podsPerNode": 2}},
    )
    cluster = LabCluster(lab, loop=asyncio.get_running_loop())
    power_cut(cluster, "a")
    await asyncio.sleep(3)
    assert zones_of(cluster) == ["b", "b"]
    assert sum(p.node is None for p in cluster.pods.values()) == 2
    cluster.remove_taint("a-1", POWER_LOSS_TAINT, run_id="r")
    cluster.uncordon("a-1", run_id="r")
    assert zones_of(cluster) == ["a", "a", "b", "b"]


@pytest.mark.looptime
async def test_pdb_blocks_eviction_until_replacement_is_ready() -> None:
    """minAvailable 3 of 4: the second eviction is refused until a replacement is ready."""
    cluster = LabCluster(make_lab([svc(pdb={"minAvailable": 3})]), loop=asyncio.get_running_loop())
    in_a = [p.ref for p in cluster.pods.values() if p.node and cluster.nodes[p.node].zone == "a"]
    for node in ("a-1", "a-2"):
        cluster.cordon(node, run_id="r")
    cluster.evict_pod(in_a[0])
    with pytest.raises(EvictionBlockedError):
        cluster.evict_pod(in_a[1])
    await asyncio.sleep(7.01)
    cluster.evict_pod(in_a[1])
    assert in_a[1] not in cluster.pods


@pytest.mark.looptime
async def test_uncordon_only_undoes_our_own_cordon() -> None:
    """A node cordoned before the drill stays cordoned after a foreign run's uncordon."""
    cluster = LabCluster(make_lab([svc()]), loop=asyncio.get_running_loop())
    cluster.cordon("a-1", run_id="someone-else")
    cluster.cordon("a-1", run_id="r")
    cluster.uncordon("a-1", run_id="r")
    assert cluster.nodes["a-1"].unschedulable
    cluster.cordon("a-2", run_id="r")
    cluster.uncordon("a-2", run_id="r")
    assert not cluster.nodes["a-2"].unschedulable


@pytest.mark.looptime
async def test_cordon_keeps_running_pods() -> None:
    """Cordoning a zone leaves its pods running and ready."""
    cluster = LabCluster(make_lab([svc()]), loop=asyncio.get_running_loop())
    for node in ("a-1", "a-2"):
        cluster.cordon(node, run_id="r")
    assert cluster.ready_replicas(cluster.services["default/api"]) == 4


@pytest.mark.looptime
async def test_deleting_an_unknown_pod_is_not_found() -> None:
    """The lab answers 404-like errors for pods that are gone."""
    from orchestrator.errors import ClusterNotFoundError  # noqa: PLC0415

    cluster = LabCluster(make_lab([svc()]), loop=asyncio.get_running_loop())
    with pytest.raises(ClusterNotFoundError):
        cluster.delete_pod(PodRef("default", "nope"))
