"""Loading feed files: validation, quarantine, warnings, provenance, updates and idempotence."""

import datetime
import io

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from contactpoint.feeds.formats import UnreadableFile
from contactpoint.feeds.models import (
    DataQualityWarning,
    FeedFile,
    QuarantinedRow,
    SourceRecord,
    SourceRecordVersion,
)
from contactpoint.feeds.services import feed_load, sources_sync
from contactpoint.feeds.sources import SOURCES
from contactpoint.feeds.tests.helpers import (
    EXTRACTED,
    child_row,
    opened,
    opened_one,
    snapshot,
    write_csv,
    write_jsonl,
)
from contactpoint.records.models import Source
from contactpoint.records.tests.factories import valid_nhs_number

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def sources():
    sources_sync()


def load(path, source="gp_registration", **kwargs):
    return feed_load(
        source_code=source, path=path, extracted_at=kwargs.pop("extracted_at", EXTRACTED), **kwargs
    )


def test_sources_are_declared_data_applied_idempotently():
    assert sources_sync() == (0, 0)
    assert set(Source.objects.values_list("code", flat=True)) >= {s.code for s in SOURCES}
    Source.objects.filter(code="school_census").update(authority_rank=1)
    assert sources_sync() == (0, 1)
    assert Source.objects.get(code="school_census").authority_rank == 30


def test_counts_balance_and_values_keep_their_provenance(tmp_path):
    rows = [child_row(f"GP{i}", nhs_number=valid_nhs_number(i)) for i in range(5)] + [
        child_row("", given_name="X")
    ]
    result = load(write_csv(tmp_path / "gp.csv", rows))
    report = result.report
    assert report["rows_read"] == 6 == report["loaded"] + report["quarantined"]
    assert (report["new"], report["quarantined"]) == (5, 1)
    record = opened_one(source_record_id="GP3")
    assert (record.source__code, record.asserted_at, record.first_file_id) == (
        "gp_registration",
        EXTRACTED,
        result.feed_file.pk,
    )
    assert record.nhs_number == valid_nhs_number(3)
    assert record.needs_linking and record.child_id is None  # loading does not link


@pytest.mark.parametrize(
    ("values", "reason"),
    [
        ({"source_record_id": ""}, "missing_source_record_id"),
        ({"given_name": "", "family_name": ""}, "no_name"),
        ({"given_name": "<>", "family_name": "  "}, "no_name"),
        ({"date_of_birth": "2027-01-01"}, "born_in_future"),
        ({"date_of_birth": "1990-01-01"}, "aged_25_or_over"),
        ({"date_of_birth": "2006-01-01"}, "adult_without_consent"),
    ],
)
def test_rows_that_cannot_be_an_in_scope_child_are_quarantined_with_their_reason(tmp_path, values, reason):
    result = load(write_csv(tmp_path / "f.csv", [child_row("Q1", **values)]))
    quarantined = QuarantinedRow.objects.get()
    assert quarantined.reasons == [reason]
    assert result.report["quarantine_reasons"] == {reason: 1}
    assert not SourceRecord.objects.exists()


def test_a_young_adult_with_recorded_consent_stays_in_scope(tmp_path):
    row = child_row("LA1", date_of_birth="2006-01-01", retention_consent="care_leaver")
    load(write_csv(tmp_path / "la.csv", [row]), source="la_childrens_services")
    assert opened_one().retention_consent == "care_leaver"


def test_a_repeated_record_id_in_one_file_is_quarantined(tmp_path):
    load(write_csv(tmp_path / "f.csv", [child_row("D1"), child_row("D1", given_name="Other")]))
    assert opened_one().given_name == "Amelia"
    assert QuarantinedRow.objects.get().reasons == ["duplicate_in_file"]


@pytest.mark.parametrize(
    ("values", "column", "kind"),
    [
        ({"date_of_birth": "2015-02-30"}, "date_of_birth", "invalid_date"),
        ({"postcode": "NOT A CODE"}, "postcode", "postcode_format"),
        ({"nhs_number": "9434765871"}, "nhs_number", "nhs_check_digit"),
        ({"upn": "A801200005001"}, "upn", "upn_check_letter"),
        ({"gender": "unknown"}, "gender", "invalid_gender"),
    ],
)
def test_other_malformed_values_are_left_out_with_a_warning_and_the_row_is_loaded(
    tmp_path, values, column, kind
):
    result = load(write_csv(tmp_path / "f.csv", [child_row("W1", **values)]))
    record = opened_one()
    assert getattr(record, column) in ("", None)
    warning = DataQualityWarning.objects.get()
    assert (warning.column, warning.kind, warning.source_record_id) == (column, kind, "W1")
    assert result.report["warnings"] == {kind: 1}


