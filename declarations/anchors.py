"""Anchors: the audit chains' heads, signed and kept outside the database.

An HMAC chain stops whoever holds the database but not the HMAC key. An
anchor also stops whoever got both: every day the head (declaration, entry,
hash) of every declaration's chain and a hash of every configuration audit
entry are written to a file in AUDIT_ANCHOR_DIR, with their digest signed by
an Ed25519 key the database never sees. Chains only grow and each hash covers
the one before it, so an entry rewritten before an anchor no longer leads to
the anchored head. `audit_verify` checks every anchor against the database
with the public key, which may be given to third parties.
"""

import base64
import contextlib
import hashlib
import json
import os
from dataclasses import dataclass
from datetime import UTC
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection
from django.utils import timezone

from declarations.models import AuditAnchor, DeclarationEvent
from risk.models import ConfigAuditEntry

FORMAT = "singlewindow-audit-anchor/1"
CHUNK = 5000


def _canonical(value) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), cls=DjangoJSONEncoder).encode()


def _pem(value: str) -> bytes:
    """A PEM given inline or as the path of a file holding it."""
    if value.lstrip().startswith("-----BEGIN"):
        return value.encode()
    return Path(value).read_bytes()


def signing_key() -> Ed25519PrivateKey:
    if settings.AUDIT_SIGNING_KEY:
        key = serialization.load_pem_private_key(_pem(settings.AUDIT_SIGNING_KEY), None)
        if not isinstance(key, Ed25519PrivateKey):
            raise ImproperlyConfigured("AUDIT_SIGNING_KEY must be an Ed25519 private key")
        return key
    if settings.AUDIT_DEV_SIGNING_SEED:
        return Ed25519PrivateKey.from_private_bytes(bytes.fromhex(settings.AUDIT_DEV_SIGNING_SEED))
    raise ImproperlyConfigured("AUDIT_SIGNING_KEY must be set to publish audit anchors")


def verify_key() -> Ed25519PublicKey:
    if settings.AUDIT_VERIFY_KEY:
        key = serialization.load_pem_public_key(_pem(settings.AUDIT_VERIFY_KEY))
        if not isinstance(key, Ed25519PublicKey):
            raise ImproperlyConfigured("AUDIT_VERIFY_KEY must be an Ed25519 public key")
        return key
    return signing_key().public_key()


def config_entry_hash(entry) -> str:
    return hashlib.sha256(
        _canonical(
            {
                "id": entry.pk,
                "at": entry.at.astimezone(UTC).isoformat(timespec="microseconds"),
                "action": entry.action,
                "subject": entry.subject,
                "proposed_by": entry.proposed_by_id,
                "decided_by": entry.decided_by_id,
                "reason": entry.reason,
                "before": entry.before,
                "after": entry.after,
            }
        )
    ).hexdigest()


def _chain_heads() -> list[list]:
    return [
        list(head)
        for head in DeclarationEvent.objects.order_by("declaration_id", "-seq")
        .distinct("declaration_id")
        .values_list("declaration_id", "seq", "hash")
    ]


def audit_anchor_publish() -> AuditAnchor:
    """Sign the heads of every chain now, write them to AUDIT_ANCHOR_DIR and keep a copy."""
    now = timezone.now()
    # Each list is read in one statement, so each is consistent on its own; an entry
    # appended between the two is simply in the next anchor.
    anchor = {
        "format": FORMAT,
        "published_at": now.astimezone(UTC).isoformat(timespec="microseconds"),
        "heads": _chain_heads(),
        "config_audit": [
            [entry.pk, config_entry_hash(entry)]
            for entry in ConfigAuditEntry.objects.order_by("id").iterator(chunk_size=CHUNK)
        ],
    }
    digest = hashlib.sha256(_canonical(anchor)).hexdigest()
    signature = signing_key().sign(digest.encode())
    document = json.dumps(
        {
            "anchor": anchor,
            "digest": digest,
            "signature": base64.b64encode(signature).decode(),
        },
        sort_keys=True,
    )
    directory = Path(settings.AUDIT_ANCHOR_DIR)
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"anchor-{now.astimezone(UTC):%Y%m%dT%H%M%S%fZ}.json"
    partial = path.with_suffix(".part")
    partial.write_text(document)
    os.replace(partial, path)
    return AuditAnchor.objects.create(published_at=now, digest=digest, document=document)


