"""Validation of drill and lab files: located errors, all reported at once (spec §1)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from orchestrator.drill import load_file
from orchestrator.errors import InvalidInputError, Problem
from orchestrator.yamlfile import MAX_FILE_BYTES
from tests.support import ZONEDRILL

VALID = """\
apiVersion: zonedrill/v1
kind: Drill
metadata:
  name: d
spec:
  zones:
    a: {nodeSelector: {zone: a}}
    b: {nodeSelector: {zone: b}}
  probes:
    - name: api
      http:
        url: http://127.0.0.1:9/
      every: 1s
  duration: 60s
  steps:
    - {at: 0s, lose: a}
    - {at: 30s, restore: a}
  targets:
    - {probe: api, rto: 10s}
"""


def problems_of(tmp_path: Path, text: str, name: str = "drill.yaml") -> list[Problem]:
    """Write ``text`` and return the problems loading it reports."""
    path = tmp_path / name
    path.write_text(text)
    with pytest.raises(InvalidInputError) as caught:
        load_file(path)
    return caught.value.problems


def edit(old: str, new: str) -> str:
    """The valid drill with one fragment replaced."""
    assert old in VALID
    return VALID.replace(old, new, 1)


def test_the_base_drill_is_valid(tmp_path: Path) -> None:
    """The fixture every case edits is itself valid."""
    (tmp_path / "ok.yaml").write_text(VALID)
    assert load_file(tmp_path / "ok.yaml").metadata.name == "d"


RULES = [
    # (what is broken, old, new, field path, the text the position must point at, message words)
    (
        "duplicate probe",
        "  duration: 60s",
        "    - {name: api, http: {url: 'http://x/'}}\n  duration: 60s",
        "spec.probes[1].name",
        "api, http: {url: 'http://x/'}",
        "used twice",
    ),
    (
        "unknown zone in lose",
        "lose: a}",
        "lose: c}",
        "spec.steps[0].lose",
        "c}",
        'no zone named "c"',
    ),
    (
        "unknown zone in restore",
        "restore: a}",
        "restore: q}",
        "spec.steps[1].restore",
        "q}",
        'no zone named "q"',
    ),
    (
        "unknown probe in target",
        "{probe: api, rto",
        "{probe: apx, rto",
        "spec.targets[0].probe",
        "apx, rto",
        "apx",
    ),
    (
        "lost twice",
        "{at: 30s, restore: a}",
        "{at: 30s, lose: a}",
        "spec.steps[1].lose",
        "a}\n  targets",
        "already lost",
    ),
    (
        "steps out of order",
        "{at: 30s, restore: a}",
        "{at: 30s, lose: b}\n    - {at: 10s, restore: a}",
        "spec.steps[2].at",
        "10s, restore",
        "time order",
    ),
    (
        "step at or after duration",
        "{at: 30s, restore: a}",
        "{at: 60s, restore: a}",
        "spec.steps[1].at",
        "60s, restore",
        "less than spec.duration",
    ),
    (
        "every below 50ms",
        "every: 1s",
        "every: 10ms",
        "spec.probes[0].every",
        "10ms",
        "at least 50ms",
    ),
    (
        "timeout above 30s",
        "url: http://127.0.0.1:9/",
        "url: http://127.0.0.1:9/\n        timeout: 31s",
        "spec.probes[0].http.timeout",
        "31s",
        "at most 30s",
    ),
    (
        "a probe of no kind",
        "      http:\n        url: http://127.0.0.1:9/\n",
        "",
        "spec.probes[0]",
        "name: api",
        "expected exactly one of the probe kinds: http",
    ),
    (
        "a probe kind misspelt",
        "      http:\n",
        "      htpp:\n",
        "spec.probes[0]",
        "name: api",
        'did you mean "http" for "htpp"?',
    ),
    (
        "both url and service",
        "url: http://127.0.0.1:9/",
        "url: http://127.0.0.1:9/\n        service: {namespace: n, name: s}",
        "spec.probes[0].http",
        "url: http://127.0.0.1:9/\n        service",
        "exactly one",
    ),
    (
        "restore of a zone not lost",
        "    - {at: 0s, lose: a}\n    - {at: 30s, restore: a}\n",
        "    - {at: 0s, lose: a}\n    - {at: 30s, restore: b}\n",
        "spec.steps[1].restore",
        "b}\n",
        "not lost",
    ),
    (
        "bare number duration",
        "duration: 60s",
        "duration: 60",
        "spec.duration",
        "60\n",
        'write "60s"',
    ),
    (
        "bad duration",
        "duration: 60s",
        "duration: sixty",
        "spec.duration",
        "sixty",
        "not a duration",
    ),
    (
        "unknown field with hint",
        "      every: 1s",
        "      evry: 1s",
        "spec.probes[0].evry",
        "evry",
        'did you mean "every"',
    ),
    ("missing required field", "  duration: 60s\n", "", "spec.duration", "zones:", "required"),
    ("bad mode", "lose: a}", "lose: a, mode: unplug}", "spec.steps[0].mode", "unplug", "cordon"),
    ("bad name", "name: d", "name: D_1", "metadata.name", "D_1", "DNS-1123"),
    (
        "bad percentage",
        "rto: 10s}",
        "availability: 99}",
        "spec.targets[0].availability",
        "99}",
        'write "99%"',
    ),
]


def position_of(text: str, token: str) -> tuple[int, int]:
    """1-based line and column of the only occurrence of ``token`` in ``text``."""
    assert text.count(token) == 1, f"token {token!r} is not unique"
    before = text[: text.index(token)]
    return before.count("\n") + 1, len(before) - (before.rfind("\n") + 1) + 1


@pytest.mark.parametrize(
    ("case", "old", "new", "path", "token", "words"), RULES, ids=[r[0] for r in RULES]
)
def test_each_rule_is_located(
    tmp_path: Path, case: str, old: str, new: str, path: str, token: str, words: str
) -> None:
    """Each broken rule names its field path, the line and column of the culprit, and the fix."""
    text = edit(old, new)
    found = problems_of(tmp_path, text)
    match = [p for p in found if p.path == path]
    assert match, f"{case}: no problem at {path}; got {[str(p) for p in found]}"
    assert (match[0].line, match[0].column) == position_of(text, token), str(match[0])
    assert words in match[0].message
    assert match[0].file.endswith("drill.yaml")


def test_a_drill_without_lose_steps_is_refused(tmp_path: Path) -> None:
    """At least one lose step is required."""
    text = edit(
        "    - {at: 0s, lose: a}\n    - {at: 30s, restore: a}\n", "    - {at: 0s, restore: a}\n"
    )
    assert "spec.steps" in [p.path for p in problems_of(tmp_path, text)]


def test_a_drill_without_probes_is_refused(tmp_path: Path) -> None:
    """At least one probe is required, and (v1.1) at least one target."""
    text = edit(
        "  probes:\n    - name: api\n      http:\n        url: http://127.0.0.1:9/\n"
        "      every: 1s\n",
        "  probes: []\n",
    ).replace("  targets:\n    - {probe: api, rto: 10s}\n", "")
    assert [p.path for p in problems_of(tmp_path, text)] == ["spec.probes", "spec.targets"]


def test_every_error_of_a_file_is_reported(tmp_path: Path) -> None:
    """Three independent schema errors come back together, not just the first."""
    text = (
        edit("every: 1s", "every: 1")
        .replace("duration: 60s", "duration: 1")
        .replace("name: d", "name: Bad")
    )
    paths = {p.path for p in problems_of(tmp_path, text)}
    assert {"spec.probes[0].every", "spec.duration", "metadata.name"} <= paths


def test_every_rule_error_is_reported(tmp_path: Path) -> None:
    """Two broken cross-field rules are both reported."""
    text = edit("lose: a}", "lose: zz}").replace("{probe: api, rto", "{probe: nope, rto")
    paths = {p.path for p in problems_of(tmp_path, text)}
    assert paths == {"spec.steps[0].lose", "spec.targets[0].probe", "spec.steps[1].restore"}


def test_malformed_yaml_names_line_and_column(tmp_path: Path) -> None:
    """A YAML syntax error is located, not a traceback."""
    found = problems_of(tmp_path, "apiVersion: zonedrill/v1\nkind: Drill\nspec: {zones: [\n")
    assert found[0].line is not None
    assert "not valid YAML" in found[0].message


def test_duplicate_keys_are_refused(tmp_path: Path) -> None:
    """A key written twice in one mapping is an error at the second one."""
    found = problems_of(tmp_path, edit("  duration: 60s", "  duration: 60s\n  duration: 30s"))
    assert found[0].line == 15


def test_alias_bomb_is_refused_cleanly(tmp_path: Path) -> None:
    """A billion-laughs document is refused by size of expansion, quickly."""
    lines = ["a: &a [x, x, x, x, x, x, x, x, x, x]"]
    for level in range(1, 9):
        prev = chr(ord("a") + level - 1)
        cur = chr(ord("a") + level)
        lines.append(f"{cur}: &{cur} [" + ", ".join([f"*{prev}"] * 10) + "]")
    found = problems_of(tmp_path, "\n".join(lines) + "\n")
    assert "alias bomb" in found[0].message


def test_huge_file_is_refused_without_reading_it(tmp_path: Path) -> None:
    """Files above the size limit are refused by their size."""
    path = tmp_path / "huge.yaml"
    path.write_text("# " + "x" * MAX_FILE_BYTES + "\n")
    with pytest.raises(InvalidInputError) as caught:
        load_file(path)
    assert "at most" in caught.value.problems[0].message


def test_wrong_kind_and_version_are_named(tmp_path: Path) -> None:
    """apiVersion and kind are checked first, each with what was expected."""
    found = problems_of(tmp_path, "apiVersion: v2\nkind: Drll\n")
    assert [p.path for p in found] == ["apiVersion", "kind"]
    assert (found[1].line, found[1].column) == (2, 7)


LAB = """\
apiVersion: zonedrill/v1
kind: Lab
metadata: {name: l}
spec:
  zones:
    a: {nodes: 1, podsPerNode: 2}
  services:
    - {name: s, replicas: 2, minReady: 3, pdb: {}}
