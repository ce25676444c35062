"""Running inside a pod: in-cluster config, cluster-DNS probe URLs, and never losing our own node.

No pod runs here (KWOK runs no process), so the test plays the pod's part: it writes the
ServiceAccount token and CA where a pod would find them and sets KUBERNETES_SERVICE_HOST/PORT.
Everything past that is the real adapter talking to the real API server with that token.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from kubernetes import client
from kubernetes.config import incluster_config

from k8s.adapter import KubeSettings, connect
from orchestrator.drill.loader import load_drill
from orchestrator.drill.picks import ZonePicks
from orchestrator.drill.probe import ServiceRef
from orchestrator.errors import SafetyRefusalError
from orchestrator.run.preflight import prepare
from tests.cluster.zones import api_client, core_api
from tests.kubecase import drill_file
from tests.test_rbac import apply, manifests

pytestmark = pytest.mark.cluster


@pytest.fixture
def as_a_pod(
    control_plane: Any, kube: client.ApiClient, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The environment a pod with the zonedrill ServiceAccount would have, on node gasan-1."""
    admin = api_client(control_plane)
    apply(admin, manifests())
    request = {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest", "spec": {}}
    token = core_api(admin).create_namespaced_service_account_token(
        "zonedrill", "zonedrill", request
    )
    (tmp_path / "token").write_text(token.status.token)
    server = urlsplit(control_plane.server)
    monkeypatch.setattr(incluster_config, "SERVICE_TOKEN_FILENAME", str(tmp_path / "token"))
    monkeypatch.setattr(incluster_config, "SERVICE_CERT_FILENAME", str(control_plane.ca_cert))
    monkeypatch.setenv("KUBERNETES_SERVICE_HOST", server.hostname or "")
    monkeypatch.setenv("KUBERNETES_SERVICE_PORT", str(server.port))
    monkeypatch.delenv("KUBECONFIG", raising=False)
    monkeypatch.setenv("ZONEDRILL_NODE_NAME", "gasan-1")


@pytest.mark.usefixtures("as_a_pod")
async def test_in_cluster_connection_probes_by_dns_and_plans(tmp_path: Path) -> None:
    """The adapter picks in-cluster config, addresses Services by cluster DNS and can plan."""
    port = connect(KubeSettings())
    try:
        assert port.in_cluster
        assert port.own_node == "gasan-1"
        endpoint = await port.service_endpoint(
            ref=ServiceRef(namespace="shop", name="web", port=8080)
        )
        assert (endpoint.url, dict(endpoint.headers)) == ("http://web.shop.svc:8080", {})
        drill = load_drill(drill_file(tmp_path, "shop", mode="drain"))
        plan = await prepare(drill, port, ZonePicks())
        assert [z.name for z in plan.zones["pangyo"].nodes] == ["pangyo-1", "pangyo-2", "pangyo-3"]
    finally:
        await port.close()


@pytest.mark.usefixtures("as_a_pod")
async def test_refuses_to_lose_the_node_it_runs_on(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Running on pangyo-2, a drill losing pangyo is refused before anything is touched."""
    monkeypatch.setenv("ZONEDRILL_NODE_NAME", "pangyo-2")
    port = connect(KubeSettings())
    try:
        drill = load_drill(drill_file(tmp_path, "shop", mode="power-loss"))
        with pytest.raises(
            SafetyRefusalError, match="holds node pangyo-2, where zonedrill itself runs"
        ):
            await prepare(drill, port, ZonePicks())
    finally:
        await port.close()
