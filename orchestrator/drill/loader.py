"""Turn a file into a validated Drill or Lab, or into every problem it has."""

from __future__ import annotations

import difflib
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from orchestrator.drill import rules
from orchestrator.drill.gameday import GameDay
from orchestrator.drill.http import PATH_PATTERN
from orchestrator.drill.lab import Lab
from orchestrator.drill.model import API_VERSION, NO_PROBE_KIND, PROBE_TAGS, Drill
from orchestrator.drill.probe import Finding
from orchestrator.errors import InvalidInputError, Problem
from orchestrator.yamlfile import (
    FieldPath,
    YamlDocument,
    format_path,
    load_yaml_file,
    parse_yaml_text,
)

FileKind = Drill | Lab | GameDay
KINDS: dict[str, type[FileKind]] = {"Drill": Drill, "Lab": Lab, "GameDay": GameDay}
ModelT = TypeVar("ModelT", Drill, Lab, GameDay)


def load_file(path: Path) -> FileKind:
    """Load a drill, lab or game-day file, whichever its ``kind`` says."""
    document = load_yaml_file(path)
    model = _pick_model(document)
    return _validate(document, model, path)


def load_drill(path: Path) -> Drill:
    """Load a file that must be a Drill."""
    return _expect(load_file(path), Drill, path)


def load_lab(path: Path) -> Lab:
    """Load a file that must be a Lab."""
    return _expect(load_file(path), Lab, path)


def drill_from_text(text: str, *, file: str) -> Drill:
    """A drill from YAML text (an import, say), validated as a drill file would be."""
    document = parse_yaml_text(text, file=file)
    return _expect(_validate(document, Drill, Path(file)), Drill, Path(file))


def load_gameday(path: Path) -> tuple[GameDay, list[tuple[Path, Drill]]]:
    """Load a game day and every drill it names; every problem of every file is reported."""
    gameday = _expect(load_file(path), GameDay, path)
    document = load_yaml_file(path)  # read once: a long list of missing files stays linear
    drills: list[tuple[Path, Drill]] = []
    problems: list[Problem] = []
    for index, entry in enumerate(gameday.spec.drills):
        drill_path = path.parent / entry.file
        missing = _not_a_file(drill_path)
        if missing:
            problems.append(document.problem(("spec", "drills", index, "file"), missing))
            continue
        try:
            drills.append((drill_path, load_drill(drill_path)))
        except InvalidInputError as exc:
            problems += exc.problems
    if problems:
        raise InvalidInputError(problems)
    return gameday, drills


def check_fits_lab(path: Path, drill: Drill, lab: Lab) -> None:
    """Refuse, located in the drill file, zones and services the lab does not have."""
    findings = list(rules.lab_fit_findings(drill, lab))
    if findings and not path.is_file():  # a drill carried in another file (an export)
        where = str(path)
        raise InvalidInputError(
            [Problem(where, None, None, format_path(at), message) for at, message in findings]
        )
    if findings:
        document = load_yaml_file(path)
        raise InvalidInputError([document.problem(p, message) for p, message in findings])


def _not_a_file(path: Path) -> str:
    """Why ``path`` cannot be a drill file, or nothing."""
    try:
        found = path.is_file()
    except (OSError, ValueError) as exc:  # ValueError: a NUL in the name
        return f"not a usable path: {exc}"
    return "" if found else f"no drill file at {path} (the path is relative to the game day)"


def _expect(loaded: FileKind, model: type[ModelT], path: Path) -> ModelT:
    if not isinstance(loaded, model):
        kind = type(loaded).__name__
        raise InvalidInputError(
            [
                Problem(
                    str(path), None, None, "kind", f"expected a {model.__name__} file, got {kind}"
                )
            ]
        )
    return loaded


def _pick_model(document: YamlDocument) -> type[FileKind]:
    data = document.data
    if not isinstance(data, dict):
        raise InvalidInputError(
            [document.problem((), "expected a mapping with apiVersion and kind")]
        )
    problems = []
    if data.get("apiVersion") != API_VERSION:
        got = data.get("apiVersion")
        problems.append(document.problem(("apiVersion",), f'expected "{API_VERSION}", got {got!r}'))
    kind = data.get("kind")
    if not isinstance(kind, str) or kind not in KINDS:
        problems.append(
            document.problem(("kind",), f'expected "Drill", "Lab" or "GameDay", got {kind!r}')
        )
    if problems:
        raise InvalidInputError(problems)
    return KINDS[str(kind)]


