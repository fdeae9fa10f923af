"""A command that used Temporal leaves without interpreter teardown, output and code intact."""

from __future__ import annotations

import subprocess
import sys

import pytest

SCRIPT = """
import sys
from services.cli.exiting import leave, used_temporal
if sys.argv[1] == "temporal":
    used_temporal()
print("result printed", end="")
print("warning", file=sys.stderr, end="")
leave(int(sys.argv[2]))
"""


@pytest.mark.parametrize("mode", ["temporal", "plain"])
@pytest.mark.parametrize("code", [0, 3])
def test_output_is_flushed_and_the_exit_code_kept(mode: str, code: int) -> None:
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, mode, str(code)], capture_output=True, text=True
    )
    assert (done.returncode, done.stdout, done.stderr) == (code, "result printed", "warning")
