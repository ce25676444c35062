"""A steady-state probe's tolerance as a drill probe's ``expect``, or why it cannot be one.

Carried over: a status code or list of them, a status range of at most 100 codes, zonedrill's
own ``answer_ok`` probe, and a regex that is literal text, anchored or not (``^ok\\s*$``). An
anchored regex becomes ``bodyContains``, which is looser: that is named too, with its path.
"""

from __future__ import annotations

import re
from typing import Any

from orchestrator.ctk.shapes import as_dict, as_list

MAX_STATUS_RANGE = 100
LeftOut = list[tuple[str, str]]
ANCHORED = re.compile(r"\^?(?P<text>.*?)(?P<tail>\\s\*|\\s\+)?\$?", re.DOTALL)
"""A regex that is literal text between optional ``^`` and ``$``, with an optional ``\\s*``."""


def expect_of(tolerance: Any, path: str, left_out: LeftOut) -> dict[str, Any]:
    """The ``expect`` a tolerance becomes; whatever does not carry over is added to ``left_out``."""
    if isinstance(tolerance, bool) or tolerance is None:
        left_out.append((path, "no status tolerance: the drill passes any 2xx"))
        return {}
    if isinstance(tolerance, int):
        return {"status": [tolerance]}
    if isinstance(tolerance, list) and tolerance and all(type(t) is int for t in tolerance):
        return {"status": list(tolerance)}
    if isinstance(tolerance, dict):
        kind = tolerance.get("type")
        reader = READERS.get(kind) if isinstance(kind, str) else None
        if reader is not None:
            return reader(tolerance, path, left_out)
        left_out.append((path, f"a {kind!r} tolerance: only probe, range and regex carry over"))
        return {}
    left_out.append((path, f"a tolerance of {type(tolerance).__name__} is not a status"))
    return {}


def _answer_ok(tolerance: dict[str, Any], path: str, left_out: LeftOut) -> dict[str, Any]:
    provider = as_dict(tolerance.get("provider"))
    if provider.get("func") != "answer_ok":
        left_out.append((f"{path}.provider", "only zonedrill's answer_ok probe is a tolerance"))
        return {}
    arguments = as_dict(provider.get("arguments"))
    expect: dict[str, Any] = {}
    status = arguments.get("status")
    if isinstance(status, list) and status and all(type(code) is int for code in status):
        expect["status"] = list(status)
    elif status:
        left_out.append((f"{path}.provider.arguments.status", "expected a list of status codes"))
    body = arguments.get("body_contains")
    if isinstance(body, str) and body:
        expect["bodyContains"] = body
    return expect


def _range(tolerance: dict[str, Any], path: str, left_out: LeftOut) -> dict[str, Any]:
    bounds = as_list(tolerance.get("range"))
    if len(bounds) == 2 and all(type(b) is int for b in bounds):  # noqa: PLR2004
        low, high = bounds
        if 0 <= high - low <= MAX_STATUS_RANGE:
            return {"status": list(range(low, high + 1))}
    why = f"a range that is not two status codes at most {MAX_STATUS_RANGE} apart"
    left_out.append((f"{path}.range", why))
    return {}


def _regex(tolerance: dict[str, Any], path: str, left_out: LeftOut) -> dict[str, Any]:
    pattern = tolerance.get("pattern")
    matched = ANCHORED.fullmatch(pattern) if isinstance(pattern, str) else None
    text = matched.group("text") if matched else ""
    if not matched or not text or re.escape(text) != text:
        left_out.append((f"{path}.pattern", "a regex that is not literal text: no body check"))
        return {}
    if text != pattern:
        why = f'the drill checks that the body contains "{text}", looser than "{pattern}"'
        left_out.append((f"{path}.pattern", why))
    return {"bodyContains": text}


READERS = {"probe": _answer_ok, "range": _range, "regex": _regex}
