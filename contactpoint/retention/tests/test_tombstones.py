"""A destroyed child stays destroyed: the same row fed again is quarantined, not loaded, and the
tombstone that stops it holds nothing that can be read back."""

import datetime

import pytest
from django.test import override_settings
from django.utils import timezone

from contactpoint.feeds.models import FeedFile, QuarantinedRow, SourceRecord
from contactpoint.feeds.sealed import row_open
from contactpoint.feeds.tests.helpers import opened
from contactpoint.linkage.services import link_run
from contactpoint.linkage.tests.helpers import load, person
from contactpoint.records.models import Child, ChildIdentifier
from contactpoint.retention.decommission import everything_destroy
from contactpoint.retention.models import Tombstone, TombstoneKind
from contactpoint.retention.services import retention_apply
from contactpoint.retention.tombstones import destroyed_on

from .helpers import BORN, EIGHTEENTH, child, given_names, index

pytestmark = pytest.mark.django_db
NHS = "9434765919"
DESTROY_ON = datetime.date(2034, 5, 1)


@pytest.fixture
def destroyed(tmp_path):
    """Ivy, known to two sources, one of which sends her NHS number, destroyed six years after 18."""
    index(tmp_path)
    load(
        tmp_path,
        "gp_registration",
        [
            person(
                "P1", given_name="Ivy", family_name="Quennell", date_of_birth=BORN.isoformat(), nhs_number=NHS
            )
        ],
    )
    link_run()
    assert ChildIdentifier.objects.filter(
        child=child("G1"), blind_value__in=ChildIdentifier.blind_values("nhs_number", NHS)
    ).exists()
    retention_apply(today=EIGHTEENTH)
    [decision] = retention_apply(today=DESTROY_ON).decisions
    assert decision.action == "destroy"
    return tmp_path


def ivy(srid, **values):
    return person(srid, given_name="Ivy", family_name="Quennell", date_of_birth=BORN.isoformat(), **values)


def latest_report():
    return FeedFile.objects.latest("pk").report


def nothing_of_ivy():
    return not (
        "Ivy" in given_names()
        or "Ivy" in {r.given_name for r in opened(SourceRecord.objects.all())}
        or ChildIdentifier.objects.filter(
            blind_value__in=ChildIdentifier.blind_values("nhs_number", NHS)
        ).exists()
    )


def test_the_same_row_fed_again_is_quarantined_and_nothing_is_recreated(destroyed):
    children = Child.objects.count()
    load(
        destroyed, "la_childrens_services", [ivy("G1"), person("G9", given_name="Nell", family_name="Abbott")]
    )
    link_run()
    report = latest_report()
    assert (report["new"], report["quarantined"], report["destroyed"]) == (1, 1, 1)
    assert report["quarantine_reasons"] == {"destroyed_under_retention": 1}
    row = QuarantinedRow.objects.get(source_record_id="G1")
    today = timezone.localdate().isoformat()
    assert row.reasons == [f"destroyed under retention on {today}"]
    assert row_open(row) == {"values": {}, "warnings": []}  # the child's details are not held again
    assert nothing_of_ivy()
    assert Child.objects.count() == children + 1  # Nell only


def test_another_source_sending_the_nhs_number_is_refused_too(destroyed):
    load(destroyed, "school_census", [ivy("S7", nhs_number=NHS)])
    link_run()
    assert (latest_report()["destroyed"], latest_report()["new"]) == (1, 0)
    assert nothing_of_ivy()


def test_a_withdrawal_of_the_destroyed_record_is_not_quarantined(destroyed):
    load(destroyed, "la_childrens_services", [ivy("G1", record_status="withdrawn")])
    assert (latest_report()["destroyed"], latest_report()["quarantined"]) == (0, 0)


def test_the_tombstones_hold_no_plaintext_and_need_the_key(destroyed):
    stones = list(Tombstone.objects.values_list("kind", "digest", "key_id", "destroyed_on"))
    # Three source records (la_childrens_services G1, child_benefit C1, gp_registration P1), one NHS number.
    assert (
        sorted(kind for kind, *_ in stones) == [TombstoneKind.NHS_NUMBER] + [TombstoneKind.SOURCE_RECORD] * 3
    )
    for plain in (NHS, "G1", "C1", "P1", "Ivy", "Quennell", BORN.isoformat()):
        assert not any(plain.encode() in bytes(digest) for _, digest, *_ in stones)
        assert plain not in repr([(kind, key_id, on) for kind, _, key_id, on in stones])
    assert all(len(bytes(digest)) == 32 for _, digest, *_ in stones)  # the HMAC, nothing else
    rows = [("G1", ""), ("S7", NHS)]
    assert set(destroyed_on(source_code="la_childrens_services", rows=rows)) == {"G1", "S7"}
    with override_settings(CONTACTPOINT_TOMBSTONE_KEY="ab" * 32):  # a stolen table without the key
        assert destroyed_on(source_code="la_childrens_services", rows=rows) == {}
    # A new key added to the keyring still finds the tombstones made with the old one.
    with override_settings(CONTACTPOINT_TOMBSTONE_KEY="00" * 31 + "03," + "ab" * 32):
        assert set(destroyed_on(source_code="la_childrens_services", rows=rows)) == {"G1", "S7"}


def test_the_tombstones_are_written_with_the_destruction(tmp_path):
    index(tmp_path)
    retention_apply(today=EIGHTEENTH)
    simulated = retention_apply(today=DESTROY_ON, simulate=True)
    assert simulated.rows["retention.Tombstone (left)"] == 2
    assert not Tombstone.objects.exists()  # rolled back with the rest of the simulation


def test_decommissioning_leaves_tombstones_too(tmp_path):
    index(tmp_path)
    everything_destroy()
    load(
        tmp_path, "la_childrens_services", [ivy("G1"), person("G3", given_name="Rosa", family_name="Tindall")]
    )
    link_run()
    assert latest_report()["destroyed"] == 2
    assert not Child.objects.exists()
