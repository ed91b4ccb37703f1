"""Quarantined rows and data-quality warnings hold a child's values only sealed, each under a key
of its own that rotation rewraps (docs/adr/0010-retention.md, "Quarantined rows and warnings")."""

import io

import pytest
from cryptography.exceptions import InvalidTag
from django.core.management import call_command
from django.db import connection
from django.test import override_settings

from contactpoint.feeds import sealed
from contactpoint.feeds.models import DataQualityWarning, QuarantinedRow
from contactpoint.feeds.services import feed_load, sources_sync
from contactpoint.feeds.tests.helpers import EXTRACTED, child_row, write_csv
from contactpoint.retention import crypto

pytestmark = pytest.mark.django_db
OLD = "11" * 32
NEW = "22" * 32
NHS_NUMBER = "9434765919"


def load(path):
    sources_sync()
    return feed_load(source_code="gp_registration", path=path, extracted_at=EXTRACTED)


def quennells(tmp_path):
    """A file with one row quarantined (born 1990: out of scope) and one loaded with a warning
    that quotes the bad value; both name Ivy Quennell."""
    her = {"given_name": "Ivy", "family_name": "Quennell", "gp_practice_code": "B86001"}
    rows = [
        child_row("Q1", **her, date_of_birth="1990-01-01", gender="Quennellish"),
        child_row("W1", **her, nhs_number=NHS_NUMBER + "1"),
    ]
    load(write_csv(tmp_path / "f.csv", rows))


def stored(table):
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT * FROM {table}")  # noqa: S608 (fixed names)
        return " ".join(str(value) for row in cursor.fetchall() for value in row)


def test_held_back_rows_and_warnings_hold_no_value_in_the_clear_and_open_through_their_own_keys(tmp_path):
    quennells(tmp_path)
    for table in ("feeds_quarantinedrow", "feeds_dataqualitywarning"):
        text = stored(table).lower()
        assert "quennell" not in text and NHS_NUMBER not in text and "1990-01-01" not in text

    row = QuarantinedRow.objects.get()
    assert (row.source_record_id, row.reasons, row.organisation_codes) == (
        "Q1",
        ["aged_25_or_over"],
        {"gp_practice_code": "B86001"},  # clear: the area a team may see the row in
    )
    opened = sealed.row_open(row)
    assert (opened["values"]["family_name"], opened["values"]["date_of_birth"]) == ("Quennell", "1990-01-01")
    assert [kind for _, kind, _ in opened["warnings"]] == ["invalid_gender"]
    assert "Quennellish" in opened["warnings"][0][2]  # the message quotes the cell, sealed with it

    warning = DataQualityWarning.objects.get()
    assert (warning.source_record_id, warning.column, warning.kind) == ("W1", "nhs_number", "nhs_format")
    assert NHS_NUMBER in sealed.row_open(warning)["message"]
    assert len({row.key_id, warning.key_id}) == 2  # a key per row: deleting the row deletes it


def test_a_sealed_row_does_not_open_on_another_row(tmp_path):
    quennells(tmp_path)
    load(write_csv(tmp_path / "g.csv", [child_row("Q2", given_name="", family_name="")]))
    first, second = QuarantinedRow.objects.order_by("pk")
    QuarantinedRow.objects.filter(pk=second.pk).update(
        sealed=first.sealed, key_wrapped=first.key_wrapped, key_id=first.key_id, kek_id=first.kek_id
    )
    with pytest.raises(InvalidTag):
        sealed.row_open(QuarantinedRow.objects.get(pk=second.pk))


def test_rotation_rewraps_row_keys_so_the_old_kek_can_be_retired(tmp_path):
    with override_settings(CONTACTPOINT_DATA_KEK=OLD):
        quennells(tmp_path)
        old_kek = crypto.kek_ring().wrapping_id
    with override_settings(CONTACTPOINT_DATA_KEK=f"{OLD},{NEW}"):
        assert crypto.data_keys_by_kek()[old_kek] == 3  # and the file's load key (the loaded row's)
        out = io.StringIO()
        call_command("rotate_data_keys", stdout=out)
        assert "2 quarantined row and warning key(s)" in out.getvalue()
        assert "Rewrapped 1 data key(s)" in out.getvalue()  # the load key
        assert "may be retired" in out.getvalue()
    with override_settings(CONTACTPOINT_DATA_KEK=NEW):  # the old KEK is gone
        assert sealed.row_open(QuarantinedRow.objects.get())["values"]["family_name"] == "Quennell"
        assert NHS_NUMBER in sealed.row_open(DataQualityWarning.objects.get())["message"]
    with override_settings(CONTACTPOINT_DATA_KEK=OLD), pytest.raises(crypto.UnknownKek):
        sealed.row_open(QuarantinedRow.objects.get())  # a backup's KEK alone no longer opens it
