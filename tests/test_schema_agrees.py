"""The JSON Schema and ``validate`` agree on every single-field rule, both ways.

Each case changes one field of the flagship drill; an editor using ``zonedrill schema drill``
must show it valid exactly when ``validate`` accepts it. Rules that tie fields together (a
restore of a zone not lost, targets naming unknown probes, every x 10 within duration) stay in
``validate`` and are listed in the reference (docs/drill-format.md).
"""

from __future__ import annotations

import copy
import re
import subprocess
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from ruamel.yaml import YAML

from orchestrator.drill import Drill, load_file
from orchestrator.drill.duration_schema import bounded_pattern
from orchestrator.drill.schema import file_schema
from orchestrator.durations import MAX_DURATION, UNITS, parse_duration
from orchestrator.errors import InvalidInputError
from tests.support import REPO, ZONEDRILL

FLAGSHIP = REPO / "drills" / "pangyo-battery-fire.yaml"
PROBE = ("spec", "probes", 0)
HTTP = (*PROBE, "http")
URL_PROBE = {"url": "http://127.0.0.1:8080/healthz"}

# (case, where, value): None as value deletes the field.
CASES: list[tuple[str, tuple[Any, ...], Any]] = [
    ("every 50ms", (*PROBE, "every"), "50ms"),
    ("every 49ms", (*PROBE, "every"), "49ms"),
    ("every 10ms", (*PROBE, "every"), "10ms"),
    ("every 0.05s", (*PROBE, "every"), "0.05s"),
    ("every 0.01s", (*PROBE, "every"), "0.01s"),
    ("every 2s", (*PROBE, "every"), "2s"),
    ("every 0s", (*PROBE, "every"), "0s"),
    ("timeout 30s", (*HTTP, "timeout"), "30s"),
    ("timeout 31s", (*HTTP, "timeout"), "31s"),
    ("timeout 1m", (*HTTP, "timeout"), "1m"),
    ("timeout 0s", (*HTTP, "timeout"), "0s"),
    ("timeout 100ms", (*HTTP, "timeout"), "100ms"),
    ("duration 169h", ("spec", "duration"), "169h"),
    ("duration 8d", ("spec", "duration"), "8d"),
    ("duration 1w", ("spec", "duration"), "1w"),
    ("baseline 0s", ("spec", "baseline"), "0s"),
    ("maxLatency 0s", (*PROBE, "expect", "maxLatency"), "0s"),
    ("maxLatency 0ms", (*PROBE, "expect", "maxLatency"), "0ms"),
    ("maxLatency 1ms", (*PROBE, "expect", "maxLatency"), "1ms"),
    ("failingFor 0s", ("spec", "stopIf", 0, "failingFor"), "0s"),
    ("failingFor 100ms", ("spec", "stopIf", 0, "failingFor"), "100ms"),
    ("url and service", (*HTTP, "url"), "http://127.0.0.1:8080/"),
    ("url without service", HTTP, URL_PROBE),
    ("neither url nor service", HTTP, {"path": "/healthz"}),
    ("url ftp", HTTP, {"url": "ftp://127.0.0.1/"}),
    ("url without host", HTTP, {"url": "http:///healthz"}),
    ("url https", HTTP, {"url": "https://talk.example/healthz"}),
    ("url relative", HTTP, {"url": "/healthz"}),
    ("url with a space in its host", HTTP, {"url": "http://127.0.0.1 x:8080/"}),
    ("url with two @", HTTP, {"url": "http://a@b@c/"}),
    ("url with a space in its path", HTTP, {"url": "http://talk.example/a b"}),
    ("url with a port", HTTP, {"url": "http://talk.example:8080/healthz?x=1"}),
    ("url with a port out of range", HTTP, {"url": "http://talk.example:70000/"}),
    ("status as text", (*PROBE, "expect", "status"), ["200"]),
    ("status true", (*PROBE, "expect", "status"), [True]),
    ("maxNodeFraction true", ("spec", "safety", "maxNodeFraction"), True),
    ("target with rto null", ("spec", "targets", 1), {"probe": "auth-api", "rto": None}),
    ("header ok", (*HTTP, "headers"), {"X-Drill": "pangyo"}),
    ("header name with space", (*HTTP, "headers"), {"X Drill": "pangyo"}),
    ("header name empty", (*HTTP, "headers"), {"": "pangyo"}),
    ("header value with newline", (*HTTP, "headers"), {"X-Drill": "a\nb"}),
    ("header value not ascii", (*HTTP, "headers"), {"X-Drill": "판교"}),
    ("path without slash", (*HTTP, "path"), "healthz"),
    ("target with no check", ("spec", "targets", 1), {"probe": "auth-api"}),
    ("target with weight only", ("spec", "targets", 1), {"probe": "auth-api", "weight": 2}),
    (
        "target availability only",
        ("spec", "targets", 1),
        {"probe": "auth-api", "availability": "99%"},
    ),
    ("weight 0", ("spec", "targets", 0, "weight"), 0),
    ("weight negative", ("spec", "targets", 0, "weight"), -1),
    ("p99Latency 0s", ("spec", "targets", 0, "p99Latency"), "0s"),
    ("rto 0s", ("spec", "targets", 0, "rto"), "0s"),
    ("availability 100%", ("spec", "targets", 0, "availability"), "100%"),
    ("maxNodeFraction 0", ("spec", "safety", "maxNodeFraction"), 0),
    ("maxNodeFraction 1", ("spec", "safety", "maxNodeFraction"), 1),
    ("maxNodeFraction 1.5", ("spec", "safety", "maxNodeFraction"), 1.5),
    ("status 99", (*PROBE, "expect", "status"), [99]),
    ("status 599", (*PROBE, "expect", "status"), [599]),
    ("status 600", (*PROBE, "expect", "status"), [600]),
    ("status empty", (*PROBE, "expect", "status"), []),
    ("port 0", (*HTTP, "service", "port"), 0),
    ("port named", (*HTTP, "service", "port"), "http"),
    ("bodyContains empty", (*PROBE, "expect", "bodyContains"), ""),
    ("description", ("metadata", "description"), "x" * 2000),
    ("no probes", ("spec", "probes"), []),
    ("step at negative", ("spec", "steps", 0, "at"), "-1s"),
    ("lose anyOf empty", ("spec", "steps", 0, "lose"), {"anyOf": []}),
]


