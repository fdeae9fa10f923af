"""Group commit (services/common/group_commit.py) with a fake writer: who goes in which batch,
whose answer is whose, and what happens when a batch fails."""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import Sequence

import pytest

from services.common.errors import DomainError, FailedPrecondition
from services.common.group_commit import GroupCommit, Pending
from services.common.metrics import BATCH_SIZE
from tests.otel import recorder

CALLER: contextvars.ContextVar[str] = contextvars.ContextVar("caller", default="nobody")


class FakeStore:
    """Writes batches after ``release`` is set; remembers each batch and who wrote what."""

    def __init__(self) -> None:
        self.batches: list[list[str]] = []
        self.alone: list[str] = []
        self.release = asyncio.Event()
        self.fail_on: set[str] = set()
        self.refuse: set[str] = set()

    async def write(self, batch: Sequence[Pending[str, str]]) -> list[str | DomainError]:
        self.batches.append([p.request for p in batch])
        await self.release.wait()
        out: list[str | DomainError] = []
        for p in batch:
            if p.request in self.refuse:
                out.append(FailedPrecondition("not_owner", f"{p.request} is not yours"))
                continue
            if p.request in self.fail_on:
                raise RuntimeError("constraint violated half way")
            out.append(p.context.run(lambda r=p.request: f"{r} by {CALLER.get()}"))
        return out

    async def write_alone(self, request: str) -> str:
        self.alone.append(request)
        return f"{request} alone by {CALLER.get()}"


async def _submit(gc: GroupCommit[str, str], store: FakeStore, request: str, key: str) -> str:
    CALLER.set(f"caller-of-{request}")
    return await gc.submit(request, key, store.write, store.write_alone)


async def _behind(
    gc: GroupCommit[str, str], store: FakeStore, first: str, rest: Sequence[str]
) -> list[asyncio.Task[str]]:
    """Submit ``first`` (its batch starts and waits for ``store.release``), then ``rest``;
    the tasks of all, in that order, once the queue has settled."""
    tasks = [asyncio.create_task(_submit(gc, store, first, first[0]))]
    await asyncio.sleep(0)
    tasks += [asyncio.create_task(_submit(gc, store, r, r[0])) for r in rest]
    await asyncio.sleep(0.01)
    return tasks


async def test_requests_arriving_during_a_batch_go_together_one_per_key_in_order() -> None:
    store = FakeStore()
    gc: GroupCommit[str, str] = GroupCommit("test", concurrency=1, max_size=3)
    tasks = await _behind(gc, store, "a1", ("b1", "b2", "c1", "d1", "e1"))
    assert store.batches == [["a1"]]  # the others wait for it
    store.release.set()
    results = await asyncio.gather(*tasks)
    # b1, c1, d1 fill the next (max 3; b2 is b1's key); then b2 and e1.
    assert store.batches == [["a1"], ["b1", "c1", "d1"], ["b2", "e1"]]
    assert results == [f"{r} by caller-of-{r}" for r in ("a1", "b1", "b2", "c1", "d1", "e1")]
    assert gc.sizes == {1: 1, 3: 1, 2: 1}


async def test_a_second_batch_starts_only_when_a_full_one_is_waiting() -> None:
    store = FakeStore()
    gc: GroupCommit[str, str] = GroupCommit("test", concurrency=2, max_size=3)
    tasks = await _behind(gc, store, "a1", ("b1", "c1"))
    assert store.batches == [["a1"]]  # two waiting: they gather behind a1
    tasks.append(asyncio.create_task(_submit(gc, store, "d1", "d")))
    await asyncio.sleep(0.01)
    assert store.batches == [["a1"], ["b1", "c1", "d1"]]  # a full batch: it starts
    store.release.set()
    assert await asyncio.gather(*tasks) == [
        f"{r} by caller-of-{r}" for r in ("a1", "b1", "c1", "d1")
    ]