"""


def test_lab_rules_are_located(tmp_path: Path) -> None:
    """minReady above replicas and an empty PDB are both reported at their fields."""
    found = problems_of(tmp_path, LAB, name="lab.yaml")
    assert {p.path for p in found} == {"spec.services[0].minReady", "spec.services[0].pdb"}
    assert all(p.line == 8 for p in found)


def test_lab_that_cannot_fit_its_replicas_is_refused(tmp_path: Path) -> None:
    """More replicas than pod slots is an error."""
    text = LAB.replace("replicas: 2, minReady: 3, pdb: {}", "replicas: 3")
    assert "do not fit" in problems_of(tmp_path, text, name="lab.yaml")[0].message


def test_validate_command_exits_2_and_prints_locations(tmp_path: Path) -> None:
    """zonedrill validate prints file:line:column and the field path, and exits 2."""
    path = tmp_path / "bad.yaml"
    path.write_text(edit("lose: a}", "lose: c}"))
    done = subprocess.run(
        [*ZONEDRILL, "validate", str(path)], capture_output=True, text=True, check=False
    )
    assert done.returncode == 2
    assert f"{path}:16:22: spec.steps[0].lose:" in done.stderr.replace("\n", "")


def test_example_drills_and_labs_validate() -> None:
    """Every shipped drill and lab file is valid (drills/kube holds Kubernetes manifests)."""
    files = sorted(
        str(p) for p in [*Path("drills").glob("*.yaml"), *Path("drills/labs").glob("*.yaml")]
    )
    done = subprocess.run(
        [*ZONEDRILL, "validate", *files], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stdout


def test_a_mapping_used_as_a_key_is_refused_cleanly(tmp_path: Path) -> None:
    """`? lab: x` makes the YAML loader hash a mapping; that is a located refusal, not a crash."""
    found = problems_of(tmp_path, edit("spec:\n  zones:", "spec:\n? lab: x\n  zones:"))
    assert "a mapping or list used as a key" in found[0].message


def test_an_unknown_key_beside_a_schema_rule_is_located(tmp_path: Path) -> None:
    """An unknown key in a step's lose mapping is located, with exit 2, not a KeyError.

    A Step's schema carries a oneOf of required keys, which are no probe kinds to take fields
    from (found by the fuzz test).
    """
    text = edit("{at: 0s, lose: a}", '{at: 0s, lose: {"": 0}}')
    paths = {p.path for p in problems_of(tmp_path, text)}
    assert paths
    assert all(p.startswith("spec.steps[0].lose") for p in paths), paths


def test_a_union_whose_branches_all_fail_is_one_problem_at_its_own_place(tmp_path: Path) -> None:
    """A port is a number or a name: a mapping fails both, said once, with no branch tag."""
    text = edit("url: http://127.0.0.1:9/", "service: {namespace: m, name: s, port: {a: 1}}")
    found = problems_of(tmp_path, text)
    assert [(p.path, p.line) for p in found] == [("spec.probes[0].http.service.port", 12)]
    assert found[0].message == "Input should be a valid integer, or a valid string"


def test_an_empty_value_is_located_at_its_key_not_the_next_line(tmp_path: Path) -> None:
    """``every:`` with nothing after it: ruamel places the value at the next key's line."""
    found = problems_of(tmp_path, edit("every: 1s", "every:"))
    assert [(p.path, p.line, p.column) for p in found] == [("spec.probes[0].every", 13, 7)]


def test_two_problems_at_one_place_are_not_joined_as_alternatives(tmp_path: Path) -> None:
    """A bad zone name with no value: both must be fixed, so no "or" between them."""
    found = problems_of(tmp_path, edit("    b: {nodeSelector: {zone: b}}", "    B_x:"))
    assert [p.path for p in found if p.path.startswith("spec.zones")] == ["spec.zones.B_x"]
    assert ", or " not in found[0].message
    assert "ZoneSelector" not in found[0].message


@pytest.mark.parametrize("step", ["{at: 30s, restore: }", "{at: 30s, restore: null}"])
def test_a_step_naming_no_zone_is_refused(tmp_path: Path, step: str) -> None:
    """``restore:`` with nothing after it passed validate and crashed plan (exit 4)."""
    found = problems_of(tmp_path, edit("{at: 30s, restore: a}", step))
    assert [(p.path, p.message) for p in found] == [
        ("spec.steps[1].restore", '"restore" needs a zone')
    ]
