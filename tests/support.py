"""Constants and helpers shared by the tests."""

from __future__ import annotations

import os
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
ZONEDRILL = [sys.executable, "-m", "orchestrator"]
"""The zonedrill command of the interpreter running the tests (PATH may hold another one)."""


def cli_env(state: Path) -> dict[str, str]:
    """The environment for a zonedrill subprocess using ``state``."""
    return {**os.environ, "ZONEDRILL_STATE_DIR": str(state), "COLUMNS": "200"}
