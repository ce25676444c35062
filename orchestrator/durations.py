"""Go-style durations ("1h30m", "250ms") and percentage strings ("99.5%")."""

from __future__ import annotations

import math
import re

_UNITS = {
    "ns": 1e-9,
    "us": 1e-6,
    "µs": 1e-6,
    "ms": 1e-3,
    "s": 1.0,
    "m": 60.0,
    "h": 3600.0,
    "d": 86400.0,
    "w": 7 * 86400.0,
}
_PART = re.compile(r"([0-9]+(?:\.[0-9]*)?|\.[0-9]+)(ns|us|µs|ms|s|m|h|d|w)")
FULL_PERCENT = 100.0
MAX_DURATION = 7 * 24 * 3600.0
"""The longest duration a file may give (a week): longer is a typo, not a drill."""
MAX_AGE = 3660 * 24 * 3600.0
"""The longest age ``--max-age`` takes (ten years): beyond it, say no --max-age at all."""
_PERCENT = re.compile(r"^\s*([0-9]+(?:\.[0-9]+)?)\s*%\s*$")
FORMS = '"250ms", "30s", "1m30s", "36h" or "7d"'
"""The examples every refusal gives: drills and --max-age read one grammar."""


def parse_duration(text: str, *, longest: float = MAX_DURATION, what: str = "a duration") -> float:
    """Seconds for a Go duration, with days (d) and weeks (w) too; ValueError with a hint.

    Drill files and ``--max-age`` read the same forms; ``longest`` bounds the result (a week
    in files, where a longer one is a typo).
    """
    raw = text.strip()
    if re.fullmatch(r"[+-]?[0-9]+(\.[0-9]+)?", raw):
        raise ValueError(f'a bare number is not {what}: write "{raw}s" (or ms, m, h, d)')
    if not raw:
        raise ValueError(f"an empty string is not {what}: expected forms like {FORMS}")
    if raw == "0":
        return 0.0
    pos, total = 0, 0.0
    while pos < len(raw):
        match = _PART.match(raw, pos)
        if match is None:
            raise ValueError(f'"{text}" is not {what}: expected forms like {FORMS}')
        total += float(match.group(1)) * _UNITS[match.group(2)]
        pos = match.end()
    if not total <= longest:  # also refuses the inf of a 400-digit number
        raise ValueError(f'"{text[:40]}" is too long: expected at most {format_duration(longest)}')
    return total


def format_duration(seconds: float) -> str:
    """Render seconds back as a short Go-style duration."""
    if seconds == 0:
        return "0s"
    if seconds < 1:
        return f"{seconds * 1000:g}ms"
    minutes, secs = divmod(seconds, 60.0)
    hours, minutes = divmod(minutes, 60.0)
    text = ""
    if hours:
        text += f"{int(hours)}h"
    if minutes:
        text += f"{int(minutes)}m"
    if secs or not text:
        text += f"{round(secs, 3):g}s"
    return text


def parse_percent(text: str) -> float:
    """Return the number in a "99.5%" string; raise ValueError with a hint otherwise."""
    match = _PERCENT.match(text)
    if match is None:
        raise ValueError(f'"{text}" is not a percentage: write it like "99.5%"')
    value = float(match.group(1))
    if not 0.0 <= value <= FULL_PERCENT or math.isnan(value):
        raise ValueError(f'"{text}" is outside 0%..100%')
    return value


def parse_age(text: str) -> float:
    """Seconds for an age such as "7d", "1w", "36h" or "2d12h": the forms drills take."""
    return parse_duration(text, longest=MAX_AGE, what="an age")
