"""QR codes as inline SVG (segno: pure Python), for the printable sheet of /qr."""

from __future__ import annotations

import io
from functools import lru_cache

import segno

# Codes kept (two per department and host the sheet is served on): the same URL always makes
# the same code, and making one costs ~5 ms of CPU (mostly segno choosing the best mask), so a
# sheet of 39 departments took 0.4 s at every visit (bench/web.py) and now only at the first.
CACHED_CODES = 2048


@lru_cache(maxsize=CACHED_CODES)
def svg(url: str) -> str:
    """An SVG QR code of ``url`` (no XML declaration: it is inlined in the page)."""
    out = io.BytesIO()
    segno.make(url, error="m").save(
        out, kind="svg", scale=5, border=2, xmldecl=False, svgns=True, title=url
    )
    return out.getvalue().decode()
