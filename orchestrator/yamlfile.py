"""Load one YAML document into plain Python values while remembering where each came from.

Positions are 1-based (line, column) so they can be printed as ``file:line:column``.
Files are bounded in size and in the number of nodes they expand to, so a huge file or an
alias bomb ("billion laughs") is refused with a clear message instead of eating memory.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import MarkedYAMLError, YAMLError

from orchestrator.errors import InvalidInputError, Problem

MAX_FILE_BYTES = 1024 * 1024
MAX_NODES = 100_000

FieldPath = tuple[str | int, ...]
Position = tuple[int, int]


@dataclass
class YamlDocument:
    """A parsed document: plain data plus where every key and value stood in the file."""

    file: str
    data: Any
    value_positions: dict[FieldPath, Position] = field(default_factory=dict)
    key_positions: dict[FieldPath, Position] = field(default_factory=dict)

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

    def spend(self) -> None:
        self.left -= 1
        if self.left < 0:
            raise _TooLargeError


class _TooLargeError(Exception):
    pass


def load_yaml_file(path: Path) -> YamlDocument:
    """Read and parse ``path``; raise InvalidInputError with located problems if not YAML."""
    name = str(path)
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise _refuse(
                name, f"the file is {size} bytes; zonedrill reads at most {MAX_FILE_BYTES}"
            )
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise _refuse(name, f"cannot read the file: {exc.strerror or exc}") from exc
    except UnicodeDecodeError as exc:
        raise _refuse(name, f"the file is not UTF-8 text: {exc.reason}") from exc
    return parse_yaml_text(text, file=name)


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
    except YAMLError as exc:
        raise _refuse(file, f"not valid YAML: {exc}") from exc
    if len(documents) != 1:
        raise _refuse(file, f"expected exactly one YAML document, found {len(documents)}")
    document = YamlDocument(file=file, data=None)
    try:
        document.data = _plain(documents[0], (), document, _NodeBudget(MAX_NODES))
    except _TooLargeError:
        raise _refuse(
            file, f"the document expands to more than {MAX_NODES} values (an alias bomb?)"
        ) from None
    document.value_positions.setdefault((), (1, 1))
    return document


def _refuse(file: str, message: str) -> InvalidInputError:
    return InvalidInputError([Problem(file, None, None, "", message)])


def _plain(node: Any, path: FieldPath, doc: YamlDocument, budget: _NodeBudget) -> Any:
    budget.spend()
    if isinstance(node, CommentedMap):
        result: dict[str, Any] = {}
        for key, value in node.items():
            child = (*path, str(key))
            key_line, key_col = node.lc.key(key)
            value_line, value_col = node.lc.value(key)
            doc.key_positions[child] = (key_line + 1, key_col + 1)
            doc.value_positions[child] = (value_line + 1, value_col + 1)
            result[str(key)] = _plain(value, child, doc, budget)
        return result
    if isinstance(node, CommentedSeq):
        items = []
        for index, value in enumerate(node):
            line, col = node.lc.item(index)
            doc.value_positions[(*path, index)] = (line + 1, col + 1)
            items.append(_plain(value, (*path, index), doc, budget))
        return items
    return _scalar(node)


def _scalar(node: Any) -> Any:
    # ruamel wraps scalars in subclasses that carry formatting; hand pydantic plain values.
    if isinstance(node, bool) or node is None:
        return node
    if isinstance(node, int):
        return int(node)
    if isinstance(node, float):
        return float(node)
    if isinstance(node, str):
        return str(node)
    return node
