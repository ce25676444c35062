"""k8s/rbac.yaml is enough to run a drill, and a missing permission is named clearly."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client, utils
from ruamel.yaml import YAML

from tests.cluster.zones import api_client, core_api
from tests.kubecase import drill_file, nodes_as_before, run_drill
from tests.support import REPO

pytestmark = pytest.mark.cluster
RBAC = REPO / "k8s" / "rbac.yaml"


def manifests() -> list[dict[str, Any]]:
    """The objects in k8s/rbac.yaml."""
    return [dict(d) for d in YAML(typ="safe").load_all(RBAC.read_text()) if d]


def apply(api: client.ApiClient, objects: list[dict[str, Any]]) -> None:
    """Create the objects, skipping any that exist already."""
    for item in objects:
        try:
            utils.create_from_dict(api, item)  # type: ignore[no-untyped-call]
        except utils.FailToCreateError as error:
            if not all(e.status == 409 for e in error.api_exceptions):
                raise


def token_kubeconfig(control_plane: Any, api: client.ApiClient, account: str, folder: Path) -> Path:
    """A kubeconfig that authenticates as ServiceAccount zonedrill/``account``."""
    request = {
        "apiVersion": "authentication.k8s.io/v1",
        "kind": "TokenRequest",
        "spec": {"expirationSeconds": 3600},
    }
    token = (
        core_api(api)
        .create_namespaced_service_account_token(account, "zonedrill", request)
        .status.token
    )
    config = json.loads(Path(control_plane.kubeconfig).read_text())
    config["users"][0]["user"] = {"token": token}
    path = folder / f"{account}.kubeconfig"
    path.write_text(json.dumps(config))
    return path


def test_a_drill_runs_with_exactly_the_rbac_manifest(
    control_plane: Any,
    kube: client.ApiClient,
    app: dict[str, Any],
    pristine: dict[str, Any],
    tmp_path: Path,
) -> None:
    """Power loss with the zonedrill ServiceAccount's token: passes and restores the nodes."""
    admin = api_client(control_plane)
    apply(admin, manifests())
    limited = copy.copy(control_plane)
    limited.kubeconfig = token_kubeconfig(control_plane, admin, "zonedrill", tmp_path)
    code, result, output = run_drill(
        limited,
        app,
        drill_file(tmp_path, app["namespace"], mode="power-loss", duration="6s"),
        tmp_path / "state",
    )
    assert code == 0, output
    assert result["steps"][0]["podsDeleted"] >= 3
    assert nodes_as_before(kube, pristine) == pristine


def test_a_missing_permission_names_the_verb_and_resource(
    control_plane: Any,
    kube: client.ApiClient,
    app: dict[str, Any],
    pristine: dict[str, Any],
    tmp_path: Path,
) -> None:
    """Without `patch nodes` the drill stops before any change, naming the verb and resource."""
    admin = api_client(control_plane)
    apply(admin, manifests())
    weak: list[dict[str, Any]] = [
        {
            "apiVersion": "v1",
            "kind": "ServiceAccount",
            "metadata": {"name": "zonedrill-weak", "namespace": "zonedrill"},
        },
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "ClusterRole",
            "metadata": {"name": "zonedrill-weak"},
            "rules": [
                {**rule, "verbs": ["get", "list"]} if rule["resources"] == ["nodes"] else rule
                for rule in next(m for m in manifests() if m["kind"] == "ClusterRole")["rules"]
            ],
        },
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "ClusterRoleBinding",
            "metadata": {"name": "zonedrill-weak"},
            "roleRef": {
                "apiGroup": "rbac.authorization.k8s.io",
                "kind": "ClusterRole",
                "name": "zonedrill-weak",
            },
            "subjects": [
                {"kind": "ServiceAccount", "name": "zonedrill-weak", "namespace": "zonedrill"}
            ],
        },
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "RoleBinding",
            "metadata": {"name": "zonedrill-weak-lock", "namespace": "zonedrill"},
            "roleRef": {
                "apiGroup": "rbac.authorization.k8s.io",
                "kind": "Role",
                "name": "zonedrill-lock",
            },
            "subjects": [
                {"kind": "ServiceAccount", "name": "zonedrill-weak", "namespace": "zonedrill"}
            ],
        },
    ]
    apply(admin, weak)
    limited = copy.copy(control_plane)
    limited.kubeconfig = token_kubeconfig(control_plane, admin, "zonedrill-weak", tmp_path)
    code, result, output = run_drill(
        limited,
        app,
        drill_file(tmp_path, app["namespace"], mode="power-loss", duration="4s"),
        tmp_path / "state",
    )
    assert code == 4, output
    assert 'forbidden: cannot patch nodes "pangyo-' in output.replace("\n", "")
    assert result["restored"] is True
    assert nodes_as_before(kube, pristine) == pristine
