"""Children that die with their supervisor: ``PR_SET_PDEATHSIG`` = SIGKILL on Linux, set between
fork and exec, so a ``stride up`` killed with SIGKILL (no chance to clean up) leaves no process
behind."""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import signal
import sys
from collections.abc import Callable

PR_SET_PDEATHSIG = 1


def libc_prctl() -> Callable[..., int] | None:
    if not sys.platform.startswith("linux"):
        return None
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name or "libc.so.6", use_errno=True)
    except OSError:
        return None
    prctl: Callable[..., int] = libc.prctl
    return prctl


def die_with_parent(parent_pid: int, prctl: Callable[..., int] | None) -> Callable[[], None]:
    """preexec_fn: ask the kernel to SIGKILL the child when its parent dies."""

    def preexec() -> None:
        if prctl is not None:
            prctl(PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0)
        # The parent may have died between fork and prctl: then nobody would stop us.
        if os.getppid() != parent_pid:
            os._exit(1)

    return preexec
