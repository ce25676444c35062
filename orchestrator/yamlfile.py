"""Load one YAML document into plain Python values while remembering where each came from.

Positions are 1-based (line, column) so they can be printed as ``file:line:column``.
Files are bounded in size (read with a byte limit, never trusting ``stat``: ``/dev/zero`` has
size 0), in the number of nodes they expand to (an alias bomb, "billion laughs") and in nesting.
Only plain JSON-like values come out: tags, complex keys, non-finite numbers, integers past 2^53
and text that is not valid Unicode are located problems, never values handed on.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import MarkedYAMLError, YAMLError

from orchestrator.errors import InvalidInputError, Problem

MAX_FILE_BYTES = 1024 * 1024
MAX_NODES = 100_000
MAX_DEPTH = 64
MAX_SAFE_INTEGER = 2**53

FieldPath = tuple[str | int, ...]
Position = tuple[int, int]


@dataclass
class YamlDocument:
    """A parsed document: plain data plus where every key and value stood in the file."""

    file: str
    data: Any
    value_positions: dict[FieldPath, Position] = field(default_factory=dict)
    key_positions: dict[FieldPath, Position] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)

    def locate(self, path: FieldPath, *, prefer_key: bool = False) -> Position | None:
        """Return the position of ``path``, or of its nearest located ancestor."""
        probe = tuple(path)
        while True:
            if prefer_key and probe in self.key_positions:
                return self.key_positions[probe]
            if probe in self.value_positions:
                return self.value_positions[probe]
            if not probe:
                return None
            probe = probe[:-1]

    def problem(self, path: FieldPath, message: str, *, prefer_key: bool = False) -> Problem:
        """Build a Problem for ``path`` located in this document."""
        position = self.locate(path, prefer_key=prefer_key)
        line, column = position if position else (None, None)
        return Problem(self.file, line, column, format_path(path), message)


def format_path(path: FieldPath) -> str:
    """Render ("spec", "steps", 1, "lose") as ``spec.steps[1].lose``."""
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else part)
    return text


class _NodeBudget:
    def __init__(self, limit: int) -> None:
        self.left = limit

    def spend(self, depth: int) -> None:
        self.left -= 1
        if self.left < 0:
            raise _TooLargeError(
                f"the document expands to more than {MAX_NODES} values (an alias bomb?)"
            )
        if depth > MAX_DEPTH:
            raise _TooLargeError(f"nested too deep: zonedrill reads at most {MAX_DEPTH} levels")


class _TooLargeError(Exception):
    pass


def not_a_file(path: Path) -> str:
    """Why ``path``, which is not a regular file, cannot be read: said as a user would."""
    if not path.exists():
        return "no such file"
    if path.is_dir():
        return "a folder, not a file"
    return "not a regular file (a FIFO, a device or a socket)"


def read_bounded(path: Path, *, limit: int = MAX_FILE_BYTES) -> bytes:
    """At most ``limit`` bytes of ``path``; InvalidInputError when there are more or none to read.

    Only regular files are read, and the limit is enforced on what is read, not on ``stat``.
    """
    name = str(path)
    try:
        if not path.is_file():  # a FIFO would block the open; a device never ends
            raise refuse(name, not_a_file(path))
        with path.open("rb") as handle:
            data = handle.read(limit + 1)
    except (OSError, RuntimeError) as exc:  # RuntimeError: a symlink loop
        raise refuse(
            name, f"cannot read the file: {getattr(exc, 'strerror', None) or exc}"
        ) from exc
    if len(data) > limit:
        raise refuse(name, f"the file is over {limit} bytes: zonedrill reads at most {limit}")
    return data


def read_text(path: Path, *, limit: int = MAX_FILE_BYTES) -> str:
    """The UTF-8 text of ``path``, read with a byte limit."""
    data = read_bounded(path, limit=limit)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise refuse(str(path), f"the file is not UTF-8 text: {exc.reason}") from exc


def load_yaml_file(path: Path) -> YamlDocument:
    """Read and parse ``path``; raise InvalidInputError with located problems if not YAML."""
    return parse_yaml_text(read_text(path), file=str(path))


KINDS_SHOWN = 4


def _not_one_document(documents: list[Any]) -> str:
    """Why a file with zero or several documents is refused, naming a manifest as such."""
    kinds = [d.get("kind") for d in documents if isinstance(d, dict) and d.get("kind")]
    foreign = all(d.get("apiVersion") != "zonedrill/v1" for d in documents if isinstance(d, dict))
    if kinds and foreign:
        shown = ", ".join(str(k) for k in kinds[:KINDS_SHOWN])
        shown += ", …" if len(kinds) > KINDS_SHOWN else ""
        return (
            f"this is a Kubernetes manifest ({len(documents)} documents: {shown}), not a drill "
            "or a lab: zonedrill files hold one document with apiVersion: zonedrill/v1 and "
            "kind: Drill or Lab (see docs/drill-format.md)"
        )
    return f"expected exactly one YAML document, found {len(documents)}"


def parse_yaml_text(text: str, *, file: str) -> YamlDocument:
    """Parse one YAML document from ``text``."""
    yaml = YAML(typ="rt")
    try:
        documents = list(yaml.load_all(text))
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, column = (mark.line + 1, mark.column + 1) if mark else (None, None)
        message = f"not valid YAML: {exc.problem or exc.context}"
        raise InvalidInputError([Problem(file, line, column, "", message)]) from exc
    except RecursionError:
        raise refuse(file, f"nested too deep: zonedrill reads at most {MAX_DEPTH} levels") from None
    except (YAMLError, ValueError) as exc:
        # ValueError: an integer of thousands of digits is refused by int() itself.
        raise refuse(file, f"not valid YAML: {exc}") from exc
    except TypeError as exc:  # the loader hashes a complex key (`? lab: x`) and cannot
        message = "not valid YAML here: a mapping or list used as a key (a line starting with ?)"
        raise refuse(file, message) from exc
    if len(documents) != 1:
        raise refuse(file, _not_one_document(documents))
    document = YamlDocument(file=file, data=None)
    try:
        document.data = _plain(documents[0], (), document, _NodeBudget(MAX_NODES))
    except _TooLargeError as exc:
        raise refuse(file, str(exc)) from None
    document.value_positions.setdefault((), (1, 1))
    if document.problems:
        raise InvalidInputError(document.problems)
    return document


def refuse(file: str, message: str) -> InvalidInputError:
    """An error about a whole file (no line to point at)."""
    return InvalidInputError([Problem(file, None, None, "", message)])


def _plain(node: Any, path: FieldPath, doc: YamlDocument, budget: _NodeBudget) -> Any:
    budget.spend(len(path))
    tag = getattr(getattr(node, "tag", None), "value", None)
    if tag is not None:
        doc.problems.append(
            doc.problem(path, f"YAML tags such as {tag} are not accepted: write a plain value")
        )
        return None
    if isinstance(node, CommentedMap):
        return _mapping(node, path, doc, budget)
    if isinstance(node, CommentedSeq):
        items = []
        for index, value in enumerate(node):
            here = doc.value_positions.get(path, (1, 1))
            doc.value_positions[(*path, index)] = _position(partial(node.lc.item, index), here)
            items.append(_plain(value, (*path, index), doc, budget))
        return items
    problem = _scalar_problem(node)
    if problem is not None:
        doc.problems.append(doc.problem(path, problem))
        return None
    return _scalar(node)


def _mapping(node: CommentedMap, path: FieldPath, doc: YamlDocument, budget: _NodeBudget) -> Any:
    result: dict[str, Any] = {}
    here = doc.value_positions.get(path, (1, 1))
    for key, value in node.items():
        # Keys merged in with << (or from an !!omap) have no place of their own: use the map's.
        key_at = _position(partial(node.lc.key, key), here)
        if not isinstance(key, str | int | bool) or _scalar_problem(key) is not None:
            doc.problems.append(Problem(doc.file, *key_at, format_path(path), _KEY_PROBLEM))
            continue
        child = (*path, str(key))
        doc.key_positions[child] = key_at
        # An empty value (``path:`` and nothing after it) has no place of its own: ruamel gives
        # the next token's, often the next key's line. Its key is where to look.
        doc.value_positions[child] = (
            key_at if value is None else _position(partial(node.lc.value, key), key_at)
        )
        result[str(key)] = _plain(value, child, doc, budget)
    return result


def _position(lookup: Callable[[], Any], fallback: Position) -> Position:
    """ruamel's 0-based (line, column) as 1-based, or ``fallback`` where it has none."""
    try:
        found = lookup()
    except (KeyError, TypeError, AttributeError):
        return fallback
    return (found[0] + 1, found[1] + 1) if found else fallback


