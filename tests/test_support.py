"""The test helpers themselves: a helper that cannot fail would hide the failures it wraps."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest

from tests.support import REPO, start_until

ENV = dict(os.environ)


def child(code: str) -> list[str]:
    """A Python child running ``code`` unbuffered."""
    return [sys.executable, "-u", "-c", code]


def test_start_until_returns_at_the_marker_and_keeps_the_rest() -> None:
    """The marker line is consumed; what follows stays readable by communicate()."""
    process = start_until(
        child("print('a'); print('ready'); print('after')"), env=ENV, marker="ready", timeout=30
    )
    rest, _ = process.communicate(timeout=30)
    assert rest == "after\n"


def test_a_silent_child_fails_within_the_timeout() -> None:
    """A child that prints nothing is killed at the timeout; the test fails, it does not hang."""
    started = time.monotonic()
    with pytest.raises(pytest.fail.Exception, match="stayed silent"):
        start_until(child("import time; time.sleep(600)"), env=ENV, marker="ready", timeout=1)
    assert time.monotonic() - started < 10


def test_a_child_that_exits_without_the_marker_fails_with_its_output() -> None:
    """Exit before the marker: the failure says so and shows what the child printed."""
    with pytest.raises(pytest.fail.Exception, match=r"closed its output(?s:.*)went wrong"):
        start_until(child("print('went wrong')"), env=ENV, marker="ready", timeout=30)


def test_a_child_left_running_by_an_interrupted_test_is_killed_at_exit() -> None:
    """Ctrl-C while a test holds a child (a stopped drill, say): no orphan outlives the run."""
    script = (
        "import os, sys\n"
        "from tests.support import start_until\n"
        "child = [sys.executable, '-u', '-c', 'print(1); import time; time.sleep(120)']\n"
        "started = start_until(child, env=dict(os.environ), marker='1')\n"
        "print(started.pid, flush=True)\n"
        "raise KeyboardInterrupt\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, cwd=REPO, check=False
    )
    pid = int(done.stdout.split()[0])
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)