def test_text_dates_and_postcodes_are_normalised_keeping_original_case(tmp_path):
    row = child_row(
        "N1",
        given_name="  Zoe\u0301  ",
        family_name="McDONALD   SMITH",
        postcode="ls62ab",
        date_of_birth="14/03/2015",
        gender="F",
    )
    load(write_csv(tmp_path / "f.csv", [row]))
    record = opened_one()
    assert record.given_name == "Zo\u00e9"  # NFC: e + combining acute becomes one character
    assert record.family_name == "McDONALD SMITH"
    assert (record.postcode, record.date_of_birth, record.gender) == (
        "LS6 2AB",
        datetime.date(2015, 3, 14),
        "female",
    )


def test_columns_outside_the_statutory_schema_are_refused_and_never_stored(tmp_path):
    secret = "Mother disclosed concerns about home"
    rows = [child_row("C1", case_notes=secret, diagnosis="ADHD-secret-value")]
    result = load(write_csv(tmp_path / "f.csv", rows))
    assert result.report["refused_columns"] == ["case_notes", "diagnosis"]
    assert result.report["loaded"] == 1
    assert not database_contains(secret) and not database_contains("ADHD-secret-value")
    assert not database_contains("Amelia")  # sealed (docs/adr/0010-retention.md)
    assert database_contains("female")  # the search does find what was stored in the clear


def test_statutory_columns_a_source_does_not_send_are_refused(tmp_path):
    rows = [child_row("S1", school_urn="100001")]
    result = load(write_csv(tmp_path / "gp.csv", rows), source="gp_registration")
    assert result.report["refused_columns"] == ["school_urn"]
    assert opened_one().extras == {}


def database_contains(text: str) -> bool:
    """Read every row of every table and look for the text in any cell."""
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names():
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")  # noqa: S608 - table names only
            if any(text in str(cell) for row in cursor.fetchall() for cell in row):
                return True
    return False


def test_reloading_the_same_file_changes_nothing(tmp_path):
    path = write_csv(
        tmp_path / "f.csv", [child_row(f"R{i}") for i in range(4)] + [child_row("", given_name="Q")]
    )
    load(path)
    before = snapshot()
    result = load(path, extracted_at=EXTRACTED + datetime.timedelta(days=3))
    assert result.already_loaded
    assert snapshot() == before
    assert FeedFile.objects.count() == 1


def test_a_later_file_updates_changed_records_and_keeps_the_old_values_as_history(tmp_path):
    load(write_csv(tmp_path / "1.csv", [child_row("U1"), child_row("U2")]))
    SourceRecord.objects.update(needs_linking=False)  # as if linkage had run
    later = EXTRACTED + datetime.timedelta(days=30)
    result = load(
        write_csv(tmp_path / "2.csv", [child_row("U1", postcode="LS1 1AA"), child_row("U2")]),
        extracted_at=later,
    )
    assert (result.report["updated"], result.report["unchanged"], result.report["new"]) == (1, 1, 0)
    changed, same = (
        opened_one(source_record_id="U1"),
        opened_one(source_record_id="U2"),
    )
    assert (changed.postcode, changed.asserted_at, changed.needs_linking) == ("LS1 1AA", later, True)
    assert changed.first_file__name == "1.csv" and changed.last_file__name == "2.csv"
    assert not same.needs_linking and same.asserted_at == EXTRACTED
    version = opened_one(SourceRecordVersion.objects.all())
    assert (version.record_id, version.values["postcode"], version.asserted_at) == (
        changed.pk,
        "LS6 2AB",
        EXTRACTED,
    )


def test_a_source_can_withdraw_a_record_and_the_history_is_kept(tmp_path):
    load(write_csv(tmp_path / "1.csv", [child_row("X1")]))
    later = EXTRACTED + datetime.timedelta(days=1)
    result = load(
        write_csv(tmp_path / "2.csv", [child_row("X1", record_status="withdrawn")]), extracted_at=later
    )
    record = opened_one()
    assert result.report["withdrawn"] == 1
    assert (record.withdrawn_at, record.needs_linking, record.given_name) == (later, True, "Amelia")
    assert SourceRecordVersion.objects.filter(record=record.pk).count() == 1
    load(
        write_csv(tmp_path / "3.csv", [child_row("X1"), child_row("X2")]),
        extracted_at=later + datetime.timedelta(days=1),
    )
    assert opened_one(pk=record.pk).withdrawn_at is None  # re-sent: live again


