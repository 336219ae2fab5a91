from django.db import migrations

# Who changed an emergency's needs and pledges, and from what, cannot be rewritten
# afterwards: UPDATE and DELETE on the register raise, whoever connects (as for the
# risk configuration log); db_grant_app_role then lets the application insert and read only.
FORWARD = """
CREATE FUNCTION supplies_register_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'the supply register is append-only (% refused)', TG_OP;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER supplies_register_append_only
    BEFORE UPDATE OR DELETE ON supplies_supplyregisterentry
    FOR EACH ROW EXECUTE FUNCTION supplies_register_append_only();
"""

BACKWARD = """
DROP TRIGGER supplies_register_append_only ON supplies_supplyregisterentry;
DROP FUNCTION supplies_register_append_only();
"""


class Migration(migrations.Migration):
    dependencies = [("supplies", "0001_prenotifications_critical_supplies")]

    operations = [migrations.RunSQL(FORWARD, BACKWARD)]
