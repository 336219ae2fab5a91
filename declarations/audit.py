"""The hash chain of a declaration's audit trail, and the one way entries are added.

Every app records what happens to a declaration here (its status moves, the
agencies' reviews, inspections, lane changes), so the trail is the whole
story in one chain. Appending is part of the trail's own integrity, like a
constraint: it sits beside the model, below every app's services, and any of
them may call it.
"""

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC

from django.core.serializers.json import DjangoJSONEncoder
from django.utils import timezone

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
    # Entries written before declarants were shown notices have none; their
    # hashes stay as they were.
    if event.notice:
        payload["notice"] = event.notice
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


def audit_entry(
    declaration,
    *,
    actor,
    action: str,
    from_status: str = "",
    to_status: str = "",
    reason: str = "",
    data: dict | None = None,
    notice: str = "",
):
    """A new, unsaved entry. `reason` and `data` are for officers; `notice` is what the
    declarant reads of this step (empty: the step is not theirs to see)."""
    from declarations.models import DeclarationEvent

    return DeclarationEvent(
        declaration=declaration,
        at=timezone.now(),
        actor_id=actor.pk if actor is not None else None,
        action=action,
        from_status=from_status,
        to_status=to_status,
        reason=reason,
        data=data or {},
        notice=notice,
    )


def audit_append(events: list, *, first: bool = False) -> list:
    """Link new entries to the end of their declarations' chains and insert them.

    The caller holds the declarations' row locks, so no other entry can be
    appended meanwhile. `first` says the declarations were inserted in this
    transaction, so their chains start here and there is nothing to read.
    One query for the chains' heads and one insert, whatever the number.
    """
    from declarations.models import DeclarationEvent

    heads: dict[int, tuple[int, str]] = {}
    if not first:
        heads = {
            declaration_id: (seq, hash_)
            for declaration_id, seq, hash_ in DeclarationEvent.objects.filter(
                declaration_id__in={e.declaration_id for e in events}
            )
            .order_by("declaration_id", "-seq")
            .distinct("declaration_id")
            .values_list("declaration_id", "seq", "hash")
        }
    for event in events:
        seq, prev_hash = heads.get(event.declaration_id, (0, GENESIS_HASH))
        event.seq, event.prev_hash = seq + 1, prev_hash
        event.hash = event_hash(event)
        heads[event.declaration_id] = (event.seq, event.hash)
    return DeclarationEvent.objects.bulk_create(events)
