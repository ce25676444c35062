"""Go-style durations ("1h30m", "250ms") and percentage strings ("99.5%")."""

from __future__ import annotations

import math
import re
from decimal import Decimal, localcontext

UNITS = {
    "ns": Decimal("1e-9"),
    "us": Decimal("1e-6"),
    "µs": Decimal("1e-6"),
    "ms": Decimal("1e-3"),
    "s": Decimal(1),
    "m": Decimal(60),
    "h": Decimal(3600),
    "d": Decimal(86400),
    "w": Decimal(7 * 86400),
}
"""Seconds per unit, exact: 50000us is 50ms, not 0.049999999999999996 s."""
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
    pos, total = 0, Decimal(0)
    with localcontext(prec=2 * len(raw) + 30):  # exact, however many digits were written
        while pos < len(raw):
            match = _PART.match(raw, pos)
            if match is None:
                raise ValueError(f'"{text}" is not {what}: expected forms like {FORMS}')
            total += Decimal(match.group(1)) * UNITS[match.group(2)]
            pos = match.end()
    if not total <= Decimal(repr(longest)):  # in decimals: 30000000000ns is not above 30s
        raise ValueError(f'"{text[:40]}" is too long: expected at most {format_duration(longest)}')
    return float(total)


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
