"""Hostile or broken input loads safely or is quarantined with a reason; it never crashes a load."""

import pytest
from django.db import connection

from contactpoint.feeds.models import DataQualityWarning, QuarantinedRow, SourceRecord
from contactpoint.feeds.sealed import row_open
from contactpoint.feeds.services import feed_load, sources_sync
from contactpoint.feeds.tests.helpers import EXTRACTED, HEADER, child_row, opened, opened_one, write_csv

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def sources():
    sources_sync()


def load(path):
    return feed_load(source_code="gp_registration", path=path, extracted_at=EXTRACTED).report


def test_sql_and_html_are_stored_as_inert_text_or_refused_as_names(tmp_path):
    rows = [
        child_row("H1", family_name="Robert'); DROP TABLE feeds_sourcerecord;--"),
        child_row("H2", address_line_1="<script>alert('x')</script>", town="' OR 1=1 --"),
    ]
    report = load(write_csv(tmp_path / "f.csv", rows))
    assert report["loaded"] == 2
    first, second = sorted(opened(SourceRecord.objects.all()), key=lambda r: r.source_record_id)
    assert first.family_name == "" and first.given_name == "Amelia"  # not a name: left out, warned
    assert DataQualityWarning.objects.get(source_record_id="H1").kind == "invalid_characters"
    assert second.address_line_1 == "<script>alert('x')</script>"  # held as text; escaped wherever shown
    assert "feeds_sourcerecord" in connection.introspection.table_names()


def test_control_characters_are_removed_with_a_warning(tmp_path):
    report = load(
        write_csv(tmp_path / "f.csv", [child_row("C1", given_name="Am\x00el\x07ia", town="Le\u200beds")])
    )
    record = opened_one()
    assert (record.given_name, record.town) == ("Amelia", "Leeds")
    assert report["warnings"] == {"control_characters": 2}


def test_a_ten_megabyte_cell_is_left_out_not_stored(tmp_path):
    huge = "A" * (10 * 1024 * 1024)
    report = load(
        write_csv(
            tmp_path / "f.csv", [child_row("B1", address_line_1=huge), child_row("B2", given_name=huge)]
        )
    )
    assert report["loaded"] == 2
    assert opened_one(source_record_id="B1").address_line_1 == ""
    assert opened_one(source_record_id="B2").given_name == ""
    assert report["warnings"] == {"too_long": 2}


def test_a_huge_cell_in_a_quarantined_row_is_kept_only_in_part(tmp_path):
    huge = "Z" * (10 * 1024 * 1024)
    load(write_csv(tmp_path / "f.csv", [child_row("", address_line_1=huge)]))
    kept = row_open(QuarantinedRow.objects.get())["values"]["address_line_1"]
    assert 0 < len(kept) <= 1000


def test_windows_1252_text_is_repaired_with_a_warning(tmp_path):
    path = tmp_path / "latin.csv"
    header = ",".join(HEADER)
    path.write_bytes(
        f"{header}\nE1,Zo\xeb,,Br\xfcgge,2015-03-14,female,1 Rue,Leeds,LS6 2AB,,\n".encode("latin-1")
    )
    report = load(path)
    record = opened_one()
    assert (record.given_name, record.family_name) == ("Zoë", "Brügge")
    assert report["warnings"] == {"encoding_repaired": 2}


def test_binary_garbage_and_ragged_rows_are_quarantined_not_crashed_on(tmp_path):
    path = tmp_path / "garbage.csv"
    header = ",".join(HEADER)
    good = "G1,Amelia,,Khan,2015-03-14,female,1 Oak Road,Leeds,LS6 2AB,,"
    path.write_bytes(
        f"{header}\n{good}\n".encode()
        + b"\xff\xfe\x00\x01\x02,\x80\x81\n"
        + b"G3,Too,,Many,2015-03-14,female,a,b,LS6 2AB,,,extra,cells\n"
        + b'"G4,unterminated quote\n'
    )
    report = load(path)
    assert report["rows_read"] == report["loaded"] + report["quarantined"]
    assert SourceRecord.objects.filter(source_record_id="G1").exists()
    reasons = {r for q in QuarantinedRow.objects.all() for r in q.reasons}
    assert "malformed_row" in reasons


def test_many_unknown_columns_are_all_refused(tmp_path):
    row = child_row("U1", **{f"extra_{i}": "secret" for i in range(200)})
    report = load(write_csv(tmp_path / "wide.csv", [row]))
    assert len(report["refused_columns"]) == 200 and report["loaded"] == 1
