"""One pull of an integration plugin's metric source: ``integration-pull/<plugin>/<source>``.

Started by the source's Temporal Schedule (every ``interval``; the schedule appends the start
time to the id) on the ``integrations`` task queue. The one activity, ``integration_pull``,
asks the source for what is new since its watermark, publishes the samples to NATS
``telemetry.ingest.<source>.<metric>`` (``Nats-Msg-Id`` = sample id) and then saves the new
watermark; a retry after a crash publishes the same ids again, which JetStream and telemetry
count once. A source that is down is retried a few times within the interval; a plugin that
breaks a rule (``IntegrationPluginError``) is not retried: the next scheduled pull tries again.
The report (counts only: the history keeps it) is the result.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy

PULL_ACTIVITY = "integration_pull"
# ApplicationError types raised by the pull activity.
ERROR_PLUGIN = "IntegrationPluginError"  # the plugin broke a rule or lacks a setting
ERROR_UNKNOWN = "IntegrationUnknownSource"  # not installed on the worker that ran it
ERROR_SOURCE_UNAVAILABLE = "IntegrationSourceUnavailable"  # HTTP error, timeout, NATS down


@dataclass
class PullInput:
    plugin: str
    source: str
    # The source's schedule interval and pull timeout (the workflow cannot import plugins).
    interval_seconds: int = 900
    timeout_seconds: int = 120


@dataclass
class PullReport:
    plugin: str
    source: str
    published: int = 0
    # metric → samples published
    by_metric: dict[str, int] = field(default_factory=dict)
    watermark_before: str = ""
    watermark_after: str = ""


def pull_retry(interval_seconds: int) -> RetryPolicy:
    """Retries that fit in one interval (the next scheduled pull takes over after that)."""
    return RetryPolicy(
        initial_interval=timedelta(seconds=1),
        backoff_coefficient=2.0,
        maximum_interval=timedelta(seconds=max(1, min(60, interval_seconds // 4))),
        maximum_attempts=5,
        non_retryable_error_types=[ERROR_PLUGIN, ERROR_UNKNOWN],
    )


def memo_title(plugin: str, source: str) -> str:
    """The Temporal UI title of a pull."""
    return f"Integration pull {plugin}/{source}"


@workflow.defn
class IntegrationPullWorkflow:
    @workflow.run
    async def run(self, input: PullInput) -> PullReport:
        return await workflow.execute_activity(
            PULL_ACTIVITY,
            input,
            result_type=PullReport,
            start_to_close_timeout=timedelta(seconds=max(1, input.timeout_seconds)),
            retry_policy=pull_retry(input.interval_seconds),
        )
