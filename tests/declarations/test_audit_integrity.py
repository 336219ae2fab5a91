"""The audit trail holds against whoever holds the database.

The application runs as a role that may only insert and read the trail, so
it can neither disable the trigger nor rewrite an entry. Someone with the
owner's role can, but the chain is keyed with an HMAC the database does not
hold, and the chains' heads are anchored, signed, outside the database:
`audit_verify` names what was rewritten either way.
"""

import hashlib
import json
import os
import subprocess
import sys
import uuid
from datetime import UTC
from urllib.parse import urlsplit, urlunsplit

import psycopg2
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection
from django.utils import timezone

from accounts.services import api_token_issue
from declarations.audit import event_hash
from declarations.models import AuditAnchor, Declaration, DeclarationEvent
from declarations.services import declaration_transition
from risk.models import ConfigAuditEntry, LaneDecision
from tests.conftest import ROOT, _test_database_url, run_django_script, wait_for
from tests.factories import api_payload, make_declaration
from tests.risk.conftest import own_worker, publisher

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

APP_ROLE = "singlewindow_test_app"
EVENTS = DeclarationEvent._meta.db_table


@pytest.fixture
def app_database_url() -> str:
    """The test database as the application's least-privilege role sees it."""
    call_command("db_grant_app_role", database="default", role=APP_ROLE, password="")
    parts = urlsplit(_test_database_url())
    host = parts.netloc.rsplit("@", 1)[-1]
    return urlunsplit(parts._replace(netloc=f"{APP_ROLE}@{host}"))


def submitted_declaration(trader, invoice_number: str) -> Declaration:
    """A declaration with two entries in its trail, and no scoring message sent."""
    declaration = make_declaration(actor=trader, invoice_number=invoice_number)
    declaration_transition(
        declaration_id=declaration.pk,
        to_status=Declaration.Status.SUBMITTED,
        actor=trader,
        changes={"submitted_at": timezone.now()},
    )
    return declaration


def plain_sha256(event) -> str:
    """The hash the chain used before it was keyed: anyone could recompute it."""
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
    if event.notice:
        payload["notice"] = event.notice
    canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"), cls=DjangoJSONEncoder)
    return hashlib.sha256(canonical.encode()).hexdigest()


def rewrite_as_owner(declaration, *, seq: int, reason: str, rehash) -> None:
    """What someone holding the owner's role can do: disable the trigger, change an
    entry, link the rest of the chain again with `rehash`, enable the trigger."""
    with connection.cursor() as cursor:
        cursor.execute(f"ALTER TABLE {EVENTS} DISABLE TRIGGER declarations_event_append_only")
        cursor.execute(
            f"UPDATE {EVENTS} SET reason = %s WHERE declaration_id = %s AND seq = %s",
            [reason, declaration.pk, seq],
        )
        prev_hash = "0" * 64
        for event in DeclarationEvent.objects.filter(declaration=declaration).order_by("seq"):
            event.prev_hash = prev_hash
            event.hash = rehash(event)
            cursor.execute(
                f"UPDATE {EVENTS} SET prev_hash = %s, hash = %s WHERE id = %s",
                [event.prev_hash, event.hash, event.pk],
            )
            prev_hash = event.hash
        cursor.execute(f"ALTER TABLE {EVENTS} ENABLE TRIGGER declarations_event_append_only")


