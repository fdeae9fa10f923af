"""Reaches kept per (employee, transitive) while the org tree does not change.

Computing a reach walks the org tree (recursive queries whose cost grows with the whole
organisation: the top manager's at 100,000 people took ~550 ms of PostgreSQL), yet the tree
changes a few times a day. An answer is stored with the tree's version it was computed at
(services/identity/org_version.py) and reused while that version is the current one; the
caller reads the version first (one primary-key select) and computes afresh on a mismatch.
Reading the version *before* computing keeps it exact: a change committed in between makes
the stored version older than the data, so the entry is only recomputed once more, never
served stale. In process, bounded (least recently used out).
"""

from __future__ import annotations

from collections import OrderedDict

from services.identity.repository import OrganisationReach

# Entries kept per process: every manager of a 10,000-person organisation (~1,500) twice over.
DEFAULT_SIZE = 4096


class ReachCache:
    def __init__(self, size: int = DEFAULT_SIZE) -> None:
        self.size = size
        self._entries: OrderedDict[tuple[str, bool], tuple[int, OrganisationReach]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._entries)

    def get(
        self, employee_id: str, transitive: bool, version: int | None
    ) -> OrganisationReach | None:
        """The stored reach when it was computed at ``version``."""
        key = (employee_id, transitive)
        found = self._entries.get(key)
        if found is None or version is None or found[0] != version:
            return None
        self._entries.move_to_end(key)
        return found[1]

    def put(
        self, employee_id: str, transitive: bool, version: int | None, reach: OrganisationReach
    ) -> None:
        if version is None:
            return
        key = (employee_id, transitive)
        self._entries[key] = (version, reach)
        self._entries.move_to_end(key)
        while len(self._entries) > self.size:
            self._entries.popitem(last=False)
