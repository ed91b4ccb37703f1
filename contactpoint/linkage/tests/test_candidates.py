"""The blind candidate index: what it stores, the trigram branch within a birth date, rotation."""

import datetime

import pytest
from django.db import connection

from contactpoint.access.door import child_pks_for
from contactpoint.feeds.models import SourceRecord
from contactpoint.linkage.blind import BLIND_BYTES, blind, index_key_add, index_keys, index_keys_rewrap
from contactpoint.linkage.candidates import (
    TRIGRAM_THRESHOLD,
    candidates_by_child,
    index_key_rotate,
    trigram_similarity,
)
from contactpoint.linkage.models import CandidateKey, IndexKey
from contactpoint.linkage.services import link_run
from contactpoint.linkage.tests.helpers import load, person
from contactpoint.records.models import ChildIdentifier

PAIRS = [
    ("Hartley", "HATRLEY"),
    ("Smith", "smyth"),
    ("O'Brien", "OBRIEN"),
    ("Zoë-Ann", "zoe ann"),
    ("Okafor", "Okafr"),
    ("Li", "Lee"),
    ("", "Nowak"),
]


def test_similarity_counts_shared_trigrams_over_all_of_them():
    assert trigram_similarity("Smith", "SMITH") == 1.0
    # smith and smyth share "  s", " sm", "th " of 9 distinct trigrams.
    assert trigram_similarity("Smith", "Smyth") == pytest.approx(3 / 9)
    assert trigram_similarity("Hartley", "Hatrley") >= TRIGRAM_THRESHOLD
    assert trigram_similarity("Hartley", "Okafor") < TRIGRAM_THRESHOLD
    assert trigram_similarity("", "") == 0.0


@pytest.mark.django_db
@pytest.mark.skipif(connection.vendor != "postgresql", reason="compares with pg_trgm itself")
def test_similarity_agrees_with_pg_trgm():
    with connection.cursor() as cursor:
        for a, b in PAIRS:
            cursor.execute("SELECT similarity(%s, %s)", [a, b])
            assert trigram_similarity(a, b) == pytest.approx(cursor.fetchone()[0], abs=1e-6), (a, b)


@pytest.mark.django_db
def test_no_index_over_family_names_in_the_clear_is_left():
    with connection.cursor() as cursor:
        indexes = connection.introspection.get_constraints(cursor, "feeds_sourcerecord")
    assert not {"sourcerecord_dob_family_trgm", "sourcerecord_dob_linked"} & set(indexes)


@pytest.fixture
def linked(tmp_path):
    load(
        tmp_path,
        "gp_registration",
        [
            person("G1", given_name="William", family_name="Hartley", nhs_number="9434765919"),
            person("G2", given_name="Amara", family_name="Okafor", date_of_birth="2015-12-03"),
        ],
    )
    link_run()


def _found(family: str, born: datetime.date) -> set[int]:
    found = candidates_by_child([], similar_family=(family, [born]))
    return set(found)


@pytest.mark.django_db
def test_the_index_holds_blind_keys_only(linked):
    stored = [bytes(key) for key in CandidateKey.objects.values_list("key", flat=True)]
    assert stored and all(len(key) == BLIND_BYTES for key in stored)
    dump = b"".join(stored)
    for clear in (b"HARTLEY", b"Hartley", b"hartley", b"2015-03-14", b"9434765919", b"har", b"HAR"):
        assert clear not in dump
    # Under the index key they are the record's blocking keys and its family name's trigrams.
    (key,) = index_keys(fresh=True)
    assert blind(key, "0:9434765919") in stored
    assert blind(key, "t:2015-03-14|har") in stored


@pytest.mark.django_db
def test_trigrams_find_a_misspelt_family_name_only_within_its_birth_date(linked):
    william = SourceRecord.objects.get(source_record_id="G1").child_id
    assert _found("Hatrley", datetime.date(2015, 3, 14)) == {william}
    assert _found("Hatrley", datetime.date(2015, 3, 15)) == set()
    assert _found("Nowak", datetime.date(2015, 3, 14)) == set()


