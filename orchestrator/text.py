"""User text made safe to show: no terminal escape sequences, no control characters."""

from __future__ import annotations

import re

_ESCAPES = re.compile(r"\x1b(\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(\x07|\x1b\\)?|.?)")
_CONTROLS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def clean(text: str) -> str:
    """User text fit for a terminal or a report.

    Escape sequences and control characters (but newline and tab) are dropped, and text that is
    not valid Unicode is replaced.
    """
    text = _CONTROLS.sub("", _ESCAPES.sub("", text))
    return text.encode("utf-8", "replace").decode("utf-8")
