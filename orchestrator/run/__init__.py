"""One run of a drill: phases, preflight, guardrails, restore, console, rollback."""
