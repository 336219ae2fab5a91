from django.db import migrations

# Who changed the risk configuration, and who approved it, cannot be rewritten
# afterwards: UPDATE and DELETE on the configuration audit log raise, whoever
# connects (as for declarations_declarationevent).
FORWARD = """
CREATE FUNCTION risk_config_audit_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'the configuration audit log is append-only (% refused)', TG_OP;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER risk_config_audit_append_only
    BEFORE UPDATE OR DELETE ON risk_configauditentry
    FOR EACH ROW EXECUTE FUNCTION risk_config_audit_append_only();
"""

BACKWARD = """
DROP TRIGGER risk_config_audit_append_only ON risk_configauditentry;
DROP FUNCTION risk_config_audit_append_only();
"""


class Migration(migrations.Migration):
    dependencies = [("risk", "0004_rule_set_approval_settings_proposals")]

    operations = [migrations.RunSQL(FORWARD, BACKWARD)]
