"""The audit trail's hash chain (pure functions).

Each row's hash covers its content and the previous row's hash, so editing a row changes
its hash (and breaks the link of the next one), removing a row leaves a gap in ``seq`` and a
broken link, and inserting a row breaks the link after it. Only the newest rows could be cut
off unnoticed by the chain alone: the verify report gives the last seq to compare with the
count kept elsewhere (e.g. the exported checkpoint).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import asdict, dataclass

GENESIS = "0" * 64


@dataclass(frozen=True)
class ChainRow:
    seq: int
    event_id: str
    occurred_at: str
    actor: str
    action: str
    resource_type: str
    resource_id: str
    request_id: str
    trace_id: str
    before_digest: str
    after_digest: str
    service: str
    # Added later (workflow decisions): hashed only when not empty, so rows written before
    # the field existed keep their hashes.
    detail: str = ""


def row_hash(prev_hash: str, row: ChainRow) -> str:
    fields = asdict(row)
    if not fields["detail"]:
        del fields["detail"]
    content = json.dumps(fields, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(f"{prev_hash}\n{content}".encode()).hexdigest()


@dataclass(frozen=True)
class Verdict:
    ok: bool
    rows_checked: int
    first_bad_seq: int = 0
    reason: str = ""


def verify(rows: Iterable[tuple[ChainRow, str, str]]) -> Verdict:
    """Check ``(row, prev_hash, hash)`` triples in seq order."""
    expected_prev = GENESIS
    expected_seq = 1
    checked = 0
    for row, prev_hash, stored_hash in rows:
        checked += 1
        if row.seq != expected_seq:
            return Verdict(
                False,
                checked,
                row.seq,
                f"row {expected_seq} is missing: the chain jumps to row {row.seq}",
            )
        if prev_hash != expected_prev:
            return Verdict(
                False, checked, row.seq, f"row {row.seq} does not link to row {row.seq - 1}"
            )
        if row_hash(prev_hash, row) != stored_hash:
            return Verdict(False, checked, row.seq, f"row {row.seq} was modified")
        expected_prev = stored_hash
        expected_seq += 1
    return Verdict(True, checked)
