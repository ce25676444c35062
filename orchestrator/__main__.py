"""``python -m orchestrator`` runs the zonedrill command."""

from orchestrator.cli import main

main(prog_name="zonedrill")
