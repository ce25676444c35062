"""The manifests that run a game day on its schedule in the cluster (``zonedrill schedule``).

Plain dictionaries, printed as YAML: a ConfigMap holding the game day with its drills (and
their labs, which validation reads), a CronJob running ``zonedrill gameday run --target kube``,
the state volume for journals and history, and exactly the RBAC of k8s/rbac.yaml in the chosen
namespace. Nothing here talks to a cluster.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from importlib.util import find_spec
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML

from orchestrator.drill import Drill, GameDay
from orchestrator.drill.http import http_url
from orchestrator.drill.model import AnyOf, ZoneSelector
from orchestrator.drill.types import DNS_LABEL_PATTERN
from orchestrator.errors import InvalidInputError, Problem
from orchestrator.yamlfile import read_text

CONFIG_DIR = "/etc/zonedrill"
STATE_DIR = "/var/lib/zonedrill"
STATE_CLAIM = "zonedrill-state"
SIGN_KEY_DIR = "/var/run/zonedrill/sign-key"
SIGN_KEY_ITEM = "zonedrill.key"
"""The Secret's key holding the PEM private key (kubectl create secret generic --from-file)."""
IMAGE_USER = 10001
"""The user of zonedrill's image (k8s/image/build.py); other images work as that user too."""
GRACE_SECONDS = 660
"""A stopped pod gets SIGTERM, then this long to restore (run's --restore-timeout is 10m)."""
KEY_CHARACTERS = re.compile(r"[^-._a-zA-Z0-9]")


@dataclass(frozen=True)
class ScheduleRequest:
    """What ``zonedrill schedule`` was asked for."""

    gameday: GameDay
    path: Path
    drills: list[tuple[Path, Drill]]
    image: str
    namespace: str
    sign_key_secret: str | None = None
    """The Secret whose zonedrill.key signs every result (``--sign-key-secret``); None: unsigned."""
    push_url: str | None = None
    """The Pushgateway each game day's metrics go to at its end (``--push``); None: none."""


def manifests(request: ScheduleRequest) -> list[dict[str, Any]]:
    """Every object, in the order ``kubectl apply -f`` should create them."""
    problems = list(_refusals(request))
    if problems:
        raise InvalidInputError(problems)
    files = _files(request)
    return [
        *rbac(request.namespace),
        _config_map(request, files),
        _claim(request),
        _cron_job(request, files),
    ]


MAX_GAMEDAY_NAME = 52 - len("zonedrill-")
"""A CronJob's name is at most 52 characters (its Jobs add a suffix), and it is zonedrill-NAME."""
IMAGE = re.compile(r"[\x21-\x7e]+")
SECRET_NAME = re.compile(r"[a-z0-9]([-.a-z0-9]{0,251}[a-z0-9])?")


def _refusals(request: ScheduleRequest) -> Iterator[Problem]:
    """What would make the manifests fail to apply, or the CronJob fail every time it runs."""
    where = str(request.path)
    if request.push_url is not None and not http_url(request.push_url):
        message = "expected the Pushgateway's http(s) URL, e.g. http://pushgateway.monitoring:9091"
        yield Problem("--push", None, None, "", message)
    if request.gameday.spec.schedule is None:
        message = (
            'a scheduled game day needs spec.schedule, e.g. {cron: "0 3 * * 1", '
            "timeZone: Asia/Seoul}"
        )
        yield Problem(where, None, None, "spec.schedule", message)
    name = request.gameday.metadata.name
    if len(name) > MAX_GAMEDAY_NAME:
        message = (
            f"at most {MAX_GAMEDAY_NAME} characters on a schedule: the CronJob is zonedrill-NAME"
        )
        yield Problem(where, None, None, "metadata.name", message)
    kept = {d["metadata"]["name"] for d in rbac(request.namespace) if d["kind"] == "ConfigMap"}
    if _name(request) in kept:  # "results" would overwrite the game-day results ConfigMap
        message = (
            f"the game day's ConfigMap would be {_name(request)}, which zonedrill keeps for "
            "itself: rename the game day"
        )
        yield Problem(where, None, None, "metadata.name", message)
    secret = request.sign_key_secret
    if secret is not None and not SECRET_NAME.fullmatch(secret):
        message = "expected a Secret's name (DNS-1123 subdomain), e.g. zonedrill-sign-key"
        yield Problem("--sign-key-secret", None, None, "", message)
    if not re.fullmatch(DNS_LABEL_PATTERN, request.namespace):
        yield Problem("--namespace", None, None, "", "expected a DNS-1123 label, e.g. zonedrill")
    if not IMAGE.fullmatch(request.image):
        yield Problem(
            "--image",
            None,
            None,
            "",
            "expected an image reference, e.g. registry.example/zonedrill:0.1.0",
        )
    for index, entry in enumerate(request.gameday.spec.drills):
        if Path(entry.file).is_absolute():
            message = "an absolute path does not exist in the pod: give it relative to the game day"
            yield Problem(where, None, None, f"spec.drills[{index}].file", message)
    for path, drill in request.drills:
        if drill.spec.lab is not None and Path(drill.spec.lab).is_absolute():
            message = "an absolute path does not exist in the pod: give it relative to the drill"
            yield Problem(str(path), None, None, "spec.lab", message)


