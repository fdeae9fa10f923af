"""Group commit: concurrent requests of one kind written in a shared transaction.

Under load every small write paying for its own transaction (a session, BEGIN, COMMIT and
its WAL flush, the relay's wake-up) costs a service and PostgreSQL more than the write
itself. :class:`GroupCommit` lets such writes queue while a batch is being written; the
next batch takes everything queued (up to ``max_size``, at most one request per key, in
arrival order) and one call of ``write`` records them all. A second batch (up to
``concurrency``) runs beside the first only when a full one is waiting. There is no timer: on
an idle service a lone request starts its batch at once, so batching adds no latency; it
only forms while the service is busy. The price: a batch that waits (a row lock another
transaction holds) holds up the requests queued behind it, until a full batch has gathered
or it ends.

A batch is a shortcut, never a change of outcome. ``write`` answers each request's result,
or the :class:`~services.common.errors.DomainError` it met *before writing anything* (the
request is left out, the others go on); when ``write`` raises (a rule broken half way, a
concurrent insert, the database), its transaction is rolled back and every request of the
batch is written **alone** by its caller, exactly as it would have been without batching,
so each caller gets the answer or the error it would have had alone.

``write`` runs each request's part in that request's own context (:attr:`Pending.context`:
its actor, request id and trace), so its audit entry and events carry its caller, not the
batch's. Requests with the same key (e.g. one key result) are never in one batch nor in two
running batches: the second waits for the first's commit and then sees it.
"""

from __future__ import annotations

import asyncio
import contextvars
from collections import Counter, deque
from collections.abc import Awaitable, Callable, Hashable, Sequence
from dataclasses import dataclass, field
from typing import Generic, TypeVar

import structlog

from services.common import metrics
from services.common.errors import DomainError

log = structlog.get_logger(__name__)

Req = TypeVar("Req")
Res = TypeVar("Res")

# Batches written at once (each holds one pooled connection while it runs). Beyond the first,
# another batch starts only when a full one (``max_size``) is waiting: one batch at a time
# gives the largest batches, hence the least work per request, while the service has CPU to
# spare for other work (through the gateway: 0.39-0.47 x the bare insert, against 0.30-0.41
# with two batches always allowed); a second keeps a flooded service from waiting on one
# chain of round trips (docs/benchmarks.md).
DEFAULT_CONCURRENCY = 2
# Requests in one batch at most.
DEFAULT_MAX_SIZE = 32


@dataclass(eq=False)
class Pending(Generic[Req, Res]):
    """One queued request: what was asked, in which context, and where its answer goes
    (``None``: write it alone)."""

    request: Req
    key: Hashable
    context: contextvars.Context
    future: asyncio.Future[Res | DomainError | None] = field(repr=False)


Writer = Callable[[Sequence[Pending[Req, Res]]], Awaitable[Sequence[Res | DomainError]]]


class GroupCommit(Generic[Req, Res]):
    """Batches concurrent requests for one ``write`` (see the module's docstring)."""

    def __init__(
        self,
        kind: str = "batch",
        concurrency: int = DEFAULT_CONCURRENCY,
        max_size: int = DEFAULT_MAX_SIZE,
    ) -> None:
        """``kind`` names the requests in the ``stride.batches.size`` metric."""
        if concurrency < 1 or max_size < 1:
            raise ValueError("concurrency and max_size must be at least 1")
        self.kind = kind
        self.concurrency = concurrency
        self.max_size = max_size
        self._queue: deque[Pending[Req, Res]] = deque()
        self._busy: set[Hashable] = set()  # keys of the requests in running batches
        self._running: set[asyncio.Task[None]] = set()
        # How many batches of each size were written (a failed batch is not counted).
        self.sizes: Counter[int] = Counter()

    async def submit(
        self,
        request: Req,
        key: Hashable,
        write: Writer[Req, Res],
        alone: Callable[[Req], Awaitable[Res]],
    ) -> Res:
        """``request``'s result, written in a batch by ``write`` or, when its batch failed,
        by ``alone(request)`` in the caller's task."""
        pending: Pending[Req, Res] = Pending(
            request, key, contextvars.copy_context(), asyncio.get_running_loop().create_future()
        )
        self._queue.append(pending)
        self._start(write)
        # A caller that gives up (cancelled) before its batch starts is left out of it.
        outcome = await pending.future
        if outcome is None:
            return await alone(request)
        if isinstance(outcome, DomainError):
            raise outcome
        return outcome

    def _start(self, write: Writer[Req, Res]) -> None:
        while len(self._running) < self.concurrency:
            if self._running and len(self._queue) < self.max_size:
                return  # one batch runs; the others gather behind it
            batch = self._take()
            if not batch:
                return
            task = asyncio.create_task(self._write(batch, write))
            self._running.add(task)
            task.add_done_callback(self._running.discard)

    def _take(self) -> list[Pending[Req, Res]]:
        """The next batch: queued requests in order, one per key, none whose key a running
        batch holds; the others stay queued in their order."""
        batch: list[Pending[Req, Res]] = []
        keys: set[Hashable] = set()
        kept: deque[Pending[Req, Res]] = deque()
        while self._queue:
            pending = self._queue.popleft()
            if pending.future.done():  # its caller went away
                continue
            if len(batch) >= self.max_size or pending.key in keys or pending.key in self._busy:
                kept.append(pending)
                continue
            batch.append(pending)
            keys.add(pending.key)
        self._queue = kept
        self._busy |= keys
        return batch

    async def _write(self, batch: list[Pending[Req, Res]], write: Writer[Req, Res]) -> None:
        outcomes: Sequence[Res | DomainError | None]
        try:
            outcomes = await write(batch)
            self.sizes[len(batch)] += 1
            metrics.batch_written(self.kind, len(batch), "committed")
        except asyncio.CancelledError:  # the service is stopping
            for pending in batch:
                pending.future.cancel()
            raise
        except Exception as exc:  # rolled back: each is written alone by its caller
            log.info(
                "batch rolled back, its requests are written one by one",
                kind=self.kind,
                size=len(batch),
                error=str(exc),
            )
            metrics.batch_written(self.kind, len(batch), "rolled_back")
            outcomes = [None] * len(batch)
        finally:
            self._busy.difference_update(p.key for p in batch)
            self._running.discard(asyncio.current_task())  # type: ignore[arg-type]
        for pending, outcome in zip(batch, outcomes, strict=True):
            if not pending.future.done():
                pending.future.set_result(outcome)
        self._start(write)
