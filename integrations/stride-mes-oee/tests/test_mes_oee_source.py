"""The ``lines`` source against a stand-in MES over real HTTP: what one pull emits."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from services.integrations import PluginError
from services.integrations.discovery import discover
from services.integrations.testing import json_server, pull_once, values
from stride_mes_oee import LineEventsSource, plugin
from stride_mes_oee.testing import FakeMes
from workflows.calendar import rfc3339

# Shifts in Shanghai: 08:00–16:00 = 00:00–08:00 UTC, 16:00–24:00 = 08:00–16:00 UTC.
DAY = datetime(2026, 12, 1, tzinfo=UTC)


def hours(h: float) -> str:
    return rfc3339(DAY + timedelta(hours=h))


def mes_with_two_lines() -> FakeMes:
    """line-a runs 7 h 12 min of the morning shift and is down 48 min; line-b runs all of it;
    both run all afternoon. Each makes 900 parts (891 good) at 28.8 s ideal in the morning."""
    interval = [
        ("line-a", "run", 0, 7.2),
        ("line-a", "downtime", 7.2, 8),
        ("line-a", "run", 8, 16),
        ("line-b", "run", 0, 16),
    ]
    return FakeMes(
        intervals=[
            {"line": line, "state": state, "start": hours(a), "end": hours(b)}
            for line, state, a, b in interval
        ],
        counts=[
            {"line": line, "at": hours(1), "produced": 900, "good": 891, "ideal_cycle_time_s": 28.8}
            for line in ("line-a", "line-b")
        ],
    )


async def test_one_pull_emits_oee_per_line_and_ended_shift() -> None:
    mes = mes_with_two_lines()
    with json_server(mes.route) as url:
        now = DAY + timedelta(hours=9)  # 17:00 Shanghai: the morning shift has ended
        outcome = await pull_once(
            LineEventsSource(),
            settings={"base_url": url, "token": "s3cret"},
            now=now,
            watermark=rfc3339(DAY),
        )
    got = values(outcome.samples)
    # line-a: 432 of 480 min running → availability 90 %; 900 × 28.8 s / 432 min = 100 %
    assert got[("line-a", "availability")] == pytest.approx(90.0)
    assert got[("line-a", "performance")] == pytest.approx(100.0)
    assert got[("line-a", "quality")] == pytest.approx(99.0)
    assert got[("line-a", "oee")] == pytest.approx(89.1)
    assert got[("line-b", "availability")] == pytest.approx(100.0)
    assert got[("line-b", "oee")] == pytest.approx(0.9 * 99.0)
    assert len(outcome.samples) == 8
    assert {s.unit for s in outcome.samples} == {"%"}
    # Filed in the shift (its last second), and the next pull starts at the shift's end.
    assert {s.event_time for s in outcome.samples} == {DAY + timedelta(hours=8, seconds=-1)}
    assert outcome.watermark == rfc3339(DAY + timedelta(hours=8))
    assert mes.requests == [
        ("/api/v1/line-events", {"from": rfc3339(DAY), "to": rfc3339(DAY + timedelta(hours=8))})
    ]


async def test_a_second_pull_sends_nothing_again_and_ids_are_stable() -> None:
    mes = mes_with_two_lines()
    settings = {"base_url": "", "shifts": "08:00,16:00,00:00"}
    with json_server(mes.route) as url:
        settings["base_url"] = url
        first = await pull_once(
            LineEventsSource(),
            settings=settings,
            now=DAY + timedelta(hours=9),
            watermark=rfc3339(DAY),
        )
        again = await pull_once(
            LineEventsSource(),
            settings=settings,
            now=DAY + timedelta(hours=9),
            watermark=first.watermark,
        )
        retried = await pull_once(
            LineEventsSource(),
            settings=settings,
            now=DAY + timedelta(hours=9),
            watermark=rfc3339(DAY),
        )
        later = await pull_once(
            LineEventsSource(),
            settings=settings,
            now=DAY + timedelta(hours=17),
            watermark=first.watermark,
        )
    assert again.samples == [] and again.watermark == first.watermark
    assert [s.sample_id for s in retried.samples] == [s.sample_id for s in first.samples]
    assert len({s.sample_id for s in first.samples}) == 8
    # The afternoon shift: both lines ran all of it, nothing counted → performance 0.
    assert values(later.samples)[("line-a", "availability")] == 100.0
    assert values(later.samples)[("line-a", "oee")] == 0.0
    assert not {s.sample_id for s in later.samples} & {s.sample_id for s in first.samples}


async def test_a_broken_answer_or_missing_setting_is_a_plugin_error() -> None:
    with json_server(
        lambda path, q: (
            200,
            {
                "intervals": [
                    {"line": "x", "state": "idle", "start": rfc3339(DAY), "end": rfc3339(DAY)}
                ]
            },
        )
    ) as url:
        with pytest.raises(PluginError, match="unknown states"):
            await pull_once(
                LineEventsSource(),
                settings={"base_url": url},
                now=DAY + timedelta(hours=9),
                watermark=rfc3339(DAY),
            )
    with pytest.raises(PluginError, match="unknown time zone 'Mars/Olympus'"):
        await pull_once(
            LineEventsSource(),
            settings={"base_url": "http://mes", "time_zone": "Mars/Olympus"},
            now=DAY + timedelta(hours=9),
        )
    with pytest.raises(PluginError, match="STRIDE_PLUGIN_TEST_BASE_URL"):
        await pull_once(
            LineEventsSource(), settings={}, now=DAY + timedelta(hours=9), watermark=rfc3339(DAY)
        )


def test_installed_through_its_entry_point() -> None:
    found = discover(["mes-oee"])
    assert found.plugins["mes-oee"] is plugin
    assert [s.name for s in plugin.sources] == ["lines"]