def _validate(document: YamlDocument, model: type[FileKind], path: Path) -> FileKind:
    problems: list[Problem] = []
    loaded: FileKind | None = None
    try:
        loaded = model.model_validate(document.data)
    except ValidationError as exc:
        problems = _schema_problems(document, model, exc)
    findings: list[Finding] = []
    if model is Drill:
        findings += rules.reference_findings(document.data)
    if isinstance(loaded, Drill):
        findings += rules.drill_findings(loaded, file=path)
    elif isinstance(loaded, Lab):
        findings += rules.lab_findings(loaded)
    seen = {p.path for p in problems}
    problems += [
        problem
        for problem in (document.problem(p, message) for p, message in findings)
        if problem.path not in seen
    ]
    if problems or loaded is None:
        raise InvalidInputError(problems)
    return loaded


def _schema_problems(
    document: YamlDocument, model: type[BaseModel], exc: ValidationError
) -> list[Problem]:
    """One problem per place in the file; a union's branches that all failed there, as one."""
    schema = model.model_json_schema(by_alias=True)
    by_place: dict[FieldPath, list[ErrorDetails]] = {}
    for error in exc.errors(include_url=False):
        place = _data_path(document.data, error["loc"], missing=error["type"] == "missing")
        by_place.setdefault(place, []).append(error)
    problems: list[Problem] = []
    for place, errors in by_place.items():
        if _other_branch(place, errors, by_place):
            continue
        branches = all(_branch(e["loc"], place) for e in errors)  # else each stands on its own
        others = _alternatives(errors[1:]) if branches else ""
        problem = _describe(document, schema, place, errors[0], others)
        if problem.path not in {p.path for p in problems}:
            problems.append(problem)
    return problems


def _other_branch(
    place: FieldPath, errors: list[ErrorDetails], by_place: dict[FieldPath, list[ErrorDetails]]
) -> bool:
    """A union branch of another type, when the value had the shape of a branch failing deeper.

    ``lose: {anyOf: []}`` is a mapping: that it is not also a string says nothing.
    """
    mismatched = all(e["type"].endswith("_type") and _branch(e["loc"], place) for e in errors)
    deeper = any(other[: len(place)] == place and len(other) > len(place) for other in by_place)
    return mismatched and deeper


def _branch(loc: tuple[int | str, ...], place: FieldPath) -> bool:
    """Whether ``loc`` ends in a union's branch tag (``constrained-int``), dropped from the path."""
    last = loc[-1] if loc else None
    return isinstance(last, str) and last != "[key]" and (not place or last != place[-1])


def _alternatives(errors: list[ErrorDetails]) -> str:
    """``, or a valid string``: what the other branches of a union would have taken."""
    said = [
        f", or {m.removeprefix(SHOULD)}" if m.startswith(SHOULD) else f"; or {m[:1].lower()}{m[1:]}"
        for m in (e["msg"].removeprefix("Value error, ") for e in errors)
    ]
    return "".join(dict.fromkeys(said))


SHOULD = "Input should be "


def _describe(
    document: YamlDocument,
    schema: dict[str, Any],
    path: FieldPath,
    error: ErrorDetails,
    alternatives: str = "",
) -> Problem:
    kind = error["type"]
    if kind == "extra_forbidden":
        allowed = _allowed_keys(schema, path[:-1])
        guess = difflib.get_close_matches(str(path[-1]), allowed, n=1)
        hint = (
            f'; did you mean "{guess[0]}"?' if guess else f"; expected one of: {', '.join(allowed)}"
        )
        return document.problem(path, f'unknown field "{path[-1]}"{hint}', prefer_key=True)
    if kind == "missing":
        return document.problem(path, "required field is missing")
    if kind == "probe_kind":
        return document.problem(path, _no_kind(error["input"]))
    worded = WORDING.get(kind)
    message = worded(error) if worded else error["msg"].removeprefix("Value error, ")
    message += alternatives
    if kind == "literal_error":
        message = f"{message}, got {error['input']!r}"
    return document.problem(path, message)


def _ctx(error: ErrorDetails, name: str) -> Any:
    """A value pydantic gives with an error: a bound, a length, a pattern."""
    return (error.get("ctx") or {}).get(name)


def _count(error: ErrorDetails, bound: str) -> int:
    return int(_ctx(error, bound) or 0)


def _bound(error: ErrorDetails, name: str) -> str:
    return str(_ctx(error, name))


def _items(count: int) -> str:
    return f"{count} item" if count == 1 else f"{count} items"


PATTERN_WORDS = {
    PATH_PATTERN: 'expected a path starting with "/", in printable ASCII without spaces',
}
"""What each pattern a field holds means, said in words."""


