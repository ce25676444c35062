"""The gating examples (GitHub Actions, GitLab CI, schedule, Argo AnalysisTemplate) stay valid.

Every zonedrill command line in them must parse with today's CLI, and the Kubernetes objects
must be accepted by the test API server in a server-side dry run.
"""

from __future__ import annotations

import shlex
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import click
import pytest
from ruamel.yaml import YAML

from orchestrator.cli import main
from tests.support import REPO, ZONEDRILL

SHELL_OPERATORS = {">", ">>", "|", "||", "&&", ";"}
GITHUB = REPO / "docs" / "ci" / "github-actions.yml"
GITLAB = REPO / "docs" / "ci" / "gitlab-ci.yml"
SCHEDULED = REPO / "k8s" / "weekly-dc-loss.schedule.yaml"
SCHEDULE_COMMAND = [
    "schedule",
    "drills/weekly-dc-loss.gameday.yaml",
    "--image",
    "registry.example/zonedrill:0.1.0",
]
ANALYSIS = REPO / "k8s" / "argo-analysis-template.yaml"


def documents(path: Path) -> list[Any]:
    """Every YAML document in ``path``."""
    return [d for d in YAML(typ="safe").load_all(path.read_text()) if d]


def shell_commands(script: str) -> Iterator[list[str]]:
    """The zonedrill invocations in a shell snippet, without redirections and `|| true`."""
    for line in script.replace("\\\n", " ").splitlines():
        if not line.strip().startswith("zonedrill "):
            continue
        lexer = shlex.shlex(line, posix=True, punctuation_chars=True)
        lexer.whitespace_split = True
        words = list(lexer)
        ends = [i for i, word in enumerate(words) if word in SHELL_OPERATORS]
        yield words[1 : ends[0] if ends else len(words)]


def parse_cli(args: list[str]) -> click.Context:
    """Parse ``args`` as the zonedrill CLI would; raise click.UsageError when it would refuse."""
    parent = click.Context(main, info_name="zonedrill")
    command = main.get_command(parent, args[0])
    assert command is not None, f"no zonedrill command {args[0]!r}"
    if isinstance(command, click.Group):  # gameday run ...: the subcommand's own options
        group = click.Context(command, info_name=args[0], parent=parent)
        return parse_cli_in(group, command, args[1:])
    return command.make_context(args[0], list(args[1:]), parent=parent)


def parse_cli_in(parent: click.Context, group: click.Group, args: list[str]) -> click.Context:
    """Parse ``args`` as a subcommand of ``group``."""
    command = group.get_command(parent, args[0])
    assert command is not None, f"no zonedrill {parent.info_name} command {args[0]!r}"
    return command.make_context(args[0], list(args[1:]), parent=parent)


def github_commands() -> list[list[str]]:
    """zonedrill command lines of the GitHub Actions job."""
    (workflow,) = documents(GITHUB)
    steps = workflow["jobs"]["drill"]["steps"]
    return [c for s in steps if "run" in s for c in shell_commands(s["run"])]


def gitlab_commands() -> list[list[str]]:
    """zonedrill command lines of the GitLab CI job."""
    (pipeline,) = documents(GITLAB)
    return [c for line in pipeline["datacenter-drill"]["script"] for c in shell_commands(line)]


def container_args(path: Path) -> list[list[str]]:
    """The args of every container in the manifests of ``path`` (they are zonedrill's)."""
    return [c["args"] for document in documents(path) for c in _containers(document)]


def _containers(node: Any) -> Iterator[dict[str, Any]]:
    if isinstance(node, dict):
        if "containers" in node:
            yield from node["containers"]
        for value in node.values():
            yield from _containers(value)
    elif isinstance(node, list):
        for value in node:
            yield from _containers(value)


def test_github_job_runs_reports_and_gates_with_valid_commands() -> None:
    """The workflow runs a drill, writes the step summary, and gates; all lines parse."""
    commands = github_commands()
    assert [c[0] for c in commands] == ["run", "report", "gate", "gate"]
    assert parse_cli(commands[-1]).params["from_cluster"] is True
    for command in commands:
        parse_cli(command)


def test_gitlab_job_publishes_junit_and_gates_with_valid_commands() -> None:
    """The job keeps the JUnit report for the merge request and gates; all lines parse."""
    (pipeline,) = documents(GITLAB)
    job = pipeline["datacenter-drill"]
    assert job["artifacts"]["reports"]["junit"] == "drill-run/junit.xml"
    commands = gitlab_commands()
    assert [c[0] for c in commands] == ["run", "report", "gate", "gate"]
    assert parse_cli(commands[-1]).params["from_cluster"] is True
    for command in commands:
        parse_cli(command)


def test_manifest_commands_parse() -> None:
    """The CronJob runs the scheduled game day and the AnalysisTemplate gates on it."""
    (scheduled,) = container_args(SCHEDULED)
    (gating,) = container_args(ANALYSIS)
    assert parse_cli(scheduled).params["trigger"] == "schedule"
    gate = parse_cli(gating).params
    assert (gate["trigger"], gate["max_age"], gate["min_score"]) == ("schedule", "7d", 90.0)
    assert (gate["gameday"], gate["from_cluster"]) == ("{{args.gameday}}", True)
    (template,) = documents(ANALYSIS)
    assert template["spec"]["args"] == [{"name": "gameday", "value": "weekly-dc-loss"}]


def test_the_schedule_example_is_what_schedule_prints() -> None:
    """k8s/weekly-dc-loss.schedule.yaml is current: regenerate it with SCHEDULE_COMMAND."""
    done = subprocess.run(
        [*ZONEDRILL, *SCHEDULE_COMMAND], capture_output=True, text=True, cwd=REPO, check=False
    )
    assert done.returncode == 0, done.stderr
    assert SCHEDULED.read_text() == done.stdout


def test_a_wrong_option_would_be_caught() -> None:
    """The check above is not vacuous: an unknown option fails to parse."""
    with pytest.raises(click.UsageError):
        parse_cli(["gate", "--min-scroe", "90", "x"])


def dry_run(control_plane: Any, path: Path) -> str:
    """kubectl apply --dry-run=server; return its output, fail with its error."""
    done = subprocess.run(
        control_plane.kubectl("apply", "--dry-run=server", "-f", str(path)),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.mark.cluster
def test_cronjob_and_analysis_job_are_accepted_by_the_api_server(
    control_plane: Any, kube: Any, tmp_path: Path
) -> None:
    """The schedule's CronJob and the Job inside the AnalysisTemplate pass server-side checks."""
    assert "cronjob.batch/zonedrill-weekly-dc-loss created (server dry run)" in dry_run(
        control_plane, SCHEDULED
    )
    (template,) = documents(ANALYSIS)
    assert template["kind"] == "AnalysisTemplate"
    job_spec = template["spec"]["metrics"][0]["provider"]["job"]["spec"]
    job = {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": "zonedrill-gate", "namespace": "zonedrill"},
        "spec": job_spec,
    }
    path = tmp_path / "job.yaml"
    YAML().dump(job, path)
    assert "job.batch/zonedrill-gate created (server dry run)" in dry_run(control_plane, path)
