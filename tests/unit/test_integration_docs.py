"""docs/integrations.md shows the example plugin and its test exactly as the files that run,
and the factory simulator's metrics exactly as FACTORY_METRICS defines them."""

from __future__ import annotations

import re
from pathlib import Path

from services.integrations.factory import FACTORY_METRICS

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "integrations.md"
FILE_BLOCK = re.compile(r"<!-- file: (?P<path>\S+) -->\n```python\n(?P<code>.*?)```", re.S)
BEGIN, END = "<!-- factory metrics -->\n", "<!-- end of factory metrics -->\n"


def factory_table() -> str:
    rows = "".join(f"| `{m.name}` | `{m.unit}` | {m.description} |\n" for m in FACTORY_METRICS)
    return f"{BEGIN}| metric | unit | meaning |\n|---|---|---|\n{rows}{END}"


def test_the_plugin_example_is_the_tested_file_and_under_50_lines() -> None:
    blocks = {m["path"]: m["code"] for m in FILE_BLOCK.finditer(DOC.read_text("utf-8"))}
    assert set(blocks) == {"tests/unit/example_plugin.py", "tests/unit/test_example_plugin.py"}
    for path, code in blocks.items():
        assert code == (ROOT / path).read_text("utf-8"), f"docs/integrations.md: update {path}"
    assert len(blocks["tests/unit/example_plugin.py"].splitlines()) < 50


def test_the_factory_metrics_table_is_the_definition() -> None:
    text = DOC.read_text("utf-8")
    assert factory_table() in text, "docs/integrations.md: the factory metrics table is stale"
