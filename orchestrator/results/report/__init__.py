"""Report rendering: HTML, Markdown and JUnit for drills and game days."""
