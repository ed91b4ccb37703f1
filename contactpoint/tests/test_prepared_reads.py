"""The statements every request runs are prepared once per connection on PostgreSQL, and answer
as Django's own cursor does: the same rows, the same types, the same queries logged."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from contactpoint.compiled import CompiledRead, prepared_cursor, stand_in
from contactpoint.records.models import Organisation, OrganisationKind
from contactpoint.records.tests.factories import OrganisationFactory

pytestmark = pytest.mark.django_db

_BY_CODE = CompiledRead(
    lambda vendor: Organisation.objects.filter(code=stand_in("code")).values("pk", "code", "kind")
)


def _prepared_count() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_prepared_statements WHERE NOT from_sql")
        return cursor.fetchone()[0]


def test_a_compiled_read_answers_as_the_orm_does_and_is_logged():
    made = OrganisationFactory(kind=OrganisationKind.LOCAL_AUTHORITY, code="352")
    with CaptureQueriesContext(connection) as captured:
        rows = [_BY_CODE.rows(code="352") for _ in range(3)]
    expected = list(Organisation.objects.filter(code="352").values("pk", "code", "kind"))
    assert rows == [expected] * 3 and expected[0]["pk"] == made.pk
    assert len(captured.captured_queries) == 3  # every run logged, as any statement is
    assert _BY_CODE.rows(code="no such code") == []


@pytest.mark.skipif(connection.vendor != "postgresql", reason="prepared statements are PostgreSQL's")
def test_on_postgresql_each_statement_is_prepared_once_per_connection():
    OrganisationFactory(kind=OrganisationKind.LOCAL_AUTHORITY, code="352")
    _BY_CODE.rows(code="352")
    before = _prepared_count()
    for code in ("352", "383", "352"):
        _BY_CODE.rows(code=code)
    assert _prepared_count() == before  # the same statement, prepared on its first run only
    with prepared_cursor(connection) as cursor:
        cursor.execute("SELECT %s::int + 1", [41])
        assert cursor.fetchone() == (42,)
    assert _prepared_count() == before + 1
    with connection.cursor() as cursor:  # every other statement: Django's cursor, nothing prepared
        cursor.execute("SELECT %s::int + 2", [40])
    assert _prepared_count() == before + 1
