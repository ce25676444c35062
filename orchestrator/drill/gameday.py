"""The GameDay file (spec §6) as typed, frozen values."""

from __future__ import annotations

from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, field_validator

from orchestrator.drill.types import Duration, FileModel, Metadata, NonEmptyStr
from orchestrator.outcomes import DrillOutcome

CRON_FIELDS = 5
SHOWN_NAME = 60
"""Characters of a refused time zone name shown back: a long one is a paste, not a name."""


class GameDayDrill(FileModel):
    """One drill of the game day."""

    file: NonEmptyStr = Field(description="The drill file, relative to the game-day file.")
    pause_before: Duration = Field(
        default=0.0,
        ge=0,
        description="How long to let the cluster settle before this drill starts.",
    )


class PassWhen(FileModel):
    """When the game day as a whole passes."""

    min_score: float = Field(
        ge=0,
        le=100,
        allow_inf_nan=False,
        description="The least mean score of the drills (a drill without a score counts 0).",
    )


class CronSchedule(FileModel):
    """When ``zonedrill schedule`` runs the game day in the cluster."""

    cron: str = Field(description='A five-field cron expression, e.g. "0 3 * * 1".')
    time_zone: str = Field(
        default="Etc/UTC", description="An IANA time zone for the schedule, e.g. Asia/Seoul."
    )

    @field_validator("cron")
    @classmethod
    def _five_fields(cls, cron: str) -> str:
        if len(cron.split()) != CRON_FIELDS or any(c in cron for c in "\n\r"):
            raise ValueError(f'expected five cron fields such as "0 3 * * 1", got {cron!r}')
        return cron

    @field_validator("time_zone")
    @classmethod
    def _known_zone(cls, name: str) -> str:
        try:
            ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError, OSError):  # OSError: a name too long for a path
            shown = name if len(name) <= SHOWN_NAME else name[:SHOWN_NAME] + "…"
            raise ValueError(f"{shown!r} is not an IANA time zone (e.g. Asia/Seoul)") from None
        return name


class Webhook(FileModel):
    """Where the game-day summary is posted when it ends."""

    webhook: str = Field(
        pattern=r"^https?://[^\s]+$",
        description="An http(s) URL; the summary is POSTed as JSON. A failed post is a warning.",
    )


def _passed_or_failed() -> list[DrillOutcome]:
    return ["passed", "failed"]


class GameDaySpec(FileModel):
    """The drills, in order, and what makes the game day pass."""

    drills: list[GameDayDrill] = Field(
        min_length=1, description="The drills, run one after another against one cluster."
    )
    continue_after: list[DrillOutcome] = Field(
        default_factory=_passed_or_failed,
        description="Outcomes after which the next drill still runs; any other stops the game "
        "day and skips the rest.",
    )
    pass_when: PassWhen | None = Field(
        default=None,
        description="When the game day passes. Default: every drill passed (and none skipped).",
    )
    schedule: CronSchedule | None = Field(
        default=None, description="When zonedrill schedule runs it in the cluster."
    )
    notify: list[Webhook] = Field(
        default_factory=list, description="Webhooks that get the summary when it ends."
    )


class GameDay(FileModel):
    """A whole game-day file."""

    api_version: Literal["zonedrill/v1"] = Field(description="Always zonedrill/v1.")
    kind: Literal["GameDay"] = Field(description="GameDay.")
    metadata: Metadata = Field(description="The game day's name, description and labels.")
    spec: GameDaySpec = Field(description="The drills and the verdict.")