async def test_a_key_a_running_batch_holds_waits_for_its_commit() -> None:
    store = FakeStore()
    gc: GroupCommit[str, str] = GroupCommit("test", concurrency=2, max_size=1)
    tasks = await _behind(gc, store, "a1", ("a2", "b1"))
    assert store.batches == [["a1"], ["b1"]]  # a2 stays queued though a slot was free
    store.release.set()
    assert await asyncio.gather(*tasks) == [f"{r} by caller-of-{r}" for r in ("a1", "a2", "b1")]
    assert store.batches == [["a1"], ["b1"], ["a2"]]


async def test_a_lone_request_is_written_at_once() -> None:
    store = FakeStore()
    store.release.set()
    gc: GroupCommit[str, str] = GroupCommit("test")
    assert await _submit(gc, store, "a1", "a") == "a1 by caller-of-a1"
    assert store.batches == [["a1"]]


async def test_a_refused_request_gets_its_error_and_the_others_their_results() -> None:
    store = FakeStore()
    store.refuse = {"b1"}
    store.release.set()
    gc: GroupCommit[str, str] = GroupCommit("test", concurrency=1)
    tasks = [asyncio.create_task(_submit(gc, store, r, r[0])) for r in ("a1", "b1", "c1")]
    outcomes = await asyncio.gather(*tasks, return_exceptions=True)
    assert outcomes[0] == "a1 by caller-of-a1" and outcomes[2] == "c1 by caller-of-c1"
    assert isinstance(outcomes[1], FailedPrecondition) and outcomes[1].code == "not_owner"
    assert store.alone == []


def _batches(kind: str, outcome: str) -> tuple[int, float]:
    """(batches, requests) recorded in ``stride.batches.size`` for ``kind`` and ``outcome``."""
    points = [
        p
        for p in recorder().points(BATCH_SIZE)
        if dict(p.attributes or {}) == {"kind": kind, "outcome": outcome}
    ]
    return sum(p.count for p in points), sum(p.sum for p in points)


async def test_a_failed_batch_is_written_again_one_by_one_by_each_caller() -> None:
    recorder()
    store = FakeStore()
    gc: GroupCommit[str, str] = GroupCommit("failing", concurrency=1)
    first = asyncio.create_task(_submit(gc, store, "a1", "a"))
    await asyncio.sleep(0)
    store.fail_on = {"c1"}
    rest = [asyncio.create_task(_submit(gc, store, r, r[0])) for r in ("b1", "c1", "d1")]
    await asyncio.sleep(0.01)
    store.release.set()
    results = await asyncio.gather(first, *rest)
    assert store.batches == [["a1"], ["b1", "c1", "d1"]]
    assert results[0] == "a1 by caller-of-a1"
    # Each of the failed batch in its own caller's task and context.
    assert results[1:] == [f"{r} alone by caller-of-{r}" for r in ("b1", "c1", "d1")]
    assert sorted(store.alone) == ["b1", "c1", "d1"]
    assert gc.sizes == {1: 1}
    # What operators see: one batch of 1 committed, one of 3 rolled back.
    assert _batches("failing", "committed") == (1, 1)
    assert _batches("failing", "rolled_back") == (1, 3)


async def test_a_caller_that_gave_up_while_queued_is_left_out() -> None:
    store = FakeStore()
    gc: GroupCommit[str, str] = GroupCommit("test", concurrency=1)
    first = asyncio.create_task(_submit(gc, store, "a1", "a"))
    await asyncio.sleep(0)
    gone = asyncio.create_task(_submit(gc, store, "b1", "b"))
    kept = asyncio.create_task(_submit(gc, store, "c1", "c"))
    await asyncio.sleep(0.01)
    gone.cancel()
    store.release.set()
    assert await first == "a1 by caller-of-a1"
    assert await kept == "c1 by caller-of-c1"
    with pytest.raises(asyncio.CancelledError):
        await gone
    assert store.batches == [["a1"], ["c1"]]


def test_it_needs_room_for_one_batch_of_one() -> None:
    with pytest.raises(ValueError):
        GroupCommit("test", concurrency=0)
    with pytest.raises(ValueError):
        GroupCommit("test", max_size=0)