SNAPSHOT_ROLE = "zonedrill-snapshot"
"""The read-only ClusterRole of ``zonedrill snapshot`` in k8s/rbac.yaml."""


def rbac(namespace: str) -> list[dict[str, Any]]:
    """k8s/rbac.yaml with its namespace replaced: the same rules, the same objects.

    All but the snapshot role: scheduled game days run drills, they take no snapshots.
    """
    documents = [
        d
        for d in YAML(typ="safe").load_all(_rbac_text())
        if d and d["metadata"]["name"] != SNAPSHOT_ROLE
    ]
    for document in documents:
        metadata = document["metadata"]
        if document["kind"] == "Namespace":
            metadata["name"] = namespace
        elif document["kind"] == "ClusterRoleBinding" and namespace != "zonedrill":
            metadata["name"] = f"zonedrill-{namespace}"  # one binding per install
        elif "namespace" in metadata:
            metadata["namespace"] = namespace
        for subject in document.get("subjects", []):
            subject["namespace"] = namespace
    return documents


def _rbac_text() -> str:
    # Located without importing k8s (that would import the Kubernetes client into the core).
    spec = find_spec("k8s")
    assert spec is not None
    assert spec.submodule_search_locations
    return (Path(next(iter(spec.submodule_search_locations))) / "rbac.yaml").read_text()


def _files(request: ScheduleRequest) -> dict[str, Path]:
    """Every file the game day reads, by where it sits under CONFIG_DIR.

    Paths are kept as written (made absolute, never resolved): the game day and its drills name
    each other by these paths, symbolic links included.
    """
    paths = [request.path, *(p for p, _ in request.drills)]
    paths += [(p.parent / d.spec.lab) for p, d in request.drills if d.spec.lab is not None]
    absolute = sorted({Path(os.path.abspath(p)) for p in paths})
    root = Path(os.path.commonpath([p.parent for p in absolute]))
    return {p.relative_to(root).as_posix(): p for p in absolute}


MAX_KEY = 253


def _keys(files: dict[str, Path]) -> dict[str, str]:
    """A ConfigMap key per file: numbered, so two paths never share one."""
    return {
        rel: f"f{index}-{KEY_CHARACTERS.sub('_', Path(rel).name)}"[:MAX_KEY]
        for index, rel in enumerate(sorted(files))
    }


def _name(request: ScheduleRequest) -> str:
    return f"zonedrill-{request.gameday.metadata.name}"


def _labels(request: ScheduleRequest) -> dict[str, str]:
    return {
        "app.kubernetes.io/name": "zonedrill",
        "zonedrill.io/gameday": request.gameday.metadata.name,
    }


def _config_map(request: ScheduleRequest, files: dict[str, Path]) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {
            "name": _name(request),
            "namespace": request.namespace,
            "labels": _labels(request),
        },
        "data": {key: read_text(files[rel]) for rel, key in _keys(files).items()},
    }


def state_claim(request: ScheduleRequest) -> str:
    """The game day's own state volume: two game days' pods may sit on different nodes."""
    return f"{STATE_CLAIM}-{request.gameday.metadata.name}"


def _claim(request: ScheduleRequest) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": {"name": state_claim(request), "namespace": request.namespace},
        "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}},
    }


def command(request: ScheduleRequest, files: dict[str, Path]) -> list[str]:
    """The container's arguments: the game day, on the cluster, recorded as scheduled."""
    # As _files keeps it: absolute, never resolved (a symbolic link on the way stays one).
    gameday = next(
        rel for rel, path in files.items() if path == Path(os.path.abspath(request.path))
    )
    signing = [] if request.sign_key_secret is None else [f"--sign-key={SIGN_KEY_DIR}/key.pem"]
    pushing = [] if request.push_url is None else [f"--push={request.push_url}"]
    return [
        "gameday",
        "run",
        f"{CONFIG_DIR}/{gameday}",
        "--target=kube",
        f"--lock-namespace={request.namespace}",
        "--trigger=schedule",
        *signing,
        *pushing,
    ]


