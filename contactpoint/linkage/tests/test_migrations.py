"""Migration linkage 0003: the plaintext candidate index becomes blind, and going back re-links."""

import pytest
from django.db import connection

from contactpoint.feeds.models import SourceRecord
from contactpoint.linkage.blind import blind, index_keys, index_keys_forget
from contactpoint.linkage.models import CandidateKey
from contactpoint.linkage.services import link_run
from contactpoint.linkage.tests.helpers import load, person
from contactpoint.tests.migrating import migrate_to

PLAIN = [("linkage", "0002_search_candidate_indexes")]
BLIND = [("linkage", "0003_blind_candidate_index")]


@pytest.mark.django_db(transaction=True)
def test_back_to_plaintext_keys_and_forward_to_blind_ones(tmp_path):
    nia = person("G1", given_name="Nia", family_name="Pryce", nhs_number="9434765919")
    load(tmp_path, "gp_registration", [nia])
    link_run()
    try:
        migrate_to(PLAIN)
        # Going back leaves no blind keys for the old code, and its next link run re-keys the records.
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM linkage_candidatekey")
            assert cursor.fetchone()[0] == 0
        assert SourceRecord.objects.filter(child__isnull=False, needs_linking=True).count() == 1
        SourceRecord.objects.update(needs_linking=False)
    finally:
        migrate_to()
        index_keys_forget()
    stored = {bytes(k) for k in CandidateKey.objects.values_list("key", flat=True)}
    (key,) = index_keys(fresh=True)
    assert blind(key, "0:9434765919") in stored and blind(key, "t:2015-03-14|pry") in stored
