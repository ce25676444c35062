"""Reading an experiment whose parts may come in any shape Chaos Toolkit's JSON allows.

The importer asks for a mapping, a list or a number of seconds; a part of another shape reads as
empty (and is named as not carried over where it matters), never as an exception.
"""

from __future__ import annotations

import math
from typing import Any, TypeGuard


def as_dict(value: Any) -> dict[str, Any]:
    """``value`` when it is a mapping, else empty."""
    return value if isinstance(value, dict) else {}


def as_list(value: Any) -> list[Any]:
    """``value`` when it is a list, else empty (a string is not a list of activities)."""
    return value if isinstance(value, list) else []


def is_seconds(value: Any) -> TypeGuard[float]:
    """True for a finite number of seconds above 0 (not a bool, a string or NaN)."""
    number = isinstance(value, int | float) and not isinstance(value, bool)
    return number and math.isfinite(value) and value > 0
