"""Org sync: the organisation comes from a source (file, DingTalk, JSON); see docs/org-sync.md.

- ``data`` / ``plan``: the snapshot, the current org, the plan (pure data types) and the
  pure planner (no I/O).
- ``connectors``: where snapshots come from.
- ``tables`` / ``repository`` / ``apply``: persistence and applying a batch for the org-sync
  handler (``services.identity.handlers.org_sync``, served by ``servicers.org_sync``).
- ``convert``: these values ⇄ protobuf.
- ``client`` / ``schedules``: calling it (CLI, activities) and starting the workflow.
"""
