from django.db import migrations

# The audit trail is append-only at the database level: UPDATE and DELETE on
# declarations_declarationevent raise, whoever connects. Tampering therefore
# needs the trigger disabled by a table owner, and `audit_verify` finds it.
FORWARD = """
CREATE FUNCTION declarations_event_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'the audit trail is append-only (% refused)', TG_OP;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER declarations_event_append_only
    BEFORE UPDATE OR DELETE ON declarations_declarationevent
    FOR EACH ROW EXECUTE FUNCTION declarations_event_append_only();
"""

BACKWARD = """
DROP TRIGGER declarations_event_append_only ON declarations_declarationevent;
DROP FUNCTION declarations_event_append_only();
"""


class Migration(migrations.Migration):
    dependencies = [("declarations", "0001_initial")]

    operations = [migrations.RunSQL(FORWARD, BACKWARD)]
