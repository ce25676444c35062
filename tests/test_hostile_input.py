"""Hostile and broken input: located errors and exit 2, never a traceback (issue 9, items 2-3)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from tests.support import ZONEDRILL
from tests.test_validation import VALID, edit, problems_of


def validate(*args: str) -> subprocess.CompletedProcess[str]:
    """Run ``zonedrill validate`` and return what it did."""
    return subprocess.run(
        [*ZONEDRILL, "validate", *args], capture_output=True, text=True, check=False
    )


HOSTILE = [
    # (case, old, new, field path or "" for the whole file, words in the message)
    (
        "python tag",
        "name: d",
        "name: !!python/object/apply:os.system ['true']",
        "metadata.name",
        "tags",
    ),
    ("local tag", "every: 1s", "every: !foo [a]", "spec.probes[0].every", "tags"),
    ("kind is a mapping", "kind: Drill", "kind: {a: 1}", "kind", "expected"),
    ("complex key", "  duration: 60s", "  duration: 60s\n  ? [a, b]\n  : 1", "spec", "key"),
    ("lone surrogate", "name: d", 'name: "\\ud800"', "metadata.name", "Unicode"),
    ("infinite weight", "rto: 10s}", "rto: 10s, weight: .inf}", "spec.targets[0].weight", "finite"),
    ("nan weight", "rto: 10s}", "rto: 10s, weight: .nan}", "spec.targets[0].weight", "finite"),
    (
        "huge integer",
        "rto: 10s}",
        "rto: 10s, weight: 9007199254740993}",
        "spec.targets[0].weight",
        "2^53",
    ),
    (
        "400-digit duration",
        "duration: 60s",
        "duration: " + "9" * 400 + "s",
        "spec.duration",
        "too long",
    ),
    (
        "non-ASCII header",
        "url: http://127.0.0.1:9/",
        "url: http://127.0.0.1:9/\n        headers: {X-Team: 메시지}",
        "spec.probes[0].http.headers",
        "printable ASCII",
    ),
    (
        "CRLF header",
        "url: http://127.0.0.1:9/",
        'url: http://127.0.0.1:9/\n        headers: {X-A: "a\\r\\nB: c"}',
        "spec.probes[0].http.headers",
        "CR or LF",
    ),
    (
        "header name with a space",
        "url: http://127.0.0.1:9/",
        "url: http://127.0.0.1:9/\n        headers: {'X A': b}",
        "spec.probes[0].http.headers",
        "token",
    ),
    ("too few samples", "every: 1s", "every: 1m", "spec.probes[0].every", "fewer than 10"),
    (
        "lab path too long",
        "  duration: 60s",
        "  duration: 60s\n  lab: " + "x" * 300,
        "spec.lab",
        "not a usable path",
    ),
    (
        "no target",
        "  targets:\n    - {probe: api, rto: 10s}\n",
        "",
        "spec.targets",
        "at least one target",
    ),
]


@pytest.mark.parametrize(
    ("case", "old", "new", "path", "words"), HOSTILE, ids=[h[0] for h in HOSTILE]
)
def test_hostile_values_are_located_problems(
    tmp_path: Path, case: str, old: str, new: str, path: str, words: str
) -> None:
    """Each hostile value is a problem at its field (with a line), not a crash or a value."""
    found = problems_of(tmp_path, edit(old, new))
    match = [p for p in found if p.path == path]
    assert match, f"{case}: nothing at {path}: {[str(p) for p in found]}"
    assert words in match[0].message, str(match[0])
    assert match[0].line is not None


def test_a_type_error_does_not_hide_a_reference_error(tmp_path: Path) -> None:
    """A bare ``every: 5`` and a lost zone that does not exist are both reported."""
    paths = {
        p.path
        for p in problems_of(
            tmp_path, edit("every: 1s", "every: 5").replace("lose: a}", "lose: z}")
        )
    }
    assert {"spec.probes[0].every", "spec.steps[0].lose"} <= paths


@pytest.mark.parametrize(
    "text",
    [
        "a: " + "[" * 300 + "]" * 300,
        "a: " + "9" * 5000,
        "apiVersion: zonedrill/v1\nkind: Drill\nspec: " + "{a: " * 100 + "}" * 100,
    ],
    ids=["nested 300 deep", "5000-digit integer", "mapping nested 100 deep"],
)
def test_pathological_documents_are_refused(tmp_path: Path, text: str) -> None:
    """Deep nesting and enormous numbers are refused as the file's problem."""
    assert problems_of(tmp_path, text)


def test_dev_zero_and_a_fifo_are_refused_at_once(tmp_path: Path) -> None:
    """/dev/zero (endless) and a FIFO (blocks its reader) are refused as not regular files."""
    fifo = tmp_path / "drill.yaml"
    os.mkfifo(fifo)
    done = subprocess.run(
        [*ZONEDRILL, "validate", "/dev/zero", str(fifo)],
        capture_output=True,
        text=True,
        check=False,
        timeout=30,
    )
    assert done.returncode == 2, done.stderr
    assert done.stderr.count("not a regular file") == 2
    assert "Traceback" not in done.stderr