def _set(data: dict[str, Any], where: tuple[Any, ...], value: Any) -> None:
    place: Any = data
    for key in where[:-1]:
        place = place[key]
    if value is None:
        del place[where[-1]]
    else:
        place[where[-1]] = value


def _validate_accepts(data: dict[str, Any], folder: Path) -> bool:
    written = folder / "drill.yaml"
    with written.open("w") as out:
        YAML().dump(data, out)
    if not (folder / "labs").exists():
        (folder / "labs").symlink_to(FLAGSHIP.parent / "labs")
    try:
        load_file(written)
    except InvalidInputError:
        return False
    return True


@pytest.mark.parametrize(("case", "where", "value"), CASES, ids=[c[0] for c in CASES])
def test_the_schema_agrees_with_validate(
    case: str, where: tuple[Any, ...], value: Any, tmp_path: Path
) -> None:
    """Valid in an editor exactly when validate accepts it."""
    data = YAML(typ="safe").load(FLAGSHIP.read_text())
    data = copy.deepcopy(data)
    _set(data, where, value)
    accepted = _validate_accepts(data, tmp_path)
    valid = jsonschema.Draft202012Validator(file_schema(Drill)).is_valid(data)
    assert valid == accepted, f"{case}: the schema says {valid}, validate says {accepted}"


