"""The example drills on the real control plane (--target kube) end as they do on the lab."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client

from orchestrator.drill.lab import Lab, LabService
from orchestrator.drill.loader import load_drill, load_lab
from tests.cluster.fronts import lab_fronts, service_url_flags
from tests.cluster.zones import is_ready, live_pods, packed_into, wait_for
from tests.kubecase import nodes_as_before, remove_namespaces
from tests.support import (
    EXAMPLE_OUTCOMES,
    REPO,
    ZONEDRILL,
    cli_env,
    outcome_of,
    succeeded,
    zonedrill,
)

pytestmark = pytest.mark.cluster

MANIFESTS = REPO / "drills" / "kube"
SNAPSHOT_RTO_ERROR = 2.5
"""Predicted against measured RTO, seconds: the snapshot's reschedule is the lab's default (1 s,
where KWOK's scheduler takes milliseconds), its startup is read to the second, and the run's
probes sample every 250 ms."""


def lab_of(drill: str) -> Lab:
    """The lab the drill names: the kube manifest of the same name mirrors it."""
    path = REPO / "drills" / f"{drill}.yaml"
    lab_path = load_drill(path).spec.lab
    assert lab_path is not None
    return load_lab(path.parent / lab_path)


def lab_name(drill: str) -> str:
    """The file stem of the drill's lab, which is also its kube manifest's."""
    lab_path = load_drill(REPO / "drills" / f"{drill}.yaml").spec.lab
    assert lab_path is not None
    return Path(lab_path).stem


def place_like_the_lab(kube: client.ApiClient, lab: Lab) -> None:
    """Wait for every replica; a packed service must sit wholly in the lab's first zone."""
    first_zone = next(iter(lab.spec.zones))
    for service in lab.spec.services:

        def placed(service: LabService = service) -> bool:
            if service.spread == "pack":
                return packed_into(
                    kube, service.namespace, service.name, first_zone, service.replicas
                )
            pods = live_pods(kube, service.namespace, service.name)
            return sum(is_ready(p) for p in pods) == service.replicas

        wait_for(placed, what=f"{service.replicas} ready {service.name} placed", timeout=120)


@contextmanager
def workloads(
    control_plane: Any, kube: client.ApiClient, drill: str, *, manifest: Path | None = None
) -> Iterator[list[str]]:
    """Apply the drill's kube manifest (or ``manifest``), front its Services; remove all after."""
    lab = lab_of(drill)
    manifest = manifest or MANIFESTS / f"{lab_name(drill)}.yaml"
    subprocess.run(control_plane.kubectl("apply", "-f", str(manifest)), check=True, timeout=60)
    place_like_the_lab(kube, lab)
    fronts = lab_fronts(kube, lab)
    try:
        for front in fronts.values():
            front.start()
        wait_for(lambda: all(f.ready >= f.min_ready for f in fronts.values()), what="fronts")
        yield service_url_flags(fronts)
    finally:
        for front in fronts.values():
            front.stop()
        remove_namespaces(kube, {s.namespace for s in lab.spec.services})


@pytest.mark.parametrize("drill", list(EXAMPLE_OUTCOMES))
def test_example_drill_on_kube_ends_as_on_the_lab(
    control_plane: Any,
    kube: client.ApiClient,
    pristine: dict[str, Any],
    tmp_path: Path,
    drill: str,
) -> None:
    """Same exit code, outcome and failed checks as the lab run; nodes end as they began.

    A snapshot of the cluster taken before the run predicts it (plan --simulate on that lab):
    the same outcome and failed checks, and each RTO within SNAPSHOT_RTO_ERROR.
    """
    drill_file = REPO / "drills" / f"{drill}.yaml"
    lab_file = tmp_path / "snapshot.yaml"
    with workloads(control_plane, kube, drill) as urls:
        snapshot = [f"--zones-from={drill_file}", f"--output-file={lab_file}"]
        kubeconfig = f"--kubeconfig={control_plane.kubeconfig}"
        succeeded(zonedrill(tmp_path / "state", "snapshot", kubeconfig, *snapshot))
        out = tmp_path / "out"
        command = [
            *ZONEDRILL,
            "run",
            str(REPO / "drills" / f"{drill}.yaml"),
            "--target=kube",
            f"--kubeconfig={control_plane.kubeconfig}",
            f"--out={out}",
            *urls,
        ]
        done = subprocess.run(
            command,
            capture_output=True,
            text=True,
            env=cli_env(tmp_path / "state"),
            timeout=240,
            check=False,
        )
    result = json.loads((out / "result.json").read_text())
    assert outcome_of(done.returncode, result) == EXAMPLE_OUTCOMES[drill], done.stderr
    assert result["target"] == "kube"
    assert result["restored"] is True
    assert nodes_as_before(kube, pristine) == pristine
    seed = [] if result.get("seed") is None else [f"--seed={result['seed']}"]
    flags = ["--simulate", f"--lab={lab_file}", "-o", "json", *seed]
    predicted = json.loads(
        succeeded(zonedrill(tmp_path / "state", "plan", str(drill_file), *flags)).stdout
    )
    assert outcome_of(0, predicted)[1:] == outcome_of(0, result)[1:]
    for measured, guess in zip(result["probes"], predicted["probes"], strict=True):
        for a, b in zip(measured["rto"], guess["rto"], strict=True):
            assert (a["seconds"] is None) == (b["seconds"] is None)
            if a["seconds"] is not None:
                assert b["seconds"] == pytest.approx(a["seconds"], abs=SNAPSHOT_RTO_ERROR), (a, b)
