"""Rehearsal before the drill (spec §8): placement, a real power cut on the lab, predictions.

The lab's power cut is checked on fake loop time; the predictions through the CLI, in virtual
time, against the lab's own rules worked out by hand.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from orchestrator.drill.lab import LabService
from orchestrator.targets.lab.cluster import LabCluster
from orchestrator.targets.lab.power import CutRules
from orchestrator.targets.lab.server import answer_of
from orchestrator.targets.port import POWER_CUT_TAINT
from tests.support import REPO, ZONEDRILL, cli_env
from tests.test_lab import make_lab, svc, zones_of

FLAGSHIP = REPO / "drills" / "pangyo-battery-fire.yaml"


def cut(cluster: LabCluster, zone: str) -> None:
    """The zone's power goes off, as the power-cut mode's taint tells the lab."""
    for node in [n for n in cluster.nodes.values() if n.zone == zone]:
        cluster.add_taint(node.name, POWER_CUT_TAINT, run_id="r")


def statuses(cluster: LabCluster, service: LabService, count: int = 4) -> list[int]:
    """What ``count`` requests in turn get: a status, or 0 for no answer."""
    return [answer_of(cluster, service, "GET").status for _ in range(count)]


@pytest.mark.looptime
async def test_placement_puts_the_first_pods_where_it_says() -> None:
    """placement {a: 3, b: 1} overrides spread: zones for the first pods only."""
    lab = make_lab([svc(spread="zones", placement={"a": 3, "b": 1})])
    assert zones_of(LabCluster(lab, loop=asyncio.get_running_loop())) == ["a", "a", "a", "b"]


@pytest.mark.looptime
async def test_a_power_cut_keeps_endpoints_for_the_grace_then_evicts_node_by_node() -> None:
    """Half the pods dark: every other request unanswered until the grace, then evicted.

    After the grace (10 s) the live half answers. The node controller taints a-1 for eviction
    at once and a-2 1/rate (10 s) later, as the real one did in the suite's cut
    (test_kube_snapshot); each dark pod goes when its toleration (20 s) runs out after its
    node's taint, and its replacement is ready reschedule + startup (2 + 5 s) later.
    """
    lab = make_lab([svc(unreachableToleration="20s", placement={"a": 2, "b": 2})])
    cluster = LabCluster(lab, loop=asyncio.get_running_loop(), cuts=CutRules(10.0, 0.1))
    service = cluster.services["default/api"]
    assert sorted(str(p.node) for p in cluster.pods.values()) == ["a-1", "a-2", "b-1", "b-2"]
    cut(cluster, "a")
    assert sorted(statuses(cluster, service)) == [0, 0, 200, 200]
    await asyncio.sleep(10.1)
    assert statuses(cluster, service) == [200] * 4
    assert cluster.ready_replicas(service) == 2
    for ready in (3, 4):  # a-1's pod back at 10 + 20 + 7 s, a-2's ten seconds later
        await asyncio.sleep(20 + 2 + 5 - 0.2 if ready == 3 else 10 - 0.2)
        assert cluster.ready_replicas(service) == ready - 1
        await asyncio.sleep(0.2)
        assert cluster.ready_replicas(service) == ready
    assert sum(p.terminating for p in cluster.pods.values()) == 2  # left on the dead nodes


@pytest.mark.looptime
async def test_a_stateful_set_stays_down_until_the_out_of_service_taint() -> None:
    """Without the taint its dark pods are never replaced; with it at 60 s, 60 + 2 + 5 s."""
    for rules, back in ((CutRules(10.0, 0.1), None), (CutRules(10.0, 0.1, 60.0), 67.0)):
        lab = make_lab([svc(workload="StatefulSet", spread="pack", minReady=1)])
        cluster = LabCluster(lab, loop=asyncio.get_running_loop(), cuts=rules)
        service = cluster.services["default/api"]
        start = asyncio.get_running_loop().time()
        cut(cluster, "a")
        await asyncio.sleep(10.1)
        assert statuses(cluster, service) == [503] * 4
        await asyncio.sleep(400)
        ready = cluster.ready_replicas(service)
        assert ready == (0 if back is None else 4), (rules, ready)
        assert back is None or asyncio.get_running_loop().time() - start > back


def restore(cluster: LabCluster, zone: str) -> None:
    """Power back to the zone's nodes."""
    for node in [n for n in cluster.nodes.values() if n.zone == zone]:
        cluster.remove_taint(node.name, POWER_CUT_TAINT, run_id="r")


