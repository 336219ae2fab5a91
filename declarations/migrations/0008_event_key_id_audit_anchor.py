from django.db import migrations, models

# Entries are now hashed with HMAC-SHA256 under a key the database does not
# hold (settings.AUDIT_HMAC_KEYS). Entries written before, under plain SHA-256,
# are linked again under the signing key: there is no production trail yet, and
# a trail half keyed would let anyone pass a rewritten entry off as an old one.
EVENTS = "declarations_declarationevent"


def key_existing_chains(apps, schema_editor):
    from declarations.audit import GENESIS_HASH, audit_keys, event_hash

    DeclarationEvent = apps.get_model("declarations", "DeclarationEvent")
    if not DeclarationEvent.objects.exists():
        return
    key_id = next(iter(audit_keys()))
    schema_editor.execute(f"ALTER TABLE {EVENTS} DISABLE TRIGGER declarations_event_append_only")
    prev_hash, declaration_id = GENESIS_HASH, None
    changed = []
    for event in DeclarationEvent.objects.order_by("declaration_id", "seq").iterator(2000):
        if event.declaration_id != declaration_id:
            prev_hash, declaration_id = GENESIS_HASH, event.declaration_id
        event.prev_hash, event.key_id = prev_hash, key_id
        event.hash = event_hash(event)
        prev_hash = event.hash
        changed.append(event)
        if len(changed) == 2000:
            DeclarationEvent.objects.bulk_update(changed, ["prev_hash", "key_id", "hash"])
            changed = []
    DeclarationEvent.objects.bulk_update(changed, ["prev_hash", "key_id", "hash"])
    schema_editor.execute(f"ALTER TABLE {EVENTS} ENABLE TRIGGER declarations_event_append_only")


# Anchors are kept like the trail: inserted, read, never changed.
ANCHOR_APPEND_ONLY = """
CREATE FUNCTION declarations_anchor_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'audit anchors are append-only (% refused)', TG_OP;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER declarations_anchor_append_only
    BEFORE UPDATE OR DELETE ON declarations_auditanchor
    FOR EACH ROW EXECUTE FUNCTION declarations_anchor_append_only();
"""

ANCHOR_APPEND_ONLY_BACKWARD = """
DROP TRIGGER declarations_anchor_append_only ON declarations_auditanchor;
DROP FUNCTION declarations_anchor_append_only();
"""


class Migration(migrations.Migration):
    dependencies = [("declarations", "0007_payment_orders")]

    operations = [
        migrations.AddField(
            model_name="declarationevent",
            name="key_id",
            field=models.CharField(default="", max_length=16),
            preserve_default=False,
        ),
        migrations.RunPython(key_existing_chains, migrations.RunPython.noop),
        migrations.CreateModel(
            name="AuditAnchor",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("published_at", models.DateTimeField()),
                ("digest", models.CharField(max_length=64, unique=True)),
                ("document", models.TextField()),
            ],
            options={"ordering": ["published_at"]},
        ),
        migrations.RunSQL(ANCHOR_APPEND_ONLY, ANCHOR_APPEND_ONLY_BACKWARD),
    ]
