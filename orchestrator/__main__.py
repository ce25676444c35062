"""``python -m orchestrator`` runs the zonedrill command."""

from orchestrator.cli import entry

entry()
