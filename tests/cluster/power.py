"""A real power cut of KWOK nodes: nothing renews their Leases, nothing answers for their pods.

KWOK renews a node's Lease, and acts for the node and its pods, only while it holds that Lease;
a node whose Lease another holder has is read-only to it. Handing the Leases of a zone's nodes
to another holder for a day, with the renew time left at KWOK's last renewal, is what losing
power looks like to the control plane: the real node-lifecycle controller marks the nodes
unreachable after its monitor grace period, the real taint-eviction controller evicts their pods
when their tolerations run out, and the evicted pods stay Terminating, since no kubelet is left
to confirm them gone.

Power comes back as a new machine would: the nodes are made anew, and KWOK takes their Leases.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from kubernetes import client

from tests.cluster.zones import (
    POWER_ZONE,
    coordination_api,
    core_api,
    is_ready,
    node_body,
    settling,
    wait_for,
)

LEASES = "kube-node-lease"
HOLDER = "zonedrill-test-power-cut"
A_DAY = 86400


def zone_nodes(api: client.ApiClient, zone: str) -> list[Any]:
    """The nodes of power zone ``zone``."""
    return list(core_api(api).list_node(label_selector=f"{POWER_ZONE}={zone}").items)


def take_leases(api: client.ApiClient, names: list[str]) -> None:
    """Hand each node's Lease to HOLDER for a day; its renew time stays KWOK's last renewal."""
    leases = coordination_api(api)
    for name in names:
        leases.patch_namespaced_lease(
            name, LEASES, {"spec": {"holderIdentity": HOLDER, "leaseDurationSeconds": A_DAY}}
        )


def _settled(api: client.ApiClient, names: list[str]) -> bool:
    core = core_api(api)
    nodes = [core.read_node(n) for n in names]
    return all(is_ready(n) and not settling(n) for n in nodes)


def power_back(api: client.ApiClient, zone: str, names: list[str], pods: int = 110) -> None:
    """Make the nodes anew (their pods must be gone first); wait until KWOK has them Ready."""
    core, leases = core_api(api), coordination_api(api)
    for name in names:
        core.delete_node(name)
    wait_for(
        lambda: (
            not {n.metadata.name for n in core.list_node().items} & set(names)
            and not {x.metadata.name for x in leases.list_namespaced_lease(LEASES).items}
            & set(names)
        ),
        what="the cut nodes and their Leases gone (the garbage collector takes the Leases)",
    )
    for name in names:
        core.create_node(node_body(name, zone, pods=pods))
    wait_for(lambda: _settled(api, names), what="the cut nodes Ready again", timeout=90)


@contextmanager
def power_cut(api: client.ApiClient, zone: str, *, before_power_back: Any) -> Iterator[list[str]]:
    """Cut ``zone``'s power; on leaving, call ``before_power_back()`` then make the nodes anew."""
    names = sorted(n.metadata.name for n in zone_nodes(api, zone))
    try:
        take_leases(api, names)
        yield names
    finally:
        before_power_back()
        power_back(api, zone, names)
