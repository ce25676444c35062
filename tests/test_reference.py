"""The format reference and the schema: one source, complete, and true to what validate accepts."""

from __future__ import annotations

import copy
import json
import subprocess
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from ruamel.yaml import YAML

from orchestrator.drill import Drill, GameDay, Lab, load_file
from orchestrator.drill.reference import BLOCK, definitions, render_document
from orchestrator.drill.schema import file_schema
from orchestrator.errors import InvalidInputError
from tests.support import REPO, ZONEDRILL

REFERENCE = REPO / "docs" / "drill-format.md"
EXAMPLES = sorted((REPO / "drills").glob("*.yaml")) + sorted(
    (REPO / "drills" / "labs").glob("*.yaml")
)
FLAGSHIP = REPO / "drills" / "pangyo-battery-fire.yaml"
# Where each object of the drill schema sits in the flagship drill, to write defaults into.
PLACES: dict[str, tuple[Any, ...]] = {
    "Drill": (),
    "Metadata": ("metadata",),
    "DrillSpec": ("spec",),
    "ZoneSelector": ("spec", "zones", "pangyo"),
    "HttpProbe": ("spec", "probes", 0),
    "HttpCheck": ("spec", "probes", 0, "http"),
    "ServiceRef": ("spec", "probes", 0, "http", "service"),
    "Expect": ("spec", "probes", 0, "expect"),
    "Step": ("spec", "steps", 0),
    "Goal": ("spec", "targets", 0),
    "StopIf": ("spec", "stopIf", 0),
    "Safety": ("spec", "safety"),
    "PrometheusProbe": ("spec", "probes", 2),
    "PromQuery": ("spec", "probes", 2, "prometheus"),
    "PromExpect": ("spec", "probes", 2, "expect"),
    "ValueBound": ("spec", "probes", 2, "expect", "value"),
}
ERROR_RATE = {
    "name": "error-rate",
    "prometheus": {"url": "http://127.0.0.1:9090", "query": "vector(0)"},
    "expect": {"value": {"below": 1}},
}
"""A prometheus probe the flagship gains, where the defaults of that kind are written."""


def read(path: Path) -> Any:
    """A YAML file as plain data."""
    return YAML(typ="safe").load(path.read_text())


def test_the_reference_tables_are_current() -> None:
    """docs/drill-format.md holds exactly the tables the models render."""
    text = REFERENCE.read_text()
    assert render_document(text) == text, "run: python -m orchestrator.drill.reference " + str(
        REFERENCE.relative_to(REPO)
    )


def test_every_field_of_every_model_is_in_the_reference() -> None:
    """Each object has a table, and each field its row with a description."""
    text = REFERENCE.read_text()
    tabled = {m.group(2) for m in BLOCK.finditer(text)}
    objects = {name: item for name, item in definitions().items() if "properties" in item}
    assert tabled == set(objects)
    for name, item in objects.items():
        for field, schema in item["properties"].items():
            assert schema.get("description"), f"{name}.{field} has no description"
            assert f"| `{field}` |" in text, f"{name}.{field} is not in the reference"


@pytest.mark.parametrize("kind", ["drill", "lab", "gameday"])
def test_schema_command_prints_a_valid_schema_without_made_up_titles(kind: str) -> None:
    """The printed schema is valid JSON Schema, with file-form defaults and no field titles."""
    done = subprocess.run(
        [*ZONEDRILL, "schema", kind], capture_output=True, text=True, check=True, cwd=REPO
    )
    schema = json.loads(done.stdout)
    jsonschema.Draft202012Validator.check_schema(schema)
    assert "Stopif" not in done.stdout
    assert "Bodycontains" not in done.stdout
    if kind == "drill":
        assert schema["$defs"]["DrillSpec"]["properties"]["baseline"]["default"] == "10s"
        assert schema["$defs"]["HttpProbe"]["properties"]["every"]["default"] == "1s"


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_every_example_validates_against_the_schema(path: Path) -> None:
    """The examples pass both the JSON Schema and zonedrill's own loader."""
    model: type[Drill] | type[Lab] | type[GameDay] = Drill
    if path.parent.name == "labs":
        model = Lab
    elif path.name.endswith(".gameday.yaml"):
        model = GameDay
    jsonschema.validate(read(path), file_schema(model))
    assert isinstance(load_file(path), model)


def defaults() -> list[tuple[str, str, Any]]:
    """(object, field, default) of every drill field whose default is a value."""
    found = []
    schema = file_schema(Drill)
    for name, item in [("Drill", schema), *schema["$defs"].items()]:
        for field, spec in item.get("properties", {}).items():
            if spec.get("default") is not None:
                found.append((name, field, spec["default"]))
    return found


@pytest.mark.parametrize(("name", "field", "default"), defaults(), ids=str)
def test_each_default_written_into_a_drill_validates(
    name: str, field: str, default: Any, tmp_path: Path
) -> None:
    """A default copied from the schema into a drill is accepted by the schema and by validate."""
    data = copy.deepcopy(read(FLAGSHIP))
    data["spec"]["probes"].append(copy.deepcopy(ERROR_RATE))
    place = data
    for key in PLACES[name]:
        place = place[key]
    place[field] = default
    jsonschema.validate(data, file_schema(Drill))
    written = tmp_path / "drill.yaml"
    with written.open("w") as out:
        YAML().dump(data, out)
    (tmp_path / "labs").symlink_to(FLAGSHIP.parent / "labs")
    assert isinstance(load_file(written), Drill)


def _mutate(data: dict[str, Any], change: str) -> None:
    spec = data["spec"]
    if change == "zone key not a DNS label":
        spec["zones"]["Bad_Zone"] = spec["zones"].pop("gasan")
    elif change == "no targets":
        del spec["targets"]
    elif change == "no probes":
        spec["probes"] = []
        spec["targets"], spec["stopIf"] = [], []
    elif change == "150%":
        spec["targets"][0]["availability"] = "150%"
    elif change == "mode on a restore":
        spec["steps"][1]["mode"] = "drain"
    elif change == ".5s":
        spec["probes"][0]["every"] = ".5s"
    elif change == "bare 0":
        spec["steps"][0]["at"] = "0"
    elif change == "99.5 %":
        spec["targets"][0]["availability"] = "99.5 %"


@pytest.mark.parametrize(
    "change",
    [
        "zone key not a DNS label",
        "no targets",
        "no probes",
        "150%",
        "mode on a restore",
        ".5s",
        "bare 0",
        "99.5 %",
    ],
)
def test_the_schema_and_validate_agree(change: str, tmp_path: Path) -> None:
    """An editor shows green exactly when validate accepts (for the cases users hit)."""
    data = copy.deepcopy(read(FLAGSHIP))
    _mutate(data, change)
    written = tmp_path / "drill.yaml"
    with written.open("w") as out:
        YAML().dump(data, out)
    (tmp_path / "labs").symlink_to(FLAGSHIP.parent / "labs")
    try:
        load_file(written)
    except InvalidInputError:
        accepted = False
    else:
        accepted = True
    valid = jsonschema.Draft202012Validator(file_schema(Drill)).is_valid(data)
    assert valid == accepted, f"schema says {valid}, validate says {accepted}"
