"""Field types shared by the drill and lab models."""

from __future__ import annotations

import re
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    WithJsonSchema,
)
from pydantic.alias_generators import to_camel

from orchestrator.drill.duration_schema import bounded_pattern
from orchestrator.durations import MAX_DURATION, parse_duration, parse_percent

# The patterns accept exactly what the parsers do (orchestrator/durations.py), so an editor
# never shows green for a value validate refuses, or red for one it takes.
DURATION_PATTERN = r"^\s*(([0-9]+(\.[0-9]*)?|\.[0-9]+)(ns|us|µs|ms|s|m|h|d|w))+\s*$"
PERCENT_PATTERN = r"^\s*0*(100(\.0+)?|[0-9]{1,2}(\.[0-9]+)?)\s*%\s*$"


def _duration(value: Any) -> Any:
    # pydantic turns ValueError into a located validation error; TypeError would escape it.
    if isinstance(value, bool):
        raise ValueError('expected a duration string such as "30s"')  # noqa: TRY004
    if isinstance(value, int | float):
        raise ValueError(f'a bare number is not a duration: write "{value}s" (or ms, m, h, d)')  # noqa: TRY004
    if isinstance(value, str):
        return parse_duration(value)
    raise ValueError('expected a duration string such as "30s"')


def _percent(value: Any) -> Any:
    if isinstance(value, str):
        return parse_percent(value)
    raise ValueError(f'expected a percentage string: write "{value}%"')


def _duration_text(seconds: float) -> str:
    # Written back, a drill must read as the same drill: every form is checked to round-trip.
    millis = f"{round(seconds * 1000)}ms"
    if seconds < 1 and parse_duration(millis) == seconds:
        return millis
    text = repr(seconds).removesuffix(".0")
    return f"{text}s" if "e" not in text else f"{seconds * 1e9:.0f}ns"


def _percent_text(value: float) -> str:
    return f"{value!r}%"


Duration = Annotated[
    float,
    BeforeValidator(_duration),
    PlainSerializer(_duration_text, when_used="json"),
    WithJsonSchema(
        {
            "type": "string",
            "pattern": DURATION_PATTERN,
            "allOf": [{"pattern": bounded_pattern()}],
            "examples": ["30s", "1m30s"],
        }
    ),
]
"""Seconds, written in files as a Go duration string (at most a week)."""


def duration_bounds(
    *, at_least: float = 0.0, above_zero: bool = False, at_most: float = MAX_DURATION
) -> dict[str, Any]:
    """A duration field's own bounds in its schema, for ``Field(json_schema_extra=...)``."""
    pattern = bounded_pattern(at_least=at_least, above_zero=above_zero, at_most=at_most)
    return {"allOf": [{"pattern": pattern}]}


Percent = Annotated[
    float,
    BeforeValidator(_percent),
    PlainSerializer(_percent_text, when_used="json"),
    WithJsonSchema({"type": "string", "pattern": PERCENT_PATTERN, "examples": ["99.5%"]}),
]
"""A percentage 0..100, written in files as a string like ``"99.5%"``."""

DNS_LABEL_PATTERN = r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$"


def _dns_label(value: str) -> str:
    if not re.fullmatch(DNS_LABEL_PATTERN, value):
        raise ValueError(
            f'"{value}" is not a DNS-1123 label: use at most 63 lowercase letters, digits and "-",'
            " starting and ending with a letter or digit"
        )
    return value


DnsLabel = Annotated[
    str,
    AfterValidator(_dns_label),
    WithJsonSchema({"type": "string", "pattern": DNS_LABEL_PATTERN}),
]

NonEmptyStr = Annotated[str, Field(min_length=1)]


class FileModel(BaseModel):
    """Base of every file model: camelCase keys, unknown keys rejected, values frozen."""

    model_config = ConfigDict(
        alias_generator=to_camel, populate_by_name=True, extra="forbid", frozen=True
    )


class Metadata(FileModel):
    """Who a file is: a DNS-1123 name, a description and free labels."""

    name: DnsLabel = Field(
        description="A DNS-1123 label: at most 63 lowercase letters, digits and -."
    )
    description: str = Field(default="", description="What the file is for, in a sentence.")
    labels: dict[str, str] = Field(default_factory=dict, description="Free labels.")