def test_a_larger_file_is_refused_by_what_is_read(tmp_path: Path) -> None:
    """A file one byte over the limit is refused; the limit counts bytes read."""
    big = tmp_path / "big.yaml"
    big.write_text("#" * (1024 * 1024) + "\n")
    assert "over 1048576 bytes" in validate(str(big)).stderr


@pytest.mark.parametrize(
    "metadata",
    ["{<<: {name: merged}}", "!!omap [{name: merged}]"],
    ids=["merge key", "omap"],
)
def test_merge_keys_and_ordered_maps_are_read_not_crashed_on(tmp_path: Path, metadata: str) -> None:
    """YAML merge keys and !!omap load as plain mappings, located at their map."""
    path = tmp_path / "lab.yaml"
    path.write_text(
        "apiVersion: zonedrill/v1\nkind: Lab\nmetadata: "
        + metadata
        + "\nspec: {zones: {a: {nodes: 1}}}\n"
    )
    done = validate(str(path))
    assert done.returncode == 0, done.stdout + done.stderr


def test_a_lab_path_in_a_symlink_loop_is_a_located_problem(tmp_path: Path) -> None:
    """spec.lab pointing into a symlink loop: exit 2 at spec.lab, no RuntimeError."""
    (tmp_path / "loop").symlink_to(tmp_path / "loop")
    found = problems_of(tmp_path, edit("  duration: 60s", "  duration: 60s\n  lab: loop"))
    assert [p.path for p in found] == ["spec.lab"]


def test_user_text_is_never_console_markup(tmp_path: Path) -> None:
    """A file named ``[bold]prod.yaml`` and a ``[/]`` in a message print as written."""
    path = tmp_path / "[bold]prod.yaml"
    path.write_text(edit("lose: a}", "lose: '[/]'}"))
    done = validate(str(path))
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    assert "[bold]prod.yaml" in done.stderr.replace("\n", "")
    assert '"[/]"' in done.stderr


def test_escape_sequences_in_user_text_never_reach_the_terminal(tmp_path: Path) -> None:
    """An ESC sequence or other control character in a file's text is dropped from the output."""
    path = tmp_path / "drill.yaml"
    path.write_text(edit("lose: a}", 'lose: "\\e[2J\\e]0;owned\\a\\x01z"}'))
    done = validate(str(path))
    assert done.returncode == 2
    assert "\x1b" not in done.stdout + done.stderr
    assert "\x01" not in done.stdout + done.stderr
    assert 'no zone named "z"' in done.stderr


def test_the_valid_drill_still_validates(tmp_path: Path) -> None:
    """The base of every hostile case is itself valid through the command."""
    path = tmp_path / "ok.yaml"
    path.write_text(VALID)
    assert validate(str(path)).returncode == 0


@pytest.mark.parametrize("command", ["validate", "plan"])
@pytest.mark.parametrize(
    ("old", "new", "located", "words"),
    [
        ("name: talk-api, port", "name: talk-apj, port", ":19:", "no service messaging/talk-apj"),
        ("power-zone: ansan}", "power-zone: ansn}", ":14:", "matches no node"),
    ],
    ids=["service typo", "zone selector typo"],
)
def test_a_drill_is_checked_against_its_lab_before_anything_runs(
    tmp_path: Path, command: str, old: str, new: str, located: str, words: str
) -> None:
    """A probe of a service the lab lacks, or a selector no lab node matches: exit 2, located."""
    source = Path("drills/pangyo-battery-fire.yaml").read_text()
    (tmp_path / "labs").mkdir()
    (tmp_path / "labs" / "pangyo.yaml").write_text(Path("drills/labs/pangyo.yaml").read_text())
    drill = tmp_path / "drill.yaml"
    drill.write_text(source.replace(old, new, 1))
    done = subprocess.run(
        [*ZONEDRILL, command, str(drill)], capture_output=True, text=True, check=False
    )
    out = done.stderr.replace("\n", "")
    assert done.returncode == 2, out
    assert f"{drill}{located}" in out
    assert words in out


def test_a_lab_that_could_never_drain_or_is_too_large_is_refused(tmp_path: Path) -> None:
    """A PDB keeping more pods than there are replicas, and 15,000 nodes, are both refused."""
    text = (
        "apiVersion: zonedrill/v1\nkind: Lab\nmetadata: {name: l}\nspec:\n  zones:\n"
        "    a: {nodes: 5000}\n    b: {nodes: 5000}\n    c: {nodes: 5000}\n  services:\n"
        "    - {name: s, replicas: 6, pdb: {minAvailable: 100}}\n"
    )
    paths = {p.path for p in problems_of(tmp_path, text, name="lab.yaml")}
    assert paths == {"spec.services[0].pdb.minAvailable", "spec.zones"}
