"""The hash chain of a declaration's audit trail."""

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC

from django.core.serializers.json import DjangoJSONEncoder

GENESIS_HASH = "0" * 64


def event_hash(
    *,
    declaration_id: int,
    seq: int,
    at,
    actor_id: int | None,
    action: str,
    from_status: str,
    to_status: str,
    reason: str,
    data: dict,
    prev_hash: str,
) -> str:
    payload = {
        "declaration": declaration_id,
        "seq": seq,
        "at": at.astimezone(UTC).isoformat(timespec="microseconds"),
        "actor": actor_id,
        "action": action,
        "from": from_status,
        "to": to_status,
        "reason": reason,
        "data": data,
        "prev": prev_hash,
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
        recomputed = event_hash(
            declaration_id=event.declaration_id,
            seq=event.seq,
            at=event.at,
            actor_id=event.actor_id,
            action=event.action,
            from_status=event.from_status,
            to_status=event.to_status,
            reason=event.reason,
            data=event.data,
            prev_hash=event.prev_hash,
        )
        if recomputed != event.hash:
            return ChainBreak(
                event.pk, event.declaration_id, event.seq, "content does not match its hash"
            )
        prev_hash = event.hash
        expected_seq += 1
    return None
