"""QR codes as inline SVG (segno: pure Python), for the printable sheet of /qr."""

from __future__ import annotations

import io

import segno


def svg(url: str) -> str:
    """An SVG QR code of ``url`` (no XML declaration: it is inlined in the page)."""
    out = io.BytesIO()
    segno.make(url, error="m").save(
        out, kind="svg", scale=5, border=2, xmldecl=False, svgns=True, title=url
    )
    return out.getvalue().decode()
