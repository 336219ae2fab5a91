"""Give the application's database role what it needs and nothing more.

Run by the owner after `migrate` (./dev start and compose's migrate step do).
The role named by DATABASE_URL may read and write rows; on the append-only
tables (those with an `*_append_only` trigger: the audit trail, the risk
configuration log, the audit anchors) it may only insert and read. It owns
nothing, so it cannot alter a table or disable a trigger. Idempotent.
"""

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import DatabaseError, connections, transaction

APPEND_ONLY_TABLES = """
SELECT DISTINCT c.relname
FROM pg_trigger t
JOIN pg_class c ON c.oid = t.tgrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
JOIN pg_proc p ON p.oid = t.tgfoid
WHERE n.nspname = 'public' AND NOT t.tgisinternal AND p.proname LIKE %s
ORDER BY 1
"""


class Command(BaseCommand):
    help = (
        "Create or update the application's least-privilege database role (DATABASE_URL's "
        "user) and grant it row access; run as the owner (MIGRATION_DATABASE_URL) after migrate."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--database",
            default="owner",
            help="The owner's connection (default: the `owner` alias, MIGRATION_DATABASE_URL).",
        )
        parser.add_argument("--role", help="The application's role (default: DATABASE_URL's user).")
        parser.add_argument(
            "--password", help="Its password (default: DATABASE_URL's; none: left as it is)."
        )

    def handle(self, *args, database, role=None, password=None, **options):
        app = settings.DATABASES["default"]
        role = role or app.get("USER")
        password = password if password is not None else app.get("PASSWORD") or None
        connection = connections[database]
        quote = connection.ops.quote_name
        with transaction.atomic(using=database), connection.cursor() as cursor:
            cursor.execute("SELECT current_user, current_database()")
            owner, database_name = cursor.fetchone()
            if not role or role == owner:
                raise CommandError(
                    f"The application's role would be the owner {owner!r}: give DATABASE_URL "
                    "a role of its own and MIGRATION_DATABASE_URL the owner's."
                )
            self._ensure_role(cursor, database, role, password)
            cursor.execute(
                "SELECT rolsuper OR rolcreaterole OR rolbypassrls, pg_has_role(%s, %s, 'MEMBER') "
                "FROM pg_roles WHERE rolname = %s",
                [role, owner, role],
            )
            powerful, member_of_owner = cursor.fetchone()
            if powerful or member_of_owner:
                raise CommandError(
                    f"Role {role!r} is a superuser, may create roles, bypasses row security or "
                    f"is a member of the owner {owner!r}: it could disable the audit triggers."
                )
            app_role, owner_role = quote(role), quote(owner)
            cursor.execute(APPEND_ONLY_TABLES, [r"%\_append\_only"])
            append_only = [name for (name,) in cursor.fetchall()]
            statements = [
                f"GRANT CONNECT, TEMPORARY ON DATABASE {quote(database_name)} TO {app_role}",
                f"REVOKE CREATE ON SCHEMA public FROM PUBLIC, {app_role}",
                f"GRANT USAGE ON SCHEMA public TO {app_role}",
                f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public "
                f"TO {app_role}",
                f"REVOKE TRUNCATE, REFERENCES, TRIGGER ON ALL TABLES IN SCHEMA public "
                f"FROM {app_role}",
                f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {app_role}",
                # Tables and sequences later migrations create get the same grants.
                f"ALTER DEFAULT PRIVILEGES FOR ROLE {owner_role} IN SCHEMA public "
                f"GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO {app_role}",
                f"ALTER DEFAULT PRIVILEGES FOR ROLE {owner_role} IN SCHEMA public "
                f"GRANT USAGE, SELECT ON SEQUENCES TO {app_role}",
                *(
                    f"REVOKE UPDATE, DELETE ON {quote(table)} FROM {app_role}"
                    for table in append_only
                ),
            ]
            for statement in statements:
                cursor.execute(statement)
        if options["verbosity"]:
            self.stdout.write(
                f"Role {role!r} may read and write the rows of {database_name!r}; "
                f"insert and read only: {', '.join(append_only) or 'no append-only table'}."
            )

    def _ensure_role(self, cursor, database, role, password):
        name = connections[database].ops.quote_name(role)
        cursor.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [role])
        if cursor.fetchone() is None:
            try:
                # Roles belong to the whole server: another process may create it meanwhile.
                with transaction.atomic(using=database):
                    cursor.execute(
                        f"CREATE ROLE {name} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOINHERIT"
                    )
            except DatabaseError:
                cursor.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [role])
                if cursor.fetchone() is None:
                    raise
        if password:
            cursor.execute(f"ALTER ROLE {name} LOGIN PASSWORD %s", [password])
