"""Go-style durations ("1h30m", "250ms") and percentage strings ("99.5%")."""

from __future__ import annotations

import math
import re

_UNITS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}
_PART = re.compile(r"([0-9]+(?:\.[0-9]*)?|\.[0-9]+)(ns|us|µs|ms|s|m|h)")
FULL_PERCENT = 100.0
MAX_DURATION = 7 * 24 * 3600.0
"""The longest duration a file may give (a week): longer is a typo, not a drill."""
_PERCENT = re.compile(r"^\s*([0-9]+(?:\.[0-9]+)?)\s*%\s*$")


def parse_duration(text: str) -> float:
    """Return seconds for a Go duration string; raise ValueError with a hint otherwise."""
    raw = text.strip()
    if re.fullmatch(r"[+-]?[0-9]+(\.[0-9]+)?", raw):
        raise ValueError(f'a bare number is not a duration: write "{raw}s" (or ms, m, h)')
    if raw == "0":
        return 0.0
    pos, total = 0, 0.0
    while pos < len(raw):
        match = _PART.match(raw, pos)
        if match is None:
            raise ValueError(
                f'"{text}" is not a duration: expected forms like "250ms", "30s", "1h30m"'
            )
        total += float(match.group(1)) * _UNITS[match.group(2)]
        pos = match.end()
    if not raw:
        raise ValueError('an empty string is not a duration: expected forms like "30s"')
    if not total <= MAX_DURATION:  # also refuses the inf of a 400-digit number
        raise ValueError(f'"{text[:40]}" is too long: expected at most 168h (a week)')
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


_DAYS = re.compile(r"([0-9]{1,6})(w|d)")


def parse_age(text: str) -> float:
    """Seconds for an age such as "7d", "1w", "36h" or "2d12h" (days and weeks allowed)."""
    raw = text.strip()
    days = 0.0
    while match := _DAYS.match(raw):
        days += int(match.group(1)) * (7 if match.group(2) == "w" else 1)
        raw = raw[match.end() :]
    if not raw:
        if days == 0 and not text.strip():
            raise ValueError('an empty age: write one like "7d", "36h" or "1w"')
        return days * 86400.0
    try:
        return days * 86400.0 + parse_duration(raw)
    except ValueError:
        raise ValueError(
            f'"{text}" is not an age: expected forms like "7d", "36h", "1w" or "2d12h"'
        ) from None
