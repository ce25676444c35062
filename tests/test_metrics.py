"""``zonedrill metrics``, ``--push`` and ``--serve`` against Debian's Prometheus and Pushgateway.

A game day pushed at its end is what Prometheus answers for it (score, outcome, RTO); the text
passes ``promtool check metrics``; a result that no longer verifies is left out; the alerting
rules and the Grafana dashboard of docs/observability.md are checked by promtool and by the real
server.
"""

from __future__ import annotations

import json
import subprocess
import urllib.request
from pathlib import Path
from typing import Any

from prometheus_client.openmetrics.parser import text_string_to_metric_families
from ruamel.yaml import YAML

from tests.prometheus import PROMTOOL, free_port, need, prometheus, pushgateway
from tests.support import REPO, ZONEDRILL, cli_env, start_until, zonedrill
from tests.test_gameday import write_drill, write_gameday

RULES = REPO / "docs" / "observability" / "zonedrill-rules.yaml"
DASHBOARD = REPO / "docs" / "observability" / "zonedrill-dashboard.json"


def value(found: list[dict[str, Any]]) -> float:
    """The one series' value."""
    assert len(found) == 1, found
    return float(found[0]["value"][1])


def test_a_game_day_pushed_at_its_end_is_what_prometheus_answers(tmp_path: Path) -> None:
    """gameday run --push: the drills' and the game day's last scores, outcomes and RTOs."""
    with pushgateway(tmp_path / "pg") as gateway:
        where = gateway.url.removeprefix("http://")
        with prometheus(tmp_path / "prom", scrape=(where,)) as server:
            first = write_drill(tmp_path, "one")
            second = write_drill(tmp_path, "two", service="packed")
            gameday = write_gameday(tmp_path, [first, second])
            out = tmp_path / "out"
            done = zonedrill(
                tmp_path / "state",
                "gameday", "run", str(gameday), "--out", str(out), "--push", gateway.url,
            )  # fmt: skip
            assert done.returncode in (0, 1), done.stdout + done.stderr
            day = json.loads((out / "gameday.json").read_text())
            score = value(server.answer('zonedrill_gameday_last_score{gameday="gd"}'))
            assert score == day["meanScore"]
            for run in day["runs"]:
                result = json.loads((out / run["result"] / "result.json").read_text())
                drill = result["drill"]
                found = server.answer(f'zonedrill_drill_last_score{{drill="{drill}"}}')
                assert value(found) == result["score"]
                outcome = f'zonedrill_drill_last_outcome{{drill="{drill}"}} == 1'
                assert server.answer(outcome)[0]["metric"]["outcome"] == result["outcome"]
                worst = max(r["seconds"] for p in result["probes"] for r in p["rto"])
                rto = f'max(zonedrill_drill_last_worst_rto_seconds{{drill="{drill}"}})'
                assert value(server.answer(rto)) == worst
            runs = server.answer('sum(zonedrill_drill_runs_total{drill="one"})')
            assert value(runs) == 1


