"""Finding plugins: the entry points of group ``stride.integrations`` (importlib.metadata).

A plugin that fails to import, is not a :class:`~services.integrations.api.Plugin` or breaks
a naming rule is skipped with an error in the log and in :attr:`Discovery.broken`; the others
still load, so one broken package never stops the integrations worker.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from importlib.metadata import EntryPoint, entry_points

import structlog

from services.integrations.api import ENTRY_POINT_GROUP, Plugin, PluginError

log = structlog.get_logger(__name__)


@dataclass
class Discovery:
    plugins: dict[str, Plugin] = field(default_factory=dict)
    # entry point name → why it was skipped
    broken: dict[str, str] = field(default_factory=dict)


def load_entry_point(ep: EntryPoint) -> Plugin:
    """The plugin an entry point names: a Plugin, or a function without arguments returning
    one. Raises :class:`PluginError` (with the cause) for anything else."""
    try:
        target = ep.load()
    except Exception as err:
        raise PluginError(f"cannot import {ep.value}: {type(err).__name__}: {err}") from err
    if not isinstance(target, Plugin) and callable(target):
        try:
            target = target()
        except Exception as err:
            raise PluginError(f"{ep.value}() failed: {type(err).__name__}: {err}") from err
    if not isinstance(target, Plugin):
        raise PluginError(f"{ep.value} is a {type(target).__name__}, not a Plugin")
    if target.name != ep.name:
        raise PluginError(f"entry point {ep.name!r} names plugin {target.name!r}: use one name")
    return target


def discover(
    only: Iterable[str] = (),
    *,
    entries: Callable[[], Iterable[EntryPoint]] = lambda: entry_points(group=ENTRY_POINT_GROUP),
) -> Discovery:
    """Load every installed plugin (or only those named in ``only``)."""
    wanted = set(only)
    found = Discovery()
    for ep in entries():
        if wanted and ep.name not in wanted:
            continue
        if ep.name in found.plugins:
            found.broken[ep.name] = f"installed twice (also {ep.value})"
            log.error("integration plugin skipped", plugin=ep.name, error=found.broken[ep.name])
            continue
        try:
            found.plugins[ep.name] = load_entry_point(ep)
        except PluginError as err:
            found.broken[ep.name] = str(err)
            log.error("integration plugin skipped", plugin=ep.name, error=str(err))
    for name in sorted(wanted - found.plugins.keys() - found.broken.keys()):
        found.broken[name] = "not installed"
        log.error("integration plugin skipped", plugin=name, error="not installed")
    return found
