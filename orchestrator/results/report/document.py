"""Reading a finished run back: ``result.json`` as the typed result model, and its raw samples.

Reports, the gate, the history and verify all start here, so a foreign, damaged or forged file
is refused in one place, with the file and the field path (or line and column for bad JSON).
Files are read with a byte limit, and samples are checked against the result's digest.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from pydantic import ValidationError
from pydantic_core import ErrorDetails

from orchestrator.errors import InvalidInputError, Problem
from orchestrator.probes.samples import Sample, read_samples
from orchestrator.results.document import ResultDoc
from orchestrator.yamlfile import format_path, read_bounded

RESULT_FILE = "result.json"
MAX_RESULT_BYTES = 16 * 1024 * 1024


@dataclass(frozen=True)
class FinishedRun:
    """A result document, where it was read from, and its raw samples (if kept)."""

    doc: ResultDoc
    path: Path
    samples: list[Sample]


def result_path(given: Path) -> Path:
    """``given`` itself, or the result.json inside it when it is a run folder."""
    return given / RESULT_FILE if given.is_dir() else given


PREDICTED_ON = "sim"
"""The target predictions run on (plan --simulate, ``orchestrator.targets.lab.sim``): nothing
that ran there is a run."""
PREDICTION = (
    "a prediction of zonedrill plan --simulate, not a run: report, verify, gate and history "
    "take runs only (run the drill to have one)"
)


def parse_result(text: str | bytes, *, source: str) -> ResultDoc:
    """Parse and check a result document; raise InvalidInputError naming every problem.

    A document of another kind gets that one problem, not a list of every field it lacks; a
    prediction is refused as a run.
    """
    try:
        doc = ResultDoc.model_validate_json(text)
    except ValidationError as exc:
        errors = exc.errors(include_url=False)
    else:
        if doc.predicted or doc.target == PREDICTED_ON:  # the flag, or where only predictions run
            raise InvalidInputError([Problem(source, None, None, "predicted", PREDICTION)])
        return doc
    foreign = [e for e in errors if tuple(e["loc"]) == ("kind",)]
    if foreign:
        got = foreign[0]["input"] if foreign[0]["type"] != "missing" else None
        message = f"not a zonedrill result: expected kind DrillResult, got {got!r}"
        raise InvalidInputError([Problem(source, None, None, "kind", message)])
    raise InvalidInputError([_problem(source, e) for e in errors])


def _problem(source: str, error: ErrorDetails) -> Problem:
    message = error["msg"].removeprefix("Value error, ")
    if error["type"] == "json_invalid":
        return Problem(source, None, None, "", f"not a zonedrill result (not JSON): {message}")
    return Problem(source, None, None, format_path(tuple(error["loc"])), message)


def load_result(given: Path, *, with_samples: bool = True, missing_ok: bool = False) -> FinishedRun:
    """Read a result (file or run folder) and, if asked, its samples, checked by digest.

    With ``missing_ok``, a result whose samples file is gone is read without samples; samples
    that are there are still checked.
    """
    path = result_path(given)
    data = read_bounded(path, limit=MAX_RESULT_BYTES)
    doc = parse_result(data, source=str(path))
    run = FinishedRun(doc=doc, path=path, samples=[])
    if not with_samples or (missing_ok and not (path.parent / doc.samples_file).exists()):
        return run
    samples, found = read_samples_of(run)
    if found != doc.samples_digest:
        message = f"the samples do not match the result's samplesDigest ({found})"
        raise InvalidInputError([Problem(str(path), None, None, "samplesDigest", message)])
    return FinishedRun(doc=doc, path=path, samples=samples)


def read_samples_of(run: FinishedRun) -> tuple[list[Sample], str]:
    """The run's samples and the digest of their file, however it compares to the result's."""
    path = run.path.parent / run.doc.samples_file
    try:
        return read_samples(path)
    except (OSError, ValueError) as exc:
        problem = Problem(str(path), None, None, "", f"cannot read the raw samples: {exc}")
        raise InvalidInputError([problem]) from exc
