"""Quarantined rows and warnings already stored are sealed by the migration, and opened again
backwards."""

import datetime

import pytest
from django.db import connection

from contactpoint.feeds import sealed
from contactpoint.feeds.models import DataQualityWarning, QuarantinedRow
from contactpoint.tests.migrating import migrate_to

BEFORE = [("feeds", "0002_feed_batches")]
AFTER = [("feeds", "0003_quarantine_sealed")]
NHS_NUMBER = "9434765919"
VALUES = {"family_name": "Quennell", "nhs_number": NHS_NUMBER, "gp_practice_code": "B86001"}
WARNINGS = [["gender", "invalid_gender", "'Quennellish' is not male, female or not_specified"]]
MESSAGE = f"NHS number '{NHS_NUMBER}1' must be exactly 10 digits."


def _stored_in_clear(apps):
    organisation = apps.get_model("records", "Organisation").objects.create(
        kind="local_authority", code="383"
    )
    source = apps.get_model("records", "Source").objects.create(
        code="gp", name="GP", organisation=organisation, obligation="must"
    )
    file = apps.get_model("feeds", "FeedFile").objects.create(
        source=source,
        name="f.csv",
        sha256="0" * 64,
        format="csv",
        extracted_at=datetime.datetime.now(datetime.UTC),
    )
    apps.get_model("feeds", "QuarantinedRow").objects.create(
        file=file, row_number=1, source_record_id="Q1", values=VALUES, reasons=["no_name"], warnings=WARNINGS
    )
    apps.get_model("feeds", "DataQualityWarning").objects.create(
        file=file,
        row_number=2,
        source_record_id="W1",
        column="nhs_number",
        kind="nhs_format",
        message=MESSAGE,
    )


@pytest.mark.django_db(transaction=True)
def test_stored_quarantined_rows_and_warnings_are_sealed_and_open_again_backwards():
    _stored_in_clear(migrate_to(BEFORE))
    try:
        migrate_to(AFTER)
        with connection.cursor() as cursor:
            for table in ("feeds_quarantinedrow", "feeds_dataqualitywarning"):
                cursor.execute(f"SELECT * FROM {table}")  # noqa: S608 (fixed names)
                clear = " ".join(str(v) for row in cursor.fetchall() for v in row)
                assert "Quennell" not in clear and NHS_NUMBER not in clear
        row = QuarantinedRow.objects.get()
        assert sealed.row_open(row) == {"values": VALUES, "warnings": WARNINGS}
        assert (row.reasons, row.organisation_codes) == (["no_name"], {"gp_practice_code": "B86001"})
        assert sealed.row_open(DataQualityWarning.objects.get()) == {"message": MESSAGE}

        apps = migrate_to(BEFORE)
        row = apps.get_model("feeds", "QuarantinedRow").objects.get()
        assert (row.values, row.warnings) == (VALUES, WARNINGS)
        assert apps.get_model("feeds", "DataQualityWarning").objects.get().message == MESSAGE
    finally:
        apps = migrate_to()
        for model in ("DataQualityWarning", "QuarantinedRow", "FeedFile"):
            apps.get_model("feeds", model).objects.all().delete()
        for model in ("Source", "Organisation"):
            apps.get_model("records", model).objects.all().delete()
