"""Settings of the integrations worker (``stride worker --queue integrations``)."""

from __future__ import annotations

from pydantic import Field

from services.common.settings import HealthEndpointSettings


class IntegrationSettings(HealthEndpointSettings):
    # The Temporal task queue of the plugins' pulls and activities.
    integrations_task_queue: str = "integrations"
    # Comma-separated plugin names to run; empty: every installed plugin.
    integrations_plugins: str = ""
    # JetStream key-value bucket keeping each source's watermark (key <plugin>.<source>).
    integrations_watermark_bucket: str = "STRIDE_INTEGRATIONS"
    # Create or update the Schedule integration-pull/<plugin>/<source> of every source.
    integrations_schedules: bool = True
    # Timeout of one HTTP request a plugin makes through ctx.http (seconds).
    integrations_http_timeout_seconds: float = Field(default=30.0, gt=0)

    def plugin_names(self) -> list[str]:
        return [n.strip() for n in self.integrations_plugins.split(",") if n.strip()]
