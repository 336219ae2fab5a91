"""The hash chain of a declaration's audit trail."""

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC

from django.core.serializers.json import DjangoJSONEncoder

GENESIS_HASH = "0" * 64


def event_hash(event) -> str:
    """The SHA-256 of an audit entry's content, including the previous entry's hash."""
    payload = {
        "declaration": event.declaration_id,
        "seq": event.seq,
        "at": event.at.astimezone(UTC).isoformat(timespec="microseconds"),
        "actor": event.actor_id,
        "action": event.action,
        "from": event.from_status,
        "to": event.to_status,
        "reason": event.reason,
        "data": event.data,
        "prev": event.prev_hash,
    }
    canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"), cls=DjangoJSONEncoder)
    return hashlib.sha256(canonical.encode()).hexdigest()


@dataclass(frozen=True)
class ChainBreak:
    event_id: int
    declaration_id: int
    seq: int
    problem: str


def chain_verify(events) -> ChainBreak | None:
    """Return the first broken entry of one declaration's events (ordered by seq)."""
    prev_hash = GENESIS_HASH
    expected_seq = 1
    for event in events:
        if event.seq != expected_seq:
            return ChainBreak(
                event.pk, event.declaration_id, event.seq, f"expected entry #{expected_seq}"
            )
        if event.prev_hash != prev_hash:
            return ChainBreak(
                event.pk, event.declaration_id, event.seq, "does not follow the previous entry"
            )
        if event_hash(event) != event.hash:
            return ChainBreak(
                event.pk, event.declaration_id, event.seq, "content does not match its hash"
            )
        prev_hash = event.hash
        expected_seq += 1
    return None