@pytest.mark.parametrize(
    ("where", "value", "said"),
    [
        ((*HTTP, "path"), "healthz", 'http.path: expected a path starting with "/"'),
        (("spec", "zones", "pangyo", "nodeSelector"), {}, "nodeSelector: expected at least 1 item"),
        (("spec", "steps", 0, "lose"), {"anyOf": []}, "lose.anyOf: expected at least 1 item"),
    ],
)
def test_refusals_speak_plainly_and_once(
    where: tuple[Any, ...], value: Any, said: str, tmp_path: Path
) -> None:
    """No library wording (patterns, "Dictionary should"), one problem per mistake."""
    data = YAML(typ="safe").load(FLAGSHIP.read_text())
    _set(data, where, value)
    assert not _validate_accepts(data, tmp_path)
    try:
        load_file(tmp_path / "drill.yaml")
    except InvalidInputError as exc:
        messages = [f"{p.path}: {p.message}" for p in exc.problems]
    assert len(messages) == 1, messages
    assert said in messages[0]
    assert "should" not in messages[0]
    assert "pattern" not in messages[0]


NUMBERS = st.one_of(
    st.integers(min_value=0, max_value=10**9).map(str),
    st.decimals(min_value=0, max_value=10**6, places=6, allow_nan=False).map(lambda d: f"{d:f}"),
    st.sampled_from(["0", ".05", "0.05", "49.999", "50", "050", "30", "30.0", "30.001", "168"]),
)
BOUNDS = [
    (0.05, False, MAX_DURATION),
    (0.0, True, 30.0),
    (0.0, True, MAX_DURATION),
    (0.0, False, MAX_DURATION),
]


@settings(max_examples=400, deadline=None)
@given(number=NUMBERS, unit=st.sampled_from(sorted(UNITS)), bounds=st.sampled_from(BOUNDS))
def test_a_one_part_duration_is_bounded_as_validate_bounds_it(
    number: str, unit: str, bounds: tuple[float, bool, float]
) -> None:
    """The pattern's verdict on any one-part duration is the parsed value's, in every unit."""
    at_least, above_zero, at_most = bounds
    text = f"{number}{unit}"
    try:
        seconds = parse_duration(text, longest=float("inf"))
    except ValueError:
        return
    inside = at_least <= seconds <= at_most and (seconds > 0 or not (above_zero or at_least))
    pattern = bounded_pattern(at_least=at_least, above_zero=above_zero, at_most=at_most)
    edge = min(abs(seconds - at_least), abs(seconds - at_most)) < 1e-9  # see duration_schema
    assert bool(re.fullmatch(pattern, text)) == inside or edge, (text, seconds, bounds)


@pytest.mark.parametrize("kind", ["drill", "lab", "gameday"])
def test_schema_descriptions_cite_no_internal_numbers(kind: str) -> None:
    """Users read the schema in their editor: no spec sections, no issue numbers."""
    done = subprocess.run(
        [*ZONEDRILL, "schema", kind, "-o", "yaml"], capture_output=True, text=True, check=True
    )
    assert YAML(typ="safe").load(done.stdout)["$schema"].endswith("2020-12/schema")
    assert not re.search(r"§|\bissue \d|\bspec v\d", done.stdout), kind


@pytest.mark.parametrize(
    ("field", "text", "accepted"),
    [
        ("every", "50000us", True),
        ("every", "50000µs", True),
        ("every", "49999us", False),
        ("timeout", "30000000000ns", True),
        ("timeout", "30000000001ns", False),
        ("timeout", "0.5m", True),
    ],
)
def test_bounds_in_small_units_are_exact(
    field: str, text: str, accepted: bool, tmp_path: Path
) -> None:
    """50000us is 50ms exactly (the review found validate reading 0.049999999999999996 s)."""
    data = YAML(typ="safe").load(FLAGSHIP.read_text())
    _set(data, (*PROBE, "every") if field == "every" else (*HTTP, "timeout"), text)
    valid = jsonschema.Draft202012Validator(file_schema(Drill)).is_valid(data)
    assert (_validate_accepts(data, tmp_path), valid) == (accepted, accepted)
