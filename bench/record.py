"""Recording a bench's figures in bench/results/<bench>-<date>.json, with the machine they ran on.

The shape: ``{"bench", "date", "machine": {"cores", "cpuModel", "memoryBytes"}, "versions",
"rows": [...]}``; each bench fills its rows.
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


def record(bench: str, rows: list[dict[str, Any]], **extra: Any) -> Path:
    """Write the results file of ``bench`` for today; return its path."""
    RESULTS.mkdir(exist_ok=True)
    now = datetime.now(UTC)
    document = {
        "bench": bench,
        "date": now.isoformat(timespec="seconds"),
        "machine": machine(),
        "versions": {"zonedrill": version("zonedrill"), "python": platform.python_version()},
        "rows": rows,
        **extra,
    }
    path = RESULTS / f"{bench}-{now:%Y-%m-%d}.json"
    path.write_text(json.dumps(document, indent=2) + "\n")
    return path
