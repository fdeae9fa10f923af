"""The ``stride`` command line (console script ``stride = services.cli:main``)."""

from __future__ import annotations

from services.cli.app import app, main

__all__ = ["app", "main"]
