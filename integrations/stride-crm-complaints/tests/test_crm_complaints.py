"""complaint_rate = complaints / orders shipped per day, from a stand-in CRM over real HTTP."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import pytest

from services.integrations import PluginError
from services.integrations.discovery import discover
from services.integrations.testing import json_server, pull_once, values
from stride_crm_complaints import ComplaintsSource, plugin
from stride_crm_complaints.rate import count_per_period
from stride_crm_complaints.testing import FakeCrm
from workflows.calendar import rfc3339

# Shanghai days: 2026-12-01 00:00 local = 2026-11-30 16:00 UTC.
DAY1 = datetime(2026, 11, 30, 16, tzinfo=UTC)


def at(hours: float) -> str:
    return rfc3339(DAY1 + timedelta(hours=hours))


def crm() -> FakeCrm:
    """Day 1: 400 orders shipped, 3 complaints; day 2: 250 orders, 1 complaint; day 3:
    nothing shipped, 2 complaints (received just after midnight local)."""
    return FakeCrm(
        complaints=[
            {"id": f"c{i}", "received_at": at(h)} for i, h in enumerate([1, 9, 23.5, 30, 48.1, 50])
        ],
        orders=[{"id": f"o{i}", "shipped_at": at(i * 24 / 400)} for i in range(400)]
        + [{"id": f"p{i}", "shipped_at": at(24 + i * 24 / 250)} for i in range(250)],
    )


def test_rate_is_undefined_without_shipments() -> None:
    day = (DAY1, DAY1 + timedelta(days=1))
    (empty,) = count_per_period([day], [DAY1], [])
    assert (empty.complaints, empty.orders_shipped, empty.rate) == (1, 0, None)
    (some,) = count_per_period([day], [DAY1], [DAY1, DAY1 + timedelta(hours=1)])
    assert some.rate == 0.5


async def test_daily_complaint_rate() -> None:
    fake = crm()
    with json_server(fake.route) as url:
        outcome = await pull_once(
            ComplaintsSource(),
            settings={"base_url": url},
            now=DAY1 + timedelta(days=3, hours=2),
            watermark=rfc3339(DAY1),
        )
    by_day: dict[datetime, dict[str, float]] = {}
    for s in outcome.samples:
        by_day.setdefault(s.event_time, {})[s.metric] = s.value
    days = sorted(by_day)
    assert [by_day[d] for d in days] == [
        {"complaints": 3, "orders_shipped": 400, "complaint_rate": pytest.approx(0.75)},
        {"complaints": 1, "orders_shipped": 250, "complaint_rate": pytest.approx(0.4)},
        {"complaints": 2, "orders_shipped": 0},  # no rate for a day without shipments
    ]
    assert days[0] == DAY1 + timedelta(days=1, seconds=-1)
    assert {s.source for s in outcome.samples} == {"crm"}
    assert values(outcome.samples)[("crm", "complaint_rate")] == pytest.approx(0.4)
    assert outcome.watermark == rfc3339(DAY1 + timedelta(days=3))
    assert [p for p, _ in fake.requests] == ["/api/v1/complaints", "/api/v1/orders/shipped"]


async def test_a_crm_outage_is_an_http_error_and_bad_data_a_plugin_error() -> None:
    settings_now = {"now": DAY1 + timedelta(days=2), "watermark": rfc3339(DAY1)}
    with json_server(lambda path, q: (503, {"error": "down"})) as url:
        with pytest.raises(httpx.HTTPStatusError):
            await pull_once(ComplaintsSource(), settings={"base_url": url}, **settings_now)
    with json_server(lambda path, q: (200, {"complaints": [{"id": "c1"}], "orders": []})) as url:
        with pytest.raises(PluginError, match="received_at"):
            await pull_once(ComplaintsSource(), settings={"base_url": url}, **settings_now)


def test_installed_through_its_entry_point() -> None:
    found = discover(["crm-complaints"])
    assert found.plugins["crm-complaints"] is plugin
