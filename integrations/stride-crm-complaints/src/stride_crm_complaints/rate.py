"""Complaint rate per period (pure functions).

complaint rate = complaints received in the period / orders shipped in the period. Undefined
(None) for a period without shipments: a day with two complaints and nothing shipped is not
an infinite rate, and a day with neither is not 0 %. Complaints are counted when received,
not matched to the order they concern: the CRM does not always know it, and the figure is
the one quality departments report monthly.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from services.integrations.periods import Period


@dataclass(frozen=True)
class PeriodCounts:
    start: datetime
    end: datetime
    complaints: int
    orders_shipped: int

    @property
    def rate(self) -> float | None:
        return self.complaints / self.orders_shipped if self.orders_shipped else None


def count_per_period(
    periods: Sequence[Period], complaints: Iterable[datetime], shipped: Iterable[datetime]
) -> list[PeriodCounts]:
    """Complaints (by received time) and shipments (by shipping time) in each period."""
    received, sent = list(complaints), list(shipped)
    return [
        PeriodCounts(
            start=start,
            end=end,
            complaints=sum(1 for t in received if start <= t < end),
            orders_shipped=sum(1 for t in sent if start <= t < end),
        )
        for start, end in periods
    ]
