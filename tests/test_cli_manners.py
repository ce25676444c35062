"""What a newcomer meets first: bare zonedrill, version, completion, and errors that say how."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from orchestrator import __version__
from orchestrator.cli import main
from tests.support import REPO, ZONEDRILL

FLAGSHIP = REPO / "drills" / "pangyo-battery-fire.yaml"


def invoke(tmp_path: Path, *args: str) -> tuple[int, str]:
    """Run a zonedrill command in process; exit code and everything printed."""
    done = CliRunner().invoke(
        main, list(args), env={"ZONEDRILL_STATE_DIR": str(tmp_path), "KUBECONFIG": ""}
    )
    return done.exit_code, done.output


def test_bare_zonedrill_prints_help_and_exits_0(tmp_path: Path) -> None:
    """No command is not an error: the help, with the commands to start from."""
    code, out = invoke(tmp_path)
    assert code == 0
    assert "Start here:" in out
    assert "completion" in out


def test_version_command(tmp_path: Path) -> None:
    """zonedrill version says what --version says."""
    assert invoke(tmp_path, "version") == (0, f"zonedrill {__version__}\n")


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
def test_completion_scripts(tmp_path: Path, shell: str) -> None:
    """Each shell gets click's completion script for the zonedrill command."""
    code, out = invoke(tmp_path, "completion", shell)
    assert code == 0
    assert "_ZONEDRILL_COMPLETE" in out


def test_a_missing_kubeconfig_is_named(tmp_path: Path) -> None:
    """--kubeconfig naming no file exits 4 (the cluster cannot be reached), naming the path."""
    missing = tmp_path / "nowhere" / "config"
    code, out = invoke(tmp_path, "plan", str(FLAGSHIP), "--kubeconfig", str(missing))
    assert code == 4
    assert str(missing) in out
    assert "--target lab" in out


def test_a_kubernetes_manifest_is_named_as_such(tmp_path: Path) -> None:
    """validate on k8s/rbac.yaml says it is a manifest, not a drill, and what a drill is."""
    code, out = invoke(tmp_path, "validate", str(REPO / "k8s" / "rbac.yaml"))
    assert code == 2
    assert "this is a Kubernetes manifest" in out
    assert "ServiceAccount" in out


def test_lab_option_selects_the_lab(tmp_path: Path) -> None:
    """--lab with a drill that names no lab runs on that lab, without any kubeconfig."""
    drill = tmp_path / "drill.yaml"
    drill.write_text(FLAGSHIP.read_text().replace("  lab: labs/pangyo.yaml\n", ""))
    lab = REPO / "drills" / "labs" / "pangyo.yaml"
    code, out = invoke(tmp_path, "plan", str(drill), "--lab", str(lab), "-o", "json")
    assert code == 0, out
    assert json.loads(out)["target"] == "lab"


@pytest.mark.parametrize(
    "command",
    ["run", "validate", "plan", "report", "gate", "history", "verify", "rollback", "schema"],
)
def test_help_keeps_its_examples_apart_and_prints_no_escapes(tmp_path: Path, command: str) -> None:
    """No literal \\b or backspace; every example line of the docstring stays its own line."""
    code, out = invoke(tmp_path, command, "--help")
    assert code == 0
    assert "\\b" not in out
    assert "\b" not in out
    examples = [line.strip() for line in out.splitlines() if line.strip().startswith("zonedrill ")]
    assert all(line.count("zonedrill ") == 1 for line in examples), examples


@pytest.mark.parametrize("form", ["tilde", "list"])
def test_kubeconfig_forms_the_client_accepts_are_not_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, form: str
) -> None:
    """A literal ~ and a $KUBECONFIG list naming one existing file pass the check."""
    home = tmp_path / "home"
    (home / ".kube").mkdir(parents=True)
    (home / ".kube" / "config").write_text("apiVersion: v1\nkind: Config\n")
    monkeypatch.setenv("HOME", str(home))
    value = "~/.kube/config" if form == "tilde" else f"{tmp_path}/nope:~/.kube/config"
    done = CliRunner().invoke(
        main,
        ["plan", str(FLAGSHIP), "--target", "kube"],
        env={"ZONEDRILL_STATE_DIR": str(tmp_path), "KUBECONFIG": value},
    )
    assert "no kubeconfig file" not in done.output, done.output


