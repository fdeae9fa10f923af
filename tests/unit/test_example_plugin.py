from services.integrations.testing import json_server, pull_once
from tests.unit.example_plugin import ChillerTemperatures

READINGS = [
    {"chiller": "chiller-1", "at": "2026-12-01T08:00:00+08:00", "celsius": 7.5},
    {"chiller": "chiller-2", "at": "2026-12-01T08:00:00+08:00", "celsius": 9.25},
]


def gateway(path: str, query: dict[str, str]) -> tuple[int, object]:
    new = READINGS if query.get("after", "") == "" else []
    return 200, {"readings": new, "cursor": "c2"}


async def test_pulls_new_readings_once() -> None:
    with json_server(gateway) as url:
        first = await pull_once(ChillerTemperatures(), settings={"base_url": url})
        again = await pull_once(
            ChillerTemperatures(), settings={"base_url": url}, watermark=first.watermark
        )
    assert [(s.source, s.value, s.unit) for s in first.samples] == [
        ("chiller-1", 7.5, "°C"),
        ("chiller-2", 9.25, "°C"),
    ]
    assert first.watermark == "c2" and again.samples == []