WORDING: dict[str, Callable[[ErrorDetails], str]] = {
    "too_short": lambda e: f"expected at least {_items(_count(e, 'min_length'))}",
    "too_long": lambda e: f"expected at most {_items(_count(e, 'max_length'))}",
    "string_too_short": lambda e: "expected a text that is not empty",
    "string_too_long": lambda e: f"expected at most {_count(e, 'max_length')} characters",
    "greater_than_equal": lambda e: f"expected at least {_bound(e, 'ge')}",
    "greater_than": lambda e: f"expected more than {_bound(e, 'gt')}",
    "less_than_equal": lambda e: f"expected at most {_bound(e, 'le')}",
    "less_than": lambda e: f"expected less than {_bound(e, 'lt')}",
    "string_pattern_mismatch": lambda e: PATTERN_WORDS.get(
        str(_ctx(e, "pattern")), "not in the form this field takes"
    ),
}
"""Plain words for pydantic's error types whose own wording names its internals."""


def _no_kind(probe: Any) -> str:
    """Why a probe has no kind: not a mapping, two kinds, or a kind's key misspelt."""
    expected = NO_PROBE_KIND
    if not isinstance(probe, dict):
        return f"{expected}, in a mapping with the probe's name"
    given = [key for key in probe if key in PROBE_TAGS]
    if given:
        return f"{expected}; got {', '.join(given)}"
    for key in probe:
        guess = difflib.get_close_matches(str(key), PROBE_TAGS, n=1)
        if guess:
            return f'{expected}; did you mean "{guess[0]}" for "{key}"?'
    return expected


def _data_path(data: Any, loc: tuple[int | str, ...], *, missing: bool = False) -> FieldPath:
    """Drop pydantic's union tags from ``loc`` so it names real places in the file.

    Only a missing field's own name, the last part, may name no key of the file.
    """
    path: list[str | int] = []
    node = data
    for depth, part in enumerate(loc, start=1):
        if _probe_tag(loc[: depth - 1], part):
            continue  # the probe's kind (e.g. http), before its fields
        if isinstance(node, dict) and isinstance(part, str):
            if part not in node and not (missing and depth == len(loc)):
                continue  # a union's tag (e.g. AnyOf, constrained-int) names no key of the file
            path.append(part)
            node = node.get(part)
        elif isinstance(node, list) and isinstance(part, int):
            path.append(part)
            node = node[part] if part < len(node) else None
    return tuple(path)


def _probe_tag(before: tuple[int | str, ...], part: int | str) -> bool:
    """Whether ``part`` is the kind tag pydantic puts right after a probe's place in ``loc``."""
    # before[-2:-1] names "probes" only when before holds two parts at least
    return before[-2:-1] == ("probes",) and isinstance(before[-1], int) and part in PROBE_TAGS


def _allowed_keys(schema: dict[str, Any], path: FieldPath) -> list[str]:
    node: dict[str, Any] | None = schema
    for part in path:
        node = _child(schema, _resolve(schema, node or {}), part)
    return sorted((_resolve(schema, node or {}).get("properties") or {}).keys())


def _resolve(schema: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    if "$ref" in node:
        node = schema["$defs"][node["$ref"].split("/")[-1]]
    for branch in node.get("anyOf", []):
        resolved = _resolve(schema, branch)
        if {"properties", "items", "additionalProperties"} & resolved.keys():
            return resolved
    if "oneOf" in node and "properties" not in node:  # the probe kinds: every kind's fields
        kinds = [_resolve(schema, branch) for branch in node["oneOf"]]
        return {
            "properties": {k: v for kind in kinds for k, v in kind.get("properties", {}).items()}
        }
    return node


def _child(schema: dict[str, Any], node: dict[str, Any], part: str | int) -> dict[str, Any] | None:
    if isinstance(part, int):
        return node.get("items")
    if part in node.get("properties", {}):
        return dict(node["properties"][part])
    extra = node.get("additionalProperties")
    return extra if isinstance(extra, dict) else None


def lab_for(drill_path: Path, drill: Drill, lab_option: Path | None = None) -> Lab:
    """The lab (``--lab`` or the drill's ``spec.lab``), checked to have what the drill names."""
    lab = _lab_file(drill_path, drill, lab_option)
    check_fits_lab(drill_path, drill, lab)
    return lab


def _lab_file(drill_path: Path, drill: Drill, lab_option: Path | None) -> Lab:
    if lab_option is not None:
        return load_lab(lab_option)
    if drill.spec.lab is None:
        raise InvalidInputError(
            [
                Problem(
                    str(drill_path),
                    None,
                    None,
                    "spec.lab",
                    "the drill names no lab: set spec.lab or pass --lab FILE",
                )
            ]
        )
    return load_lab((drill_path.parent / drill.spec.lab).resolve())