@dataclass(frozen=True)
class AnchorProblem:
    anchor: str
    problem: str

    def __str__(self) -> str:
        return f"anchor {self.anchor}: {self.problem}"


def anchor_documents() -> list[tuple[str, str]]:
    """(name, text) of every anchor: the files first, then copies in the database
    of anchors whose file is not here (published from another machine)."""
    documents: list[tuple[str, str]] = []
    directory = Path(settings.AUDIT_ANCHOR_DIR)
    if directory.is_dir():
        documents += [(path.name, path.read_text()) for path in sorted(directory.glob("*.json"))]
    seen = set()
    for _, text in documents:
        with contextlib.suppress(ValueError, KeyError, TypeError):
            seen.add(json.loads(text)["digest"])
    for row in AuditAnchor.objects.exclude(digest__in=seen).order_by("published_at"):
        documents.append(
            (f"{row.published_at.astimezone(UTC):%Y-%m-%dT%H:%M:%SZ} (database)", row.document)
        )
    return documents


def anchor_verify(name: str, text: str, public_key: Ed25519PublicKey) -> list[AnchorProblem]:
    """What of one anchor does not hold: its signature, or the database against it."""
    try:
        document = json.loads(text)
        anchor, digest = document["anchor"], document["digest"]
        signature = base64.b64decode(document["signature"])
        if anchor.get("format") != FORMAT:
            return [AnchorProblem(name, f"unknown format {anchor.get('format')!r}")]
    except (ValueError, KeyError, TypeError, AttributeError):
        return [AnchorProblem(name, "is not an anchor document")]
    if hashlib.sha256(_canonical(anchor)).hexdigest() != digest:
        return [AnchorProblem(name, "content does not match its digest")]
    try:
        public_key.verify(signature, digest.encode())
    except InvalidSignature:
        return [AnchorProblem(name, "signature does not verify with the audit public key")]

    problems = []
    heads = anchor["heads"]
    for start in range(0, len(heads), CHUNK):
        chunk = heads[start : start + CHUNK]
        with connection.cursor() as cursor:
            cursor.execute(
                f"""
                SELECT a.declaration_id, a.seq, e.hash
                FROM unnest(%s::bigint[], %s::integer[]) AS a(declaration_id, seq)
                LEFT JOIN {DeclarationEvent._meta.db_table} e
                    ON e.declaration_id = a.declaration_id AND e.seq = a.seq
                """,
                [[head[0] for head in chunk], [head[1] for head in chunk]],
            )
            stored = {(d, s): h for d, s, h in cursor.fetchall()}
        for declaration_id, seq, anchored in chunk:
            found = stored.get((declaration_id, seq))
            if found is None:
                problems.append(
                    AnchorProblem(name, f"declaration {declaration_id} entry #{seq} is missing")
                )
            elif found != anchored:
                problems.append(
                    AnchorProblem(
                        name,
                        f"declaration {declaration_id} entry #{seq} differs from the anchored one",
                    )
                )
    anchored_config = dict(anchor["config_audit"])
    current = {
        entry.pk: config_entry_hash(entry)
        for entry in ConfigAuditEntry.objects.filter(pk__in=anchored_config)
    }
    for entry_id, anchored in anchored_config.items():
        if current.get(entry_id) != anchored:
            what = "is missing" if entry_id not in current else "differs from the anchored one"
            problems.append(AnchorProblem(name, f"configuration audit entry {entry_id} {what}"))
    return problems