def test_a_file_older_than_what_is_held_does_not_overwrite_it(tmp_path):
    load(write_csv(tmp_path / "new.csv", [child_row("O1", postcode="LS1 1AA")]))
    earlier = EXTRACTED - datetime.timedelta(days=7)
    result = load(
        write_csv(tmp_path / "old.csv", [child_row("O1", postcode="LS6 2AB")]), extracted_at=earlier
    )
    assert result.report["stale"] == 1 and result.report["updated"] == 0
    assert opened_one().postcode == "LS1 1AA"


def test_a_corrected_resend_resolves_the_quarantined_row(tmp_path):
    load(write_csv(tmp_path / "1.csv", [child_row("F1", given_name="", family_name="")]))
    assert QuarantinedRow.objects.get().status == "open"
    result = load(write_csv(tmp_path / "2.csv", [child_row("F1")]))
    quarantined = QuarantinedRow.objects.get()
    assert (quarantined.status, quarantined.resolved_by_file) == ("resolved", result.feed_file)


def test_json_lines_loads_the_same_as_csv(tmp_path):
    rows = [child_row(f"J{i}", nhs_number=valid_nhs_number(i)) for i in range(3)] + [
        child_row("J9", case_notes="x")
    ]
    load(write_csv(tmp_path / "a.csv", rows), source="gp_registration")
    load(write_jsonl(tmp_path / "a.jsonl", rows), source="canonical")
    by_source = {}
    for record in sorted(opened(SourceRecord.objects.all()), key=lambda r: r.source_record_id):
        by_source.setdefault(record.source__code, []).append(
            (record.source_record_id, record.given_name, record.nhs_number, record.date_of_birth)
        )
    assert by_source["gp_registration"] == by_source["canonical"]
    assert FeedFile.objects.get(format="jsonl").report["refused_columns"] == ["case_notes"]


def test_involvements_carers_school_and_gp_travel_as_extras(tmp_path):
    row = child_row(
        "LA7",
        carer_1_given_name="Sara",
        carer_1_family_name="Khan",
        carer_1_relationship="mother",
        carer_1_parental_responsibility="true",
        service_type="mental_health",
        organisation_code="RC383",
        practitioner_given_name="Ann",
        practitioner_family_name="Lee",
        sensitive_basis="consent",
        involvement_start_date="2026-01-05",
        is_lead_professional="false",
        has_caf="true",
    )
    load(write_csv(tmp_path / "la.csv", [row]), source="la_childrens_services")
    extras = opened_one().extras
    assert (
        extras["carers"][0]["family_name"] == "Khan"
        and extras["carers"][0]["parental_responsibility"] is True
    )
    assert extras["involvement"]["sensitive_basis"] == "consent" and extras["involvement"]["has_caf"] is True


def test_a_sensitive_service_without_a_basis_is_not_recorded(tmp_path):
    row = child_row(
        "LA8", service_type="sexual_health", organisation_code="RS383", practitioner_family_name="Lee"
    )
    result = load(write_csv(tmp_path / "la.csv", [row]), source="la_childrens_services")
    assert "involvement" not in opened_one().extras
    assert result.report["warnings"] == {"sensitive_without_basis": 1}


@pytest.mark.parametrize(
    "content",
    [b"", b"given_name,family_name\nA,B\n"],
    ids=["empty", "no-source-record-id-column"],
)
def test_a_file_that_cannot_be_read_is_refused_whole(tmp_path, content):
    path = tmp_path / "bad.csv"
    path.write_bytes(content)
    with pytest.raises(UnreadableFile):
        load(path)
    assert not FeedFile.objects.exists()


def test_load_feed_command_prints_counts_and_fails_on_unreadable_files(tmp_path):
    path = write_csv(tmp_path / "f.csv", [child_row("K1"), child_row("", given_name="Q")])
    out = io.StringIO()
    call_command(
        "load_feed",
        str(path),
        "--source",
        "gp_registration",
        "--extracted-at",
        "2026-07-01T09:30",
        "-v",
        "0",
        stdout=out,
    )
    assert "loaded: 1" in out.getvalue() and "quarantined: 1" in out.getvalue()
    assert opened_one().asserted_at == datetime.datetime(2026, 7, 1, 8, 30, tzinfo=datetime.UTC)  # BST
    with pytest.raises(CommandError, match="no such file"):
        call_command("load_feed", str(tmp_path / "missing.csv"), "--source", "gp_registration", "-v", "0")
    with pytest.raises(CommandError, match="Unknown source"):
        call_command("load_feed", str(path), "--source", "nope", "-v", "0")


def test_the_background_task_loads_the_same_way(tmp_path):
    from contactpoint.feeds.tasks import load_feed_task

    path = write_csv(tmp_path / "t.csv", [child_row("T1")])
    result = load_feed_task.enqueue("gp_registration", str(path), EXTRACTED.isoformat())
    assert result.return_value["loaded"] == 1
    assert opened_one().asserted_at == EXTRACTED
