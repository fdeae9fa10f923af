"""A real ``stride up --free-ports`` run by a test: its output, its stack.json, its children.

Only processes that this ``stride up`` started are ever signalled.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from services.cli.stack import stride_command


def alive(pid: int) -> bool:
    """True while ``pid`` exists and is not a zombie."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


class Up:
    """A running ``stride up``; only its own children are ever signalled."""

    def __init__(self, data_dir: Path, env: dict[str, str], args: Sequence[str] = ()) -> None:
        self.data_dir = data_dir
        self.output = data_dir.parent / f"up-{time.monotonic_ns()}.out"
        self._out = self.output.open("wb")
        self.proc = subprocess.Popen(
            [*stride_command(), "up", "--free-ports", "--data-dir", str(data_dir), *args],
            stdout=self._out,
            stderr=subprocess.STDOUT,
            env=env,
        )
        self.state: dict[str, Any] = {}

    def text(self) -> str:
        return self.output.read_text(errors="replace")

    def wait_up(self, timeout: float = 150) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        state_file = self.data_dir / "stack.json"
        while not (state_file.exists() and "Press Ctrl-C" in self.text()):
            assert self.proc.poll() is None, f"stride up exited:\n{self.text()}"
            assert time.monotonic() < deadline, f"stride up not up:\n{self.text()}"
            time.sleep(0.2)
        self.state = json.loads(state_file.read_text())
        return self.state

    def children(self) -> list[int]:
        """The children's pids when the stack came up."""
        return list(self.state.get("children", {}).values())

    def children_now(self) -> dict[str, int]:
        """name → pid from stack.json as it is now (rewritten after every restart)."""
        state = json.loads((self.data_dir / "stack.json").read_text())
        return dict(state["children"])

    def restarts(self, name: str) -> int:
        """How many times ``stride up`` said ``name`` was restarted (and healthy again)."""
        return self.text().count(f"✓ {name} restarted, pid")

    def close(self) -> None:
        """Last resort after a failed test: stop it and anything it left."""
        try:
            self.state["children"] = self.children_now()
        except (FileNotFoundError, ValueError):
            pass
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        for pid in self.children():
            if alive(pid):
                os.kill(pid, signal.SIGKILL)
        self._out.close()