_KEY_PROBLEM = "a key must be plain text (complex keys such as [a, b] or {a: 1} are not accepted)"


def _int_problem(node: int) -> str | None:
    if abs(node) <= MAX_SAFE_INTEGER:
        return None
    return f"the integer {str(node)[:20]}... is larger than 2^53: expected a smaller number"


def _float_problem(node: float) -> str | None:
    return None if math.isfinite(node) else f"{node} is not a finite number"


def _text_problem(node: str) -> str | None:
    try:
        node.encode("utf-8")
    except UnicodeEncodeError:
        return "the text is not valid Unicode (a lone surrogate such as \\ud800)"
    return None


# Checked in order: bool before int, since a bool is an int.
_SCALAR_RULES: tuple[tuple[type | tuple[type, ...], Callable[[Any], str | None]], ...] = (
    ((bool, type(None)), lambda _: None),
    (int, _int_problem),
    (float, _float_problem),
    (str, _text_problem),
)


def _scalar_problem(node: Any) -> str | None:
    """Why a scalar cannot be handed on, or None."""
    for types, rule in _SCALAR_RULES:
        if isinstance(node, types):
            return rule(node)
    return f"a {type(node).__name__} value is not accepted here: quote it to make it text"


def _scalar(node: Any) -> Any:
    # ruamel wraps scalars in subclasses that carry formatting; hand pydantic plain values.
    if isinstance(node, bool) or node is None:
        return node
    if isinstance(node, int):
        return int(node)
    if isinstance(node, float):
        return float(node)
    return str(node)
