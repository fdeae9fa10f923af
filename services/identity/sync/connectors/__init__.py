"""Org-sync connectors: where the organisation comes from (see docs/org-sync.md)."""

from __future__ import annotations

from services.common.settings import WorkerSettings
from services.identity.sync.connectors.base import (
    Connector,
    Progress,
    SourceError,
    SourceInvalid,
    SourceUnavailable,
)
from services.identity.sync.connectors.dingtalk import DingTalkConnector
from services.identity.sync.connectors.file import FileConnector
from services.identity.sync.connectors.http_json import JsonHttpConnector

SOURCES = ("dingtalk", "json", "file")


def configured_sources(settings: WorkerSettings) -> list[str]:
    """The sources named in ``org_sync_sources`` (comma separated), in order, deduplicated."""
    names = [n.strip().lower() for n in settings.org_sync_sources.split(",") if n.strip()]
    return list(dict.fromkeys(names))


def connector_for(source: str, settings: WorkerSettings) -> Connector:
    """The connector of a named source, configured from the settings."""
    if source == "dingtalk":
        return DingTalkConnector(
            app_key=settings.dingtalk_app_key,
            app_secret=settings.dingtalk_app_secret,
            base_url=settings.dingtalk_base_url,
            root_dept_id=settings.dingtalk_root_dept_id,
            timeout=settings.dingtalk_timeout_seconds,
            backoff=settings.dingtalk_retry_backoff_seconds,
            time_zone=settings.time_zone,
        )
    if source == "json":
        return JsonHttpConnector(settings.org_sync_json_url, token=settings.org_sync_json_token)
    if source == "file":
        if not settings.org_sync_file:
            raise SourceInvalid("the file source is not configured: set STRIDE_ORG_SYNC_FILE")
        return FileConnector(settings.org_sync_file)
    raise SourceInvalid(f"unknown org sync source {source!r}; use one of {', '.join(SOURCES)}")


__all__ = [
    "SOURCES",
    "Connector",
    "DingTalkConnector",
    "FileConnector",
    "JsonHttpConnector",
    "Progress",
    "SourceError",
    "SourceInvalid",
    "SourceUnavailable",
    "configured_sources",
    "connector_for",
]
