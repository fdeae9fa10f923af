"""What an org sync did, counted: the one definition of the counts.

The identity service's planner fills it, the ``org-sync/<source>`` workflow reports it, the
gateway returns it (``GET /org/sync/runs``). A pure dataclass in a module of its own, so the
identity service and the gateway read it without loading the workflow (and the Temporal SDK).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class SyncCounts:
    created: int = 0
    updated: int = 0
    moved: int = 0
    deactivated: int = 0
    unchanged: int = 0
    rejected: int = 0
    linked: int = 0
    # People the source would have deactivated but who stay active: admins and the person
    # who started the sync are never deactivated by one (also counted as unchanged).
    kept: int = 0
    departments_created: int = 0
    departments_updated: int = 0
    departments_unchanged: int = 0
    departments_rejected: int = 0
    departments_linked: int = 0