def _sign_key_volume(request: ScheduleRequest) -> list[dict[str, Any]]:
    """The signing key, readable by the image's user only through fsGroup (mode 0440)."""
    if request.sign_key_secret is None:
        return []
    secret = {
        "secretName": request.sign_key_secret,
        "items": [{"key": SIGN_KEY_ITEM, "path": "key.pem"}],
        "defaultMode": 0o440,
    }
    return [{"name": "sign-key", "secret": secret}]


def _cron_job(request: ScheduleRequest, files: dict[str, Path]) -> dict[str, Any]:
    schedule = request.gameday.spec.schedule
    assert schedule is not None  # manifests() checked
    pod = {
        "metadata": {"labels": _labels(request)},
        "spec": {
            "serviceAccountName": "zonedrill",
            "restartPolicy": "Never",
            "terminationGracePeriodSeconds": GRACE_SECONDS,
            # zonedrill's image runs as 10001; fsGroup makes the state volume its own.
            "securityContext": {
                "runAsNonRoot": True,
                "runAsUser": IMAGE_USER,
                "runAsGroup": IMAGE_USER,
                "fsGroup": IMAGE_USER,
            },
            "affinity": _away_from_zones(request.drills),
            "containers": [_container(request, files)],
            "volumes": [
                {
                    "name": "gameday",
                    "configMap": {
                        "name": _name(request),
                        "items": [{"key": key, "path": rel} for rel, key in _keys(files).items()],
                    },
                },
                {"name": "state", "persistentVolumeClaim": {"claimName": state_claim(request)}},
                *_sign_key_volume(request),
            ],
        },
    }
    return {
        "apiVersion": "batch/v1",
        "kind": "CronJob",
        "metadata": {
            "name": _name(request),
            "namespace": request.namespace,
            "labels": _labels(request),
        },
        "spec": {
            "schedule": schedule.cron,
            "timeZone": schedule.time_zone,
            "concurrencyPolicy": "Forbid",  # the Lease would refuse a second one anyway
            "startingDeadlineSeconds": 3600,
            "successfulJobsHistoryLimit": 3,
            "failedJobsHistoryLimit": 3,
            # A game day is never retried blindly: look at its result first.
            "jobTemplate": {"spec": {"backoffLimit": 0, "template": pod}},
        },
    }


def _container(request: ScheduleRequest, files: dict[str, Path]) -> dict[str, Any]:
    return {
        "name": "zonedrill",
        "image": request.image,
        "args": command(request, files),
        "workingDir": STATE_DIR,  # runs land in zonedrill-runs/ on the state volume
        "env": [
            {  # zonedrill refuses to lose the node it runs on
                "name": "ZONEDRILL_NODE_NAME",
                "valueFrom": {"fieldRef": {"fieldPath": "spec.nodeName"}},
            },
            {"name": "ZONEDRILL_STATE_DIR", "value": STATE_DIR},
        ],
        "volumeMounts": [
            {"name": "gameday", "mountPath": CONFIG_DIR, "readOnly": True},
            {"name": "state", "mountPath": STATE_DIR},
            *(
                {"name": v["name"], "mountPath": SIGN_KEY_DIR, "readOnly": True}
                for v in _sign_key_volume(request)
            ),
        ],
    }


def _away_from_zones(drills: list[tuple[Path, Drill]]) -> dict[str, Any]:
    """Prefer nodes no drill may lose (zones picked by a single label).

    Preferred, not required: when the drills' zones cover every node, a required rule would
    leave the pod Pending without a word, while zonedrill itself refuses to lose the node it
    runs on (ZONEDRILL_NODE_NAME) and says so in the game day's result.
    """
    values: dict[str, set[str]] = {}
    for _, drill in drills:
        for selector in _lost_zones(drill):
            if len(selector.node_selector) == 1:
                ((key, value),) = selector.node_selector.items()
                values.setdefault(key, set()).add(value)
    if not values:
        return {}
    expressions = [
        {"key": key, "operator": "NotIn", "values": sorted(found)}
        for key, found in sorted(values.items())
    ]
    preferred = [{"weight": 100, "preference": {"matchExpressions": expressions}}]
    return {"nodeAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": preferred}}


def _lost_zones(drill: Drill) -> list[ZoneSelector]:
    names: set[str] = set()
    for step in drill.spec.steps:
        if isinstance(step.lose, AnyOf):
            names.update(step.lose.any_of)
        elif isinstance(step.lose, str):
            names.add(step.lose)
    return [drill.spec.zones[name] for name in sorted(names) if name in drill.spec.zones]
