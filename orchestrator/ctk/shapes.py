"""Reading an experiment whose parts may come in any shape Chaos Toolkit's JSON allows.

The importer asks for a mapping, a list or a number of seconds; a part of another shape reads as
empty (and is named as not carried over where it matters), never as an exception.
"""

from __future__ import annotations

import math
from typing import Any, TypeGuard

from orchestrator.durations import MAX_DURATION


def as_dict(value: Any) -> dict[str, Any]:
    """``value`` when it is a mapping, else empty."""
    return value if isinstance(value, dict) else {}


def as_list(value: Any) -> list[Any]:
    """``value`` when it is a list, else empty (a string is not a list of activities)."""
    return value if isinstance(value, list) else []


def is_number(value: Any) -> TypeGuard[float]:
    """True for a finite number: not a bool, text, NaN, ±Inf or an int too large for a float."""
    if not isinstance(value, int | float) or isinstance(value, bool):
        return False
    try:
        return math.isfinite(value)
    except OverflowError:  # an int too large for a float
        return False


def is_seconds(value: Any, *, longest: float = MAX_DURATION) -> TypeGuard[float]:
    """True for a number of seconds above 0 and at most ``longest`` (not a bool, text or NaN).

    A week at most, as a drill's durations: longer is a typo, and 10**400 or 1e308 summed are
    no time at all.
    """
    return is_number(value) and 0 < value <= longest


def name_of(provider: dict[str, Any], key: str) -> str:
    """A provider's ``module`` or ``func`` as text; anything else (a list, a number) is none."""
    value = provider.get(key)
    return value if isinstance(value, str) else ""