def test_the_served_metrics_pass_promtool(tmp_path: Path) -> None:
    """--serve answers Prometheus's text format, which promtool checks; stdout is OpenMetrics."""
    need(PROMTOOL)
    state = tmp_path / "state"
    drill = write_drill(tmp_path, "one")
    ran = zonedrill(state, "run", str(tmp_path / drill), "--out", str(tmp_path / "run"))
    assert ran.returncode == 0, ran.stdout + ran.stderr
    printed = zonedrill(state, "metrics")
    assert printed.returncode == 0, printed.stderr
    parsed = text_string_to_metric_families(printed.stdout)  # type: ignore[no-untyped-call]
    families = {f.name for f in parsed}
    assert {"zonedrill_drill_last_score", "zonedrill_drill_runs"} <= families
    address = f"127.0.0.1:{free_port()}"
    command = [*ZONEDRILL, "metrics", "--serve", address]
    served = start_until(command, env=cli_env(state), marker="serving /metrics")
    try:
        with urllib.request.urlopen(f"http://{address}/metrics", timeout=5) as answer:
            text = answer.read()
    finally:
        served.terminate()
        served.communicate(timeout=10)
    checked = subprocess.run(
        [PROMTOOL, "check", "metrics"], input=text, capture_output=True, check=False
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert (
        b'zonedrill_drill_last_score{cluster="lab/three",cluster_uid="",drill="one"} 100.0' in text
    )


def test_a_result_that_no_longer_verifies_is_left_out(tmp_path: Path) -> None:
    """Its samples edited after the run: counted as unverified, never shown as a figure."""
    state = tmp_path / "state"
    drill = write_drill(tmp_path, "one")
    for name in ("first", "second"):
        ran = zonedrill(state, "run", str(tmp_path / drill), "--out", str(tmp_path / name))
        assert ran.returncode == 0, ran.stdout + ran.stderr
    samples = tmp_path / "second" / "samples.jsonl"
    samples.write_text(samples.read_text().replace('"passed":true', '"passed":false', 1))
    printed = zonedrill(state, "metrics").stdout
    assert 'zonedrill_unverified_results{kind="run"} 1.0' in printed
    runs = 'zonedrill_drill_runs_total{cluster="lab/three",cluster_uid="",drill="one",'
    assert runs + 'outcome="passed"} 1.0' in printed  # the first run only


def test_the_alerting_rules_fire_when_no_scheduled_game_day_passed_for_8_days(
    tmp_path: Path,
) -> None:
    """promtool check rules, and promtool test rules on series a scheduled game day pushes."""
    need(PROMTOOL)
    checked = subprocess.run(
        [PROMTOOL, "check", "rules", str(RULES)], capture_output=True, check=False
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    labels = 'gameday="weekly",cluster="kube",trigger="schedule",instance="c1"'
    day = 86400
    tests = {
        "rule_files": [str(RULES)],
        "evaluation_interval": "1h",
        "tests": [
            {
                "interval": "1d",
                "input_series": [
                    # Passed on day 0, ran (and failed) every day after.
                    {"series": f"zonedrill_gameday_last_pass_timestamp_seconds{{{labels}}}",
                     "values": "0x12"},
                    {"series": f"zonedrill_gameday_last_run_timestamp_seconds{{{labels}}}",
                     "values": f"0+{day}x12"},
                ],
                "alert_rule_test": [
                    {"eval_time": "7d", "alertname": "ZonedrillNoPassingScheduledGameDay",
                     "exp_alerts": []},
                    {"eval_time": "9d", "alertname": "ZonedrillNoPassingScheduledGameDay",
                     "exp_alerts": [{"exp_labels": {"gameday": "weekly", "instance": "c1",
                                                    "severity": "warning"},
                                     "exp_annotations": alert_annotations("weekly", "c1")}]},
                ],
            }
        ],
    }  # fmt: skip
    path = tmp_path / "rules.test.yaml"
    path.write_text(json.dumps(tests))  # JSON is YAML
    tested = subprocess.run(
        [PROMTOOL, "test", "rules", str(path)], capture_output=True, check=False
    )
    assert tested.returncode == 0, tested.stdout + tested.stderr


def alert_annotations(gameday: str, instance: str) -> dict[str, str]:
    """The alert's annotations, as its templates fill them in."""
    return {
        "summary": f"Game day {gameday} has not passed on schedule for 8 days ({instance})",
        "description": f"Run zonedrill history and zonedrill gate --gameday {gameday} on that "
        "cluster to see why.",
    }


def test_every_dashboard_query_runs_on_prometheus(tmp_path: Path) -> None:
    """Each panel's PromQL (and the cluster variable's) is accepted by the real server."""
    dashboard = json.loads(DASHBOARD.read_text())
    exprs = [t["expr"] for p in dashboard["panels"] for t in p.get("targets", [])]
    assert len(exprs) >= 5
    with prometheus(tmp_path / "prom") as server:
        for expr in exprs:
            server.query(expr.replace("$cluster", ".*"))  # a 400 raises: not PromQL
    rows = [p for p in dashboard["panels"] if p["type"] == "row"]
    assert rows[0]["repeat"] == "cluster"  # one row per cluster


def test_a_schedule_given_push_has_its_cronjob_push_after_each_game_day(tmp_path: Path) -> None:
    """schedule --push URL: the CronJob's command ends with --push=URL; a bad URL is exit 2."""
    gameday = REPO / "drills" / "weekly-dc-loss.gameday.yaml"
    url = "http://pushgateway.monitoring:9091"
    done = zonedrill(tmp_path, "schedule", str(gameday), "--image", "r.example/z:1", "--push", url)
    assert done.returncode == 0, done.stderr
    (job,) = [d for d in YAML(typ="safe").load_all(done.stdout) if d and d["kind"] == "CronJob"]
    container = job["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]
    assert container["args"][-1] == f"--push={url}"
    refused = zonedrill(tmp_path, "schedule", str(gameday), "--image", "r:1", "--push", "nope")
    assert refused.returncode == 2
    assert "--push: expected the Pushgateway's http(s) URL" in refused.stderr
