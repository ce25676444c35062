"""The field tables of docs/drill-format.md, rendered from the file schema (one source).

Every field's type, default, limits and description come from the models that read the files,
through the same schema ``zonedrill schema`` prints. The document keeps its prose; the tables
sit between ``<!-- fields: NAME -->`` and ``<!-- end fields -->`` markers and are rewritten by

    python -m orchestrator.drill.reference docs/drill-format.md

The suite checks that the document's tables are the ones rendered here.
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from orchestrator.drill.gameday import GameDay
from orchestrator.drill.lab import Lab
from orchestrator.drill.model import Drill
from orchestrator.drill.schema import file_schema
from orchestrator.drill.types import DURATION_PATTERN, PERCENT_PATTERN

Schema = dict[str, Any]
BLOCK = re.compile(r"(<!-- fields: (\w+) -->\n)(.*?)(<!-- end fields -->)", re.DOTALL)


def definitions() -> dict[str, Schema]:
    """Every object of every file kind, by name."""
    found: dict[str, Schema] = {}
    for model in (Drill, Lab, GameDay):
        root = file_schema(model)
        found[model.__name__] = root
        found.update(root.get("$defs", {}))
    return found


def render_table(item: Schema, defs: dict[str, Schema]) -> str:
    """The Markdown table of one object's fields (``defs``: the objects it may refer to)."""
    required = set(item.get("required", []))
    lines = ["| field | type | default | description |", "|---|---|---|---|"]
    for name, field in item["properties"].items():
        default = "required" if name in required else _default(field)
        text = " ".join(field.get("description", "").split()) + _limits(field)
        lines.append(f"| `{name}` | {type_text(field, defs)} | {default} | {_cell(text)} |")
    return "\n".join(lines) + "\n"


def type_text(field: Schema, defs: dict[str, Schema]) -> str:
    """How a field's type reads: duration, percent, list of Probe, map of name to a zone."""
    for test, render in TYPE_RULES:
        if test(field):
            return render(field, defs)
    return str(field.get("type", "any"))


def _ref(field: Schema, defs: dict[str, Schema]) -> str:
    name = field["$ref"].rsplit("/", 1)[-1]
    if "enum" in defs[name]:  # a choice reads better inline than behind a link
        return type_text(defs[name], defs)
    return f"[{name}](#{name.lower()})"


def _optional(field: Schema, defs: dict[str, Schema]) -> str:
    kinds = [k for k in field["anyOf"] if k.get("type") != "null"]
    return " or ".join(type_text(k, defs) for k in kinds)


def _one_of(field: Schema, defs: dict[str, Schema]) -> str:
    return " or ".join(type_text(k, defs) for k in field["oneOf"])


def _map(field: Schema, defs: dict[str, Schema]) -> str:
    values = field.get("additionalProperties") or next(iter(field["patternProperties"].values()))
    key = "name" if "patternProperties" in field else "string"
    return f"map of {key} to {type_text(values, defs)}"


def _enum(field: Schema, _: dict[str, Schema]) -> str:
    return " \\| ".join(f"`{v}`" for v in field["enum"])


TYPE_RULES: list[tuple[Callable[[Schema], bool], Callable[[Schema, dict[str, Schema]], str]]] = [
    (lambda f: "$ref" in f, _ref),
    (lambda f: "anyOf" in f, _optional),
    (lambda f: "oneOf" in f, _one_of),
    (lambda f: f.get("pattern") == DURATION_PATTERN, lambda f, _: "duration"),
    (lambda f: f.get("pattern") == PERCENT_PATTERN, lambda f, _: "percent"),
    (lambda f: "enum" in f, _enum),
    (lambda f: "const" in f, lambda f, _: f"`{f['const']}`"),
    (lambda f: f.get("type") == "array", lambda f, d: f"list of {type_text(f['items'], d)}"),
    (lambda f: f.get("type") == "object", _map),
]


def _default(field: Schema) -> str:
    if "default" not in field:
        return "none" if "anyOf" in field else "empty"
    value = field["default"]
    return "none" if value is None else f"`{json.dumps(value)}`"


def _limits(field: Schema) -> str:
    bounds = {
        "minimum": "≥",
        "exclusiveMinimum": ">",
        "maximum": "≤",
        "minLength": "length ≥",
        "minProperties": "entries ≥",
    }
    shown = [f"{sign} {_number(field[key])}" for key, sign in bounds.items() if key in field]
    return f" Limits: {', '.join(shown)}." if shown else ""


def _number(value: float) -> str:
    return f"{int(value):,}" if value == int(value) else f"{value:g}"


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def render_document(text: str) -> str:
    """``text`` with every marked table rendered again from the models."""
    found = definitions()

    def table(match: re.Match[str]) -> str:
        return match.group(1) + render_table(found[match.group(2)], found) + match.group(4)

    return BLOCK.sub(table, text)


def main(argv: list[str]) -> int:
    """Rewrite the tables of the document named in ``argv``."""
    path = Path(argv[0])
    path.write_text(render_document(path.read_text()))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
