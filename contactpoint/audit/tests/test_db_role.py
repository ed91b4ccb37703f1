"""On PostgreSQL the application's role may read and add audit rows and nothing more."""

import io
import uuid

import pytest
from django.core.management import CommandError, call_command
from django.db import DatabaseError, connection, transaction

from contactpoint.audit.dbgrants import app_role_statements
from contactpoint.audit.models import AuditEvent, EventType
from contactpoint.audit.services import audit_record, chain_seal
from contactpoint.audit.tests.test_chain import NOW
from contactpoint.audit.verify import verify_log

pytestmark = pytest.mark.django_db


def test_role_names_are_checked_before_any_sql_is_built():
    with pytest.raises(ValueError, match="not a plain PostgreSQL role name"):
        app_role_statements('app"; DROP TABLE audit_auditevent; --')


@pytest.mark.skipif("connection.vendor == 'postgresql'")
def test_the_command_explains_it_is_for_postgresql_only():
    with pytest.raises(CommandError, match="PostgreSQL only"):
        call_command("grant_app_role", "contactpoint_app")


@pytest.mark.skipif("connection.vendor != 'postgresql'")
def test_the_application_role_cannot_update_or_delete_audit_rows():
    role = f"cp_app_{uuid.uuid4().hex[:8]}"  # created in the test's transaction, gone after it
    out = io.StringIO()
    call_command("grant_app_role", role, "--create", stdout=out)
    assert "REVOKE UPDATE, DELETE, TRUNCATE" in out.getvalue()
    audit_record(event_type=EventType.VIEW, username="before", reason="referral")
    chain_seal(grace=NOW)
    with connection.cursor() as cursor:
        cursor.execute(f'SET ROLE "{role}"')
    try:
        audit_record(event_type=EventType.VIEW, username="as-app", reason="referral")  # INSERT allowed
        assert AuditEvent.objects.count() == 2  # SELECT allowed
        for sql in (
            "UPDATE audit_auditevent SET reason = 'x'",
            "DELETE FROM audit_auditevent",
            "UPDATE audit_auditseal SET entry_hash = 'x'",
            "DELETE FROM audit_auditcheckpoint",
            "TRUNCATE audit_auditevent CASCADE",
            "ALTER TABLE audit_auditevent DISABLE TRIGGER audit_auditevent_append_only",
        ):
            with (
                pytest.raises(DatabaseError, match=r"permission denied|must be owner"),
                transaction.atomic(),
                connection.cursor() as cursor,
            ):
                cursor.execute(sql)
        with connection.cursor() as cursor:  # the rest of the application works as usual
            cursor.execute("UPDATE django_session SET expire_date = expire_date")
    finally:
        with connection.cursor() as cursor:
            cursor.execute("RESET ROLE")
    assert verify_log().intact