def test_a_kubeconfig_list_with_no_file_names_them_all(tmp_path: Path) -> None:
    """$KUBECONFIG listing only missing files: exit 4, each path named."""
    value = f"{tmp_path}/a:{tmp_path}/b"
    done = CliRunner().invoke(
        main,
        ["plan", str(FLAGSHIP), "--target", "kube"],
        env={"ZONEDRILL_STATE_DIR": str(tmp_path), "KUBECONFIG": value},
    )
    assert done.exit_code == 4
    assert f"{tmp_path}/a, {tmp_path}/b ($KUBECONFIG)" in done.output


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (["run", "--nope"], "error: No such option '--nope'."),
        (["schema", "nope"], "error: Invalid value for '[drill|lab|gameday]'"),
        (["validate", "/nowhere/drill.yaml"], "error: /nowhere/drill.yaml: no such file"),
        (["gate", "--max-age", "7x", "--drill", "d"], 'error: --max-age: "7x" is not an age'),
        (["gate", "some/run", "--last", "3"], "error: gate: --last counts runs in the history"),
    ],
)
def test_every_error_goes_to_stderr_in_one_style(args: list[str], said: str) -> None:
    """Usage errors and refusals alike: `error: ...` on standard error, nothing on stdout."""
    done = subprocess.run(
        [*ZONEDRILL, *args], capture_output=True, text=True, check=False, timeout=60
    )
    assert done.returncode == 2, done.stderr
    assert done.stdout == ""
    assert said in done.stderr
    assert "Error:" not in done.stderr
    assert "Traceback" not in done.stderr


def _bad_drill(folder: Path, kind: str) -> tuple[Path, str]:
    bad = folder / "bad.yaml"
    bad.write_text(f"apiVersion: zonedrill/v1\nkind: {kind}\nmetadata: {{name: Bad_Name}}\n")
    return bad, "metadata.name"


def _bad_result(folder: Path, _: str) -> tuple[Path, str]:
    run = folder / "run"
    run.mkdir()
    (run / "result.json").write_text('{"apiVersion": "zonedrill/v1", "kind": "DrillResult"}')
    return run, "runId"


@pytest.mark.parametrize(
    ("command", "kind", "bad"),
    [
        (["run"], "Drill", _bad_drill),
        (["plan"], "Drill", _bad_drill),
        (["gameday", "plan"], "GameDay", _bad_drill),
        (["gameday", "run"], "GameDay", _bad_drill),
        (["verify"], "", _bad_result),
        (["gate"], "", _bad_result),
    ],
    ids=lambda value: " ".join(value) if isinstance(value, list) else "",
)
def test_o_json_of_refused_input_prints_why_as_validate_does(
    tmp_path: Path, command: list[str], kind: str, bad: Any
) -> None:
    """A script that asked for JSON gets JSON: the problems, located, and exit 2."""
    given, first = bad(tmp_path, kind)
    done = subprocess.run(
        [*ZONEDRILL, *command, str(given), "-o", "json"],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
        env={**os.environ, "ZONEDRILL_STATE_DIR": str(tmp_path / "state")},
    )
    assert done.returncode == 2, done.stderr
    document = json.loads(done.stdout)
    assert (document["kind"], document["valid"]) == ("ValidateResult", False)
    assert document["files"][0]["problems"][0]["path"] == first
    assert "error: " in done.stderr


@pytest.mark.parametrize("command", [["history"], ["run", str(FLAGSHIP)]], ids=" ".join)
def test_a_state_directory_that_is_a_file_is_refused_in_words(
    tmp_path: Path, command: list[str]
) -> None:
    """$ZONEDRILL_STATE_DIR naming a file: exit 2 and how to fix it, never a traceback."""
    taken = tmp_path / "state"
    taken.write_text("not a folder")
    done = subprocess.run(
        [*ZONEDRILL, *command],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
        env={**os.environ, "ZONEDRILL_STATE_DIR": str(taken)},
    )
    assert done.returncode == 2, done.stderr
    assert f"error: $ZONEDRILL_STATE_DIR: {taken} is not a folder" in done.stderr
    assert "Traceback" not in done.stderr
