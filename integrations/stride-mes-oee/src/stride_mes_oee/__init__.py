"""Stride integration plugin ``mes-oee``: OEE per line and shift from an MES."""

from services.integrations import Plugin
from stride_mes_oee.source import LineEventsSource

plugin = Plugin(name="mes-oee", sources=[LineEventsSource()], version="0.1.0")

__all__ = ["LineEventsSource", "plugin"]
