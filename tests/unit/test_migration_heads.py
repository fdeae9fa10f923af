"""``script_heads`` reads the scripts' head revisions without Alembic: it must agree with
Alembic on every service's migrations, and say "don't know" rather than guess."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic.script import ScriptDirectory

from services.cli.migrate import migrations_dir
from services.common import db
from services.common.settings import SERVICE_PORTS


@pytest.mark.parametrize("service", sorted(SERVICE_PORTS))
def test_heads_agree_with_alembic(service: str) -> None:
    migrations = migrations_dir(service)
    assert db.script_heads(migrations) == frozenset(ScriptDirectory(str(migrations)).get_heads())


def _script(folder: Path, name: str, body: str) -> None:
    (folder / "versions").mkdir(parents=True, exist_ok=True)
    (folder / "versions" / f"{name}.py").write_text(body)


def test_a_merge_has_one_head_and_a_branch_two(tmp_path: Path) -> None:
    _script(tmp_path, "a", 'revision = "a"\ndown_revision = None\n')
    _script(tmp_path, "b", 'revision = "b"\ndown_revision = "a"\n')
    _script(tmp_path, "c", 'revision: str = "c"\ndown_revision: str | None = "a"\n')
    assert db.script_heads(tmp_path) == {"b", "c"}
    _script(tmp_path, "d", 'revision = "d"\ndown_revision = ("b", "c")\n')
    assert db.script_heads(tmp_path) == {"d"}


def test_a_script_without_literal_revisions_leaves_it_to_alembic(tmp_path: Path) -> None:
    _script(tmp_path, "a", 'revision = "a"\ndown_revision = None\n')
    _script(tmp_path, "b", 'import os\nrevision = os.environ["REV"]\ndown_revision = "a"\n')
    assert db.script_heads(tmp_path) is None
    assert db.script_heads(tmp_path / "nothing-here") is None
