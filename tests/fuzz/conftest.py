"""The fuzz phase runs against the same real stack as the e2e suite (every process, started
by ``stride up``'s supervisor on free ports)."""

from tests.e2e.conftest import stack

__all__ = ["stack"]
