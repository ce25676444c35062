"""Plan forecasts: outages, blocking PDBs, capacity by requests, spread constraints (pure logic)."""

from __future__ import annotations

from orchestrator.drill.model import FaultMode
from orchestrator.plan.forecast import Loss, Snapshot, foresee
from orchestrator.targets.port import (
    DisruptionBudget,
    LabelRequirement,
    LabelSelector,
    NodeInfo,
    PodInfo,
    PodRef,
    Resources,
    SpreadConstraint,
)

ZONE_KEY = "topology.kubernetes.io/zone"
GIB = 2**30


def node(name: str, zone: str, *, cpu: int = 4000) -> NodeInfo:
    """A worker node with ``cpu`` millicores and 16 GiB allocatable."""
    return NodeInfo(
        name=name,
        labels={ZONE_KEY: zone},
        pod_capacity=110,
        allocatable=Resources(cpu_milli=cpu, memory_bytes=16 * GIB),
    )


def pod(name: str, on: str, *, app: str = "web", cpu: int = 100, **extra: object) -> PodInfo:
    """A ready ReplicaSet pod of ``shop/<app>`` on node ``on``; ``extra`` overrides fields."""
    fields: dict[str, object] = {
        "owner_kind": "ReplicaSet",
        "workload": f"shop/{app}",
        "labels": {"app": app},
        "requests": Resources(cpu_milli=cpu, memory_bytes=GIB // 4),
    }
    return PodInfo(ref=PodRef("shop", name), node=on, **(fields | extra))  # type: ignore[arg-type]


NODES = [node("a-1", "a"), node("a-2", "a"), node("b-1", "b"), node("c-1", "c")]


def loss_of(zone_nodes: set[str], pods: list[PodInfo], mode: FaultMode) -> Loss:
    """Losing the nodes ``zone_nodes`` (zone "a") in ``mode``."""
    return Loss(
        label="step 0",
        mode=mode,
        lost_zones=("a",),
        lost_nodes=frozenset(zone_nodes),
        lost_pods=[p for p in pods if p.node in zone_nodes],
    )


def risks(pods: list[PodInfo], mode: FaultMode, budgets: list[DisruptionBudget] = []) -> list[str]:  # noqa: B006 - never mutated
    """The risks of losing zone a."""
    snapshot = Snapshot(nodes=NODES, pods=pods, budgets=budgets)
    return foresee(loss_of({"a-1", "a-2"}, pods, mode), snapshot)


def test_outage_named_when_every_ready_replica_is_lost() -> None:
    """A workload whose ready replicas all sit in the lost zone is a predicted outage."""
    pods = [pod("web-1", "a-1"), pod("web-2", "a-2"), pod("api-1", "a-1", app="api")]
    pods.append(pod("api-2", "b-1", app="api"))
    found = risks(pods, FaultMode.POWER_LOSS)
    assert [r for r in found if "outage" in r] == [
        "step 0: predicted outage of shop/web: all 2 ready replicas are in a"
    ]


def test_cordon_forecasts_nothing() -> None:
    """Cordoning displaces no pod, so no forecast speaks."""
    assert risks([pod("web-1", "a-1")], FaultMode.CORDON) == []


def test_budget_blocks_drain_beyond_disruptions_allowed() -> None:
    """A PDB allowing 1 disruption against 3 evictions leaves 2 waiting; power-loss ignores it."""
    pods = [pod(f"web-{i}", "a-1") for i in range(3)] + [pod("web-9", "b-1")]
    budget = DisruptionBudget("shop", "web", LabelSelector({"app": "web"}), disruptions_allowed=1)
    drained = risks(pods, FaultMode.DRAIN, [budget])
    assert any(
        "PDB shop/web allows 1 disruption(s)" in r and "2 eviction(s) wait" in r for r in drained
    )
    assert not any("PDB" in r for r in risks(pods, FaultMode.POWER_LOSS, [budget]))


def test_budget_in_another_namespace_or_selector_does_not_block() -> None:
    """Budgets match pods by namespace and selector, expressions included."""
    pods = [pod("web-1", "a-1"), pod("web-2", "b-1")]
    other_ns = DisruptionBudget("bank", "web", LabelSelector({"app": "web"}), 0)
    not_web = DisruptionBudget(
        "shop",
        "rest",
        LabelSelector(match_expressions=(LabelRequirement("app", "NotIn", ("web",)),)),
        0,
    )
    assert not any("PDB" in r for r in risks(pods, FaultMode.DRAIN, [other_ns, not_web]))


def test_label_requirements_follow_kubernetes_semantics() -> None:
    """In, NotIn, Exists and DoesNotExist treat a missing key as Kubernetes does."""
    labels = {"tier": "front"}
    assert LabelRequirement("tier", "In", ("front", "back")).holds(labels)
    assert LabelRequirement("zone", "NotIn", ("a",)).holds(labels)
    assert not LabelRequirement("zone", "In", ("a",)).holds(labels)
    assert LabelRequirement("tier", "Exists").holds(labels)
    assert LabelRequirement("zone", "DoesNotExist").holds(labels)
    assert LabelSelector().matches(labels)


def test_requests_that_fit_no_surviving_node_are_predicted_pending() -> None:
    """Two 3-CPU pods cannot land on survivors with 1 CPU left each; small pods still fit."""
    pods = [
        pod("heavy-1", "a-1", app="heavy", cpu=3000),
        pod("heavy-2", "a-2", app="heavy", cpu=3000),
    ]
    pods += [
        pod("ballast-1", "b-1", app="ballast", cpu=3000),
        pod("ballast-2", "c-1", app="ballast", cpu=3000),
    ]
    pods.append(pod("web-1", "a-1"))
    found = [r for r in risks(pods, FaultMode.POWER_LOSS) if "unrequested" in r]
    assert found == [
        "step 0: predicted Pending: 2 of shop/heavy's displaced pods fit no surviving node's "
        "unrequested CPU and memory (each requests 3 CPU, 0.2 GiB)"
    ]


def test_requests_placed_largest_first_across_nodes() -> None:
    """Room summed over nodes is not enough: each pod must fit one node, and here each does."""
    pods = [
        pod("heavy-1", "a-1", app="heavy", cpu=3000),
        pod("heavy-2", "a-2", app="heavy", cpu=3000),
    ]
    assert not any("unrequested" in r for r in risks(pods, FaultMode.DRAIN))


def spread_pod(name: str, on: str, *, honor: bool) -> PodInfo:
    """A web pod spread over zones with maxSkew 1, DoNotSchedule."""
    constraint = SpreadConstraint(ZONE_KEY, max_skew=1, hard=True, honors_taints=honor)
    return pod(name, on, spread=(constraint,))


def test_spread_ignoring_taints_keeps_lost_zone_as_empty_domain() -> None:
    """6 replicas over 3 zones, maxSkew 1, Ignore: both replacements of a lost zone stay Pending."""
    spots = ["a-1", "a-2", "b-1", "b-1", "c-1", "c-1"]
    pods = [spread_pod(f"web-{i}", n, honor=False) for i, n in enumerate(spots)]
    found = [r for r in risks(pods, FaultMode.POWER_LOSS) if "spread" in r]
    assert len(found) == 1
    assert "predicted Pending: 2 of shop/web's 2 displaced pods" in found[0]
    assert "nodeTaintsPolicy: Honor" in found[0]


def test_spread_honoring_taints_predicts_nothing() -> None:
    """With nodeTaintsPolicy Honor the lost zone leaves the count: no Pending forecast."""
    spots = ["a-1", "a-2", "b-1", "b-1", "c-1", "c-1"]
    pods = [spread_pod(f"web-{i}", n, honor=True) for i, n in enumerate(spots)]
    assert not any("spread" in r for r in risks(pods, FaultMode.POWER_LOSS))


def test_spread_with_room_under_max_skew_places_some() -> None:
    """Survivors holding no replica yet can each take maxSkew of the displaced pods."""
    pods = [spread_pod(f"web-{i}", "a-1", honor=False) for i in range(3)]
    found = [r for r in risks(pods, FaultMode.POWER_LOSS) if "spread" in r]
    assert len(found) == 1
    assert "predicted Pending: 1 of shop/web's 3 displaced pods" in found[0]


def test_daemonset_and_bare_pods_are_not_displaced() -> None:
    """Pods no controller recreates elsewhere take no room in the survivors."""
    pods = [
        pod("agent", "a-1", cpu=3900, owner_kind="DaemonSet"),
        PodInfo(ref=PodRef("shop", "bare"), node="a-2", requests=Resources(3900, 0)),
        pod("ballast", "b-1", cpu=3000),
        pod("ballast-2", "c-1", cpu=3000),
    ]
    assert not any("Pending" in r for r in risks(pods, FaultMode.POWER_LOSS))
