"""Drop the table of DRF's own tokens (rest_framework.authtoken, no longer installed).

Its keys were stored in plain text and never expired; they no longer authenticate
(accounts.ApiToken replaced them, migration 0004) but would still be readable by
anyone reading the database. The migration history of the removed app is left as
it is.
"""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("accounts", "0006_security_policy_row_and_append_only_changes")]

    operations = [
        migrations.RunSQL("DROP TABLE IF EXISTS authtoken_token", migrations.RunSQL.noop),
    ]