def audit_verify_process(**env) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", "audit_verify"],
        cwd=ROOT,
        env={**os.environ, "DATABASE_URL": _test_database_url(), **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_application_role_cannot_disable_the_trigger_nor_rewrite_the_trail(
    cast, app_database_url
):
    declaration = make_declaration(actor=cast.trader_a)
    ConfigAuditEntry.objects.create(
        at=timezone.now(),
        action="settings_proposed",
        subject="thresholds",
        proposed_by=cast.analyst,
    )
    refused = [
        f"ALTER TABLE {EVENTS} DISABLE TRIGGER declarations_event_append_only",
        f"ALTER TABLE {EVENTS} DISABLE TRIGGER ALL",
        f"UPDATE {EVENTS} SET reason = 'x' WHERE declaration_id = {declaration.pk}",
        f"DELETE FROM {EVENTS} WHERE declaration_id = {declaration.pk}",
        f"TRUNCATE {EVENTS} CASCADE",
        "UPDATE risk_configauditentry SET reason = 'x'",
        "DELETE FROM risk_configauditentry",
        "ALTER TABLE risk_configauditentry DISABLE TRIGGER ALL",
        "UPDATE declarations_auditanchor SET document = ''",
        "CREATE TABLE sneaky (id int)",
        "SET session_replication_role = replica",
    ]
    app = psycopg2.connect(app_database_url)
    app.autocommit = True
    try:
        with app.cursor() as cursor:
            for statement in refused:
                with pytest.raises(psycopg2.errors.InsufficientPrivilege):
                    cursor.execute(statement)
            # What the application needs it still has: it reads and appends.
            cursor.execute(
                f"SELECT count(*) FROM {EVENTS} WHERE declaration_id = %s", [declaration.pk]
            )
            assert cursor.fetchone() == (1,)
            cursor.execute("UPDATE declarations_declaration SET packages = packages")
    finally:
        app.close()


def test_a_chain_rewritten_and_rehashed_the_old_way_is_named_by_audit_verify(cast):
    honest = submitted_declaration(cast.trader_a, "INV-AUDIT-HONEST")
    tampered = submitted_declaration(cast.trader_a, "INV-AUDIT-TAMPERED")
    rewrite_as_owner(tampered, seq=1, reason="nothing to see", rehash=plain_sha256)

    result = audit_verify_process()

    assert result.returncode != 0
    assert f"declaration {tampered.pk}, entry #1): content does not match its hash" in result.stderr
    assert f"declaration {honest.pk}," not in result.stderr


def test_an_anchor_detects_a_rewrite_even_by_someone_holding_the_hmac_key(cast):
    declaration = submitted_declaration(cast.trader_a, "INV-AUDIT-ANCHORED")
    entry = ConfigAuditEntry.objects.create(
        at=timezone.now(),
        action="settings_approved",
        subject="thresholds",
        proposed_by=cast.analyst,
    )
    call_command("audit_anchor")
    call_command("audit_verify")  # the round trip: published, then verified

    rewrite_as_owner(declaration, seq=1, reason="nothing to see", rehash=event_hash)
    with connection.cursor() as cursor:
        cursor.execute("ALTER TABLE risk_configauditentry DISABLE TRIGGER ALL")
        cursor.execute("UPDATE risk_configauditentry SET decided_by_id = proposed_by_id")
        cursor.execute("ALTER TABLE risk_configauditentry ENABLE TRIGGER ALL")
    # The chain itself is consistent again: only the anchor knows better.
    call_command("audit_verify", no_anchors=True)
    with pytest.raises(CommandError) as refused:
        call_command("audit_verify")
    assert f"declaration {declaration.pk} entry #2 differs from the anchored one" in str(
        refused.value
    )
    assert f"configuration audit entry {entry.pk} differs from the anchored one" in str(
        refused.value
    )


def test_a_forged_anchor_is_refused(cast, settings):
    declaration = submitted_declaration(cast.trader_a, "INV-AUDIT-FORGED")
    call_command("audit_anchor")
    (path,) = settings.AUDIT_ANCHOR_DIR.glob("*.json")
    # Someone rewrites the chain, then the anchor to match: new heads, new digest, but
    # they cannot sign without the private key.
    rewrite_as_owner(declaration, seq=1, reason="nothing to see", rehash=event_hash)
    document = json.loads(path.read_text())
    document["anchor"]["heads"] = [
        [d, s, h]
        for d, s, h in DeclarationEvent.objects.filter(seq=2).values_list(
            "declaration_id", "seq", "hash"
        )
    ]
    canonical = json.dumps(document["anchor"], sort_keys=True, separators=(",", ":"))
    document["digest"] = hashlib.sha256(canonical.encode()).hexdigest()
    path.write_text(json.dumps(document))

    with pytest.raises(CommandError, match=rf"anchor {path.name}: signature does not verify"):
        call_command("audit_verify")
    # The database's copy of the anchor, untouched, still names the rewrite.
    with pytest.raises(CommandError, match=rf"declaration {declaration.pk} entry #2 differs"):
        path.unlink()
        call_command("audit_verify")


FILE_AND_SUBMIT = """
import json, sys
import django
django.setup()
from django.test.utils import setup_test_environment
setup_test_environment()
from rest_framework.test import APIClient
client = APIClient()
client.credentials(HTTP_AUTHORIZATION="Token " + sys.argv[1])
created = client.post("/api/v1/declarations/", json.loads(sys.argv[2]), format="json")
submitted = client.post(f"/api/v1/declarations/{created.json()['id']}/submit/")
print(json.dumps([created.status_code, submitted.status_code, created.json()["id"]]))
"""


def test_filing_scoring_and_anchoring_work_under_the_application_role(
    cast, app_database_url, settings
):
    queue = f"audit-app-role-{uuid.uuid4().hex[:8]}"
    _, key = api_token_issue(user=cast.trader_a)
    env = {
        **os.environ,
        "DATABASE_URL": app_database_url,
        "CELERY_QUEUE": queue,
        "AUDIT_ANCHOR_DIR": str(settings.AUDIT_ANCHOR_DIR),
    }
    with own_worker(
        queue=queue,
        DATABASE_URL=app_database_url,
        AUDIT_ANCHOR_DIR=str(settings.AUDIT_ANCHOR_DIR),
    ):
        created, submitted, declaration_id = run_django_script(
            FILE_AND_SUBMIT, key, json.dumps(api_payload()), env=env
        )
        assert (created, submitted) == (201, 202)
        wait_for(lambda: LaneDecision.objects.filter(declaration_id=declaration_id).exists(), 60)
        publisher(settings.REDIS_URL).send_task(
            "declarations.tasks.publish_audit_anchor", queue=queue
        )
        anchor = wait_for(lambda: AuditAnchor.objects.first(), 60)
    heads = json.loads(anchor.document)["anchor"]["heads"]
    assert [declaration_id, Declaration.objects.get(pk=declaration_id).events.count()] in [
        head[:2] for head in heads
    ]
    assert list(settings.AUDIT_ANCHOR_DIR.glob("*.json"))
    call_command("audit_verify")


def test_a_rotated_key_still_verifies_older_entries_until_it_is_dropped(cast, settings):
    settings.AUDIT_HMAC_KEYS = "k1:first-key-0123456789abcdef0123456789"
    declaration = make_declaration(actor=cast.trader_a, invoice_number="INV-AUDIT-ROTATE")
    settings.AUDIT_HMAC_KEYS = (
        "k2:second-key-0123456789abcdef012345678,k1:first-key-0123456789abcdef0123456789"
    )
    declaration_transition(
        declaration_id=declaration.pk,
        to_status=Declaration.Status.SUBMITTED,
        actor=cast.trader_a,
        changes={"submitted_at": timezone.now()},
    )
    assert list(declaration.events.order_by("seq").values_list("key_id", flat=True)) == ["k1", "k2"]
    call_command("audit_verify")

    settings.AUDIT_HMAC_KEYS = "k2:second-key-0123456789abcdef012345678"
    with pytest.raises(
        CommandError,
        match=rf"declaration {declaration.pk}, entry #1\): hashed with key 'k1', which",
    ):
        call_command("audit_verify")
