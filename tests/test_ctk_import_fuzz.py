"""The importer reads every shape Chaos Toolkit accepts: carried over or named, never a crash.

Experiments are built from Chaos Toolkit's own vocabulary (activity and provider types, the
chaostoolkit-kubernetes node actions, zonedrill's actions and probes, tolerances of every kind)
with every value also drawn from arbitrary JSON. ``drill_data`` must never raise; when
chaoslib's own validation accepts the experiment, every activity that is not a zone action must
be named as not carried over, with its path.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from orchestrator.ctk.importer import drill_data
from orchestrator.ctk.tolerance import expect_of
from tests.support import zonedrill

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=12),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=8,
)
MODULES = {
    "chaosk8s.node.actions": ["cordon_node", "drain_nodes", "uncordon_node", "delete_nodes"],
    "orchestrator.ctk.actions": ["lose_zone", "restore_zone", "run_drill"],
    "orchestrator.ctk.probes": ["service_status", "answer_ok", "drill_passed"],
    "chaosk8s.pod.actions": ["terminate_pods"],
    "os.path": ["exists"],
}
"""chaosk8s is not installed with the test extras: chaoslib refuses those, the importer still
reads them; os.path is a module chaoslib finds, whose function no drill runs."""
ZONE_ACTIONS = {
    ("chaosk8s.node.actions", f) for f in ("cordon_node", "drain_nodes", "uncordon_node")
}
ZONE_ACTIONS |= {("orchestrator.ctk.actions", f) for f in ("lose_zone", "restore_zone")}
SELECTORS = st.sampled_from(["zone=a", "zone=a,tier=web", "zone!=b", "", "x"])
NAMED = st.fixed_dictionaries(
    {},
    optional={
        "label_selector": SELECTORS,
        "delete_pods_with_local_storage": st.booleans(),
        "count": st.integers(min_value=0, max_value=3),
    },
)
"""Arguments chaosk8s's node actions take, so that chaoslib accepts many experiments."""
ARGUMENTS = st.one_of(
    NAMED,
    NAMED,
    st.fixed_dictionaries(
        {"drill": st.just("d.yaml"), "zone": st.sampled_from(["a", "b", ""]) | JSON},
        optional={"mode": st.sampled_from(["cordon", "drain", "power-loss", "melt"]) | JSON},
    ),
    JSON,
)
ODD_NAMES = st.fixed_dictionaries(
    {"type": st.just("python"), "module": JSON | st.sampled_from(sorted(MODULES)), "func": JSON},
    optional={"arguments": ARGUMENTS},
)
"""A module or func of any JSON type: what a hand-written experiment may hold."""
PYTHON = st.sampled_from(sorted(MODULES)).flatmap(
    lambda module: st.fixed_dictionaries(
        {
            "type": st.just("python"),
            "module": st.just(module),
            "func": st.sampled_from(MODULES[module]),
        },
        optional={"arguments": ARGUMENTS},
    )
)
PROCESS = st.fixed_dictionaries(
    {"type": st.just("process"), "path": st.sampled_from(["echo", "true"])},
    optional={"arguments": st.text(max_size=20) | st.lists(st.text(max_size=5)) | JSON},
)
HTTP = st.fixed_dictionaries(
    {"type": st.just("http"), "url": st.sampled_from(["http://127.0.0.1:9/", "https://x"]) | JSON},
    optional={"method": JSON, "headers": JSON, "timeout": JSON, "arguments": JSON},
)
TOLERANCE = st.one_of(
    JSON,
    st.fixed_dictionaries(
        {"type": st.just("range"), "range": JSON | st.lists(st.integers(), max_size=3)}
    ),
    st.fixed_dictionaries({"type": st.just("regex"), "pattern": st.text(max_size=10) | JSON}),
    st.fixed_dictionaries({"type": st.just("probe"), "provider": PYTHON | JSON}),
)
ACTIVITY = st.fixed_dictionaries(
    {
        "type": st.sampled_from(["action", "probe"]),
        "name": st.text(min_size=1, max_size=10),
        "provider": PYTHON | PYTHON | PROCESS | HTTP | ODD_NAMES,
    },
    optional={
        "pauses": st.fixed_dictionaries({}, optional={"before": JSON, "after": JSON}) | JSON,
        "tolerance": TOLERANCE,
    },
)
ACTIVITIES = st.lists(ACTIVITY, min_size=1, max_size=4)
HYPOTHESIS = st.fixed_dictionaries(
    {"title": st.text(min_size=1, max_size=5)}, optional={"probes": st.lists(ACTIVITY, max_size=3)}
)
EXTENSION = st.fixed_dictionaries({"name": st.just("zonedrill"), "drill": JSON})


