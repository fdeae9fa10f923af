"""The ``stride`` command line (console script ``stride = services.cli:main``)."""

from __future__ import annotations

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
