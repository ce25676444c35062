"""Prometheus probes against a real Prometheus server (Debian's package; tests/prometheus.py).

Fail closed: no data, an ambiguous answer, NaN, ±Inf, a query error and an unreachable or
stopped server each fail their samples and never pass the drill; and a lab drill's error-rate
query over the lab's own /metrics, scraped by Prometheus, fails during the zone loss and
recovers.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

from orchestrator.drill.prometheus import PromExpect
from orchestrator.probes.prometheus import judge
from tests.prometheus import Server, free_port, prometheus
from tests.support import REPO, ZONEDRILL, cli_env, start_until, zonedrill

FLAGSHIP = REPO / "drills" / "pangyo-battery-fire.yaml"


def drill_file(folder: Path, name: str, spec: dict[str, Any]) -> Path:
    """The flagship with ``spec``'s keys in place of its own, next to the flagship's labs."""
    data = YAML(typ="safe").load(FLAGSHIP.read_text())
    data["metadata"]["name"] = name
    data["spec"].update(spec)
    data["spec"].pop("stopIf", None)
    labs = folder / "labs"
    if not labs.exists():
        labs.symlink_to(FLAGSHIP.parent / "labs")
    path = folder / f"{name}.yaml"
    path.write_text(json.dumps(data, indent=2))  # JSON is YAML
    return path


def query_probe(name: str, url: str, query: str, **expect: Any) -> dict[str, Any]:
    """A prometheus probe every 100ms whose value must be below 1 unless ``expect`` says."""
    return {
        "name": name,
        "every": "100ms",
        "prometheus": {"url": url, "query": query, "timeout": "1s"},
        "expect": {"value": {"below": 1}, **expect},
    }


def run(
    folder: Path, drill: Path, *flags: str, then: Callable[[], None] = lambda: None
) -> tuple[int, dict[str, Any], list[dict[str, Any]]]:
    """``zonedrill run`` on the lab, calling ``then`` once the chaos phase is under way.

    Its exit code, result and samples; ``verify`` must agree with the result.
    """
    out = folder / f"run-{drill.stem}"
    command = [*ZONEDRILL, "run", str(drill), "--out", str(out), *flags]
    process = start_until(command, env=cli_env(folder / "state"), marker="▶ chaos")
    try:
        then()
        output, _ = process.communicate(timeout=120)
    finally:
        process.kill()
        process.wait()
    assert process.returncode in (0, 1), output
    result = json.loads((out / "result.json").read_text())
    verified = zonedrill(folder / "state", "verify", str(out))
    assert verified.returncode == 0, verified.stdout + verified.stderr
    lines = (out / "samples.jsonl").read_text().splitlines()
    return process.returncode, result, [json.loads(line) for line in lines]


def stop_later(server: Server) -> None:
    """Stop ``server`` half a second into the chaos phase."""
    time.sleep(0.5)
    server.stop()


def chaos(result: dict[str, Any], name: str) -> dict[str, Any]:
    """The figures of probe ``name``."""
    return next(p for p in result["probes"] if p["name"] == name)


BAD_ANSWERS = {
    # probe name: (query, the class each sample must fail with)
    "no-data": ("absent(vector(1))", "nodata"),
    "ambiguous": ('vector(0) or label_replace(vector(0), "x", "y", "", "")', "ambiguous"),
    "nan": ("vector(0) / 0", "value"),
    "inf": ("vector(1) / 0", "value"),
    "bad-query": ("sum(", "status"),  # 400, with Prometheus's parse error in the detail
    "range": ("vector(0)[1m:1s]", "answer"),
}


def test_every_answer_that_cannot_be_judged_fails_and_never_passes(tmp_path: Path) -> None:
    """One drill, one probe per bad answer: every sample fails with its class; the drill fails.

    A second server is stopped half a second into the chaos phase: the probe asking it passes until
    then and fails (refused) after.
    """
    with prometheus(tmp_path / "p1") as server, prometheus(tmp_path / "p2") as stopping:
        probes = [query_probe("good", server.url, "vector(0.5)")]
        probes += [query_probe(n, server.url, q) for n, (q, _) in BAD_ANSWERS.items()]
        probes.append(query_probe("empty-ok", server.url, "absent(vector(1))", noData="pass"))
        probes.append(query_probe("nowhere", f"http://127.0.0.1:{free_port()}", "vector(0)"))
        probes.append(query_probe("stopped", stopping.url, "vector(0)"))
        targets = [{"probe": p["name"], "availability": "100%"} for p in probes]
        drill = drill_file(
            tmp_path,
            "bad-answers",
            {
                "probes": probes,
                "targets": targets,
                "baseline": "0s",
                "duration": "3s",
                "steps": [{"at": "0s", "lose": "gasan", "mode": "cordon"}],
            },
        )
        code, result, samples = run(tmp_path, drill, then=lambda: stop_later(stopping))
    assert (code, result["outcome"]) == (1, "failed")
    failed = {c["probe"] for c in result["checks"] if not c["passed"]}
    assert failed == {*BAD_ANSWERS, "nowhere", "stopped"}
    for name, (_, error) in BAD_ANSWERS.items():
        mine = [s for s in samples if s["probe"] == name]
        assert {(s["passed"], s["error"]) for s in mine} == {(False, error)}, name
    assert all(s["passed"] for s in samples if s["probe"] in ("good", "empty-ok"))
    nowhere = {s["error"] for s in samples if s["probe"] == "nowhere"}
    assert nowhere == {"refused"}
    stopped = [s for s in samples if s["probe"] == "stopped"]
    assert (stopped[0]["passed"], stopped[-1]["passed"]) == (True, False)
    assert 0 < chaos(result, "stopped")["availability"] < 100


def test_a_lab_error_rate_fails_during_the_loss_and_recovers(tmp_path: Path) -> None:
    """The lab's /metrics scraped every 250ms; the error-rate query follows talk-api's outage."""
    port = free_port()
    with prometheus(tmp_path / "prometheus", scrape=(f"127.0.0.1:{port}",)) as server:
        error_rate = (
            'sum(rate(zonedrill_lab_requests_total{service="talk-api",code!="200"}[1s]))'
            " or vector(0)"
        )
        talk = {
            "name": "talk-api",
            "every": "100ms",
            "http": {"service": {"namespace": "messaging", "name": "talk-api"}},
        }
        drill = drill_file(
            tmp_path,
            "error-rate",
            {
                "probes": [talk, query_probe("error-rate", server.url, error_rate)],
                "targets": [
                    {"probe": "error-rate", "rto": "30s"},
                    {"probe": "talk-api", "rto": "30s"},
                ],
                "baseline": "2s",
                "duration": "20s",
                "steps": [{"at": "0s", "lose": "pangyo", "mode": "power-loss"}],
            },
        )
        code, result, _ = run(tmp_path, drill, f"--lab-metrics=127.0.0.1:{port}")
        scraped = _scraped(server)
    assert scraped, "Prometheus never scraped the lab"
    assert (code, result["outcome"]) == (0, "passed"), result
    down = chaos(result, "talk-api")["rto"][0]["seconds"]
    rate = chaos(result, "error-rate")
    assert rate["availability"] < 100
    seen = rate["rto"][0]["seconds"]
    # The rate's window (1s) and the scrapes (250ms) trail the outage by about a second.
    assert down < seen < down + 3, (down, seen)


def _scraped(server: Server) -> list[Any]:
    # The lab has stopped, its series gone stale: ask the last minute, not now.
    expr = 'max_over_time(zonedrill_lab_requests_total{service="talk-api"}[1m])'
    found: list[Any] = server.query(expr)["result"]
    return found


def answer(result: object, kind: str = "vector") -> str:
    """A successful query answer of ``kind`` holding ``result``."""
    return json.dumps({"status": "success", "data": {"resultType": kind, "result": result}})


ONE = [{"metric": {}, "value": [1, "0.001"]}]


@pytest.mark.parametrize(
    ("status", "body", "expected"),
    [
        (200, answer(ONE), None),
        (200, answer([1, "0.001"], "scalar"), None),
        (503, answer(ONE), "status"),  # a success in the body of a 5xx is not one
        (302, answer(ONE), "status"),
        (200, answer([{"metric": {}, "value": [1, False]}]), "answer"),
        (200, answer([{"metric": {}, "value": [1, "0.001", 3]}]), "answer"),
        (200, answer([{"metric": {}, "value": [1, " 0.005"]}]), "answer"),
        (200, answer([{"metric": {}, "value": [1, "0_0"]}]), "answer"),
        (200, answer([1, "x0"], "scalar"), "answer"),
        (200, answer(""), "answer"),  # not a list: not an empty answer either
        (200, answer({}), "answer"),
        (200, answer([{"metric": [], "value": [1, "0"]}]), "answer"),
        (200, answer([{"metric": {}, "value": [1, "1" + "0" * 400]}]), "value"),
        (200, answer([{"metric": {}, "value": [1, "-Inf"]}]), "value"),
        (200, "<html>", "answer"),
        (200, json.dumps({"status": "success"}), "answer"),
        (200, " " * (2 << 20), "answer"),  # too large to be one series
    ],
)
def test_only_one_finite_value_of_a_2xx_answer_passes(
    status: int, body: str, expected: str | None
) -> None:
    """Shapes no real Prometheus sends still fail, each with its class (noData: pass here)."""
    expect = PromExpect.model_validate({"value": {"below": 0.01}, "noData": "pass"})
    verdict = judge(expect, status, body)
    assert (verdict and verdict[0]) == expected, verdict


def test_a_prediction_with_every_target_on_a_prometheus_probe_is_refused(tmp_path: Path) -> None:
    """plan --simulate cannot ask Prometheus: with nothing left to score it refuses (exit 2)."""
    probes = [
        {"name": "talk-api", "http": {"service": {"namespace": "messaging", "name": "talk-api"}}},
        query_probe("error-rate", "http://127.0.0.1:9", "vector(0)"),
    ]
    targets = [{"probe": "error-rate", "rto": "5s"}]
    drill = drill_file(tmp_path, "all-on-prometheus", {"probes": probes, "targets": targets})
    done = zonedrill(tmp_path / "state", "plan", str(drill), "--simulate")
    assert done.returncode == 2, done.stdout + done.stderr
    assert "every target of all-on-prometheus is on a probe a simulation cannot ask" in done.stderr
