"""Integrations: plugins that pull samples from MES, CRM and other systems into telemetry.

What a plugin imports (the public interface, :mod:`services.integrations.api`)::

    from services.integrations import Metric, MetricSource, Plugin, PullContext, Sample

The rest of the package is the integrations worker that runs them (``stride worker --queue
integrations``): discovery, schedules, the pull activity, watermarks and the factory
simulator (``stride simulate factory``).
"""

from services.integrations.api import (
    ENTRY_POINT_GROUP,
    Metric,
    MetricSource,
    Plugin,
    PluginError,
    PullContext,
    Sample,
    stable_id,
)

__all__ = [
    "ENTRY_POINT_GROUP",
    "Metric",
    "MetricSource",
    "Plugin",
    "PluginError",
    "PullContext",
    "Sample",
    "stable_id",
]
