"""How a short-lived ``stride`` command that used the Temporal SDK leaves the process.

The SDK's Rust core keeps native threads that can call into Python while the interpreter
finalises, which aborts the process (``Fatal Python error: PyGILState_Release ...``, exit
status -6) after the command has already done its work and printed its result
(temporalio/sdk-python#300; seen here on `stride temporal setup` in CI). Commands that
touched Temporal therefore end with ``os._exit`` once their output is flushed, skipping
interpreter teardown. Long-running processes (`stride serve`, `stride up`) never get here.
"""

from __future__ import annotations

import logging
import os
import sys
from typing import TYPE_CHECKING, NoReturn

if TYPE_CHECKING:
    from temporalio.client import Client

    from services.common.settings import StrideSettings

_used_temporal = False


def used_temporal() -> None:
    """Mark this process as having talked to Temporal (call before connecting)."""
    global _used_temporal
    _used_temporal = True


async def connect_temporal(settings: StrideSettings, *, identity: str) -> Client:
    """A CLI command's Temporal client (services.common.temporal.connect), marking the
    process so that it leaves without teardown."""
    from services.common.temporal import connect

    used_temporal()
    return await connect(settings, identity=identity)


def exit_code(exc: SystemExit) -> int:
    if exc.code is None:
        return 0
    if isinstance(exc.code, int):
        return exc.code
    print(exc.code, file=sys.stderr)
    return 1


def leave(code: int) -> NoReturn:
    """Exit with ``code``; without interpreter teardown when Temporal was used."""
    if _used_temporal:
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except (OSError, ValueError):
                pass
        logging.shutdown()
        os._exit(code)
    sys.exit(code)
