"""A stand-in CRM for tests and demos: complaints and shipped orders in memory, served over
real HTTP by :func:`services.integrations.testing.json_server`."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from workflows.calendar import parse_instant


@dataclass
class FakeCrm:
    complaints: list[dict[str, Any]] = field(default_factory=list)
    orders: list[dict[str, Any]] = field(default_factory=list)
    requests: list[tuple[str, dict[str, str]]] = field(default_factory=list)

    def route(self, path: str, query: dict[str, str]) -> tuple[int, Any]:
        self.requests.append((path, query))
        lo, hi = parse_instant(query["from"]), parse_instant(query["to"])
        if path == "/api/v1/complaints":
            rows = [c for c in self.complaints if lo <= parse_instant(c["received_at"]) < hi]
            return 200, {"complaints": rows}
        if path == "/api/v1/orders/shipped":
            rows = [o for o in self.orders if lo <= parse_instant(o["shipped_at"]) < hi]
            return 200, {"orders": rows}
        return 404, {"error": "not found"}
