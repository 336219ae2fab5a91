from django.db import migrations

# Who changed the security policy cannot be rewritten afterwards: UPDATE and
# DELETE on its change log raise, whoever connects (as for the risk
# configuration's audit log).
FORWARD = """
CREATE FUNCTION accounts_security_policy_change_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'the security policy change log is append-only (% refused)', TG_OP;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER accounts_security_policy_change_append_only
    BEFORE UPDATE OR DELETE ON accounts_securitypolicychange
    FOR EACH ROW EXECUTE FUNCTION accounts_security_policy_change_append_only();
"""

BACKWARD = """
DROP TRIGGER accounts_security_policy_change_append_only ON accounts_securitypolicychange;
DROP FUNCTION accounts_security_policy_change_append_only();
"""


def create_policy(apps, schema_editor):
    # The one row administrators edit; no role requires a second factor at first.
    apps.get_model("accounts", "SecurityPolicy").objects.get_or_create(id=1)


class Migration(migrations.Migration):
    dependencies = [("accounts", "0005_security_policy")]

    operations = [
        migrations.RunSQL(FORWARD, BACKWARD),
        migrations.RunPython(create_policy, migrations.RunPython.noop),
    ]
