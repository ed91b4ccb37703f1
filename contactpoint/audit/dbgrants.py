"""The PostgreSQL role the application runs as: it may read and add audit rows, never change them.

The migration role owns the tables (and the append-only trigger); the application's role does
not, so it can neither UPDATE nor DELETE audit rows (no privilege, before the trigger is even
reached) nor drop or disable the trigger. Re-run after every `migrate`: new tables need grants.
"""

import re

from django.db import connection, transaction

APPEND_ONLY_TABLES = ("audit_auditevent", "audit_auditseal", "audit_auditcheckpoint")
_ROLE_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


def _identifier(role: str) -> str:
    if not _ROLE_NAME.fullmatch(role):
        raise ValueError(f"{role!r} is not a plain PostgreSQL role name (lower-case letters, digits, _).")
    return f'"{role}"'


def app_role_statements(role: str, *, create: bool = False) -> list[str]:
    name = _identifier(role)
    audit = ", ".join(APPEND_ONLY_TABLES)
    statements = [
        f"GRANT USAGE ON SCHEMA public TO {name}",
        f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {name}",
        f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {name}",
        f"REVOKE UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER ON {audit} FROM {name}",
    ]
    if create:
        statements.insert(
            0,
            f"DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{role}') "
            f"THEN CREATE ROLE {name} LOGIN; END IF; END $$",
        )
    return statements


def app_role_grant(*, role: str, create: bool = False) -> list[str]:
    if connection.vendor != "postgresql":
        raise RuntimeError("Database roles apply to PostgreSQL only; SQLite relies on the chain alone.")
    statements = app_role_statements(role, create=create)
    with transaction.atomic(), connection.cursor() as cursor:
        for statement in statements:
            cursor.execute(statement)
    return statements
