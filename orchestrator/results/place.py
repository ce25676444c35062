"""Where a run was, as the gate and the history's queries select runs by it."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Place:
    """Which runs count: of one target, on one cluster. None: any.

    A cluster is named as ``gate --cluster`` takes it: its uid, or its identity with or without
    the target's prefix (``ClusterDoc.matches`` in Python).
    """

    target: str | None = None
    cluster: str | None = None

    @property
    def given(self) -> bool:
        """True when either is asked for."""
        return self.target is not None or self.cluster is not None


ANYWHERE = Place()
TARGET = "json_extract(document, '$.target')"
IDENTITY = "json_extract(document, '$.cluster.identity')"
UID = "json_extract(document, '$.cluster.uid')"


def selected(
    columns: str, drill: str | None, trigger: str | None, place: Place
) -> tuple[str, list[object]]:
    """A SELECT of ``columns`` from runs of ``drill``, ``trigger`` and ``place`` (None: any)."""
    # Only the fixed column lists above go into the text; every value is a parameter.
    query = f"SELECT {columns} FROM runs WHERE 1=1"  # noqa: S608
    arguments: list[object] = []
    for clause, value in (
        ("drill = ?", drill),
        ("trigger = ?", trigger),
        (f"{TARGET} = ?", place.target),
        (
            f"? IN ({UID}, {IDENTITY}, substr({IDENTITY}, instr({IDENTITY}, '/') + 1))",
            place.cluster,
        ),
    ):
        if value is not None:
            query += f" AND {clause}"
            arguments.append(value)
    return query, arguments
