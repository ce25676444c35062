"""A prometheus probe on the real control plane: the flagship's loss, seen through Prometheus.

The flagship's workloads run on KWOK nodes with loopback fronts (tests/cluster/front.py); each
front also publishes its Service's ready endpoints on /metrics, which Debian's Prometheus
scrapes every 250ms. ``run --target kube`` of a short flagship probes talk-api both ways: by
HTTP through its front, and by a PromQL query on the ready count, sampled every 20ms while
failing. Both fail with the loss of pangyo and recover; the query trails the HTTP answer by no
more than the scrape interval and the loop's lag.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client
from ruamel.yaml import YAML

from tests.kubecase import nodes_as_before
from tests.prometheus import prometheus
from tests.support import REPO, zonedrill
from tests.test_kube_drills import workloads

pytestmark = pytest.mark.cluster

FLAGSHIP = REPO / "drills" / "pangyo-battery-fire.yaml"
READY = 'min(zonedrill_front_ready_endpoints{namespace="messaging",service="talk-api"})'
SCRAPE_LAG = 1.0
"""Seconds the query may trail the HTTP answer: a 250ms scrape, the fast grid, the loop."""


def drill_on_fronts(folder: Path, fronts: dict[str, str], prometheus_url: str) -> Path:
    """A 15 s flagship: talk-api by HTTP through its front, and by PromQL on its ready count."""
    data = YAML(typ="safe").load(FLAGSHIP.read_text())
    spec = data["spec"]
    del spec["lab"]
    spec["probes"] = [
        {"name": "talk-api", "every": "250ms", "http": {"url": fronts["messaging/talk-api"]}},
        {
            "name": "talk-api-ready",
            "every": "1s",
            "whileFailing": "20ms",
            "prometheus": {"url": prometheus_url, "query": READY},
            "expect": {"value": {"atLeast": 1}},
        },
    ]
    spec["targets"] = [{"probe": p["name"], "rto": "30s"} for p in spec["probes"]]
    spec.update(baseline="2s", duration="15s", stopIf=[])
    spec["steps"][1]["at"] = "12s"
    path = folder / "flagship-prometheus.yaml"
    path.write_text(json.dumps(data))  # JSON is YAML
    return path


def rto(result: dict[str, Any], probe: str) -> float:
    """The probe's RTO of the loss (it must have recovered)."""
    seconds = next(p for p in result["probes"] if p["name"] == probe)["rto"][0]["seconds"]
    assert seconds is not None, f"{probe} never recovered"
    return float(seconds)


def test_a_prometheus_probe_sees_the_loss_on_the_real_control_plane(
    control_plane: Any, kube: client.ApiClient, pristine: dict[str, Any], tmp_path: Path
) -> None:
    """Both probes fail with pangyo and recover; the query within the scrape lag of HTTP."""
    with workloads(control_plane, kube, "pangyo-battery-fire") as flags:
        fronts = dict(f.removeprefix("--service-url=").split("=", 1) for f in flags)
        scraped = tuple(url.removeprefix("http://").rstrip("/") for url in fronts.values())
        with prometheus(tmp_path / "prometheus", scrape=scraped) as server:
            drill = drill_on_fronts(tmp_path, fronts, server.url)
            server.answer(READY)  # scraped before the baseline asks
            out = tmp_path / "run"
            kubeconfig = f"--kubeconfig={control_plane.kubeconfig}"
            ran = zonedrill(
                tmp_path / "state", "run", str(drill), "--target", "kube", kubeconfig,
                "--out", str(out), timeout=240,
            )  # fmt: skip
    assert ran.returncode == 0, ran.stdout + ran.stderr
    result = json.loads((out / "result.json").read_text())
    answered, queried = rto(result, "talk-api"), rto(result, "talk-api-ready")
    assert answered > 5, answered
    assert answered - 0.3 <= queried <= answered + SCRAPE_LAG, (answered, queried)
    verified = zonedrill(tmp_path / "state", "verify", str(out))
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert nodes_as_before(kube, pristine) == pristine