@pytest.mark.django_db
def test_rotation_rekeys_the_index_and_deletes_the_old_key(linked):
    (old,) = index_keys(fresh=True)
    before = {bytes(k) for k in CandidateKey.objects.values_list("key", flat=True)}
    assert index_key_rotate(wait=0) == 2
    (new,) = index_keys(fresh=True)
    after = {bytes(k) for k in CandidateKey.objects.values_list("key", flat=True)}
    assert new != old and IndexKey.objects.count() == 1
    assert not before & after and len(after) == len(before)
    assert blind(new, "0:9434765919") in after
    william = SourceRecord.objects.get(source_record_id="G1").child_id
    assert _found("Hatrley", datetime.date(2015, 3, 14)) == {william}


@pytest.mark.django_db
def test_rotation_rekeys_identifiers_blind_keys_and_look_ups_still_find_the_child(linked):
    """Identifiers are sealed; their blind keys live on their rows, under the index key, so a
    rotation must re-key them too or a search by NHS number would find nobody once the old key goes."""
    william = SourceRecord.objects.get(source_record_id="G1").child_id
    (old,) = index_keys(fresh=True)
    found = ChildIdentifier.objects.filter(child_id=william, scheme="nhs_number")
    before = {bytes(b) for b in found.values_list("blind_value", flat=True)}
    assert before == {blind(old, "i:nhs_number::9434765919")}
    index_key_rotate(wait=0)
    (new,) = index_keys(fresh=True)
    assert {bytes(b) for b in found.values_list("blind_value", flat=True)} == {
        blind(new, "i:nhs_number::9434765919")
    }
    assert child_pks_for(nhs_number="9434765919") == [william]
    assert child_pks_for(nhs_number="9434765927") == []


@pytest.mark.django_db
def test_during_a_rotation_searches_find_records_keyed_under_either_key(linked):
    index_keys(fresh=True)
    index_key_add()  # nothing re-keyed yet: every row is still under the older key
    william = SourceRecord.objects.get(source_record_id="G1").child_id
    assert _found("Hatrley", datetime.date(2015, 3, 14)) == {william}
    assert william in candidates_by_child(["0:9434765919"])


@pytest.mark.django_db
def test_index_keys_are_wrapped_by_the_kek_and_rewrapped_with_it(linked, settings):
    from contactpoint.retention.crypto import data_keys_by_kek, kek_ring

    index_keys(fresh=True)
    first = kek_ring().wrapping_id
    assert IndexKey.objects.get().kek_id == first
    settings.CONTACTPOINT_DATA_KEK = f"{settings.CONTACTPOINT_DATA_KEK},{'00' * 31}09"
    assert index_keys_rewrap() == 1
    assert IndexKey.objects.get().kek_id == kek_ring().wrapping_id != first
    assert data_keys_by_kek()[kek_ring().wrapping_id] >= 1


def test_blind_keys_are_hmac_sha256_truncated():
    import hashlib
    import hmac

    key = bytes(range(32))
    for text in ("2:2014-03-07|S530", "t:2014-03-07|  s", "0:9434765919", "Zoë"):
        assert blind(key, text) == hmac.new(key, text.encode(), hashlib.sha256).digest()[:BLIND_BYTES]


VARIED = [
    person("V1", given_name="Zoë-Ann", family_name="O'Brien", middle_names="Mary"),
    person("V2", given_name="Bill", family_name="Nowak", date_of_birth="2014-03-07", nhs_number=""),
    person("V3", given_name="", family_name="Li", postcode="", address_line_1="", upn=""),
    person("V4", given_name="Sam", family_name="", date_of_birth="", former_family_name="Smyth"),
    person("V5", given_name="Chidi", family_name="Okafor", postcode="LS6", nhs_number="9434765919"),
]


@pytest.mark.django_db
def test_a_first_runs_candidate_keys_are_those_re_keying_gives(tmp_path):
    """A first run writes its keys in bulk while materialising; re-keying from the stored values
    (what a rotation does) must give exactly the same rows, blinded the same way."""
    load(tmp_path, "gp_registration", VARIED)
    load(tmp_path, "child_benefit", [dict(row, source_record_id=f"C{n}") for n, row in enumerate(VARIED)])
    link_run()
    written = set(CandidateKey.objects.values_list("record_id", "child_id", "key"))
    assert {record for record, _, _ in written} == set(SourceRecord.objects.values_list("pk", flat=True))
    from contactpoint.linkage.candidates import candidate_index_rebuild

    candidate_index_rebuild()
    assert set(CandidateKey.objects.values_list("record_id", "child_id", "key")) == written
