"""Property-based fuzzing of drill and lab files: exit 0 or 2, never a traceback (issue 9).

Mutations start from the shipped examples: text edits (bytes inserted, deleted or replaced with
YAML-significant characters) and value edits (a leaf of the parsed document replaced by a hostile
value, written back as YAML). Each mutant goes through ``zonedrill validate`` in-process.
"""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ruamel.yaml import YAML

from orchestrator.cli import main

EXAMPLES = sorted([*Path("drills").glob("*.yaml"), *Path("drills/labs").glob("*.yaml")])
ALPHABET = "[]{}:!&*|>-?,#%@`'\"\\\n\t 0123456789.einfa~\x00\x1b\u00e9\ufeff"
HOSTILE_LEAVES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=40),
    st.sampled_from(["1e400s", "9" * 400 + "h", "-1s", "0s", ".5ms", "100%", "101%", "[/]", "☃"]),
    st.lists(st.integers(), max_size=3),
    st.dictionaries(st.text(max_size=5), st.integers(), max_size=3),
)
RUNS: dict[str, int] = {"cases": 0, "refused": 0}
FUZZ = settings(
    max_examples=250,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def leaves(node: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every path to a scalar in a plain document."""
    if isinstance(node, dict):
        return [p for k, v in node.items() for p in leaves(v, (*path, k))]
    if isinstance(node, list):
        return [p for i, v in enumerate(node) for p in leaves(v, (*path, i))]
    return [path]


def replaced(node: Any, path: tuple[Any, ...], value: Any) -> Any:
    """A copy of ``node`` with the leaf at ``path`` set to ``value``."""
    if not path:
        return value
    copy = dict(node) if isinstance(node, dict) else list(node)
    copy[path[0]] = replaced(node[path[0]], path[1:], value)
    return copy


def check(tmp_path: Path, name: str, data: bytes) -> None:
    """Validate ``data`` as the file ``name``; fail on a traceback or an exit code not 0 or 2."""
    target = tmp_path / "fuzz" / name
    target.parent.mkdir(exist_ok=True)
    (tmp_path / "fuzz" / "labs").mkdir(exist_ok=True)
    for lab in Path("drills/labs").glob("*.yaml"):
        (tmp_path / "fuzz" / "labs" / lab.name).write_bytes(lab.read_bytes())
    target.write_bytes(data)
    result = CliRunner().invoke(main, ["validate", str(target)])
    RUNS["cases"] += 1
    RUNS["refused"] += result.exit_code == 2
    assert result.exit_code in (0, 2), (data[:300], result.output[-2000:], result.exc_info)
    assert "Traceback" not in result.output


@FUZZ
@given(
    example=st.sampled_from(EXAMPLES),
    edits=st.lists(
        st.tuples(st.floats(0, 1), st.integers(0, 4), st.text(ALPHABET, max_size=6)),
        min_size=1,
        max_size=4,
    ),
)
def test_text_mutations_never_crash_validate(
    tmp_path: Path, example: Path, edits: list[tuple[float, int, str]]
) -> None:
    """Characters inserted, deleted or replaced anywhere: located problems or a valid file."""
    text = example.read_text()
    for where, cut, insert in edits:
        at = int(where * len(text))
        text = text[:at] + insert + text[at + cut :]
    check(tmp_path, example.name, text.encode("utf-8", "surrogatepass"))


@FUZZ
@given(example=st.sampled_from(EXAMPLES), data=st.data())
def test_value_mutations_never_crash_validate(
    tmp_path: Path, example: Path, data: st.DataObject
) -> None:
    """A leaf replaced by a hostile value (YAML or JSON): located problems or a valid file."""
    document = json.loads(json.dumps(YAML(typ="safe").load(example.read_text())))
    path = data.draw(st.sampled_from(leaves(document)))
    mutant = replaced(document, path, data.draw(HOSTILE_LEAVES))
    if data.draw(st.booleans()):
        out = io.StringIO()
        YAML(typ="safe").dump(mutant, out)
        text = out.getvalue()
    else:
        text = json.dumps(mutant)
    check(tmp_path, example.name, text.encode("utf-8", "surrogatepass"))


def test_fuzzing_ran_and_found_refusals() -> None:
    """The two properties above really ran, and most mutants were refused (not silently valid)."""
    assert RUNS["cases"] >= 400, RUNS
    assert RUNS["refused"] > RUNS["cases"] // 4, RUNS
