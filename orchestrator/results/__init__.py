"""What a run leaves behind: result documents, scoring, checks, history, gates, reports."""
