"""Org sync: the organisation comes from a source (file, DingTalk, JSON); see docs/org-sync.md.

- ``model`` / ``plan``: the snapshot, the current org and the pure planner (no I/O).
- ``connectors``: where snapshots come from.
- ``models`` / ``servicer`` / ``apply``: the OrgSyncService of the identity process.
- ``client`` / ``schedules``: calling it (CLI, activities) and starting the workflow.
"""
