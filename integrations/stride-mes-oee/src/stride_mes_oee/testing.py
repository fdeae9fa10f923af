"""A stand-in MES for tests and demos: line events in memory, served over real HTTP by
:func:`services.integrations.testing.json_server` (``with json_server(mes.route) as url``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from workflows.calendar import parse_instant


@dataclass
class FakeMes:
    intervals: list[dict[str, Any]] = field(default_factory=list)
    counts: list[dict[str, Any]] = field(default_factory=list)
    # Requests seen: (path, query)
    requests: list[tuple[str, dict[str, str]]] = field(default_factory=list)
    # Answer this status instead of data (an outage).
    failing: int = 0

    def route(self, path: str, query: dict[str, str]) -> tuple[int, Any]:
        self.requests.append((path, query))
        if self.failing:
            return self.failing, {"error": "unavailable"}
        if path != "/api/v1/line-events":
            return 404, {"error": "not found"}
        lo, hi = parse_instant(query["from"]), parse_instant(query["to"])
        return 200, {
            "intervals": [
                i
                for i in self.intervals
                if parse_instant(i["start"]) < hi and parse_instant(i["end"]) > lo
            ],
            "counts": [c for c in self.counts if lo <= parse_instant(c["at"]) < hi],
        }