@pytest.mark.looptime
async def test_a_second_cut_is_evicted_on_its_own_clock() -> None:
    """Cut, back before any taint, cut again: the first cut's evictions and slots are gone.

    The second cut at 20 s: unreachable at 30 s, a-1 tainted then (not at the first cut's
    next slot) and a-2 10 s later, each evicted after the 20 s toleration, ready 7 s later.
    """
    lab = make_lab([svc(unreachableToleration="20s", placement={"a": 2, "b": 2})])
    cluster = LabCluster(lab, loop=asyncio.get_running_loop(), cuts=CutRules(10.0, 0.1))
    service = cluster.services["default/api"]
    cut(cluster, "a")
    await asyncio.sleep(5)
    restore(cluster, "a")
    await asyncio.sleep(15)
    cut(cluster, "a")  # at 20 s
    await asyncio.sleep(10 + 20 + 7 - 0.2)  # the first cut would have evicted a-1's at 30 s
    assert cluster.ready_replicas(service) == 2
    assert not any(p.terminating for p in cluster.pods.values() if p.node == "a-2")
    await asyncio.sleep(0.4)
    assert cluster.ready_replicas(service) == 3


@pytest.mark.looptime
async def test_with_every_node_dark_nothing_is_evicted() -> None:
    """The node controller evicts nothing when every zone is unreachable, nor does the lab."""
    cluster = LabCluster(
        make_lab([svc()]), loop=asyncio.get_running_loop(), cuts=CutRules(10.0, 0.1)
    )
    cut(cluster, "a")
    cut(cluster, "b")
    await asyncio.sleep(1000)
    assert not any(p.terminating for p in cluster.pods.values())
    assert cluster.ready_replicas(cluster.services["default/api"]) == 0


@pytest.mark.looptime
async def test_power_back_restarts_the_pods_still_there() -> None:
    """Power back before the eviction: the same pods are ready again a startup later."""
    cluster = LabCluster(make_lab([svc(spread="pack")]), loop=asyncio.get_running_loop())
    service = cluster.services["default/api"]
    cut(cluster, "a")
    await asyncio.sleep(60)
    assert cluster.ready_replicas(service) == 0
    for node in [n for n in cluster.nodes.values() if n.zone == "a"]:
        cluster.remove_taint(node.name, POWER_CUT_TAINT, run_id="r")
    await asyncio.sleep(5.1)
    assert cluster.ready_replicas(service) == 4
    assert zones_of(cluster) == ["a"] * 4


