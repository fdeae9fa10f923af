"""The ``stride`` command line (console script ``stride = services.cli:main``)."""

from __future__ import annotations

import os

# Before anything imports grpc: this process forks children (the supervisor) while gRPC threads
# run; gRPC's fork handlers would restart its poller in the child between fork and exec, where
# the inherited descriptors are being closed, and abort it ("epoll_wait error: Bad file
# descriptor", exit -6). Children exec at once and need no gRPC state from the parent.
os.environ.setdefault("GRPC_ENABLE_FORK_SUPPORT", "false")

from typing import TYPE_CHECKING

from services.cli.commands import main

if TYPE_CHECKING:
    import typer

__all__ = ["app", "main"]


def __getattr__(name: str) -> typer.Typer:
    """``services.cli.app``: the whole command line as a Typer app, every group added."""
    if name == "app":
        from services.cli.commands import add_groups

        return add_groups()
    raise AttributeError(name)
