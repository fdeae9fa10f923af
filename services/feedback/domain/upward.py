"""Upward feedback: what a manager may read of the feedback their reports wrote to them.

Named items are shown with their author. Anonymous items are released only as an aggregate,
and only once at least ``threshold`` *distinct* authors wrote anonymously in the period (one
person writing five times does not make a crowd): the number of items and authors and the
texts, without author or time, in an order unrelated to when they were written (sorted by a
hash of their random id), so neither the order nor a timestamp points at a writer. The
author of an anonymous item never leaves this module: the aggregate carries texts only.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field

from workflows.vocabulary import MIN_ANONYMITY_THRESHOLD


@dataclass(frozen=True)
class AnonymousItem:
    id: str
    author_id: str
    text: str


@dataclass(frozen=True)
class Aggregate:
    released: bool
    threshold: int
    items: int = 0
    authors: int = 0
    texts: tuple[str, ...] = field(default_factory=tuple)


def aggregate(items: Sequence[AnonymousItem], threshold: int) -> Aggregate:
    """The anonymous items of one manager and period as the manager may see them."""
    threshold = max(threshold, MIN_ANONYMITY_THRESHOLD)
    authors = len({i.author_id for i in items})
    if authors < threshold:
        return Aggregate(released=False, threshold=threshold)
    ordered = sorted(items, key=lambda i: hashlib.sha256(i.id.encode()).hexdigest())
    return Aggregate(
        released=True,
        threshold=threshold,
        items=len(items),
        authors=authors,
        texts=tuple(i.text for i in ordered),
    )
