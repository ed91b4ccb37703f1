"""The targeted scope's old archive moves into retention's, keeping each child's archive date."""

import datetime

import pytest
from django.db import connection
from django.utils import timezone

from contactpoint.tests.migrating import migrate_to

BEFORE = [("retention", "0001_initial"), ("signposting", "0001_initial")]
AFTER = [("retention", "0002_archive_left_scope"), ("signposting", "0002_delete_scopearchive")]


@pytest.mark.django_db(transaction=True)
def test_scope_archive_rows_become_left_scope_archives_and_an_age_archive_stands():
    apps = migrate_to(BEFORE)
    child_model = apps.get_model("records", "Child")
    left, aged, consented = (child_model.objects.create(contactpoint_id=f"CP00000000000{n}") for n in "123")
    on = datetime.datetime(2026, 5, 4, 9, 30, tzinfo=datetime.UTC)
    scope_archive = apps.get_model("signposting", "ScopeArchive")
    for child in (left, aged, consented):
        scope_archive.objects.create(child_id=child.pk, archived_at=on, reason="no longer known to services")
    retention = apps.get_model("retention", "ChildRetention")
    retention.objects.create(
        child_id=aged.pk, state="archived", archived_on=datetime.date(2025, 1, 1), archive_basis="age_18"
    )
    retention.objects.create(child_id=consented.pk, consent="care_leaver")
    try:
        apps = migrate_to(AFTER)
        states = {
            r.child_id: (r.state, r.archived_on, r.archive_basis, r.consent)
            for r in apps.get_model("retention", "ChildRetention").objects.all()
        }
        day = timezone.localdate(on)
        assert states == {
            left.pk: ("archived", day, "left_scope", ""),
            aged.pk: ("archived", datetime.date(2025, 1, 1), "age_18", ""),
            consented.pk: ("archived", day, "left_scope", "care_leaver"),
        }
        assert "signposting_scopearchive" not in connection.introspection.table_names()
    finally:
        apps = migrate_to()
        apps.get_model("records", "Child").objects.all().delete()