def _mostly(shaped: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """The shape Chaos Toolkit expects three times in four, any JSON value otherwise."""
    return st.one_of(shaped, shaped, shaped, JSON)


EXPERIMENT = st.fixed_dictionaries(
    {
        "title": st.text(min_size=1, max_size=20),
        "description": st.text(min_size=1, max_size=20),
        "method": _mostly(ACTIVITIES),
    },
    optional={
        "steady-state-hypothesis": _mostly(HYPOTHESIS),
        "extensions": _mostly(st.lists(EXTENSION, max_size=2)),
    },
)


def _lose(zone: Any = "a", **arguments: Any) -> dict[str, Any]:
    provider = {"type": "python", "module": "orchestrator.ctk.actions", "func": "lose_zone"}
    return {
        "type": "action",
        "name": "l",
        "provider": {**provider, "arguments": {"zone": zone, **arguments}},
    }


def _http(**provider: Any) -> dict[str, Any]:
    return {
        "steady-state-hypothesis": {
            "probes": [{"name": "p", "provider": {"type": "http", "url": "http://x/", **provider}}]
        }
    }


FOUND_BY_REVIEW = {
    "timeout 1e6": _http(timeout=1e6),
    "timeout 1e300": _http(timeout=1e300),
    "pauses summing past a float": {
        "method": [
            {"type": "action", "pauses": {"before": 1e308}},
            {"type": "action", "pauses": {"after": 1e308}},
        ]
    },
    "a pause of 1e6 s before a lose": {"method": [_lose() | {"pauses": {"before": 1e6}}]},
    "a pause of 10**400 s": {"method": [_lose() | {"pauses": {"before": 10**400}}]},
    "a mode that is a list, merged": {"method": [_lose(), _lose(mode=[])]},
    "a module that is a list": {
        "method": [{"type": "action", "provider": {"type": "python", "module": [], "func": "x"}}]
    },
    "a func that is a list": {
        "steady-state-hypothesis": {
            "probes": [
                {
                    "name": "p",
                    "provider": {"type": "python", "module": "orchestrator.ctk.probes", "func": []},
                }
            ]
        }
    },
    "a func that is a mapping": {
        "method": [
            {
                "type": "action",
                "provider": {"type": "python", "module": "chaosk8s.node.actions", "func": {}},
            }
        ]
    },
    "a zone that is a mapping": {"method": [_lose(zone={"a": 1}), _lose(zone={"a": 1})]},
}
"""Experiments that made drill_data raise before, as the adversarial review built them."""


@pytest.mark.parametrize("name", sorted(FOUND_BY_REVIEW))
def test_what_once_crashed_the_importer_is_read(name: str) -> None:
    """Each is carried over or named, never an exception."""
    imported = drill_data(FOUND_BY_REVIEW[name])
    assert imported.left_out or imported.data["spec"]["steps"] or imported.data["spec"]["probes"]


def _accepted(experiment: dict[str, Any]) -> bool:
    from chaoslib.exceptions import ChaosException  # noqa: PLC0415
    from chaoslib.experiment import ensure_experiment_is_valid  # noqa: PLC0415

    try:
        ensure_experiment_is_valid(experiment)
    except (ChaosException, TypeError, AttributeError, KeyError, ValueError):
        return False  # chaoslib's own checks crash on some shapes too: not accepted either
    return True


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(experiment=EXPERIMENT)
def test_any_experiment_imports_or_names_what_it_leaves_out(experiment: dict[str, Any]) -> None:
    """Never an exception; an accepted experiment's every non-zone activity is named."""
    imported = drill_data(experiment)
    if not _accepted(experiment):
        return
    named = {path for path, _ in imported.left_out}
    for index, activity in enumerate(experiment.get("method") or []):
        provider = activity["provider"]
        if (provider.get("module"), provider.get("func")) not in ZONE_ACTIONS:
            assert any(p.startswith(f"method[{index}]") for p in named), (activity, named)


def test_a_process_provider_with_string_arguments_is_named_not_a_crash(tmp_path: Path) -> None:
    """Chaos Toolkit takes a process provider's arguments as one string: named, exit 2."""
    experiment = {
        "title": "t",
        "description": "d",
        "method": [
            {
                "type": "action",
                "name": "say",
                "provider": {"type": "process", "path": "echo", "arguments": "hello world"},
            }
        ],
    }
    assert _accepted(experiment)
    path = tmp_path / "process.json"
    path.write_text(json.dumps(experiment))
    done = zonedrill(tmp_path, "import", str(path))
    assert done.returncode == 2, done.stderr
    assert "not carried over: method[0].provider: process provider echo" in done.stderr
    assert "Traceback" not in done.stderr
    assert "not an experiment" not in done.stderr


@pytest.mark.parametrize(
    ("pattern", "expect", "named"),
    [
        ("ok", {"bodyContains": "ok"}, ""),
        (r"^ok\s*$", {"bodyContains": "ok"}, 'the drill checks that the body contains "ok"'),
        ("^healthy$", {"bodyContains": "healthy"}, 'looser than "^healthy$"'),
        ("a.b", {}, "a regex that is not literal text"),
        ("^$", {}, "a regex that is not literal text"),
    ],
)
def test_a_regex_tolerance_carries_what_it_can_and_says_how(
    pattern: str, expect: dict[str, Any], named: str
) -> None:
    """Literal text, anchored or not, becomes bodyContains; the looser check is named."""
    left_out: list[tuple[str, str]] = []
    assert expect_of({"type": "regex", "pattern": pattern}, "t", left_out) == expect
    assert [why for _, why in left_out if named] == [w for _, w in left_out if named in w]
    assert bool(left_out) == bool(named)
