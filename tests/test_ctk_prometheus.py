"""Prometheus probes both ways through Chaos Toolkit, against Debian's Prometheus.

``export`` writes a drill's prometheus probe as zonedrill's ``prometheus_query`` with its
``value_ok`` tolerance, and ``import`` reads it back; chaostoolkit-prometheus's ``query`` probes
carry over where their tolerance pins the one value. The exported probe judges a real server's
answers as the drill's own probe does: fail closed.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

from orchestrator.ctk.probes import prometheus_query, value_ok
from tests.prometheus import free_port, prometheus
from tests.support import REPO, zonedrill

FLAGSHIP = REPO / "drills" / "pangyo-battery-fire.yaml"
ERROR_RATE = {
    "name": "error-rate",
    "every": "1s",
    "whileFailing": "50ms",
    "prometheus": {"url": "http://127.0.0.1:9090", "query": "sum(rate(x_total[1m]))"},
    "expect": {"value": {"atMost": 0.01}, "noData": "pass"},
}


def flagship_with(folder: Path, probe: dict[str, Any]) -> Path:
    """The flagship with ``probe`` added, beside the flagship's labs."""
    data = YAML(typ="safe").load(FLAGSHIP.read_text())
    data["spec"]["probes"].append(probe)
    (folder / "labs").symlink_to(FLAGSHIP.parent / "labs")
    path = folder / "flagship.yaml"
    path.write_text(json.dumps(data))  # JSON is YAML
    return path


def test_export_then_import_gives_the_prometheus_probe_back(tmp_path: Path) -> None:
    """Query, server, bound, noData, every and whileFailing all come back."""
    drill = flagship_with(tmp_path, ERROR_RATE)
    experiment = tmp_path / "e.json"
    exported = zonedrill(tmp_path, "export", str(drill), "--to", "chaostoolkit",
                         "--output-file", str(experiment))  # fmt: skip
    assert exported.returncode == 0, exported.stderr
    assert "whileFailing: Chaos Toolkit asks at its own frequency" in exported.stderr
    imported = zonedrill(tmp_path, "import", str(experiment))
    assert imported.returncode == 0, imported.stderr
    probes = YAML(typ="safe").load(imported.stdout)["spec"]["probes"]
    back = next(p for p in probes if p["name"] == "error-rate")
    assert back == {**ERROR_RATE, "expect": {"value": {"atMost": 0.01}, "noData": "pass"}}


def chaosprometheus(tolerance: Any) -> dict[str, Any]:
    """A chaostoolkit-prometheus query probe with ``tolerance``."""
    return {
        "type": "probe",
        "name": "errors",
        "tolerance": tolerance,
        "provider": {
            "type": "python",
            "module": "chaosprometheus.probes",
            "func": "query",
            "arguments": {"query": "sum(up)"},
        },
    }


@pytest.mark.parametrize(
    ("tolerance", "expected", "named"),
    [
        ({"type": "jsonpath", "path": "$.data.result[0].value[1]", "expect": "0"},
         {"value": {"equals": 0.0}}, ""),
        ({"type": "jsonpath", "path": "$.data.result"}, None, "only a jsonpath tolerance"),
        (True, None, "only a jsonpath tolerance"),
        ({"type": "jsonpath", "path": "$.data.result[0].value[1]", "expect": "NaN"}, None,
         "expected the number the value must equal"),
    ],
    ids=["value-equals", "any-result", "no-tolerance", "nan"],
)  # fmt: skip
def test_import_of_chaostoolkit_prometheus_probes(
    tmp_path: Path, tolerance: Any, expected: dict[str, Any] | None, named: str
) -> None:
    """Carried over only when the tolerance pins the value: never judged more loosely."""
    drill = flagship_with(tmp_path, ERROR_RATE)
    experiment_path = tmp_path / "e.json"
    exported = zonedrill(tmp_path, "export", str(drill), "--to", "chaostoolkit",
                         "--output-file", str(experiment_path))  # fmt: skip
    assert exported.returncode == 0, exported.stderr
    experiment = json.loads(experiment_path.read_text())
    experiment["configuration"]["prometheus_base_url"] = "http://prometheus.monitoring:9090"
    experiment["steady-state-hypothesis"]["probes"].insert(0, chaosprometheus(tolerance))
    experiment_path.write_text(json.dumps(experiment))
    imported = zonedrill(tmp_path, "import", str(experiment_path))
    assert imported.returncode == 0, imported.stderr
    probes = YAML(typ="safe").load(imported.stdout)["spec"]["probes"]
    found = next((p for p in probes if p["name"] == "errors"), None)
    if expected is None:
        assert found is None
        assert named in imported.stderr
        return
    assert found == {
        "name": "errors",
        "prometheus": {"url": "http://prometheus.monitoring:9090", "query": "sum(up)"},
        "expect": expected,
    }


def test_the_exported_probe_judges_a_real_server_as_the_drill_does(tmp_path: Path) -> None:
    """value_ok on prometheus_query's answers: one value in bounds passes, nothing else."""
    with prometheus(tmp_path / "prometheus") as server:

        def ok(query: str, **bounds: Any) -> bool:
            return value_ok(prometheus_query(query, url=server.url), **bounds)

        assert ok("vector(0.5)", below=1)
        assert not ok("vector(2)", below=1)
        assert not ok("absent(vector(1))", below=1)  # no data fails by default
        assert ok("absent(vector(1))", below=1, no_data="pass")
        assert not ok('vector(0) or label_replace(vector(0), "x", "y", "", "")', below=1)
        assert not ok("vector(0) / 0", below=1)  # NaN
        assert not ok("sum(", below=1)  # an error answer
        assert not ok("vector(0.5)")  # no bound: nothing passes unjudged
        assert ok("scalar(vector(3))", equals=3)
    from chaoslib.exceptions import ActivityFailed  # noqa: PLC0415 - the chaostoolkit extra

    with pytest.raises(ActivityFailed):
        prometheus_query("vector(0)", url=f"http://127.0.0.1:{free_port()}")
