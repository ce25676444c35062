"""Duration bounds as JSON Schema patterns, so an editor refuses what ``validate`` refuses.

JSON Schema cannot compare a duration string with a number, but a regular expression can
compare a decimal string with a fixed decimal digit by digit. A one-part duration (``10ms``,
``31s``, ``0.05s``: what people write) is held to its field's bounds exactly, in every unit. A
duration of several parts (``1m30s``) is held to "above 0" exactly, and to its other bounds by
``validate`` only: a sum of parts is beyond what a pattern can bound. A bound that does not
divide into a unit (0.05s in minutes) is rounded inward at eighteen decimals, so the schema
never passes what ``validate`` refuses; ``validate`` compares floats, so values written beyond
a float's precision (0.0499999999999999999s) may still read differently.
"""

from __future__ import annotations

from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal, localcontext

from orchestrator.durations import MAX_DURATION, UNITS

NUMBER = r"(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)"
UNIT = "(?:ns|us|µs|ms|s|m|h|d|w)"
PLACES = Decimal("1e-18")
NONZERO = r"(?=[^1-9]*[1-9])"
"""Some digit is not 0: the duration is above 0, in any form (units hold no digits)."""


def bounded_pattern(
    *, at_least: float = 0.0, above_zero: bool = False, at_most: float = MAX_DURATION
) -> str:
    """The pattern of a duration field in [at_least, at_most] seconds (above 0 if asked)."""
    low, high = Decimal(repr(at_least)), Decimal(repr(at_most))
    single = "|".join(
        _in_range(_scaled(low, factor, ROUND_CEILING), _scaled(high, factor, ROUND_FLOOR)) + unit
        for unit, factor in UNITS.items()
    )
    several = f"(?:{NUMBER}{UNIT}){{2,}}"
    guard = NONZERO if above_zero or low > 0 else ""
    return rf"^{guard}\s*(?:(?:{single})|{several})\s*$"


def _scaled(seconds: Decimal, factor: Decimal, rounding: str) -> Decimal:
    with localcontext(prec=60):  # a week in nanoseconds, to eighteen decimals
        return (seconds / factor).quantize(PLACES, rounding=rounding).normalize()


def _in_range(low: Decimal, high: Decimal) -> str:
    """A decimal number string (as durations write them) from ``low`` to ``high``."""
    return f"(?={_at_least(low)}[^0-9.])(?={_at_most(high)}[^0-9.]){NUMBER}"


def _split(value: Decimal) -> tuple[str, str]:
    text = f"{value:f}"
    whole, _, fraction = text.partition(".")
    return whole.lstrip("0"), fraction.rstrip("0")


def _at_least(value: Decimal) -> str:
    """A number string whose value is at least ``value`` (>= 0)."""
    whole, fraction = _split(value)
    bigger_whole = [f"[1-9][0-9]{{{len(whole)},}}"]  # more digits before the point
    bigger_whole += [
        f"{whole[:i]}[{int(whole[i]) + 1}-9][0-9]{{{len(whole) - i - 1}}}"
        for i in range(len(whole))
        if whole[i] != "9"
    ]
    greater = "|".join(f"0*(?:{b})(?:\\.[0-9]*)?" for b in bigger_whole)
    bigger_fraction = [
        f"{fraction[:j]}[{int(fraction[j]) + 1}-9][0-9]*"
        for j in range(len(fraction))
        if fraction[j] != "9"
    ]
    bigger_fraction.append(f"{fraction}[0-9]*")
    point = "|".join(bigger_fraction)
    same = f"0*{whole}\\.(?:{point})" if fraction else f"0*{whole}(?:\\.[0-9]*)?"
    if not whole and not fraction:
        same = NUMBER
    return f"(?:{greater}|{same})"


def _at_most(value: Decimal) -> str:
    """A number string whose value is at most ``value`` (>= 0)."""
    whole, fraction = _split(value)
    shorter = f"0*(?:[1-9][0-9]{{0,{len(whole) - 2}}})?" if len(whole) > 1 else "0*"
    smaller_whole = [
        f"{whole[:i]}[{'1' if i == 0 else '0'}-{int(whole[i]) - 1}][0-9]{{{len(whole) - i - 1}}}"
        for i in range(len(whole))
        if int(whole[i]) > (1 if i == 0 else 0)
    ]
    less = f"{shorter}(?:\\.[0-9]*)?|\\.[0-9]+" if whole else "(?!)"
    less += "".join(f"|0*{w}(?:\\.[0-9]*)?" for w in smaller_whole)
    smaller_fraction = [
        f"{fraction[:j]}[0-{int(fraction[j]) - 1}][0-9]*"
        for j in range(len(fraction))
        if fraction[j] != "0"
    ]
    smaller_fraction += [f"{fraction[:m]}0*" for m in range(len(fraction) + 1)]
    point = "|".join(smaller_fraction)
    lead = f"0*{whole}" if whole else "0*"
    same = f"{lead}(?:\\.(?:{point}))?" if whole else f"(?:0+(?:\\.(?:{point}))?|\\.(?:{point}))"
    return f"(?:{less}|{same})"
