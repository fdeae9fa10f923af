"""`stride serve` leaves the code it imported out of later collections and collects the
young generation less often than CPython's default (STRIDE_GC_YOUNG_THRESHOLD)."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from services.cli.process import settle_heap
from services.common.settings import GatewaySettings, ServiceSettings, WorkerSettings


@pytest.fixture
def restored_gc() -> Iterator[None]:
    thresholds = gc.get_threshold()
    try:
        yield
    finally:
        gc.unfreeze()
        gc.set_threshold(*thresholds)


def test_the_imported_heap_is_frozen_and_the_threshold_is_the_settings(
    restored_gc: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("STRIDE_GC_YOUNG_THRESHOLD", "25000")
    settle_heap(ServiceSettings().gc_young_threshold)
    assert gc.get_freeze_count() > 10_000  # this test process' modules, at least
    assert gc.get_threshold()[0] == 25_000
    assert GatewaySettings.model_fields["gc_young_threshold"].default == 10_000
    assert ServiceSettings.model_fields["gc_young_threshold"].default == 10_000


def test_the_worker_keeps_cpython_s_collector(restored_gc: None) -> None:
    before = gc.get_threshold()
    settle_heap(WorkerSettings().gc_young_threshold)
    assert gc.get_threshold() == before and gc.get_freeze_count() == 0
