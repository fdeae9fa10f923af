"""Fixtures for workflow tests on the time-skipping server (``temporal_env``)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from services.worker.worker import ensure_search_attributes
from tests.temporal_leftovers import STARTED, time_skipping_env


@pytest.fixture(scope="package")
async def temporal_env() -> AsyncIterator[WorkflowEnvironment]:
    """The workflow tests' own time-skipping server: the session's is shared with integration
    and gateway tests whose workflows (and schedules) skip its clock far ahead — a run of the
    whole suite once had it past 2100, where no cycle may lie — and its time is what these
    tests plan their calendars from."""
    async with time_skipping_env() as env:
        yield env


@pytest.fixture(autouse=True)
async def _end_leftover_workflows_per_test() -> AsyncIterator[None]:
    """Each test here has its own worker: what it left running cannot go on after it (see
    tests/temporal_leftovers.py)."""
    yield
    await STARTED.end_leftovers()


@pytest.fixture(scope="package")
async def client(temporal_env: WorkflowEnvironment) -> Client:
    """The time-skipping server's client, with Stride's search attributes registered.

    The time-skipping server rejects an upsert of an unregistered attribute ("search attribute
    StrideCycle is not defined") just like a real server, and it implements
    AddSearchAttributes, so the workflows upsert unconditionally and the tests register.
    """
    await ensure_search_attributes(temporal_env.client)
    return temporal_env.client
