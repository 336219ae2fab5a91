"""The hash chain of a declaration's audit trail, and the one way entries are added.

Every app records what happens to a declaration here (its status moves, the
agencies' reviews, inspections, lane changes), so the trail is the whole
story in one chain. Appending is part of the trail's own integrity, like a
constraint: it sits beside the model, below every app's services, and any of
them may call it.
"""

import hashlib
import hmac
import json
from dataclasses import dataclass
from datetime import UTC
from functools import cache

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.serializers.json import DjangoJSONEncoder
from django.utils import timezone

GENESIS_HASH = "0" * 64


@cache
def _parse_keys(spec: str) -> dict[str, bytes]:
    keys = {}
    for part in spec.split(","):
        key_id, sep, secret = part.strip().partition(":")
        if not sep or not key_id or not secret or len(key_id) > 16:
            raise ImproperlyConfigured(
                "AUDIT_HMAC_KEYS must be 'id:key,id:key' (ids of at most 16 characters)"
            )
        keys[key_id] = secret.encode()
    return keys


def audit_keys() -> dict[str, bytes]:
    """The HMAC keys by id, the one that signs new entries first."""
    return _parse_keys(settings.AUDIT_HMAC_KEYS)


class UnknownKey(Exception):
    pass


def event_hash(event) -> str:
    """HMAC-SHA256, under the key the entry names, of its content and the previous hash.

    The key is outside the database: someone who can rewrite the table can
    recompute a plain hash chain, not this one.
    """
    try:
        key = audit_keys()[event.key_id]
    except KeyError:
        raise UnknownKey(event.key_id) from None
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
        "key": event.key_id,
    }
    if event.notice:
        payload["notice"] = event.notice
    canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"), cls=DjangoJSONEncoder)
    return hmac.new(key, canonical.encode(), hashlib.sha256).hexdigest()


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
        try:
            expected = event_hash(event)
        except UnknownKey:
            return ChainBreak(
                event.pk,
                event.declaration_id,
                event.seq,
                f"hashed with key {event.key_id!r}, which AUDIT_HMAC_KEYS does not hold",
            )
        if not hmac.compare_digest(expected, event.hash):
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
    key_id = next(iter(audit_keys()))
    for event in events:
        seq, prev_hash = heads.get(event.declaration_id, (0, GENESIS_HASH))
        event.seq, event.prev_hash, event.key_id = seq + 1, prev_hash, key_id
        event.hash = event_hash(event)
        heads[event.declaration_id] = (event.seq, event.hash)
    return DeclarationEvent.objects.bulk_create(events)
