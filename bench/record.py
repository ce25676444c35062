"""Recording a bench's figures in bench/results/<bench>-<date>.json, with the machine they ran on.

The shape: ``{"bench", "date", "machine": {"cores", "cpuModel", "memoryBytes"}, "versions",
"rows": [...]}``; each bench fills its rows. ``ZONEDRILL_BENCH_RESULTS`` names another folder
(the suite's short runs write there, never over the recorded figures).
"""

from __future__ import annotations

import json
import os
import platform
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).resolve().parent / "results"
RESULTS_ENV = "ZONEDRILL_BENCH_RESULTS"


def machine() -> dict[str, Any]:
    """Cores, CPU model and memory of this machine."""
    model = platform.processor()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "cores": os.cpu_count(),
        "cpuModel": model,
        "memoryBytes": os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"),
    }


def record(
    bench: str, rows: list[dict[str, Any]], *, versions: dict[str, str] | None = None, **extra: Any
) -> Path:
    """Write the results file of ``bench`` for today; return its path.

    ``versions`` adds the peers' versions to zonedrill's and Python's.
    """
    folder = Path(os.environ.get(RESULTS_ENV) or RESULTS)
    folder.mkdir(parents=True, exist_ok=True)
    now = datetime.now(UTC)
    document = {
        "bench": bench,
        "date": now.isoformat(timespec="seconds"),
        "machine": machine(),
        "versions": {
            "zonedrill": version("zonedrill"),
            "python": platform.python_version(),
            **(versions or {}),
        },
        "rows": rows,
        **extra,
    }
    path = folder / f"{bench}-{now:%Y-%m-%d}.json"
    path.write_text(json.dumps(document, indent=2) + "\n")
    return path


def http_versions() -> dict[str, str]:
    """The HTTP stacks the probe benches compare."""
    return {name: version(name) for name in ("aiohttp", "httpx", "httpx-aiohttp")}