def plan(tmp_path: Path, drill: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """zonedrill plan DRILL ARGS."""
    return subprocess.run(
        [*ZONEDRILL, "plan", str(drill), *args],
        capture_output=True, text=True, env=cli_env(tmp_path / "state"), timeout=120, check=False,
    )  # fmt: skip


def rtos(document: dict[str, Any]) -> dict[str, float | None]:
    """Each probe's first RTO in seconds."""
    return {p["name"]: p["rto"][0]["seconds"] for p in document["probes"]}


def test_the_flagship_as_a_power_cut_is_down_for_grace_toleration_and_restart(
    tmp_path: Path,
) -> None:
    """talk-api, all in pangyo: 50 s grace + 300 s toleration + 2 s + 8 s, within a period.

    The warning names the workload and the setting. The drill itself shows 10 s.
    """
    done = plan(tmp_path, FLAGSHIP, "--simulate", "--as", "power-cut", "-o", "json")
    assert done.returncode == 0, done.stderr
    cut_result = json.loads(done.stdout)
    assert cut_result["predicted"] is True
    assert cut_result["steps"][0]["mode"] == "power-cut"
    assert rtos(cut_result)["talk-api"] == pytest.approx(360.0, abs=0.25)
    assert "talk-api tolerates unreachable for 5m: after a real cut it is down about 6m" in (
        done.stderr
    )
    assert "set tolerationSeconds" in done.stderr
    drilled = plan(tmp_path, FLAGSHIP, "--simulate", "-o", "json")
    assert rtos(json.loads(drilled.stdout))["talk-api"] == pytest.approx(10.0, abs=0.25)


def flagship_with(tmp_path: Path, talk_api: str) -> Path:
    """The flagship next to a copy of its lab whose talk-api has one more line."""
    labs = tmp_path / "labs"
    labs.mkdir()
    lab = (REPO / "drills" / "labs" / "pangyo.yaml").read_text()
    line = "      startup: 8s\n"
    (labs / "pangyo.yaml").write_text(lab.replace(line, f"{line}      {talk_api}\n", 1))
    drill = tmp_path / "fire.yaml"
    drill.write_text(FLAGSHIP.read_text())
    return drill


def test_a_shorter_grace_and_toleration_are_what_the_cut_takes(tmp_path: Path) -> None:
    """--node-grace 10s on a lab whose talk-api tolerates 30s: 10 + 30 + 2 + 8 s."""
    drill = flagship_with(tmp_path, "unreachableToleration: 30s")
    done = plan(tmp_path, drill, "--as", "power-cut", "--node-grace", "10s", "-o", "json")
    assert done.returncode == 0, done.stderr
    assert rtos(json.loads(done.stdout))["talk-api"] == pytest.approx(50.0, abs=0.25)


def test_a_stateful_set_is_named_and_comes_back_only_with_the_taint(tmp_path: Path) -> None:
    """talk-api as a StatefulSet: never back after a cut, and the warning says why.

    With --out-of-service-after 2m, it is back 2m + 2 s + 8 s after the cut.
    """
    drill = flagship_with(tmp_path, "workload: StatefulSet")
    never = plan(tmp_path, drill, "--as", "power-cut", "-o", "json")
    assert rtos(json.loads(never.stdout))["talk-api"] is None
    assert "talk-api is a StatefulSet: after a real cut its pods stay Terminating" in never.stderr
    back = plan(tmp_path, drill, "--as", "power-cut", "--out-of-service-after", "2m", "-o", "json")
    assert rtos(json.loads(back.stdout))["talk-api"] == pytest.approx(130.0, abs=0.25)


def test_the_zone_risk_map_lists_every_zone_worst_first(tmp_path: Path) -> None:
    """--each-zone: one row per zone and probe, both ways, sorted by the cut's RTO."""
    done = plan(tmp_path, FLAGSHIP, "--each-zone", "-o", "json")
    assert done.returncode == 0, done.stderr
    document = json.loads(done.stdout)
    rows = document["rows"]
    assert document["kind"] == "ZoneRiskMap"
    assert {(r["zone"], r["probe"]) for r in rows} == {
        (z, p) for z in ("pangyo", "ansan", "gasan") for p in ("talk-api", "auth-api")
    }
    worst = rows[0]
    assert (worst["zone"], worst["probe"], worst["powerCutOutcome"]) == (
        "pangyo",
        "talk-api",
        "failed",
    )
    cut = [r["powerCutRtoSeconds"] for r in rows]
    assert cut == sorted(cut, reverse=True)


def test_the_sim_target_runs_in_virtual_time_only(tmp_path: Path) -> None:
    """zonedrill run --target sim is refused, saying what to use."""
    done = subprocess.run(
        [*ZONEDRILL, "run", str(FLAGSHIP), "--target", "sim"],
        capture_output=True, text=True, env=cli_env(tmp_path / "state"), timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 2, done.stderr
    assert "the sim target runs in virtual time only: use zonedrill plan --simulate" in done.stderr


def test_a_prediction_is_refused_as_a_run_by_its_target_too(tmp_path: Path) -> None:
    """A predicted result with its flag cleared is still refused: only predictions run on sim."""
    done = plan(tmp_path, FLAGSHIP, "--simulate", "-o", "json")
    document = json.loads(done.stdout) | {"predicted": False}
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "result.json").write_text(json.dumps(document))
    for command in (["verify"], ["gate"], ["report"]):
        refused = subprocess.run(
            [*ZONEDRILL, *command, str(tmp_path / "run")],
            capture_output=True, text=True, env=cli_env(tmp_path / "state"), timeout=60,
            check=False,
        )  # fmt: skip
        assert refused.returncode == 2, (command, refused.stdout)
        assert "a prediction of zonedrill plan --simulate, not a run" in refused.stderr


def test_warnings_name_the_cause_the_lab_gives(tmp_path: Path) -> None:
    """No toleration: the grace and a restart, never "tolerates for no outage".

    A drill that never sees its probe back (aborted by its guardrail) gets no warning.
    """
    drill = flagship_with(tmp_path, "unreachableToleration: 0s")
    done = plan(tmp_path, drill, "--simulate")
    assert "talk-api: after a real cut it is down about 1m" in done.stderr
    assert "the node monitor grace (50s), then rescheduling and startup" in done.stderr
    assert "no outage" not in done.stderr.split("talk-api", 1)[1].split("\n")[0]
    aborted = plan(tmp_path, REPO / "drills" / "pangyo-guardrail-abort.yaml", "--simulate")
    assert "talk-api" not in aborted.stderr


def test_plain_plan_leaves_a_long_cut_to_simulate(tmp_path: Path) -> None:
    """A toleration of two days: plan stays quick and says where the prediction is."""
    drill = flagship_with(tmp_path, "unreachableToleration: 2d")
    done = plan(tmp_path, drill)
    assert done.returncode == 0, done.stderr
    assert "a real power cut is not predicted here" in done.stderr
    assert "plan --simulate --as power-cut predicts it" in done.stderr


def test_each_zone_maps_the_zones_whose_loss_preflight_allows(tmp_path: Path) -> None:
    """maxNodeFraction 0.3 of 8 nodes: pangyo and ansan (3 nodes) are refused, gasan is mapped."""
    drill = tmp_path / "fire.yaml"
    drill.write_text(
        FLAGSHIP.read_text().replace("maxNodeFraction: 0.5", "maxNodeFraction: 0.3", 1)
    )
    (tmp_path / "labs").mkdir()
    (tmp_path / "labs" / "pangyo.yaml").write_text(
        (REPO / "drills" / "labs" / "pangyo.yaml").read_text()
    )
    done = plan(tmp_path, drill, "--each-zone", "-o", "json")
    assert done.returncode == 0, done.stderr
    rows = json.loads(done.stdout)["rows"]
    refused = {r["zone"] for r in rows if r["outcome"] == "refused"}
    assert refused == {"pangyo", "ansan"}
    assert {r["zone"] for r in rows if r["outcome"] != "refused"} == {"gasan"}
    assert rows[-1]["outcome"] == "refused"
    assert "nodes" in rows[-1]["note"]


@pytest.mark.looptime
async def test_placed_services_are_never_crowded_out() -> None:
    """A packed service listed first must not take the room a placement names."""
    lab = make_lab(
        [
            svc(name="filler", replicas=3, spread="pack"),
            svc(name="web", replicas=2, placement={"a": 2}),
        ],
        zones={"a": {"nodes": 1, "podsPerNode": 3}, "b": {"nodes": 1, "podsPerNode": 3}},
    )
    cluster = LabCluster(lab, loop=asyncio.get_running_loop())
    web = [p for p in cluster.pods.values() if p.service.name == "web"]
    assert [cluster.nodes[p.node].zone for p in web if p.node] == ["a", "a"]
    assert all(p.node for p in cluster.pods.values())


def test_plan_o_json_carries_the_power_cut_warnings(tmp_path: Path) -> None:
    """A script reads them in the plan document; nothing extra on stderr."""
    done = plan(tmp_path, FLAGSHIP, "-o", "json")
    assert done.returncode == 0, done.stderr
    warned = json.loads(done.stdout)["powerCutWarnings"]
    assert any(w.startswith("talk-api tolerates unreachable for 5m") for w in warned)
    assert "warning:" not in done.stderr
